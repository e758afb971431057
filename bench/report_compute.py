"""Compute cost of one daily report: 1,000,000 synthetic responses, no AWS.

Prints the time to count the responses (Counter over row tuples), the time to build the report from the
counts, and the peak memory of the whole run (tracemalloc). The target is <= 2 s on this machine.

    .venv/bin/python bench/report_compute.py [N]
"""

from __future__ import annotations

import random
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib.domain.report import CommentKeeper, DayInputs, Tally, TouchpointInfo, build_report

TOUCHPOINTS = [
    TouchpointInfo(f"tp{i:05d}", f"Touchpoint {i}", ch, m)
    for i, (ch, m) in enumerate(
        [("qr", "nps"), ("receipt", "csat"), ("email", "ces"), ("web", "csat"), ("qr", "nps"), ("receipt", "nps")]
    )
]
SCALE = {"nps": 11, "csat": 5, "ces": 7}
LOW = {"nps": 0, "csat": 1, "ces": 1}


def synthetic_rows(n: int, seed: int = 7):  # type: ignore[no-untyped-def]
    """A generator, as the DynamoDB pages are: the rows are never held in a list."""
    rng = random.Random(seed)
    choice, randrange, rand = rng.choice, rng.randrange, rng.random
    for _ in range(n):
        tp = choice(TOUCHPOINTS)
        yield (tp.touchpoint_id, tp.channel, tp.metric, LOW[tp.metric] + randrange(SCALE[tp.metric]), rand() < 0.2)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    # Generating random rows is the stand-in for reading DynamoDB pages, not part of the report cost:
    # the rows are materialised first so the timing below is the report's own work.
    rows = list(synthetic_rows(n))
    tracemalloc.start()
    start = time.perf_counter()
    tally = Tally.of(rows)
    counted = time.perf_counter()
    keeper = CommentKeeper()
    for i in range(0, n, max(1, n // 5000)):  # a few thousand unhappy comments, as a bad day might bring
        tp, _, metric, _, _ = rows[i]
        keeper.offer(
            created_at=f"2026-11-20T{i % 24:02d}:00:00.{i:06d}Z",
            touchpoint_id=tp,
            metric=metric,
            score=LOW[metric],
            comment="Phục vụ chậm, đồ uống nguội.",
        )
    windows = {"previous_day": tally, "trailing_7": tally + tally, "trailing_28": tally + tally + tally}
    report = build_report(
        business_id="bench00001",
        business_name="Bench",
        day="2026-11-20",
        timezone="Asia/Ho_Chi_Minh",
        locale="vi",
        computed_at="2026-11-21T00:05:00.000000Z",
        inputs=DayInputs(tally=tally, windows=windows, comments=keeper.newest(), comments_total=keeper.total),
        touchpoints=TOUCHPOINTS,
    )
    body = report.model_dump_json()
    done = time.perf_counter()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert report.responses == n
    print(f"responses                  {n:,}")
    print(f"count (Counter of rows)    {counted - start:.3f} s")
    print(f"build report from counts   {done - counted:.3f} s")
    print(f"total                      {done - start:.3f} s   (target <= 2 s)")
    print(f"peak memory (tracemalloc)  {peak / 2**20:.1f} MiB above the materialised rows")
    print(f"distinct count keys        {len(tally.counts)}")
    print(f"stored report JSON         {len(body.encode()) / 1024:.1f} KiB")
    print(
        f"NPS {report.metrics['nps'].summary.headline} ±{report.metrics['nps'].summary.margin_of_error}, "
        f"CSAT {report.metrics['csat'].summary.headline}%, CES {report.metrics['ces'].summary.headline}"
    )


def streaming(n: int) -> None:
    """The same count fed from a generator, as the job is fed from DynamoDB pages: what memory it needs
    when the responses are never all in memory (the time here includes generating the random rows)."""
    tracemalloc.start()
    start = time.perf_counter()
    tally = Tally.of(synthetic_rows(n))
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert tally.n == n
    print(f"streamed from a generator  {elapsed:.3f} s incl. generating rows, peak memory {peak / 2**20:.2f} MiB")


if __name__ == "__main__":
    main()
    streaming(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
