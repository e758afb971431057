"""What moves the score: hand-computed examples (arithmetic in the comments), then properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.effects import EffectRow, Effects, KeyEffect, ShareChanges, effects, share_changes
from chalicelib.domain.metrics import SCALES, counts_of, summarize


def _by_key(result: Effects, metric: str) -> dict[str, KeyEffect]:
    return {item.key: item for item in result.metrics[metric].keys}


# Ten NPS answers: detractors 0, 3, 5, 6; passives 7, 8; promoters 9, 9, 10, 10.
# Overall NPS = 100 * (4 - 4) / 10 = 0.
_NPS_ROWS: list[EffectRow] = [
    ("nps", 0, ["wait"]),
    ("nps", 3, ["wait", "wait"]),  # named twice by one answer: counts once
    ("nps", 5, ["wait"]),
    ("nps", 6, []),
    ("nps", 7, ["staff"]),
    ("nps", 8, ["custom:parking lot"]),
    ("nps", 9, ["wait"]),
    ("nps", 9, ["staff"]),
    ("nps", 10, ["staff"]),
    ("nps", 10, []),
]


def test_nps_effect_is_the_score_without_the_answers_naming_a_key_minus_the_overall_score() -> None:
    result = effects(_NPS_ROWS, min_n=3)
    overall = result.metrics["nps"]
    assert (overall.n, overall.unhappy_n, overall.happy_n, overall.headline) == (10, 4, 6, 0)
    wait = _by_key(result, "nps")["wait"]
    # "wait" is named by 0, 3, 5 (unhappy) and 9 (happy): n = 4.
    # Shares: 3 of 4 unhappy = 75.0 %, 1 of 6 happy = 16.666.. -> 16.7 %.
    # Without it: 6, 7, 8, 9, 10, 10 -> n = 6, P = 3, D = 1, NPS = 100 * 2 / 6 = 33.3.. -> 33; effect 33 - 0 = +33.
    # Margin: p = 1/2, d = 1/6, (p + d - (p - d)**2) / n = (2/3 - 1/9) / 6 = 5/54,
    # 196 * sqrt(5/54) = 196 * 0.304290.. = 59.64.. -> 59.6.
    assert wait.model_dump() == {
        "key": "wait",
        "n": 4,
        "status": "ok",
        "unhappy_named": 3,
        "happy_named": 1,
        "share_unhappy_pct": 75.0,
        "share_happy_pct": 16.7,
        "without_n": 6,
        "without_headline": 33,
        "without_margin_of_error": 59.6,
        "effect": 33,
    }
    staff = _by_key(result, "nps")["staff"]
    # "staff" is named by 7, 9, 10 (all happy). Without it: 0, 3, 5, 6, 8, 9, 10 -> n = 7, P = 2, D = 4,
    # NPS = 100 * -2 / 7 = -28.57.. -> -29; effect -29 - 0 = -29 (these answers hold the score up).
    assert (staff.n, staff.unhappy_named, staff.share_unhappy_pct, staff.share_happy_pct) == (3, 0, 0.0, 50.0)
    assert (staff.without_n, staff.without_headline, staff.effect) == (7, -29, -29)


def test_a_key_named_by_fewer_than_the_minimum_shows_counts_and_shares_but_no_effect() -> None:
    parking = _by_key(effects(_NPS_ROWS, min_n=3), "nps")["custom:parking lot"]
    # Named by the one passive 8: 0 of 4 unhappy, 1 of 6 happy = 16.7 %; one answer is too few for a figure.
    assert parking.status == "too_few_responses"
    assert (parking.n, parking.share_unhappy_pct, parking.share_happy_pct, parking.without_n) == (1, 0.0, 16.7, 9)
    assert parking.without_headline is None and parking.without_margin_of_error is None and parking.effect is None


def test_keys_are_ranked_by_the_size_of_their_effect_either_way_and_withheld_ones_last() -> None:
    # |+33| > |-29|; the key with too few answers has no effect and comes last.
    assert [k.key for k in effects(_NPS_ROWS, min_n=3).metrics["nps"].keys] == ["wait", "staff", "custom:parking lot"]


def test_equal_effects_are_ranked_by_how_many_answers_name_the_key() -> None:
    rows: list[EffectRow] = [("nps", 0, ["a", "b"]), ("nps", 10, ["b"]), ("nps", 10, [])]
    rows += [("nps", 0, ["c"]), ("nps", 0, ["c"])]
    # Overall: 0, 10, 10, 0, 0 -> NPS = 100 * (2 - 3) / 5 = -20.
    # "a" (one 0): without 10, 10, 0, 0 -> 0, effect +20.
    # "b" (0 and 10): without 10, 0, 0 -> 100 * (1 - 2) / 3 = -33.3.. -> -33, effect -13.
    # "c" (0, 0): without 0, 10, 10 -> 100 * 1 / 3 = 33.3.. -> 33, effect +53.
    ranked = effects(rows, min_n=1).metrics["nps"].keys
    assert [(k.key, k.effect) for k in ranked] == [("c", 53), ("a", 20), ("b", -13)]
    # Equal effect, different n: on 0, 0, 10, 10, 7, 7 (NPS 0) removing passives leaves NPS 0 either way:
    # "r" (one 7) and "s" (both 7s) have effect 0; "s" is named more often, so it comes first.
    rows = [("nps", 0, []), ("nps", 0, []), ("nps", 10, []), ("nps", 10, []), ("nps", 7, ["r", "s"])]
    rows.append(("nps", 7, ["s"]))
    assert [(k.key, k.n, k.effect) for k in effects(rows, 1).metrics["nps"].keys] == [("s", 2, 0), ("r", 1, 0)]
    # Equal effect and n: the key decides, so the order never flickers. Overall 0, 10 is NPS 0; without the
    # 0 it is 100, effect +100 for both.
    tied = effects([("nps", 0, ["e", "d"]), ("nps", 10, [])], min_n=1).metrics["nps"].keys
    assert [(k.key, k.effect) for k in tied] == [("d", 100), ("e", 100)]


def test_csat_effect_is_in_points_of_the_satisfied_share_and_has_no_margin_of_error() -> None:
    rows: list[EffectRow] = [("csat", 1, ["price"]), ("csat", 2, ["price"]), ("csat", 4, []), ("csat", 5, [])]
    rows.append(("csat", 5, ["food_drink"]))
    result = effects(rows, min_n=1)
    # Overall: 4, 5, 5 satisfied of 5 = 60.0 %. Without "price" (1, 2): 3 of 3 = 100.0 %, effect +40.0.
    # Unhappy (1-2): 2, both name "price": 100.0 %; happy: 0 of 3 = 0.0 %.
    assert result.metrics["csat"].headline == 60.0
    price = _by_key(result, "csat")["price"]
    assert (price.share_unhappy_pct, price.share_happy_pct, price.without_n) == (100.0, 0.0, 3)
    assert (price.without_headline, price.effect, price.without_margin_of_error) == (100.0, 40.0, None)
    # Without "food_drink" (one 5): 4 and 5 satisfied of 4 = 50.0 %, effect -10.0.
    assert _by_key(result, "csat")["food_drink"].effect == -10.0


def test_ces_effect_is_in_points_of_the_mean_score() -> None:
    rows: list[EffectRow] = [("ces", 1, ["payment"]), ("ces", 3, []), ("ces", 7, []), ("ces", 7, [])]
    payment = _by_key(effects(rows, min_n=1), "ces")["payment"]
    # Overall mean 18 / 4 = 4.50. Without the 1: 17 / 3 = 5.666.. -> 5.67; effect 5.67 - 4.50 = 1.17 exactly
    # (not 1.1699999999999999). Unhappy (1-3): 1 and 3, "payment" on one = 50.0 %; happy 0 of 2 = 0.0 %.
    assert (payment.without_headline, payment.effect, payment.without_margin_of_error) == (5.67, 1.17, None)
    assert (payment.share_unhappy_pct, payment.share_happy_pct) == (50.0, 0.0)


def test_a_key_every_answer_names_has_no_without_figure() -> None:
    rows: list[EffectRow] = [("nps", s, ["wait"]) for s in (0, 9, 10)]
    wait = _by_key(effects(rows, min_n=0), "nps")["wait"]
    # Without it there is no answer: n = 0 gives null, never 0.
    assert (wait.status, wait.without_n, wait.without_headline, wait.effect) == ("too_few_without", 0, None, None)


def test_shares_are_null_when_there_are_no_happy_or_no_unhappy_answers() -> None:
    wait = _by_key(effects([("nps", 2, ["wait"]), ("nps", 4, [])], min_n=1), "nps")["wait"]
    # Unhappy: 2 and 4, "wait" on one = 50.0 %. No happy answers: 0 / 0 is unknown (null), not 0.
    assert (wait.share_unhappy_pct, wait.share_happy_pct, wait.happy_named) == (50.0, None, 0)


def test_each_metric_is_measured_on_its_own_answers_only() -> None:
    result = effects([*_NPS_ROWS, ("csat", 1, ["wait"]), ("csat", 5, [])], min_n=3)
    assert list(result.metrics) == ["nps", "csat"]
    assert result.metrics["csat"].n == 2 and _by_key(result, "csat")["wait"].status == "too_few_responses"
    assert _by_key(result, "nps")["wait"].n == 4  # the CSAT answer naming "wait" is not counted here
    assert effects([]).metrics == {}


@pytest.mark.parametrize(
    "rows",
    [
        [("nps", 11, [])],
        [("stars", 3, [])],
        [("csat", 0, [])],
        [("nps", 5, "wait")],
        [("nps", 5, [""])],
        [("csat", 1, []), ("csat", True, [])],  # True == 1, yet a bool score is a bug upstream
    ],
)
def test_malformed_rows_are_refused_not_counted(rows: list[EffectRow]) -> None:
    with pytest.raises(ValueError):
        effects(rows)


def test_week_over_week_change_of_each_keys_share_in_percentage_points() -> None:
    now: list[EffectRow] = [("nps", 9, ["wait"])] * 4 + [("nps", 9, [])] * 6
    before: list[EffectRow] = [("nps", 5, ["wait"])] + [("nps", 5, ["staff"])] * 2 + [("nps", 9, [])] * 5
    changes = share_changes(now, before, min_n=5).metrics["nps"]
    assert (changes.n, changes.previous_n) == (10, 8)
    # wait: 4 of 10 = 40.0 % now, 1 of 8 = 12.5 % before: +27.5 points.
    # staff: 0 of 10 = 0.0 % now, 2 of 8 = 25.0 % before: -25.0 points. Ranked by size of the change.
    assert [(c.key, c.now.share_pct, c.previous.share_pct, c.change_pp) for c in changes.keys] == [
        ("wait", 40.0, 12.5, 27.5),
        ("staff", 0.0, 25.0, -25.0),
    ]
    wait = changes.keys[0]
    assert (wait.now.named, wait.now.n, wait.previous.named, wait.previous.n, wait.status) == (4, 10, 1, 8, "ok")


def test_week_over_week_shows_no_change_when_a_week_had_too_few_answers() -> None:
    result: ShareChanges = share_changes([("csat", 5, ["staff"])] * 6, [("csat", 1, ["staff"])] * 2, min_n=5)
    staff = result.metrics["csat"].keys[0]
    # 6 answers now (100.0 %), only 2 before: the old share is withheld and so is the change.
    assert (staff.status, staff.now.share_pct, staff.previous.share_pct, staff.change_pp) == (
        "too_few_responses",
        100.0,
        None,
        None,
    )
    assert (staff.previous.named, staff.previous.n) == (2, 2)


def test_week_over_week_with_no_answers_last_week_is_null_not_zero() -> None:
    staff = share_changes([("ces", 7, ["staff"])] * 5, [], min_n=0).metrics["ces"].keys[0]
    assert (staff.now.share_pct, staff.previous.n, staff.previous.share_pct, staff.change_pp) == (100.0, 0, None, None)


# ---- properties ------------------------------------------------------------------------------------------

_KEYS = st.sets(st.sampled_from(["wait", "staff", "price", "custom:xe"]), max_size=3)


@st.composite
def _rows(draw: st.DrawFn) -> list[EffectRow]:
    metric = draw(st.sampled_from(["nps", "csat", "ces"]))
    low, high = SCALES[metric]
    return draw(st.lists(st.tuples(st.just(metric), st.integers(low, high), _KEYS), max_size=40))


@given(_rows(), st.integers(0, 6))
def test_shares_lie_between_0_and_100_and_counts_add_up(rows: list[EffectRow], min_n: int) -> None:
    for summary in effects(rows, min_n).metrics.values():
        for item in summary.keys:
            assert item.unhappy_named + item.happy_named == item.n >= 1
            assert item.n + item.without_n == summary.n
            for share in (item.share_unhappy_pct, item.share_happy_pct):
                assert share is None or 0 <= share <= 100
            assert (item.effect is None) == (item.status != "ok")


@given(_rows(), st.integers(1, 6))
def test_the_effect_is_the_reported_figure_without_the_key_minus_the_reported_figure(
    rows: list[EffectRow], min_n: int
) -> None:
    # Cross-check against metrics.summarize on the filtered answers, as a report would compute them.
    for metric, summary in effects(rows, min_n).metrics.items():
        overall = summarize(metric, counts_of(metric, [s for _, s, _ in rows]), min_n=0)
        assert summary.headline == overall.headline
        for item in summary.keys:
            if item.effect is None:
                continue
            without = summarize(metric, counts_of(metric, [s for _, s, k in rows if item.key not in k]), min_n=0)
            assert item.without_headline == without.headline
            assert overall.headline is not None and without.headline is not None
            assert item.effect == pytest.approx(without.headline - overall.headline, abs=1e-9)


@given(_rows())
def test_answers_naming_nothing_add_no_key_and_row_order_changes_nothing(rows: list[EffectRow]) -> None:
    result = effects(rows, 1)
    assert effects(list(reversed(rows)), 1) == result
    named = {key for _, _, keys in rows for key in keys}
    assert {item.key for s in result.metrics.values() for item in s.keys} == named


@given(st.lists(st.tuples(st.integers(0, 6), _KEYS), min_size=1), st.lists(st.integers(0, 10), max_size=20))
def test_a_key_named_only_by_detractors_never_lowers_the_nps_without_it(
    unhappy: list[tuple[int, set[str]]], others: list[int]
) -> None:
    # Removing k detractors from n answers: (P - D + k) / (n - k) >= (P - D) / n whenever P - D <= n, always.
    rows: list[EffectRow] = [("nps", s, {f"only-unhappy:{k}" for k in keys}) for s, keys in unhappy]
    rows += [("nps", s, []) for s in others]
    for item in effects(rows, 1).metrics["nps"].keys:
        assert item.effect is None or item.effect >= 0


@given(_rows(), _rows(), st.integers(0, 6))
def test_week_over_week_shares_lie_between_0_and_100(now: list[EffectRow], before: list[EffectRow], m: int) -> None:
    for summary in share_changes(now, before, m).metrics.values():
        for c in summary.keys:
            for share in (c.now.share_pct, c.previous.share_pct):
                assert share is None or 0 <= share <= 100
            assert c.change_pp is None or -100 <= c.change_pp <= 100


def test_the_figures_survive_being_stored_as_json_in_a_daily_report() -> None:
    stored = effects(_NPS_ROWS, min_n=3)
    assert Effects.model_validate_json(stored.model_dump_json()) == stored
    assert isinstance(_by_key(stored, "nps")["wait"].effect, int)  # NPS points stay whole numbers
    week = share_changes(_NPS_ROWS, _NPS_ROWS[:6], min_n=3)
    assert ShareChanges.model_validate_json(week.model_dump_json()) == week
