"""Issue #15, the report's "why": a day's reasons, topics, labels and heatmap counts stored compactly with
its report, weeks merged from stored days (never re-reading old answers), and the blocks built from them."""

from __future__ import annotations

import json
import random
import zlib
from collections import Counter
from datetime import date
from typing import Any

from chalicelib.domain.jobs import ReportJob
from chalicelib.domain.why import (
    MAX_CUSTOM_KEYS,
    MAX_LABEL_VALUES,
    DayCounter,
    Facets,
    build_why,
)
from chalicelib.ports import ResponseRow
from tests.unit import test_report_job
from tests.unit.test_report_job import add, business

# The report job's own world (reports over fake stores at 2026-11-20 03:00 UTC), not a copy of it.
world = test_report_job.world


def _count(rows: list[tuple[Any, ...]], timezone: str = "Asia/Ho_Chi_Minh") -> Facets:
    counter = DayCounter(timezone, date(2026, 11, 28))
    for row in rows:
        counter.add(*row)
    return counter.facets(timezone)


def _answer(
    score: int,
    reasons: tuple[str, ...] = (),
    topics: tuple[str, ...] = (),
    labels: tuple[tuple[str, str], ...] = (),
    at: str = "2026-11-28T11:05:00.000000Z",
    tp: str = "tp1",
    metric: str = "nps",
) -> tuple[Any, ...]:
    return (tp, metric, score, at, reasons, topics, labels)


def test_reasons_and_topics_with_the_same_key_are_counted_apart_and_once_per_answer() -> None:
    facets = _count([_answer(3, ("wait", "wait"), ("wait",)), _answer(10, (), ("staff",)), _answer(9)])
    assert facets.totals == Counter({("nps", 3): 1, ("nps", 10): 1, ("nps", 9): 1})
    assert facets.keys == Counter(
        {("nps", 3, "reason:wait"): 1, ("nps", 3, "topic:wait"): 1, ("nps", 10, "topic:staff"): 1}
    )


def test_the_heatmap_cell_is_the_business_s_local_weekday_and_hour_even_at_a_quarter_hour_offset() -> None:
    # 2026-11-28 is a Saturday (weekday 5). 11:05 UTC is 18:05 in Saigon; 12:20 UTC is 18:05 in Kathmandu
    # (+05:45), where a whole-UTC-hour bucket would have put it at 17 h.
    saigon = _count([_answer(3), _answer(9, at="2026-11-28T11:59:59.999999Z")])
    assert saigon.heat == Counter({("tp1", 5, 18, True): 1, ("tp1", 5, 18, False): 1})
    nepal = _count([_answer(3, at="2026-11-28T12:20:00.000000Z")], "Asia/Kathmandu")
    assert nepal.heat == Counter({("tp1", 5, 18, True): 1})


def test_stored_facets_read_back_the_same_and_merge_by_addition() -> None:
    day = _count(
        [
            _answer(3, ("wait",), ("custom:wifi",), (("shift", "evening"), ("table", "3"))),
            _answer(5, metric="csat", labels=(("table", "3"),)),
            _answer(1, metric="ces", at="2026-11-28T02:00:00.000000Z", tp="tp2"),
        ]
    )
    stored = json.loads(json.dumps(day.to_json()))
    assert Facets.from_json(stored) == day
    assert (day + day).keys == Counter({k: 2 * n for k, n in day.keys.items()})
    assert Facets.from_json(stored) + Facets() == day


def test_a_report_stored_before_facets_or_a_malformed_one_reads_as_empty_not_as_an_error() -> None:
    for data in (None, [], {"v": 99}, {"v": 1, "totals": "x", "keys": [["reason:wait", "nps", [1]]], "heat": [[1]]}):
        assert Facets.from_json(data) == Facets()


def test_a_damaged_stored_day_naming_a_key_more_often_than_it_had_answers_is_trimmed_not_fatal() -> None:
    damaged = {"v": 1, "totals": [["nps", [0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]]],
               "keys": [["reason:wait", "nps", [0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1]]]}  # fmt: skip
    facets = Facets.from_json(damaged)
    assert facets.keys == Counter({("nps", 2, "reason:wait"): 2})
    why = build_why(facets, Facets(), first="a", last="b", previous_first="c", previous_last="d", min_n=1,
                    staff_views=False)  # fmt: skip
    assert why.effects.metrics["nps"].keys[0].n == 2


def test_many_owners_keywords_and_label_values_are_capped_the_rest_counted_as_other() -> None:
    rows = [
        _answer(9, (), (f"custom:k{i}", f"custom:j{i}"), (("table", f"t{i}"),)) for i in range(MAX_CUSTOM_KEYS + 40)
    ] + [_answer(2, ("wait",), ("custom:k0",), (("table", "t0"),))]
    facets = _count(rows)
    topics = {k for _, _, k in facets.keys if k.startswith("topic:")}
    assert len(topics) == MAX_CUSTOM_KEYS + 1 and "topic:custom:k0" in topics and "topic:custom:other" in topics
    # An answer naming two keys that both fell under "other" counts once there: "other" stays a real share.
    assert facets.keys[("nps", 9, "topic:custom:other")] <= facets.totals[("nps", 9)]
    values = {v for name, v, _, _ in facets.labels if name == "table"}
    assert len(values) == MAX_LABEL_VALUES + 1 and "other" in values
    assert sum(n for (name, *_), n in facets.labels.items() if name == "table") == len(rows)


def test_a_day_s_stored_facets_stay_far_below_the_item_limit_at_the_caps() -> None:
    rng = random.Random(3)
    rows = [
        _answer(
            rng.randrange(11),
            tuple(rng.sample(["wait", "price", "staff", "payment"], 2)),
            (f"custom:x{rng.randrange(200)}", "food_drink"),
            tuple(sorted({(f"name{rng.randrange(12)}", f"v{rng.randrange(500)}"), ("shift", str(rng.randrange(3)))})),
            at=f"2026-11-28T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00.000000Z",
            tp=f"tp{rng.randrange(400)}",
            metric="nps",
        )
        for _ in range(50_000)
    ]
    packed = zlib.compress(json.dumps(_count(rows).to_json(), separators=(",", ":")).encode(), 6)
    assert len(packed) < 100_000


def test_the_week_s_effects_rank_reasons_and_topics_with_hand_computed_figures() -> None:
    # 10 NPS answers: 4 promoters, 2 passives, 4 detractors -> NPS 0. Three detractors name the wait:
    # without them 4 promoters / 7 answers, 1 detractor -> (4 - 1) / 7 = 42.9 -> 43; effect +43.
    rows = [_answer(10)] * 4 + [_answer(8)] * 2 + [_answer(2, ("wait",))] * 3 + [_answer(5)]
    why = build_why(
        _count(rows),
        Facets(),
        first="2026-11-22",
        last="2026-11-28",
        previous_first="2026-11-15",
        previous_last="2026-11-21",
        min_n=3,
        staff_views=False,
    )
    nps = why.effects.metrics["nps"]
    assert nps.headline == 0
    wait = nps.keys[0]
    assert (wait.key, wait.n, wait.unhappy_named, wait.share_unhappy_pct, wait.effect) == (
        "reason:wait",
        3,
        3,
        75.0,
        43,
    )
    change = why.share_changes.metrics["nps"].keys[0]
    assert change.now.share_pct == 30.0 and change.status == "too_few_responses"  # no previous week


def test_label_groups_show_n_too_few_and_margin_and_leave_staff_out_unless_turned_on() -> None:
    rows = [_answer(10, labels=(("staff", "An"), ("table", "1")))] * 6 + [_answer(0, labels=(("table", "2"),))] * 2
    off = build_why(
        _count(rows), Facets(), first="a", last="b", previous_first="c", previous_last="d", min_n=5, staff_views=False
    )
    assert [g.name for g in off.labels] == ["table"]
    one, two = off.labels[0].values
    assert (one.value, one.metrics["nps"].n, one.metrics["nps"].headline) == ("1", 6, 100)
    assert one.metrics["nps"].margin_of_error is not None
    assert (two.value, two.metrics["nps"].status, two.metrics["nps"].headline) == ("2", "too_few_responses", None)
    on = build_why(
        _count(rows), Facets(), first="a", last="b", previous_first="c", previous_last="d", min_n=5, staff_views=True
    )
    assert [g.name for g in on.labels] == ["staff", "table"]


def _rows_of(day: str, scores: list[int], reasons: tuple[str, ...] = ()) -> list[ResponseRow]:
    return [
        ResponseRow("tp", "qr", "nps", s, f"{day}T0{i % 10}:00:00.000000Z", None, reasons if s <= 6 else ())
        for i, s in enumerate(scores)
    ]


def test_the_week_is_merged_from_stored_days_and_the_previous_week_gives_the_share_change(world: Any) -> None:
    reports, _, store, *_ = world
    add(world, "saigon01", "Asia/Ho_Chi_Minh", created_day="2026-11-06")
    # Two weeks: the first with the wait named by 1 of 10 answers, the second by 5 of 10.
    for d in range(6, 20):
        day = f"2026-11-{d:02d}"
        named = 1 if d < 13 else 5
        store.rows[("saigon01", day)] = _rows_of(day, [2] * named + [10] * (10 - named), ("wait",))
    for d in range(6, 19):
        reports.run(ReportJob("saigon01", f"2026-11-{d:02d}"), send_digest=False)
    store.reads.clear()
    result = reports.run(ReportJob("saigon01", "2026-11-19"), send_digest=False)
    assert result is not None and result.report.why is not None
    why = result.report.why
    assert (why.first, why.last, why.previous_first, why.previous_last) == (
        "2026-11-13",
        "2026-11-19",
        "2026-11-06",
        "2026-11-12",
    )
    # Old days come from the stored reports: one day's answers read, the day itself.
    assert store.reads.count(("saigon01", "rows")) == 1
    change = why.share_changes.metrics["nps"].keys[0]
    assert (change.key, change.now.share_pct, change.previous.share_pct, change.change_pp) == (
        "reason:wait",
        50.0,
        10.0,
        40.0,
    )
    assert why.missing_days == 0 and why.notes == []


def test_days_stored_before_facets_count_as_empty_and_the_report_says_so(world: Any) -> None:
    reports, _, store, *_ = world
    add(world, "saigon01", "Asia/Ho_Chi_Minh")
    for d in range(16, 20):
        day = f"2026-11-{d:02d}"
        store.rows[("saigon01", day)] = _rows_of(day, [2, 10, 10], ("wait",))
    for d in range(16, 19):
        reports.run(ReportJob("saigon01", f"2026-11-{d:02d}"), send_digest=False)
    store.facets.pop(("saigon01", "2026-11-17"))  # as a report stored before issue #15
    result = reports.run(ReportJob("saigon01", "2026-11-19"), send_digest=False)
    assert result is not None and result.report.why is not None
    why = result.report.why
    assert why.missing_days == 1 and "2026-11-13..2026-11-19" in why.notes[0]
    assert why.effects.metrics["nps"].n == 9  # the 17th counted as empty, the days before the business absent
    assert store.facets[("saigon01", "2026-11-19")]["v"] == 1


def test_staff_label_groups_follow_the_business_setting(world: Any) -> None:
    reports, businesses, store, *_ = world
    add(world, "saigon01", "Asia/Ho_Chi_Minh")
    store.rows[("saigon01", "2026-11-19")] = [
        ResponseRow("tp", "qr", "nps", 9, "2026-11-19T01:00:00.000000Z", labels=(("staff", "An"), ("table", "4")))
    ]
    result = reports.run(ReportJob("saigon01", "2026-11-19"), send_digest=False)
    assert result is not None and result.report.why is not None
    assert [g.name for g in result.report.why.labels] == ["table"]
    biz = business("saigon01", "Asia/Ho_Chi_Minh", "2026-11-01T12:00:00.000000Z")
    businesses.items["saigon01"] = biz.model_copy(update={"staff_views": True})
    result = reports.run(ReportJob("saigon01", "2026-11-19"), send_digest=False)
    assert result is not None and result.report.why is not None
    assert [g.name for g in result.report.why.labels] == ["staff", "table"]
