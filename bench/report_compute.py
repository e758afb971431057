"""Compute cost of one daily report: 1,000,000 synthetic responses, no AWS.

Prints the time to count the responses (Counter over row tuples), the time to build the report from the
counts, and the peak memory of the whole run (tracemalloc). The target is <= 2 s on this machine. Issue
#15: the same report side by side without and with the reasons, topics, labels and heatmap tallies
(each answer carries 0-3 reasons, 0-2 topics, a table, shift and staff label and a time of day).

    .venv/bin/python bench/report_compute.py [N]
"""

from __future__ import annotations

import json
import random
import sys
import time
import tracemalloc
import zlib
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib.domain.calendar import iso_utc
from chalicelib.domain.cases import Case, CaseTimes, overdue, resolution_figures
from chalicelib.domain.report import (
    CommentKeeper,
    DayInputs,
    OverdueCase,
    Resolution,
    Tally,
    TouchpointInfo,
    build_report,
)
from chalicelib.domain.why import DayCounter, Facets, build_why

TOUCHPOINTS = [
    TouchpointInfo(f"tp{i:05d}", f"Touchpoint {i}", ch, m)
    for i, (ch, m) in enumerate(
        [("qr", "nps"), ("receipt", "csat"), ("email", "ces"), ("web", "csat"), ("qr", "nps"), ("receipt", "nps")]
    )
]
SCALE = {"nps": 11, "csat": 5, "ces": 7}
LOW = {"nps": 0, "csat": 1, "ces": 1}


KEYS = ("wait", "food_drink", "staff", "price", "cleanliness", "atmosphere", "parking", "payment", "delivery")
TABLES = [str(i) for i in range(1, 31)]
SHIFTS, STAFF = ("morning", "noon", "evening"), ("An", "Bình", "Chi", "Dũng", "Hà", "Khoa")
DAY = "2026-11-20"
ZONE = "Asia/Ho_Chi_Minh"


def synthetic_rows(n: int, seed: int = 7, *, issue15: bool = True):  # type: ignore[no-untyped-def]
    """A generator, as the DynamoDB pages are: the rows are never held in a list. Each row is the base
    row (touchpoint, channel, metric, score, commented) and, for issue #15, its reasons (0-3, in chip
    order), topics (0-2, commented answers only), labels (table 1..30, shift, staff) and its UTC time."""
    rng = random.Random(seed)
    choice, randrange, rand, sample = rng.choice, rng.randrange, rng.random, rng.sample
    seen: dict[Any, Any] = {}  # one object per distinct tuple, as the adapter's day_rows hands them out
    same = seen.setdefault
    for _ in range(n):
        tp = choice(TOUCHPOINTS)
        commented = rand() < 0.2
        base = (tp.touchpoint_id, tp.channel, tp.metric, LOW[tp.metric] + randrange(SCALE[tp.metric]), commented)
        if not issue15:
            yield base
            continue
        reasons = tuple(KEYS[i] for i in sorted(sample(range(9), randrange(4))))
        # Topics come from comments: only a commented answer has any.
        topics = tuple(KEYS[i] for i in sorted(sample(range(9), randrange(3)))) if commented else ()
        labels = (("shift", choice(SHIFTS)), ("staff", choice(STAFF)), ("table", choice(TABLES)))
        at = f"{DAY}T{randrange(24):02d}:{randrange(60):02d}:{randrange(60):02d}.000000Z"
        yield (*base, same(reasons, reasons), same(topics, topics), same(labels, labels), at)


CASES_PER_WEEK = 5_000  # a week of unhappy answers at a busy business (the 1,000,000-row day's week)
WEEK_START = datetime(2026, 11, 14, tzinfo=UTC)


def synthetic_cases(n: int, seed: int = 11) -> list[dict[str, Any]]:
    """A week of cases as the store's items read back (plain values): 70% replied within 48 h, half of
    those resolved within a day more, 60% of the rest with an address. Generating them is not timed."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        created = WEEK_START + timedelta(minutes=rng.randrange(7 * 24 * 60))
        replied = created + timedelta(hours=rng.random() * 48) if rng.random() < 0.7 else None
        resolved = replied + timedelta(hours=rng.random() * 24) if replied and rng.random() < 0.5 else None
        status = "resolved" if resolved else "replied" if replied else "open"
        items.append({
            "response_id": f"r{i:015d}", "status": status, "score": rng.randrange(7), "metric": "nps",
            "created_at": iso_utc(created), "history": [{"at": iso_utc(created), "by": "customer", "action": "opened"}],
            "touchpoint_id": "tp00000", "channel": "qr", "has_contact": rng.random() < 0.6 or status != "open",
            "replies": 1 if replied else 0, "first_reply_at": iso_utc(replied) if replied else None,
            "resolved_at": iso_utc(resolved) if resolved else None,
        })
    return items


def resolution_block(items: list[dict[str, Any]]) -> Resolution:
    """Issue #14: the report's resolution block as ``Reports.compute`` builds it (``Cases.figures`` and
    ``Cases.overdue_summary``): the store's items read into case times and open cases, the figures, the
    overdue list."""
    now = WEEK_START + timedelta(days=7, hours=1)
    # The figures read four attributes of every case (``case_times``); only open cases are read whole.
    times = (CaseTimes(i["created_at"], i["first_reply_at"], i["resolved_at"], i["has_contact"]) for i in items)
    figures = resolution_figures(times, now)
    waiting = [c for c in (Case.model_validate(i) for i in items if i["status"] == "open") if overdue(c, now)]
    return Resolution(
        window_days=7, first="2026-11-14", last="2026-11-20", figures=figures, overdue_count=len(waiting),
        overdue=[
            OverdueCase(response_id=c.response_id, created_at=c.created_at, touchpoint_id=c.touchpoint_id,
                        touchpoint="Touchpoint 0", metric=c.metric, score=c.score)
            for c in waiting[:10]
        ],
    )


def count_facets(rows: list[Any]) -> Facets:
    """Issue #15: the day's reasons, topics, labels and heatmap counts, Counter of tuples as the base."""
    counter = DayCounter(ZONE, date.fromisoformat(DAY))
    # As DayCounter.add: only the answers that name a reason, a topic or a label are counted for them.
    counter.reasons.update(map(itemgetter(2, 3, 5), filter(itemgetter(5), rows)))
    counter.topics.update(map(itemgetter(2, 3, 6), filter(itemgetter(6), rows)))
    counter.labels.update(map(itemgetter(2, 3, 7), filter(itemgetter(7), rows)))
    counter.times.update((r[0], r[8][: counter.cut], r[2], r[3]) for r in rows)
    return counter.facets(ZONE)


def compute(rows: list[Any], base: list[Any], case_items: list[dict[str, Any]], with_why: bool) -> dict[str, Any]:
    """One report as the job computes it; with_why adds the issue #15 tallies and blocks."""
    n = len(rows)
    start = time.perf_counter()
    tally = Tally.of(base)
    counted = time.perf_counter()
    facets = count_facets(rows) if with_why else None
    faceted = time.perf_counter()
    keeper = CommentKeeper()
    for i in range(0, n, max(1, n // 5000)):  # a few thousand unhappy comments, as a bad day might bring
        tp, _, metric, _, _ = base[i]
        keeper.offer(
            created_at=f"2026-11-20T{i % 24:02d}:00:00.{i:06d}Z",
            touchpoint_id=tp,
            metric=metric,
            score=LOW[metric],
            comment="Phục vụ chậm, đồ uống nguội.",
        )
    windows = {"previous_day": tally, "trailing_7": tally + tally, "trailing_28": tally + tally + tally}
    counted_comments = time.perf_counter()
    resolution = resolution_block(case_items)  # issue #14: the complaint inbox's figures of the week
    resolved_at = time.perf_counter()
    why = None
    if facets is not None:
        # The week and the week before merged from stored days: this day's facets as 13 stored copies.
        stored = json.loads(json.dumps(facets.to_json()))
        week, previous = facets, Facets()
        for _ in range(6):
            week = week + Facets.from_json(stored)
        for _ in range(7):
            previous = previous + Facets.from_json(stored)
        why = build_why(
            week,
            previous,
            first="2026-11-14",
            last=DAY,
            previous_first="2026-11-07",
            previous_last="2026-11-13",
            min_n=5,
            staff_views=False,
        )
    why_at = time.perf_counter()
    report = build_report(
        business_id="bench00001",
        business_name="Bench",
        day=DAY,
        timezone=ZONE,
        locale="vi",
        computed_at="2026-11-21T00:05:00.000000Z",
        inputs=DayInputs(tally=tally, windows=windows, comments=keeper.newest(), comments_total=keeper.total),
        touchpoints=TOUCHPOINTS,
        resolution=resolution,
        why=why,
    )
    body = report.model_dump_json()
    done = time.perf_counter()
    assert report.responses == n
    return {
        "count": counted - start,
        "facets": faceted - counted,
        "build": done - faceted,
        "resolution": resolved_at - counted_comments,
        "why": why_at - resolved_at,
        "total": done - start,
        "report": report,
        "json_kib": len(body.encode()) / 1024,
        "tally": tally,
        "facets_kib": len(zlib.compress(json.dumps(facets.to_json(), separators=(",", ":")).encode(), 6)) / 1024
        if facets is not None
        else 0.0,
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    # Generating random rows is the stand-in for reading DynamoDB pages, not part of the report cost:
    # the rows are materialised first so the timing below is the report's own work.
    rows = list(synthetic_rows(n))
    base = [r[:5] for r in rows]  # the rows as the count before #15 saw them
    case_items = synthetic_cases(CASES_PER_WEEK)
    # Timed without tracemalloc (it slows every allocation several times over); memory in a third run.
    plain = compute(rows, base, case_items, with_why=False)
    full = compute(rows, base, case_items, with_why=True)
    tracemalloc.start()
    compute(rows, base, case_items, with_why=True)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    report = full["report"]
    print(f"responses                  {n:,}")
    print("                           without #15   with reasons, topics, labels, heatmap")
    for label, key in (
        ("count (Counter of rows)", "count"),
        ("count #15 tallies", "facets"),
        ("build report from counts", "build"),
        ("  of which resolution", "resolution"),
        ("  of which why (2 weeks)", "why"),
        ("total", "total"),
    ):
        print(f"{label:<27}{plain[key]:8.3f} s   {full[key]:8.3f} s")
    print(f"target                     total <= 2 s ({'met' if full['total'] <= 2 else 'NOT met'} with #15)")
    print(f"peak memory (tracemalloc)  {peak / 2**20:.1f} MiB above the materialised rows (with #15)")
    print(f"distinct count keys        {len(full['tally'].counts)}")
    print(f"stored report JSON         {plain['json_kib']:.1f} KiB   {full['json_kib']:.1f} KiB (before compression)")
    print(f"stored #15 tallies         {full['facets_kib']:.1f} KiB compressed, one day")
    print(
        f"NPS {report.metrics['nps'].summary.headline} ±{report.metrics['nps'].summary.margin_of_error}, "
        f"CSAT {report.metrics['csat'].summary.headline}%, CES {report.metrics['ces'].summary.headline}"
    )


def streaming(n: int) -> None:
    """The same count fed from a generator, as the job is fed from DynamoDB pages: what memory it needs
    when the responses are never all in memory (the time here includes generating the random rows)."""
    tracemalloc.start()
    start = time.perf_counter()
    tally = Tally.of(synthetic_rows(n, issue15=False))
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert tally.n == n
    print(f"streamed from a generator  {elapsed:.3f} s incl. generating rows, peak memory {peak / 2**20:.2f} MiB")


if __name__ == "__main__":
    main()
    streaming(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
