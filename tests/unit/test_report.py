"""The daily report from counts: the exact metric definitions, too-few and empty days, changes against
earlier windows, funnel, unhappy and recovery figures, and the comments kept. Pure, no AWS."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.metrics import counts_of, summarize
from chalicelib.domain.report import (
    MAX_COMMENTS,
    CommentKeeper,
    DailyReport,
    DayInputs,
    Tally,
    TouchpointInfo,
    build_report,
)

TPS = [
    TouchpointInfo("tpqr0001", "Bàn QR", "qr", "nps"),
    TouchpointInfo("tprc0001", "Hóa đơn", "receipt", "csat"),
    TouchpointInfo("tpwb0001", "Website", "web", "ces"),
]


def nps_rows(scores: list[int], tp: str = "tpqr0001", channel: str = "qr", commented: bool = False) -> list:
    return [(tp, channel, "nps", s, commented) for s in scores]


def make(tally: Tally, **inputs: object) -> DailyReport:
    return build_report(
        business_id="biz000001",
        business_name="Cà Phê",
        day="2026-11-20",
        timezone="Asia/Ho_Chi_Minh",
        locale="vi",
        computed_at="2026-11-20T17:05:00.000000Z",
        inputs=DayInputs(tally=tally, **inputs),  # type: ignore[arg-type]
        touchpoints=TPS,
        min_n=5,
    )


def test_headlines_follow_the_product_definitions_exactly() -> None:
    rows = nps_rows([10, 9, 9, 8, 3, 0]) + [("tprc0001", "receipt", "csat", s, False) for s in [5, 4, 4, 2, 3, 1]]
    rows += [("tpwb0001", "web", "ces", s, False) for s in [7, 6, 5, 5, 3]]
    report = make(Tally.of(rows))
    nps, csat, ces = (report.metrics[m].summary for m in ("nps", "csat", "ces"))
    assert (nps.headline, nps.stats.promoters, nps.stats.detractors) == (17, 3, 2)  # 16.67 rounds half away
    assert nps.margin_of_error == summarize("nps", counts_of("nps", [10, 9, 9, 8, 3, 0])).margin_of_error
    assert (csat.headline, csat.stats.mean) == (50.0, 3.17)  # 3 of 6 are 4-5
    assert (ces.headline, ces.stats.easy_pct) == (5.2, 80.0)
    assert report.responses == 17


def test_below_the_minimum_a_metric_shows_its_count_and_too_few_responses_not_a_headline() -> None:
    report = make(Tally.of(nps_rows([10, 10, 0])))
    nps = report.metrics["nps"].summary
    assert (nps.n, nps.status, nps.headline, nps.margin_of_error) == (3, "too_few_responses", None, None)
    assert nps.stats.distribution[10] == 2


def test_a_day_without_responses_is_nulls_and_zeros_never_a_zero_headline() -> None:
    report = make(Tally())
    assert report.responses == 0
    for metric in ("nps", "csat", "ces"):
        summary = report.metrics[metric].summary
        assert (summary.n, summary.status, summary.headline) == (0, "no_responses", None)
        assert all(c.delta is None for c in report.metrics[metric].change.values())
    assert report.unhappy.count == 0 and report.unhappy.recovery.rate_pct is None
    assert [f.scored_pct for f in report.funnel] == [None, None, None]
    assert report.comments == [] and report.comments_total == 0


def test_changes_are_the_difference_of_headlines_with_nps_noise_flagged() -> None:
    today = Tally.of(nps_rows([10] * 6 + [0] * 4))  # NPS 20
    yesterday = Tally.of(nps_rows([10] * 5 + [0] * 5))  # NPS 0
    month = Tally.of(nps_rows([10] * 400 + [0] * 600))  # NPS -20, tight margin
    report = make(today, windows={"previous_day": yesterday, "trailing_7": Tally(), "trailing_28": month})
    change = report.metrics["nps"].change
    assert (change["previous_day"].headline, change["previous_day"].delta) == (0, 20)
    assert change["previous_day"].within_noise is True  # ±60 on ten answers: 20 points is noise
    assert change["trailing_7"].status == "no_responses" and change["trailing_7"].delta is None
    assert change["trailing_28"].delta == 40 and change["trailing_28"].within_noise is True
    csat_today = Tally.of([("tprc0001", "receipt", "csat", s, False) for s in [5, 5, 5, 2, 2, 2]])
    csat_before = Tally.of([("tprc0001", "receipt", "csat", s, False) for s in [5, 5, 5, 5, 2, 2]])
    csat = make(csat_today, windows={"previous_day": csat_before}).metrics["csat"].change["previous_day"]
    assert (csat.headline, csat.delta, csat.within_noise) == (66.7, -16.7, None)


def test_each_touchpoint_and_channel_gets_its_own_figures_and_idle_touchpoints_are_listed() -> None:
    rows = nps_rows([10] * 5) + nps_rows([0] * 5, tp="tpqr0002", channel="qr")
    report = make(Tally.of(rows))
    by_key = {g.key: g for g in report.touchpoints}
    assert by_key["tpqr0001"].metrics["nps"].summary.headline == 100
    assert by_key["tpqr0002"].metrics["nps"].summary.headline == -100
    assert by_key["tpqr0001"].name == "Bàn QR" and by_key["tpqr0002"].name is None
    assert by_key["tpwb0001"].metrics["ces"].summary.n == 0  # no answers, still there
    [qr] = report.channels
    assert (qr.key, qr.metrics["nps"].summary.headline, qr.metrics["nps"].summary.n) == ("qr", 0, 10)


def test_the_funnel_counts_opens_scores_and_comments_per_touchpoint() -> None:
    rows = nps_rows([9, 9, 9]) + nps_rows([3], commented=True)
    report = make(Tally.of(rows), opened={"tpqr0001": 8, "tprc0001": 2})
    funnel = {f.touchpoint_id: f for f in report.funnel}
    qr = funnel["tpqr0001"]
    assert (qr.opened, qr.scored, qr.commented, qr.scored_pct, qr.commented_pct) == (8, 4, 1, 50.0, 25.0)
    assert (funnel["tprc0001"].opened, funnel["tprc0001"].scored_pct, funnel["tprc0001"].commented_pct) == (
        2,
        0.0,
        None,
    )


def test_unhappy_uses_the_definitions_and_recovery_is_a_share_of_apologies() -> None:
    rows = nps_rows([6, 7]) + [("t", "web", "csat", s, False) for s in [2, 3]]
    rows += [("t", "web", "ces", s, False) for s in [3, 4]]
    report = make(Tally.of(rows), apologised=3, recovered=1, vouchers_issued=5, vouchers_redeemed=2)
    assert report.unhappy.count == 3  # NPS 6, CSAT 2, CES 3
    assert report.unhappy.recovery.rate_pct == 33.3
    assert (report.vouchers.issued, report.vouchers.redeemed) == (5, 2)


def test_only_the_newest_unhappy_comments_are_kept_but_all_are_counted() -> None:
    keeper = CommentKeeper(limit=3)
    for hour in range(10):
        keeper.offer(
            created_at=f"2026-11-20T{hour:02d}:00:00.000000Z",
            touchpoint_id="t",
            metric="nps",
            score=2,
            comment=f"chậm {hour}",
        )
    keeper.offer(created_at="2026-11-20T23:00:00.000000Z", touchpoint_id="t", metric="nps", score=9, comment="ngon")
    keeper.offer(created_at="2026-11-20T23:00:00.000000Z", touchpoint_id="t", metric="nps", score=1, comment="  ")
    kept = keeper.newest()
    assert [c.comment for c in kept] == ["chậm 9", "chậm 8", "chậm 7"]
    assert keeper.total == 10
    report = make(Tally(), comments=kept, comments_total=keeper.total)
    assert report.comments_total == 10 and len(report.comments) == 3
    assert MAX_COMMENTS >= 10


def test_an_invalid_stored_score_is_skipped_and_counted_not_fatal() -> None:
    report = make(Tally.of([*nps_rows([10] * 5), ("t", "qr", "nps", 11, False), ("t", "qr", "bogus", 1, False)]))
    assert report.responses == 5 and report.skipped == 2
    assert report.metrics["nps"].summary.headline == 100


def test_a_tally_survives_its_stored_form_and_malformed_rows_are_dropped() -> None:
    tally = Tally.of([*nps_rows([10, 10, 3], commented=True), ("x", "web", "ces", 7, False)])
    assert Tally.from_json(tally.to_json()) == tally
    junk = [*tally.to_json(), ["x", "web", "ces", 9, 0, 1], ["x", "web"], "nope", ["x", "web", "nps", 3, 0, -1]]
    assert Tally.from_json(junk) == tally
    assert Tally.from_json(None) == Tally()


scores = st.lists(st.integers(0, 10), max_size=60)


@given(scores, scores)
def test_merging_two_days_counts_equals_counting_their_responses_together(a: list[int], b: list[int]) -> None:
    merged = Tally.of(nps_rows(a)) + Tally.of(nps_rows(b))
    assert merged == Tally.of(nps_rows(a + b))
    report = make(merged)
    assert report.metrics["nps"].summary == summarize("nps", counts_of("nps", a + b), 5)
