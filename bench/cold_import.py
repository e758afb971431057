"""Cold-start import cost: `import app` against `import boto3, chalice.app`, in fresh interpreters.

Alternates the cases so that machine noise hits them alike; prints medians of N runs each and the ratio.
Goal: ratio <= 1.3. Run: `.venv/bin/python bench/cold_import.py [runs]` (or `make bench`).

The third case is information: `import app` plus the X-Ray SDK as Lambda loads it (LAMBDA_TASK_ROOT set, so
powertools' Tracer patches botocore and the rest, with `requests` hidden as the deployment zip has none),
which only the jobs and sampled owner requests pay since issue #13. A customer's cold first request, with
the prod stage's settings and the SDK where it is loaded, is bench/cold_start.py's.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNIPPET = (
    "import time, sys; sys.modules['requests'] = None; t = time.perf_counter(); {stmt}; "
    "sys.stdout.write(str(time.perf_counter() - t))"
)
TRACED = "import app + X-Ray SDK (jobs, owners)"
CASES = {
    "import app": "import app",
    "import boto3, chalice.app": "import boto3, chalice.app",
    TRACED: "import app; from chalicelib.observability import get_tracer; get_tracer()",
}


def measure(stmt: str, env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", SNIPPET.format(stmt=stmt)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    env = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "0",
        "POWERTOOLS_TRACE_DISABLED": "false",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "LAMBDA_TASK_ROOT": str(ROOT),  # as in Lambda: the Tracer patches instead of disabling itself
        "AWS_DEFAULT_REGION": "ap-southeast-1",
    }
    for stmt in CASES.values():  # warm the bytecode caches so every measured run is alike
        measure(stmt, env)
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(runs):
        for name, stmt in CASES.items():
            times[name].append(measure(stmt, env))
    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians["import boto3, chalice.app"]
    print(f"cold import, median of {runs} fresh interpreters each (alternating), Python {sys.version.split()[0]}")
    for name, value in medians.items():
        print(f"  {name:<37} {value * 1000:7.1f} ms   ratio {value / base:4.2f}")
    ratio = medians["import app"] / base
    verdict = "ok" if ratio <= 1.3 else "MISSED"
    print(f"ratio import app / import boto3, chalice.app = {ratio:.2f} (goal <= 1.3): {verdict}")
    print("(the SDK line: paid by the jobs and sampled owner requests, never by a customer's first request: "
          "bench/cold_start.py)")


if __name__ == "__main__":
    main()
