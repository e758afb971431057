"""The `make run` server for the benches that measure it as a person uses it: started on free loopback
ports in its own process group, its output kept in a log under .local/, stopped with Ctrl-C's signal."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def make_run(log: Path, *, ready_within: float = 180, **overrides: str) -> Iterator[str]:
    """Yields the API's base URL once /healthz answers; ``overrides`` are environment variables (a bench that
    measures the shipped defaults passes none)."""
    env = {**os.environ, "PORT": str(free_port()), "EMULATOR_PORT": str(free_port()), **overrides}
    log.parent.mkdir(exist_ok=True)
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "chalicelib.local.server"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        api = f"http://127.0.0.1:{env['PORT']}"
        deadline = time.monotonic() + ready_within
        while True:
            try:
                urllib.request.urlopen(f"{api}/healthz", timeout=1)  # noqa: S310 - loopback only
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"make run did not answer /healthz (log: {log})") from None
                time.sleep(0.2)
        yield api
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def demo_of(api: str) -> dict[str, Any]:
    """The demo café of the run serving ``api``: every `make run` writes .local/demo.json under the project
    root, so it is read right after readiness and checked to be this run's (its base URL is the API's)."""
    demo: dict[str, Any] = json.loads((ROOT / ".local" / "demo.json").read_text())
    if demo.get("base_url") != api:
        raise SystemExit(f".local/demo.json is another run's ({demo.get('base_url')}, not {api})")
    return demo
