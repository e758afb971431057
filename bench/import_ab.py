"""Cold-start import cost of this tree against another revision, side by side in one run.

`import app` in fresh interpreters, alternating: the revision given (checked out into a temporary git
worktree), this working tree, and `import boto3, chalice.app` as the floor, so machine noise hits all
three alike. Prints the medians, the fastest of each, and the ratios. For a refactor that must not make
cold starts slower (issue #12: the same figures before and after).
Run: `.venv/bin/python bench/import_ab.py REV [runs]` (e.g. `bench/import_ab.py HEAD~10 40`).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMED = "import time, sys; t = time.perf_counter(); {stmt}; sys.stdout.write(str(time.perf_counter() - t))"


def measure(stmt: str, cwd: Path, env: dict[str, str]) -> float:
    out = subprocess.run([sys.executable, "-c", TIMED.format(stmt=stmt)], cwd=cwd, env=env, capture_output=True,
                         text=True, check=True)
    return float(out.stdout) * 1000


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: bench/import_ab.py REV [runs]")
    rev, runs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 30
    # Bytecode is written once and reused, as Lambda reuses the zip's: compile time is not import cost.
    env = {**os.environ, "PYDANTIC_DISABLE_PLUGINS": "1", "PYTHONDONTWRITEBYTECODE": ""}
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(other), rev], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            cases = {f"import app at {rev}": ("import app", other), "import app here": ("import app", ROOT),
                     "import boto3, chalice.app": ("import boto3, chalice.app", ROOT)}
            for stmt, cwd in cases.values():
                measure(stmt, cwd, env)  # compile once
            times: dict[str, list[float]] = {name: [] for name in cases}
            for _ in range(runs):
                for name, (stmt, cwd) in cases.items():
                    times[name].append(measure(stmt, cwd, env))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, capture_output=True)
    floor = statistics.median(times["import boto3, chalice.app"])
    print(f"cold import, median of {runs} fresh interpreters each (alternating), Python {sys.version.split()[0]}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<34} {median:7.1f} ms  (fastest {min(values):6.1f})  ratio to the floor {median / floor:.2f}")
    here, there = statistics.median(times["import app here"]), statistics.median(times[f"import app at {rev}"])
    print(f"this tree / {rev} = {here / there:.2f}")


if __name__ == "__main__":
    main()
