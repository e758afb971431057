"""NPS / CSAT / CES arithmetic: worked examples computed by hand, then properties and a reference check."""

from __future__ import annotations

import math
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from chalicelib.domain.metrics import (
    METRICS,
    MIN_RESPONSES_DEFAULT,
    SCALES,
    CesStats,
    CsatStats,
    MetricSummary,
    NpsStats,
    ces_stats,
    counts_of,
    csat_stats,
    is_unhappy,
    merge_counts,
    nps_stats,
    round_half_away,
    score_in_range,
    stats_for,
    summarize,
)

# ---- strategies -------------------------------------------------------------------------------------

metrics = st.sampled_from(METRICS)


def scores_for(metric: str, min_size: int = 0, max_size: int = 200) -> st.SearchStrategy[list[int]]:
    low, high = SCALES[metric]
    return st.lists(st.integers(low, high), min_size=min_size, max_size=max_size)


def counts_for(metric: str, max_count: int = 1_000_000) -> st.SearchStrategy[dict[int, int]]:
    # Sparse dicts with big counts: what a daily job aggregating a million responses hands over.
    low, high = SCALES[metric]
    return st.dictionaries(st.integers(low, high), st.integers(0, max_count), max_size=high - low + 1)


metric_and_scores = metrics.flatmap(lambda m: st.tuples(st.just(m), scores_for(m)))
metric_and_counts = metrics.flatmap(lambda m: st.tuples(st.just(m), counts_for(m)))


# ---- independent reference implementation ----------------------------------------------------------
# Deliberately different from the module: Decimal division at 60 digits and ROUND_HALF_UP on the
# absolute value (which is "half away from zero"). A 60-digit quotient cannot cross a rounding
# boundary for these denominators (a non-tie a/b is at least 1/(2*b*10**places) from any tie), and
# exact ties such as 12.5 or 36.75 are representable, so Decimal gets them exactly.


def ref_round(value: Decimal, places: int) -> Decimal:
    quantum = Decimal(1).scaleb(-places)
    magnitude = abs(value).quantize(quantum, rounding=ROUND_HALF_UP)
    return -magnitude if value < 0 and magnitude else magnitude


def ref_stats(metric: str, scores_or_counts: dict[int, int]) -> dict:
    counts = Counter(scores_or_counts)
    n = sum(counts.values())
    with localcontext() as ctx:
        ctx.prec = 60
        if n == 0:
            return {}
        mean = ref_round(Decimal(sum(s * c for s, c in counts.items())) / n, 2)
        if metric == "nps":
            promoters = counts[9] + counts[10]
            detractors = sum(counts[s] for s in range(7))
            p, d = Decimal(promoters) / n, Decimal(detractors) / n
            moe = Decimal("1.96") * 100 * ((p + d - (p - d) ** 2) / n).sqrt()
            return {
                "nps": int(ref_round(100 * p - 100 * d, 0)),
                "margin_of_error": float(ref_round(moe, 1)),
                "promoters": promoters,
                "detractors": detractors,
            }
        if metric == "csat":
            satisfied = Decimal(100 * (counts[4] + counts[5])) / n
            return {"satisfied_pct": float(ref_round(satisfied, 1)), "mean": float(mean)}
        easy = Decimal(100 * (counts[5] + counts[6] + counts[7])) / n
        return {"mean": float(mean), "easy_pct": float(ref_round(easy, 1))}


# ---- scales and "unhappy" ---------------------------------------------------------------------------


def test_scales_are_the_product_definitions() -> None:
    assert METRICS == ("nps", "csat", "ces")
    assert SCALES == {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
    assert MIN_RESPONSES_DEFAULT == 5


@pytest.mark.parametrize(
    ("metric", "score", "expected"),
    [
        ("nps", 0, True), ("nps", 10, True), ("nps", -1, False), ("nps", 11, False),
        ("csat", 1, True), ("csat", 5, True), ("csat", 0, False), ("csat", 6, False),
        ("ces", 1, True), ("ces", 7, True), ("ces", 0, False), ("ces", 8, False),
    ],
)
def test_score_in_range_accepts_exactly_the_scale(metric: str, score: int, expected: bool) -> None:
    assert score_in_range(metric, score) is expected


def test_score_in_range_rejects_non_integers_such_as_floats_and_bools() -> None:
    assert not score_in_range("nps", 5.0)  # type: ignore[arg-type]
    assert not score_in_range("nps", "5")  # type: ignore[arg-type]
    assert not score_in_range("csat", True)


def test_score_in_range_raises_for_an_unknown_metric() -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        score_in_range("ltr", 5)


@pytest.mark.parametrize(
    ("metric", "happy_floor"),
    [("nps", 7), ("csat", 3), ("ces", 4)],  # boundaries 6/7, 2/3, 3/4
)
def test_unhappy_boundaries_are_nps_6_csat_2_ces_3(metric: str, happy_floor: int) -> None:
    low, high = SCALES[metric]
    assert is_unhappy(metric, happy_floor - 1)
    assert not is_unhappy(metric, happy_floor)
    assert [s for s in range(low, high + 1) if is_unhappy(metric, s)] == list(range(low, happy_floor))


@pytest.mark.parametrize(
    ("metric", "score"), [("nps", 11), ("nps", -1), ("csat", 0), ("ces", 8), ("nps", 6.0)]
)
def test_is_unhappy_rejects_out_of_range_scores(metric: str, score: int) -> None:
    with pytest.raises(ValueError, match="score must be an integer"):
        is_unhappy(metric, score)


def test_is_unhappy_rejects_unknown_metric() -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        is_unhappy("sus", 3)


# ---- exact rounding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ndigits", "expected"),
    [
        (Fraction(25, 2), 0, "13"),  # 12.5 -> 13 (banker's would give 12)
        (Fraction(-25, 2), 0, "-13"),  # -12.5 -> -13
        (Fraction(469, 200), 2, "2.35"),  # 2.345 exactly
        (Fraction(107, 40), 2, "2.68"),  # 2.675 exactly; round(2.675, 2) == 2.67 with floats
        (Decimal("0.25"), 1, "0.3"),
        (Decimal("-0.25"), 1, "-0.3"),
        (Fraction(1, 3), 1, "0.3"),
        (Fraction(-1, 30), 1, "0.0"),  # rounds to zero: no "-0.0"
        (7, 2, "7.00"),
        (1250, -2, "1.3E+3"),
    ],
)
def test_round_half_away_is_exact_and_ties_go_away_from_zero(value, ndigits: int, expected: str) -> None:
    result = round_half_away(value, ndigits)
    assert isinstance(result, Decimal)
    assert str(result) == expected


def test_round_half_away_never_returns_negative_zero() -> None:
    assert not round_half_away(Fraction(-1, 30), 1).is_signed()
    assert str(float(round_half_away(Fraction(-1, 30), 1))) == "0.0"


def test_round_half_away_refuses_floats_because_they_are_not_exact() -> None:
    with pytest.raises(TypeError):
        round_half_away(2.675, 2)  # type: ignore[arg-type]


def test_round_half_away_rejects_nan_and_infinity() -> None:
    with pytest.raises(ValueError):
        round_half_away(Decimal("NaN"))
    with pytest.raises(ValueError):
        round_half_away(Decimal("Infinity"))


@given(st.fractions(min_value=-(10**15), max_value=10**15, max_denominator=10_000), st.integers(0, 4))
def test_round_half_away_matches_decimal_half_up_on_the_magnitude(value: Fraction, ndigits: int) -> None:
    with localcontext() as ctx:
        ctx.prec = 60
        approx = Decimal(value.numerator) / Decimal(value.denominator)
        assert round_half_away(value, ndigits) == ref_round(approx, ndigits)


@given(st.fractions(max_denominator=1000), st.integers(0, 3))
def test_round_half_away_is_symmetric_around_zero(value: Fraction, ndigits: int) -> None:
    # copy_negate, not unary minus: "-d" would re-round a 29+ digit result to the 28-digit context.
    assert round_half_away(-value, ndigits) == round_half_away(value, ndigits).copy_negate()


# ---- NPS worked examples ----------------------------------------------------------------------------


def test_nps_worked_example_three_promoters_one_passive_one_detractor() -> None:
    # n = 5; p = 3/5 = 0.6, d = 1/5 = 0.2 -> NPS = 60 - 20 = 40.
    # MoE = 1.96 * 100 * sqrt((0.6 + 0.2 - 0.4**2) / 5) = 196 * sqrt(0.64 / 5) = 196 * sqrt(0.128)
    #     = 196 * 0.357771... = 70.123... -> 70.1
    stats = nps_stats(counts_of("nps", [9, 10, 9, 7, 3]))
    assert (stats.n, stats.promoters, stats.passives, stats.detractors) == (5, 3, 1, 1)
    assert stats.nps == 40 and isinstance(stats.nps, int)
    assert stats.margin_of_error == 70.1


def test_nps_rounds_half_away_from_zero_for_positive_scores() -> None:
    # n = 8: 2 promoters, 5 passives, 1 detractor -> 100 * (2 - 1) / 8 = 12.5 -> 13
    assert nps_stats({10: 2, 8: 5, 0: 1}).nps == 13
    # n = 8: P - D = 3 -> 37.5 -> 38
    assert nps_stats({9: 3, 7: 5}).nps == 38


def test_nps_rounds_half_away_from_zero_for_negative_scores() -> None:
    # n = 8: 1 promoter, 5 passives, 2 detractors -> 100 * (1 - 2) / 8 = -12.5 -> -13
    assert nps_stats({9: 1, 7: 5, 6: 2}).nps == -13
    # n = 8: P - D = -3 -> -37.5 -> -38
    assert nps_stats({8: 5, 2: 3}).nps == -38


def test_nps_class_boundaries_are_6_7_8_9() -> None:
    stats = nps_stats(counts_of("nps", [6, 7, 8, 9]))
    assert (stats.detractors, stats.passives, stats.promoters) == (1, 2, 1)
    assert stats.nps == 0


def test_nps_margin_of_error_rounds_an_exact_tie_half_away() -> None:
    # n = 32, 2 promoters, 2 detractors: p = d = 1/16, p + d - (p - d)**2 = 1/8,
    # MoE = 196 * sqrt((1/8) / 32) = 196 * sqrt(1/256) = 196 / 16 = 12.25 exactly -> 12.3
    # (float arithmetic with round() gives 12.2).
    assert nps_stats({9: 2, 7: 28, 0: 2}).margin_of_error == 12.3
    # n = 16, 3 promoters, 7 detractors: p + d = 10/16, (p - d)**2 = 1/16, radicand 9/16 / 16 = 9/256,
    # MoE = 196 * 3 / 16 = 36.75 exactly -> 36.8
    assert nps_stats({10: 3, 8: 6, 5: 7}).margin_of_error == 36.8


def test_nps_margin_of_error_is_zero_when_everyone_is_in_the_same_class() -> None:
    # All promoters: p = 1, d = 0 -> 1 + 0 - 1 = 0. All passives: p = d = 0 -> 0.
    assert nps_stats({10: 7}).margin_of_error == 0.0
    assert nps_stats({0: 3, 6: 4}).margin_of_error == 0.0
    assert nps_stats({7: 5}).margin_of_error == 0.0


def test_nps_handles_a_million_responses_given_as_counts() -> None:
    # p = 0.6, d = 0.15 -> NPS 45; MoE = 196 * sqrt((0.75 - 0.2025) / 1e6) = 196 * 0.000739932 = 0.145 -> 0.1
    stats = nps_stats({9: 400_000, 10: 200_000, 7: 250_000, 3: 150_000})
    assert (stats.n, stats.nps, stats.margin_of_error) == (1_000_000, 45, 0.1)


def test_nps_distribution_lists_every_score_zero_to_ten() -> None:
    stats = nps_stats({9: 1})
    assert list(stats.distribution) == list(range(11))
    assert stats.distribution[9] == 1 and sum(stats.distribution.values()) == 1


# ---- CSAT and CES worked examples -------------------------------------------------------------------


def test_csat_worked_example_percent_satisfied_and_mean() -> None:
    # scores 5, 4, 4, 3, 1: satisfied = 3 of 5 = 60.0 %, mean = 17 / 5 = 3.40
    stats = csat_stats(counts_of("csat", [5, 4, 4, 3, 1]))
    assert (stats.n, stats.satisfied_pct, stats.mean) == (5, 60.0, 3.4)
    assert stats.distribution == {1: 1, 2: 0, 3: 1, 4: 2, 5: 1}


def test_csat_satisfied_pct_has_one_decimal() -> None:
    # 1 of 3 satisfied = 33.333... -> 33.3 ; 2 of 3 = 66.666... -> 66.7
    assert csat_stats({4: 1, 2: 2}).satisfied_pct == 33.3
    assert csat_stats({5: 2, 1: 1}).satisfied_pct == 66.7
    # 1 of 400 = 0.25 exactly -> 0.3 (banker's would give 0.2)
    assert csat_stats({4: 1, 3: 399}).satisfied_pct == 0.3


def test_csat_mean_exactly_at_a_half_hundredth_rounds_up() -> None:
    # 131 twos + 69 threes: n = 200, sum = 262 + 207 = 469, mean = 2.345 exactly -> 2.35
    assert csat_stats({2: 131, 3: 69}).mean == 2.35
    # 13 twos + 27 threes: n = 40, sum = 26 + 81 = 107, mean = 2.675 exactly -> 2.68
    # (round(107 / 40, 2) == 2.67 with floats)
    assert csat_stats({2: 13, 3: 27}).mean == 2.68


def test_ces_worked_example_mean_and_percent_easy() -> None:
    # scores 7, 6, 5, 4, 2, 1, 3, 5: n = 8, sum = 33, mean = 4.125 exactly -> 4.13 (banker's: 4.12)
    # easy (5-7) = 4 of 8 = 50.0 %
    stats = ces_stats(counts_of("ces", [7, 6, 5, 4, 2, 1, 3, 5]))
    assert (stats.n, stats.mean, stats.easy_pct) == (8, 4.13, 50.0)
    assert list(stats.distribution) == [1, 2, 3, 4, 5, 6, 7]


def test_ces_easy_starts_at_five() -> None:
    assert ces_stats({4: 1}).easy_pct == 0.0
    assert ces_stats({5: 1}).easy_pct == 100.0


def test_floats_print_like_the_report_shows_them() -> None:
    assert repr(csat_stats({4: 1, 2: 2}).satisfied_pct) == "33.3"
    assert repr(csat_stats({4: 7, 5: 13}).mean) == "4.65"  # 93 / 20 = 4.65 exactly


# ---- no responses -----------------------------------------------------------------------------------


def test_no_responses_gives_none_everywhere_never_zero() -> None:
    nps, csat, ces = nps_stats({}), csat_stats({}), ces_stats({4: 0})
    assert (nps.n, nps.nps, nps.margin_of_error) == (0, None, None)
    assert (nps.promoters, nps.passives, nps.detractors) == (0, 0, 0)
    assert (csat.n, csat.satisfied_pct, csat.mean) == (0, None, None)
    assert (ces.n, ces.mean, ces.easy_pct) == (0, None, None)
    assert set(ces.distribution.values()) == {0}


@pytest.mark.parametrize("metric", METRICS)
def test_summary_with_no_responses_says_so(metric: str) -> None:
    summary = summarize(metric, {})
    assert (summary.status, summary.n) == ("no_responses", 0)
    assert (summary.headline, summary.margin_of_error) == (None, None)


# ---- summaries and the minimum number of responses --------------------------------------------------


def test_nps_summary_headline_is_the_integer_nps_with_margin() -> None:
    summary = summarize("nps", Counter([9, 10, 9, 7, 3]))
    assert summary.status == "ok"
    assert summary.headline == 40 and isinstance(summary.headline, int)
    assert summary.margin_of_error == 70.1
    assert isinstance(summary.stats, NpsStats)
    assert '"headline":40,' in summary.model_dump_json()  # an int in JSON, not 40.0


def test_csat_and_ces_summary_headlines() -> None:
    csat = summarize("csat", {5: 1, 4: 2, 3: 1, 1: 1})
    assert (csat.headline, csat.margin_of_error, csat.stats.mean) == (60.0, None, 3.4)
    ces = summarize("ces", {7: 1, 6: 1, 5: 2, 4: 1, 3: 1, 2: 1, 1: 1})
    assert (ces.headline, ces.margin_of_error) == (4.13, None)
    assert isinstance(csat.stats, CsatStats) and isinstance(ces.stats, CesStats)


def test_below_min_n_report_shows_count_and_too_few_responses() -> None:
    # 4 responses < default 5: headline withheld, but n and the distribution are kept.
    summary = summarize("nps", {10: 3, 2: 1})
    assert summary.status == "too_few_responses"
    assert (summary.n, summary.headline, summary.margin_of_error) == (4, None, None)
    stats = summary.stats
    assert isinstance(stats, NpsStats)
    assert (stats.nps, stats.margin_of_error) == (None, None)
    assert (stats.n, stats.promoters, stats.detractors) == (4, 3, 1)
    assert stats.distribution[10] == 3 and stats.distribution[2] == 1


@pytest.mark.parametrize("metric", ["csat", "ces"])
def test_below_min_n_withholds_mean_and_percent_too(metric: str) -> None:
    summary = summarize(metric, {3: 2})
    assert summary.status == "too_few_responses" and summary.headline is None
    assert summary.stats.mean is None  # type: ignore[union-attr]
    assert getattr(summary.stats, "satisfied_pct", getattr(summary.stats, "easy_pct", "missing")) is None
    assert summary.stats.distribution[3] == 2


def test_exactly_min_n_responses_is_enough() -> None:
    assert summarize("csat", {4: 5}).status == "ok"
    assert summarize("csat", {4: 9}, min_n=10).status == "too_few_responses"
    assert summarize("csat", {4: 10}, min_n=10).status == "ok"
    assert summarize("csat", {4: 1}, min_n=1).headline == 100.0


def test_summary_rejects_a_negative_min_n() -> None:
    with pytest.raises(ValueError, match="min_n"):
        summarize("nps", {9: 5}, min_n=-1)


def test_summary_round_trips_through_json_with_the_right_stats_type() -> None:
    for metric in METRICS:
        summary = summarize(metric, {SCALES[metric][1]: 6})
        again = MetricSummary.model_validate_json(summary.model_dump_json())
        assert again == summary
        assert type(again.stats) is type(summary.stats)


def test_results_are_frozen() -> None:
    summary = summarize("nps", {9: 5})
    with pytest.raises(ValidationError):
        summary.headline = 0  # type: ignore[misc]
    with pytest.raises(ValidationError):
        summary.stats.n = 0  # type: ignore[misc]


# ---- input validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "counts"),
    [
        ("nps", {11: 1}),
        ("csat", {0: 1}),
        ("ces", {8: 1}),
        ("nps", {5: -1}),
        ("nps", {5: 1.0}),
        ("nps", {"5": 1}),
        ("csat", {True: 1}),
    ],
)
def test_stats_reject_scores_outside_the_scale_and_bad_counts(metric: str, counts: dict) -> None:
    with pytest.raises(ValueError):
        stats_for(metric, counts)
    with pytest.raises(ValueError):
        summarize(metric, counts)


def test_unknown_metric_is_a_value_error_everywhere() -> None:
    for call in (lambda: stats_for("x", {}), lambda: summarize("x", {}), lambda: counts_of("x", [])):
        with pytest.raises(ValueError, match="unknown metric"):
            call()


def test_counts_of_rejects_an_out_of_range_score() -> None:
    with pytest.raises(ValueError):
        counts_of("csat", [1, 2, 6])


def test_missing_and_zero_counts_are_the_same() -> None:
    assert csat_stats({5: 2}) == csat_stats({1: 0, 2: 0, 3: 0, 4: 0, 5: 2})


def test_stats_for_dispatches_on_metric() -> None:
    assert isinstance(stats_for("nps", {}), NpsStats)
    assert isinstance(stats_for("csat", {}), CsatStats)
    assert isinstance(stats_for("ces", {}), CesStats)


def test_merge_counts_sums_score_by_score() -> None:
    assert merge_counts({9: 2, 3: 1}, Counter({9: 1, 10: 4}), {}) == {3: 1, 9: 3, 10: 4}
    assert merge_counts() == {}
    with pytest.raises(ValueError):
        merge_counts({9: -1})
    with pytest.raises(ValueError):
        merge_counts({"9": 1})


# ---- properties -------------------------------------------------------------------------------------


@given(counts_for("nps"))
def test_nps_is_an_integer_between_minus_100_and_100(counts: dict[int, int]) -> None:
    stats = nps_stats(counts)
    if stats.n == 0:
        assert stats.nps is None
    else:
        assert isinstance(stats.nps, int) and -100 <= stats.nps <= 100


@given(counts_for("nps"))
def test_nps_classes_add_up_to_n(counts: dict[int, int]) -> None:
    stats = nps_stats(counts)
    assert stats.promoters + stats.passives + stats.detractors == stats.n == sum(counts.values())
    assert sum(stats.distribution.values()) == stats.n


@given(metric_and_scores, st.randoms(use_true_random=False))
def test_stats_do_not_depend_on_response_order(case: tuple[str, list[int]], rnd) -> None:
    metric, scores = case
    shuffled = list(scores)
    rnd.shuffle(shuffled)
    assert stats_for(metric, counts_of(metric, scores)) == stats_for(metric, counts_of(metric, shuffled))


@given(st.integers(1, 10_000), st.sampled_from([9, 10]), st.integers(0, 6))
def test_all_promoters_is_100_and_all_detractors_is_minus_100(n: int, promoter: int, detractor: int) -> None:
    assert nps_stats({promoter: n}).nps == 100
    assert nps_stats({detractor: n}).nps == -100
    assert nps_stats({promoter: n}).margin_of_error == 0.0
    assert nps_stats({detractor: n}).margin_of_error == 0.0


@given(counts_for("nps"))
def test_nps_margin_of_error_is_never_negative(counts: dict[int, int]) -> None:
    moe = nps_stats(counts).margin_of_error
    assert moe is None or 0.0 <= moe <= 196.0  # radicand p + d - (p - d)**2 is at most 1, n at least 1


@given(counts_for("csat"))
def test_csat_percent_is_0_to_100_and_mean_within_scale(counts: dict[int, int]) -> None:
    stats = csat_stats(counts)
    if stats.n:
        assert stats.satisfied_pct is not None and 0.0 <= stats.satisfied_pct <= 100.0
        assert stats.mean is not None and 1.0 <= stats.mean <= 5.0


@given(counts_for("ces"))
def test_ces_mean_within_scale_and_percent_easy_0_to_100(counts: dict[int, int]) -> None:
    stats = ces_stats(counts)
    if stats.n:
        assert stats.mean is not None and 1.0 <= stats.mean <= 7.0
        assert stats.easy_pct is not None and 0.0 <= stats.easy_pct <= 100.0


@given(metrics.flatmap(lambda m: st.tuples(st.just(m), scores_for(m), scores_for(m))))
def test_merged_counts_give_the_same_stats_as_the_concatenated_samples(case) -> None:
    metric, first, second = case
    merged = merge_counts(counts_of(metric, first), counts_of(metric, second))
    assert stats_for(metric, merged) == stats_for(metric, counts_of(metric, first + second))


@given(metric_and_counts)
def test_stats_agree_with_a_straightforward_decimal_reference(case: tuple[str, dict[int, int]]) -> None:
    metric, counts = case
    stats = stats_for(metric, counts).model_dump()
    expected = ref_stats(metric, counts)
    assert {key: stats[key] for key in expected} == expected


@given(metric_and_scores)
def test_small_samples_agree_with_the_reference_too(case: tuple[str, list[int]]) -> None:
    # Small n is where exact ties (x.5, x.x5) are common.
    metric, scores = case
    stats = stats_for(metric, counts_of(metric, scores)).model_dump()
    expected = ref_stats(metric, Counter(scores))
    assert {key: stats[key] for key in expected} == expected


@given(metric_and_counts, st.integers(0, 50))
def test_summary_is_ok_exactly_when_n_reaches_min_n(case: tuple[str, dict[int, int]], min_n: int) -> None:
    metric, counts = case
    summary = summarize(metric, counts, min_n=min_n)
    n = sum(counts.values())
    assert summary.n == n
    assert summary.status == ("no_responses" if n == 0 else "ok" if n >= min_n else "too_few_responses")
    assert (summary.headline is None) == (summary.status != "ok")
    assert summary.stats.distribution == counts_of(metric, []) | merge_counts(counts)


def test_reference_margin_of_error_agrees_on_every_small_sample() -> None:
    # Exhaustive over all (promoters, detractors) splits for n <= 40: catches a tie the random search misses.
    for n in range(1, 41):
        for promoters in range(n + 1):
            for detractors in range(n + 1 - promoters):
                counts = {9: promoters, 0: detractors, 7: n - promoters - detractors}
                stats = nps_stats(counts)
                expected = ref_stats("nps", counts)
                assert stats.nps == expected["nps"], counts
                assert stats.margin_of_error == expected["margin_of_error"], counts
                assert math.isfinite(stats.margin_of_error)  # type: ignore[arg-type]
