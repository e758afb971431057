"""Submission latency under `make run` with an empty café and with 8 weeks of history (issue #13: the
emulator's cost must not grow with the data). Starts two `make run` servers on free loopback ports, one
with DEMO_HISTORY_DAYS=0 and one with DEMO_HISTORY_DAYS=56, prints each table's item count (a paginated
Scan with Select=COUNT against that run's emulator), then sends the same answers to both, alternating one
by one (a noisy, shared machine slows both alike), sequentially: latency, not throughput. Each answer is
posted as a phone does: GET the table QR's survey page for its nonce, then POST /v1/responses; the POST
is timed. Prints p50 and p99 of each and the ratios 56/0 (goal <= 1.3).

RATE_LIMIT_PER_IP is raised for both runs: every answer here comes from 127.0.0.1, hundreds a minute.
Run: `.venv/bin/python bench/local_scaling.py [--samples 500]` (logs: .local/bench_scaling_{0,56}.log).
"""

from __future__ import annotations

import argparse
import html
import json
import re
import statistics
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _make_run import demo_of, free_port, make_run

ROOT = Path(__file__).resolve().parents[1]
HISTORIES = (0, 56)
GOAL = 1.3


def item_count(emulator_port: int) -> int:
    import boto3

    client = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{emulator_port}",
        region_name="ap-southeast-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    table = client.list_tables()["TableNames"][0]
    return sum(page["Count"] for page in client.get_paginator("scan").paginate(TableName=table, Select="COUNT"))


def answer(api: str, token: str, score: int, phone: int) -> float:
    """Seconds the POST of one answer took (its page view first, untimed, as a phone gets its nonce)."""
    headers = {"User-Agent": f"Mozilla/5.0 (Linux; Android 14; bench-{phone})"}
    view = urllib.request.Request(f"{api}/s/{token}", headers=headers)  # noqa: S310 - loopback only
    page = urllib.request.urlopen(view, timeout=30).read()  # noqa: S310 - loopback only
    found = re.search(rb'name="nonce" value="([^"]+)"', page)
    body = {"token": token, "score": score, "nonce": html.unescape(found.group(1).decode()) if found else ""}
    request = urllib.request.Request(  # noqa: S310 - loopback only
        f"{api}/v1/responses",
        data=json.dumps(body).encode(),
        headers={**headers, "Content-Type": "application/json"},
        method="POST",
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as posted:  # noqa: S310 - loopback only
        posted.read()
        if posted.status != 201:
            raise SystemExit(f"{api} answered {posted.status}")
    return time.perf_counter() - started


def timed_answer(run: dict[str, Any], score: int, phone: int) -> float:
    """``answer``, tried again (at most twice) when the connection drops: counted in the run's ``resets``."""
    for attempt in range(3):
        try:
            return answer(run["api"], run["token"], score, phone)
        except (ConnectionError, urllib.error.URLError):
            run["resets"] += 1
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--samples", type=int, default=500, help="answers timed per run (default 500)")
    args = parser.parse_args()
    if not 20 <= args.samples <= 5000:
        sys.exit("--samples 20..5000")
    runs: dict[int, dict[str, Any]] = {}
    with ExitStack() as stack:
        for days in HISTORIES:
            # One at a time: every run writes .local/demo.json, read right after its readiness.
            emulator_port = free_port()
            started = time.monotonic()
            api = stack.enter_context(
                make_run(
                    ROOT / ".local" / f"bench_scaling_{days}.log",
                    DEMO_HISTORY_DAYS=str(days),
                    EMULATOR_PORT=str(emulator_port),
                    RATE_LIMIT_PER_IP="100000",
                )
            )
            ready = time.monotonic() - started
            runs[days] = {"api": api, "token": demo_of(api)["touchpoints"]["table"]["token"], "ready": ready}
            runs[days]["items"] = item_count(emulator_port)
            runs[days]["latencies"], runs[days]["resets"] = [], 0
        for i in range(20):  # warm-up, not counted: first imports, connections, caches
            for run in runs.values():
                timed_answer(run, i % 11, i)
        for i in range(args.samples):
            for days in HISTORIES if i % 2 else HISTORIES[::-1]:
                runs[days]["latencies"].append(timed_answer(runs[days], i % 11, 1000 + i))
    print(f"submission latency under make run, {args.samples} answers each, alternating between the two runs")
    for days, run in runs.items():
        values = run["latencies"]
        mean = statistics.fmean(values) * 1000
        print(
            f"  DEMO_HISTORY_DAYS={days:<3} items in the table {run['items']:>7}  ready in {run['ready']:5.1f} s  "
            f"p50 {pct(values, 0.50):6.1f} ms  p99 {pct(values, 0.99):6.1f} ms  mean {mean:6.1f} ms"
            + (f"  (connections reset and retried: {run['resets']})" if run["resets"] else "")
        )
    old, new = runs[HISTORIES[0]]["latencies"], runs[HISTORIES[1]]["latencies"]
    p50, p99 = pct(new, 0.50) / pct(old, 0.50), pct(new, 0.99) / pct(old, 0.99)
    print(f"  ratio {HISTORIES[1]}/{HISTORIES[0]} days: p50 {p50:.2f}x  p99 {p99:.2f}x  (goal <= {GOAL})")


if __name__ == "__main__":
    main()
