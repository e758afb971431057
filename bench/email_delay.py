"""Submission -> email delay under `make run`: starts the local server (API + emulator + stream poller) on
free loopback ports, submits N unhappy answers with a consented email, and times, for each, how long after
the POST returned its voucher, apology and owner alert were written to .local/outbox/ (they go through
the emulated SES first). Prints median and max per kind and for the last of the three (goal <= 2 s).

The owner-alert batching threshold is raised for the run (ALERT_BATCH_AFTER=1000): past it, alerts are
batched on purpose and would wait for their 5-minute window.
Run: `.venv/bin/python bench/email_delay.py [n=50]`.
"""

from __future__ import annotations

import email
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from email import policy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTBOX = ROOT / ".local" / "outbox"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback only
        return json.loads(answer.read())


def seen_in_outbox(known: set[Path]) -> dict[tuple[str, str], float]:
    """(kind, customer address) -> when first seen, for .eml files not seen before."""
    found: dict[tuple[str, str], float] = {}
    for path in OUTBOX.glob("*.eml") if OUTBOX.exists() else []:
        if path in known:
            continue
        known.add(path)
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        kind = str(message["X-Survey-Kind"])
        customer = str(message["Reply-To"] if kind == "alert" else message["To"])
        found[(kind, customer)] = time.monotonic()
    return found


def main(n: int) -> None:
    api_port, emulator_port = free_port(), free_port()
    env = {
        **os.environ,
        "PORT": str(api_port),
        "EMULATOR_PORT": str(emulator_port),
        "ALERT_BATCH_AFTER": "1000",
        "RATE_LIMIT_PER_IP": "100000",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.local.server"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        api = f"http://127.0.0.1:{api_port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{api}/healthz", timeout=1)  # noqa: S310 - loopback only
                break
            except OSError:
                time.sleep(0.1)
        demo = json.loads((ROOT / ".local" / "demo.json").read_text())
        token = demo["touchpoints"]["table"]["token"]
        known: set[Path] = set()
        seen_in_outbox(known)  # what earlier runs left
        delays: dict[str, list[float]] = {"voucher": [], "apology": [], "alert": [], "all three": []}
        stamp = int(time.time())
        for i in range(n):
            address = f"bench{stamp}-{i}@example.com"
            # A phone's page view first: the answer carries that page's nonce (#11 item 1).
            page = urllib.request.urlopen(f"{api}/s/{token}", timeout=10).read().decode()  # noqa: S310 - loopback
            nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            posted = time.monotonic()
            post(
                f"{api}/v1/responses",
                {
                    "token": token,
                    "nonce": nonce,
                    "score": 2,
                    "email": address,
                    "consent": True,
                    "respondent_id": f"bench{stamp}{i}",
                    "comment": "Chờ lâu quá",
                },
            )
            arrived: dict[str, float] = {}
            deadline = posted + 10
            while len(arrived) < 3 and time.monotonic() < deadline:
                for (kind, customer), at in seen_in_outbox(known).items():
                    if customer == address:
                        arrived[kind] = at
                time.sleep(0.01)
            for kind in ("voucher", "apology", "alert"):
                delays[kind].append(arrived[kind] - posted if kind in arrived else float("inf"))
            delays["all three"].append(max(delays[k][-1] for k in ("voucher", "apology", "alert")))
        print(f"submission -> email under make run, n={n} (stream polled every 200 ms)")
        for kind, values in delays.items():
            print(f"  {kind:<9} median {statistics.median(values) * 1000:7.0f} ms   max {max(values) * 1000:7.0f} ms")
        late = sum(1 for d in delays["all three"] if d > 2.0)
        print(f"  over 2 s: {late} of {n}   (server log: .local/bench_email_delay.log)")
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
