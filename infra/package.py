"""`make package STAGE=...`: the CloudFormation template and the deployment zip under build/STAGE/.

1. render the merge template from the code (infra/render.py: table, secrets, queues, SES, alarms,
   and the wiring of every function app.py defines; refuses a function without its own policy);
2. `chalice package --merge-template` with the stage's queue / topic names in the environment, so the
   event sources chalice writes name the resources of step 1;
3. leave boto3 / botocore to the Lambda runtime, drop the `make run` dev server (chalicelib/local/) and
   hold the zip to its size budget (infra/slim_zip.py).

Needs no AWS credentials (the region only names ARNs in chalice's output). It does need PyPI: chalice
resolves requirements.txt with `pip download` for the arm64 Lambda platform whenever the code changed
(pip's own cache makes the downloads cheap after the first time).
Usage: python infra/package.py STAGE OUTPUT_DIR
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra import render, slim_zip  # noqa: E402


def package(stage: str, out_dir: Path) -> Path:
    """Writes out_dir/sam.json and out_dir/deployment.zip; returns the template's path."""
    if stage not in render.STAGES:
        raise SystemExit(f"unknown stage {stage!r}: use {' or '.join(render.STAGES)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    bindir = Path(sys.executable).parent
    env = {**os.environ, **render.packaging_environment(stage)}
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    merge = out_dir / "merge.json"
    # A process of its own: rendering imports app.py with this stage's names.
    _run([sys.executable, str(ROOT / "infra" / "render.py"), stage, str(merge)], env)
    _run(
        [str(bindir / "chalice"), "package", "--stage", stage, "--pkg-format", "cloudformation",
         "--merge-template", str(merge), str(out_dir)],
        env,
    )
    _forget_old_builds()
    before, after = slim_zip.slim(out_dir / "deployment.zip")
    print(f"deployment.zip: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB (no boto3/botocore, no chalicelib/local)")
    if after > slim_zip.MAX_BYTES:
        raise SystemExit(f"deployment.zip is {after / 1e6:.1f} MB, over the {slim_zip.MAX_BYTES / 1e6:.1f} MB budget")
    return out_dir / "sam.json"


def _forget_old_builds(keep: int = 2) -> None:
    """chalice caches a 21 MB zip per version of the code under .chalice/deployments/ and never drops
    one: keep the newest few."""
    cached = sorted((ROOT / ".chalice" / "deployments").glob("*.zip"), key=lambda p: p.stat().st_mtime)
    for old in cached[:-keep]:
        old.unlink(missing_ok=True)


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)  # noqa: S603 - our own tools
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))} failed:\n"
                         f"{done.stdout}{done.stderr}".rstrip())


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    print(package(sys.argv[1], Path(sys.argv[2])))


if __name__ == "__main__":
    main()
