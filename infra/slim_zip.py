"""Take out of chalice's deployment zip what the Lambda Python runtime already has and what only `make run`
uses, and check the size.

chalice packages every dependency of requirements.txt, and aws-xray-sdk pulls in botocore (16 MB of the
21 MB). The python3.12 runtime ships boto3 and botocore with their own dependencies, so the zip leaves
them to the runtime: the code then runs on the SDK AWS keeps patched. They go as one set, so the
runtime's botocore never meets a different urllib3 or dateutil than the one it was released with.
chalice also packages all of chalicelib/, with no way to exclude a part: the dev server
(chalicelib/local/, which patches moto) goes here; nothing shipped imports it (tests/unit/test_layers.py).
Usage: python infra/slim_zip.py build/STAGE/deployment.zip
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

MAX_BYTES = 15 * 1024 * 1024
# Top-level names in the zip provided by the Lambda python3.12 runtime (/var/runtime).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
# The `make run` dev server: never run in Lambda.
DEV_ONLY = "chalicelib/local/"


def provided_by_runtime(path: str) -> bool:
    top = path.split("/", 1)[0]
    for name in RUNTIME_PROVIDED:
        if top in (name, f"{name}.py") or (top.startswith(f"{name}-") and top.endswith(".dist-info")):
            return True
        if name == "dateutil" and top.startswith("python_dateutil-"):
            return True
    return False


def dev_only(path: str) -> bool:
    return path.startswith(DEV_ONLY)


def slim(zip_path: Path) -> tuple[int, int]:
    """Rewrite the zip without the runtime's packages and the dev server; returns (bytes before, after)."""
    before = zip_path.stat().st_size
    tmp = zip_path.with_suffix(".slim.zip")
    with zipfile.ZipFile(zip_path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if not (provided_by_runtime(info.filename) or dev_only(info.filename)):
                # Keeps chalice's fixed timestamps and permissions, so the same code gives the same zip.
                dst.writestr(info, src.read(info.filename), compress_type=zipfile.ZIP_DEFLATED)
    tmp.replace(zip_path)
    return before, zip_path.stat().st_size


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    path = Path(sys.argv[1])
    before, after = slim(path)
    print(f"{path}: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB without boto3/botocore and chalicelib/local")
    if after > MAX_BYTES:
        raise SystemExit(f"{path} is {after / 1e6:.1f} MB, over the {MAX_BYTES / 1e6:.1f} MB budget")


if __name__ == "__main__":
    main()
