"""The local stream consumer keeps up (issue #13): 150 answers posted at once under `make run`, each with a
consented email, one in five unhappy; how long until every follow-up is written to .local/outbox/ (a
voucher for each happy answer; an apology, which carries the voucher, and an owner alert for each unhappy
one). Goal: all done within 20 s of the first post.

Starts `make run` on free loopback ports (bench/_make_run.py) with two settings raised, since every
answer here comes from 127.0.0.1 at once: RATE_LIMIT_PER_IP (the per-address cap would refuse a crowd
from one address) and ALERT_BATCH_AFTER (past it, owner alerts are batched on purpose into a 5-minute
window). Emails go out at the shipped SES pace (SES_MAX_SEND_RATE, 14/s), which alone takes 180 / 13.3
= 13.5 s for the 180 emails here. Each answer is posted as a phone does: the page view, then the answer
with its nonce.
Run: `.venv/bin/python bench/followups_catchup.py [answers=150] [--threads 8]` (log: .local/bench_followups.log).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _make_run import demo_of, make_run
from email_delay import answer_as_a_phone, seen_in_outbox

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT / ".local" / "bench_followups.log"
GOAL_SECONDS = 20.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("answers", nargs="?", type=int, default=150)
    parser.add_argument("--threads", type=int, default=8, help="phones posting at the same time (default 8)")
    args = parser.parse_args()
    if not 1 <= args.answers <= 1000 or not 1 <= args.threads <= 32:
        sys.exit("answers 1..1000, --threads 1..32")
    overrides = {"RATE_LIMIT_PER_IP": "100000", "ALERT_BATCH_AFTER": "1000", "POWERTOOLS_LOG_LEVEL": "WARNING"}
    with make_run(LOG, **overrides) as api:
        token = demo_of(api)["touchpoints"]["table"]["token"]
        known: set[Path] = set()
        seen_in_outbox(known)  # what earlier runs and the seeding left
        stamp = int(time.time())
        expected: set[tuple[str, str]] = set()
        plan = []
        for i in range(args.answers):
            address = f"catchup{stamp}-{i}@example.com"
            unhappy = i % 5 == 4
            body = {"token": token, "email": address, "consent": True, "respondent_id": f"c{stamp}{i}"}
            if unhappy:
                body |= {"score": 1 + i % 2, "comment": "Chờ lâu quá, nhân viên không để ý"}
                expected |= {("apology", address), ("alert", address)}
            else:
                body |= {"score": 9 + i % 2}
                expected.add(("voucher", address))
            plan.append(body)
        failures: list[str] = []
        lock = threading.Lock()

        def phone(part: list[dict]) -> None:
            for body in part:
                try:
                    answer_as_a_phone(api, body)
                except Exception as refused:  # counted and printed: a refused answer has no follow-up
                    with lock:
                        failures.append(f"{body['email']}: {refused}")

        started = time.monotonic()
        threads = [threading.Thread(target=phone, args=(plan[n :: args.threads],)) for n in range(args.threads)]
        for thread in threads:
            thread.start()
        done: dict[tuple[str, str], float] = {}
        while any(thread.is_alive() for thread in threads):
            done |= seen_in_outbox(known)
            time.sleep(0.05)
        posted = time.monotonic()
        if failures:
            print(f"{len(failures)} answers refused, e.g. {failures[:3]} (log: {LOG})")
            expected = {(kind, address) for kind, address in expected if not any(address in f for f in failures)}
        deadline = posted + 120
        while not expected <= done.keys() and time.monotonic() < deadline:
            done |= seen_in_outbox(known)
            time.sleep(0.05)
    missing = expected - done.keys()
    finished = max((done[key] for key in expected if key in done), default=posted)
    kinds = {kind: sum(1 for k, _ in expected if k == kind) for kind in ("voucher", "apology", "alert")}
    print(
        f"follow-ups under make run: {args.answers} answers posted at once by {args.threads} phones "
        f"(one in five unhappy), {len(expected)} emails expected {kinds}"
    )
    print(f"  answers posted in {posted - started:.1f} s")
    print(
        f"  every follow-up in .local/outbox/ {finished - started:.1f} s after the first post, "
        f"{finished - posted:.1f} s after the last answer (goal <= {GOAL_SECONDS:.0f} s after the first post)"
    )
    if missing:
        print(f"  MISSING after 120 s: {len(missing)}, e.g. {sorted(missing)[:3]} (log: {LOG})")


if __name__ == "__main__":
    main()
