"""The demo café's invented past (`make run`, DEMO_HISTORY_DAYS): the same every time, busy weekends, one
bad week, customers who leave an address, unhappy ones who come back happier. Pure: no AWS."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from chalicelib.local.history import BAD_WEEK, DEFAULT_DAYS, METRIC_OF, Visit, history_days, plan, unhappy

NOW = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def _visits() -> list[Visit]:
    return plan(DEFAULT_DAYS, NOW, "Asia/Ho_Chi_Minh")


def _nps(visits: list[Visit]) -> float:
    scores = [v.score for v in visits if METRIC_OF[v.kind] == "nps" and not v.abandoned]
    return 100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores)


def test_the_same_day_gives_the_same_cafe_so_screenshots_and_figures_stay_true() -> None:
    assert _visits() == _visits()
    assert [(v.at, v.kind, v.score, v.comment, v.customer) for v in _visits()] == [
        (v.at, v.kind, v.score, v.comment, v.customer) for v in plan(DEFAULT_DAYS, NOW, "Asia/Ho_Chi_Minh")
    ]


def test_eight_weeks_hold_several_hundred_answers_a_week_over_every_touchpoint() -> None:
    visits = [v for v in _visits() if not v.abandoned]
    assert all(v.at < NOW for v in visits) and visits == sorted(visits)
    assert len(visits) / 8 >= 200
    assert {v.kind for v in visits} == {"table", "receipt", "email", "website"}
    assert {METRIC_OF[v.kind] for v in visits} == {"nps", "csat", "ces"}
    assert any(v.abandoned for v in _visits())  # page views without an answer: the funnel's first step


def test_weekends_are_busier_than_weekdays() -> None:
    per_day: defaultdict[date, int] = defaultdict(int)
    for visit in _visits():
        per_day[visit.at.astimezone(ZONE).date()] += 1
    weekend = [n for day, n in per_day.items() if day.weekday() >= 5 and day != NOW.astimezone(ZONE).date()]
    weekday = [n for day, n in per_day.items() if day.weekday() < 5 and day != NOW.astimezone(ZONE).date()]
    assert statistics.mean(weekend) > 1.4 * statistics.mean(weekday)


def test_one_bad_week_of_slow_service_drags_the_scores_down_with_vietnamese_comments() -> None:
    today = NOW.astimezone(ZONE).date()
    bad = [v for v in _visits() if (today - v.at.astimezone(ZONE).date()).days in BAD_WEEK]
    good = [v for v in _visits() if (today - v.at.astimezone(ZONE).date()).days not in BAD_WEEK]
    assert _nps(bad) < _nps(good) - 30
    slow = [v.comment for v in bad if v.comment and ("chậm" in v.comment or "lâu" in v.comment)]
    assert len(slow) >= 10


def test_unhappy_customers_who_left_an_address_come_back_happier_within_two_weeks() -> None:
    visits = _visits()
    came_back = 0
    for visit in visits:
        if not (visit.customer and unhappy(METRIC_OF[visit.kind], visit.score)):
            continue
        later = [
            v for v in visits
            if v.customer == visit.customer and visit.at < v.at and (v.at - visit.at).days <= 14
            and v.kind == visit.kind and v.score > visit.score
        ]
        came_back += bool(later)
    assert came_back >= 20


def test_addresses_are_on_reserved_example_domains_only() -> None:
    domains = {v.customer.rsplit("@", 1)[1] for v in _visits() if v.customer}
    assert domains <= {"example.com", "example.net", "example.org"}


@pytest.mark.parametrize(("raw", "days"), [(None, 56), ("", 56), ("0", 0), ("7", 7), (" 56 ", 56), ("366", 366)])
def test_demo_history_days_takes_a_whole_number_of_days(raw: str | None, days: int) -> None:
    assert history_days(raw) == days


@pytest.mark.parametrize("raw", ["-1", "abc", "7.5", "367", "1e3"])
def test_demo_history_days_refuses_anything_else_with_a_sentence(raw: str) -> None:
    with pytest.raises(ValueError, match="DEMO_HISTORY_DAYS must be a whole number of days from 0 to 366"):
        history_days(raw)


def test_weekend_evening_rush_at_the_counter_is_when_most_unhappy_answers_come() -> None:
    # The demo's heatmap and the digest's lead sentence have a real pattern to find.
    cells: defaultdict[tuple[int, int], int] = defaultdict(int)
    for v in _visits():
        if not v.abandoned and unhappy(METRIC_OF[v.kind], v.score):
            local = v.at.astimezone(ZONE)
            cells[(local.weekday(), local.hour)] += 1
    busiest = sorted(cells, key=lambda cell: -cells[cell])[:3]
    assert all(day >= 5 and 18 <= hour <= 20 for day, hour in busiest)
    # Not only because weekend evenings are busy: an answer there is more than twice as often unhappy.
    shares = defaultdict(lambda: [0, 0])
    for v in _visits():
        if v.abandoned or v.kind not in ("receipt", "table"):
            continue
        local = v.at.astimezone(ZONE)
        tally = shares[local.weekday() >= 5 and 18 <= local.hour <= 20]
        tally[0] += 1
        tally[1] += unhappy(METRIC_OF[v.kind], v.score)
    assert shares[True][1] / shares[True][0] > 2 * shares[False][1] / shares[False][0]


def test_about_half_tap_a_reason_chip_and_unhappy_ones_mostly_name_the_wait() -> None:
    answered = [v for v in _visits() if not v.abandoned]
    tapped = [v for v in answered if v.reasons]
    assert 0.4 < len(tapped) / len(answered) < 0.6
    assert all(1 <= len(v.reasons) <= 2 and len(set(v.reasons)) == len(v.reasons) for v in tapped)
    sad = [v for v in tapped if unhappy(METRIC_OF[v.kind], v.score)]
    assert sum("wait" in v.reasons for v in sad) > len(sad) / 2
    happy = [v for v in tapped if not unhappy(METRIC_OF[v.kind], v.score)]
    assert sum("food_drink" in v.reasons for v in happy) > sum("wait" in v.reasons for v in happy)
