"""Issue #15: the digest's lead sentence (rules in chalicelib/web/why.py and docs/insights.md) on
hand-computed weeks, and the "what moves the score" blocks in both parts of the digest."""

from __future__ import annotations

from datetime import date
from typing import Any

from chalicelib.domain.report import DayInputs, Tally, TouchpointInfo, build_report
from chalicelib.domain.why import DayCounter, Facets, Why, build_why
from chalicelib.web.digest import render_digest
from chalicelib.web.why import busiest_span, change_rows, key_label, lead_sentence

SAIGON = "Asia/Ho_Chi_Minh"
# Local times in Saigon (UTC+7): Saturday 2026-11-28 18:10 and 19:10, Monday 23rd 10:00, Tuesday 24th 12:00.
SAT_18, SAT_19 = "2026-11-28T11:10:00.000000Z", "2026-11-28T12:10:00.000000Z"
MON_10, TUE_12 = "2026-11-23T03:00:00.000000Z", "2026-11-24T05:00:00.000000Z"
NAMES = {"counter": "Quầy <thu ngân>", "door": "Cửa"}


def week(rows: list[tuple[Any, ...]], min_n: int = 5) -> Why:
    counter = DayCounter(SAIGON, date(2026, 11, 28))
    for tp, score, reasons, topics, at in rows:
        counter.add(tp, "nps", score, at, reasons, topics, ())
    return build_why(
        counter.facets(SAIGON),
        Facets(),
        first="2026-11-22",
        last="2026-11-28",
        previous_first="2026-11-15",
        previous_last="2026-11-21",
        min_n=min_n,
        staff_views=False,
    )


def busy_saturday() -> Why:
    # 20 promoters and 14 detractors: NPS (20 - 14) / 34 = 17.6 -> 18. Nine detractors chose "wait";
    # without them 20 promoters, 5 detractors of 25: NPS 60, so the effect is 60 - 18 = +42.
    # Unhappy answers by cell: Saturday 18 h 6 (all at the counter), 19 h 2, Monday 10 h 1, Tuesday 12 h 5.
    return week(
        [("door", 10, (), (), MON_10)] * 20
        + [("counter", 2, ("wait",), (), SAT_18)] * 6
        + [("counter", 2, ("wait",), (), SAT_19)] * 2
        + [("door", 2, ("wait",), (), MON_10)]
        + [("door", 1, (), (), TUE_12)] * 5
    )


def test_the_lead_names_the_key_that_moves_the_score_with_its_count_effect_and_busiest_hour() -> None:
    why = busy_saturday()
    assert lead_sentence(why, "en", NAMES, 5) == (
        "“Long wait” was chosen in 9 of 14 unhappy answers this week (without those answers, NPS would be 42 "
        "points higher); unhappy answers peaked on Saturday 18–19 h at Quầy <thu ngân> (6 of 14)."
    )
    assert lead_sentence(why, "vi", NAMES, 5) == (
        "“Chờ lâu” được chọn trong 9 trên 14 câu trả lời không hài lòng tuần này (không tính các câu này, NPS sẽ "
        "cao hơn 42 điểm); câu trả lời không hài lòng nhiều nhất vào Thứ Bảy 18–19 h tại Quầy <thu ngân> (6 trên 14)."
    )


def test_a_neighbouring_hour_with_half_as_many_widens_the_span_and_a_shared_span_names_no_touchpoint() -> None:
    why = week(
        [("door", 10, (), (), MON_10)] * 10
        + [("counter", 2, ("wait",), (), SAT_18)] * 4
        + [("door", 2, ("wait",), (), SAT_19)] * 3
    )
    span = busiest_span(why.heatmaps)
    assert span is not None and (span.day, span.start, span.end, span.unhappy) == (5, 18, 20, 7)
    assert span.touchpoint is None  # the counter holds 4 of 7, under two thirds
    assert lead_sentence(why, "en", NAMES, 5).endswith("; unhappy answers peaked on Saturday 18–20 h (7 of 7).")


def test_too_few_unhappy_answers_give_a_plain_sentence_and_no_reason() -> None:
    why = week([("door", 10, (), (), MON_10)] * 10 + [("door", 2, ("wait",), (), SAT_18)] * 3)
    assert lead_sentence(why, "en", NAMES, 5) == "3 unhappy answers this week; too few to say why."
    assert lead_sentence(why, "vi", NAMES, 5) == "3 câu trả lời không hài lòng tuần này; quá ít để nói lý do."


def test_without_an_effect_the_key_named_by_most_unhappy_answers_is_stated_as_a_count_only() -> None:
    # 6 detractors, 4 of them name the price: n = 4 is under 5, so no effect; 4 >= 2 named -> the count.
    # One unhappy answer per cell: no hour holds two, so no time is claimed.
    times = [f"2026-11-2{d}T0{h}:00:00.000000Z" for d, h in [(3, 1), (4, 2), (5, 3), (6, 4), (7, 5), (8, 6)]]
    why = week(
        [("door", 10, (), (), MON_10)] * 3
        + [("door", 0, ("price",) if i < 4 else (), (), t) for i, t in enumerate(times)]
    )
    # Said as the unhappy customer's chip says it, not by the neutral name of the listings ("Price").
    assert lead_sentence(why, "en", NAMES, 5) == "“Too expensive” was chosen in 4 of 6 unhappy answers this week."


def test_a_week_without_unhappy_answers_or_without_named_keys_says_only_that() -> None:
    assert lead_sentence(week([("door", 10, (), (), MON_10)] * 8), "en", NAMES, 5) == (
        "No unhappy answers this week, out of 8."
    )
    unnamed = week([("door", 2, (), (), MON_10)] * 6)
    assert lead_sentence(unnamed, "en", NAMES, 5) == "6 unhappy answers this week; none named a reason or a topic."
    assert lead_sentence(None, "en", NAMES, 5) == "No answers this week yet."


def test_a_comment_topic_is_said_as_mentioned_in_comments_and_an_owner_keyword_by_its_own_word() -> None:
    why = week(
        [("door", 10, (), (), MON_10)] * 10 + [("door", 1, (), ("custom:wifi",), t) for t in (SAT_18, TUE_12)] * 3
    )
    assert lead_sentence(why, "en", NAMES, 5).startswith("“wifi” came up in the comments of 6 of 6 unhappy answers")
    assert key_label("topic:custom:wifi", "vi") == "wifi" and key_label("reason:food_drink", "vi") == "Đồ ăn, thức uống"


def _report(why: Why, locale: str = "en") -> Any:
    return build_report(
        business_id="b1",
        business_name="Phở <Hà Nội>",
        day="2026-11-28",
        timezone=SAIGON,
        locale=locale,
        computed_at="2026-11-29T00:05:00.000000Z",
        inputs=DayInputs(tally=Tally.of([("door", "qr", "nps", 10, False)] * 6)),
        touchpoints=[TouchpointInfo(tp, name, "qr", "nps") for tp, name in NAMES.items()],
        why=why,
    )


def test_the_digest_leads_with_the_sentence_and_shows_effects_heatmap_table_and_labels_in_both_parts() -> None:
    email = render_digest(_report(busy_saturday()), dashboard_url="https://s.example/console/b1")
    lead = "“Long wait” was chosen in 9 of 14 unhappy answers this week"
    assert email.text.splitlines()[2].startswith(lead)
    assert lead in email.html and email.html.index(lead) < email.html.index("What moves the score")
    assert "Quầy &lt;thu ngân&gt;" not in email.html or "<thu ngân>" not in email.html
    assert "+42" in email.html and "+42" in email.text
    assert '<table cellpadding="2"' in email.html  # the heatmap as a table, readable with images blocked
    assert "Unhappy answers by weekday and hour" in email.text or "unhappy" in email.text


def test_a_digest_of_a_report_stored_before_issue_15_renders_without_the_blocks() -> None:
    report = _report(busy_saturday()).model_copy(update={"why": None})
    email = render_digest(report, dashboard_url="https://s.example/console/b1")
    assert "What moves the score" not in email.html and "What moves the score" not in email.text


def test_week_over_week_rows_tell_a_reason_from_a_topic_of_the_same_key() -> None:
    # This week 6 of 10 answers chose "wait" and 6 wrote about it; the week before (below) 1 of 10 did each.
    this = [("door", 2, ("wait",), ("wait",), MON_10)] * 6 + [("door", 10, (), (), MON_10)] * 4
    before = DayCounter(SAIGON, date(2026, 11, 21))
    for score, named in [(2, ("wait",))] + [(10, ())] * 9:
        before.add("door", "nps", score, "2026-11-16T03:00:00.000000Z", named, named, ())
    now = DayCounter(SAIGON, date(2026, 11, 28))
    for tp, score, reasons, topics, at in this:
        now.add(tp, "nps", score, at, reasons, topics, ())
    why = build_why(
        now.facets(SAIGON), before.facets(SAIGON), first="2026-11-22", last="2026-11-28",
        previous_first="2026-11-15", previous_last="2026-11-21", min_n=5, staff_views=False,
    )
    rows = change_rows(why, "en")
    assert sorted((r["label"], r["kind"], r["change"]) for r in rows) == [
        ("Waiting time", "reason", "+50.0 pp"),
        ("Waiting time", "topic", "+50.0 pp"),
    ]
