"""Deployment size and memory footprint: the figures behind the Lambda memory setting (docs/deploy.md).

Prints the zip size of the last `make package STAGE=...` (default prod) and its largest parts, then, in
fresh interpreters, the peak resident memory after `import app` (what every cold start pays) and after
also importing everything a heavy handler loads (pages, emails, reports, QR codes).
Run: `make package STAGE=prod && .venv/bin/python bench/package_size.py [stage]`.
"""

from __future__ import annotations

import collections
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = [
    "jinja2", "segno", "email.mime.multipart", "chalicelib.web.pages", "chalicelib.services.reports",
    "chalicelib.services.followups", "chalicelib.services.mail", "chalicelib.web.openapi",
]
SNIPPET = (
    "import resource, importlib, sys, time; t = time.perf_counter(); import app; t = time.perf_counter() - t; "
    "a = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
    "[importlib.import_module(m) for m in sys.argv[1:]]; "
    "b = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; print(a, b, t)"
)


def main() -> None:
    stage = sys.argv[1] if len(sys.argv) > 1 else "prod"
    path = ROOT / "build" / stage / "deployment.zip"
    if not path.exists():
        raise SystemExit(f"{path} missing: run `make package STAGE={stage}` first")
    sizes: collections.Counter[str] = collections.Counter()
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            sizes[info.filename.split("/", 1)[0]] += info.compress_size
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1e6:.2f} MB (budget 15 MB)")
    for name, size in sizes.most_common(6):
        print(f"  {size / 1e6:6.2f} MB  {name}")
    runs = [subprocess.run([sys.executable, "-c", SNIPPET, *HEAVY], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split() for _ in range(5)]
    cold = sorted(float(r[0]) for r in runs)[2] / 1024
    heavy = sorted(float(r[1]) for r in runs)[2] / 1024
    import_s = sorted(float(r[2]) for r in runs)[2]
    print(f"peak RSS after `import app`: {cold:.0f} MB; with every heavy module loaded: {heavy:.0f} MB (median of 5)")
    print(f"`import app` on this machine: {import_s * 1000:.0f} ms at a full core")
    for memory in (256, 512, 1024):
        share = memory / 1769  # Lambda gives one full vCPU at 1,769 MB, proportionally less below
        print(f"  at {memory:4d} MB: {memory / heavy:4.1f}x the heavy footprint, ~{share:.2f} vCPU, "
              f"import ~{import_s / share * 1000:.0f} ms if CPU-bound")


if __name__ == "__main__":
    main()
