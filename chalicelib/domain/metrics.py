"""Survey metrics (NPS, CSAT, CES) from score distributions. Pure: stdlib + pydantic, no I/O.

Everything works on *counts per score* rather than lists of scores, so a daily job can aggregate
millions of responses as a handful of integers and merge days/touchpoints with ``merge_counts``.

All rounding is half away from zero on exact rationals (``Fraction``): owners compare our figures
with spreadsheets, and float/banker's rounding would disagree on ties such as 12.5 or 2.675.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict

Metric = Literal["nps", "csat", "ces"]
METRICS: tuple[Metric, ...] = ("nps", "csat", "ces")
SCALES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
MIN_RESPONSES_DEFAULT = 5

# Highest score that still counts as "unhappy" (triggers follow-up): NPS detractors, CSAT 1-2, CES 1-3.
_UNHAPPY_MAX: dict[str, int] = {"nps": 6, "csat": 2, "ces": 3}
# NPS classes; CSAT "satisfied" and CES "easy" thresholds (inclusive lower bounds).
_NPS_PROMOTER_MIN = 9
_NPS_DETRACTOR_MAX = 6
_CSAT_SATISFIED_MIN = 4
_CES_EASY_MIN = 5
# 95% two-sided z value, kept as an exact rational so the margin of error can be rounded exactly.
_Z95 = Fraction(196, 100)


def as_metric(metric: str) -> Metric:
    """``metric`` as one of the three metrics; ValueError for anything else."""
    for known in METRICS:
        if metric == known:
            return known
    raise ValueError(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")


def _scale(metric: str) -> tuple[int, int]:
    return SCALES[as_metric(metric)]


def _is_int(value: object) -> bool:
    # bool is an int subclass, but True as a score or a count is always a bug upstream.
    return isinstance(value, int) and not isinstance(value, bool)


def score_in_range(metric: str, score: int) -> bool:
    """Whether ``score`` is a valid whole-number answer for ``metric`` (unknown metric -> ValueError)."""
    low, high = _scale(metric)
    return _is_int(score) and low <= score <= high


def _check_score(metric: str, score: int) -> None:
    if not score_in_range(metric, score):
        low, high = _scale(metric)
        raise ValueError(f"{metric} score must be an integer from {low} to {high}, got {score!r}")


def is_unhappy(metric: str, score: int) -> bool:
    """NPS 0-6, CSAT 1-2, CES 1-3. Raises ValueError for an unknown metric or out-of-range score."""
    _check_score(metric, score)
    return score <= _UNHAPPY_MAX[metric]


def _exact(value: Fraction | Decimal | int) -> Fraction:
    # Floats are refused: 2.675 as a float is really 2.67499999..., so "exact" rounding would be a lie.
    if isinstance(value, bool) or not isinstance(value, Fraction | Decimal | int):
        raise TypeError(f"round_half_away needs exact Fraction, Decimal or int: not {type(value).__name__}")
    try:
        return Fraction(value)
    except (ValueError, OverflowError) as exc:  # Decimal NaN / Infinity
        raise ValueError(f"cannot round {value!r}") from exc


def round_half_away(value: Fraction | Decimal | int, ndigits: int = 0) -> Decimal:
    """Round exactly to ``ndigits`` decimals, ties away from zero (12.5 -> 13, -12.5 -> -13).

    The result is a Decimal with exactly ``ndigits`` places (``Decimal('33.3')``), never ``-0``.
    """
    exact = _exact(value)
    units = math.floor(abs(exact) * Fraction(10) ** ndigits + Fraction(1, 2))
    # A value that rounds to zero loses its sign, so float() never prints "-0.0".
    sign = 1 if exact < 0 and units else 0
    return Decimal((sign, tuple(int(digit) for digit in str(units)), -ndigits))


class _Stats(BaseModel):
    # Frozen: summaries are cached and shared between groups; extra="forbid" keeps the
    # NpsStats | CsatStats | CesStats union unambiguous when a summary is re-validated from JSON.
    model_config = ConfigDict(frozen=True, extra="forbid")


class NpsStats(_Stats):
    n: int
    promoters: int
    passives: int
    detractors: int
    nps: int | None
    margin_of_error: float | None
    distribution: dict[int, int]  # every score 0..10 present


class CsatStats(_Stats):
    n: int
    satisfied_pct: float | None
    mean: float | None
    distribution: dict[int, int]  # every score 1..5 present


class CesStats(_Stats):
    n: int
    mean: float | None
    easy_pct: float | None
    distribution: dict[int, int]  # every score 1..7 present


def _full_counts(metric: str, counts: Mapping[int, int]) -> dict[int, int]:
    """Validated copy of ``counts`` with every score of the scale present (missing keys are 0)."""
    low, high = _scale(metric)
    full = dict.fromkeys(range(low, high + 1), 0)
    for score, count in counts.items():
        _check_score(metric, score)
        if not _is_int(count) or count < 0:
            raise ValueError(f"{metric} count for score {score} must be an integer >= 0, got {count!r}")
        full[score] += count
    return full


def counts_of(metric: str, scores: Iterable[int]) -> dict[int, int]:
    """Distribution of raw scores over the metric's whole scale. ValueError on an out-of-range score."""
    low, high = _scale(metric)
    full = dict.fromkeys(range(low, high + 1), 0)
    for score in scores:
        _check_score(metric, score)
        full[score] += 1
    return full


def _pct(part: int, n: int) -> float:
    return float(round_half_away(Fraction(100 * part, n), 1))


def _mean(counts: Mapping[int, int], n: int) -> float:
    return float(round_half_away(Fraction(sum(score * count for score, count in counts.items()), n), 2))


def _nps_margin_of_error(promoters: int, detractors: int, n: int) -> float:
    """1.96 * 100 * sqrt((p + d - (p - d)**2) / n), rounded half away to one decimal, exactly.

    With p = P/n and d = D/n the radicand is A / n**3 where A = (P + D) * n - (P - D)**2 is an integer,
    so ten times the margin is sqrt(R) with R = (196 * 10)**2 * A / n**3 rational. Rounding half away
    to an integer is floor(sqrt(R) + 1/2) = (isqrt(floor(4R)) + 1) // 2, all in exact integer arithmetic:
    no precision to pick, and exact ties (which do occur) go the right way.
    """
    a = (promoters + detractors) * n - (promoters - detractors) ** 2  # >= 0: it is n**2 * variance
    four_r = (4 * (_Z95 * 100 * 10) ** 2 * a) / Fraction(n**3)
    tenths = (math.isqrt(math.floor(four_r)) + 1) // 2
    return float(Decimal(tenths).scaleb(-1))


def _nps(full: dict[int, int], derive: bool) -> NpsStats:
    n = sum(full.values())
    promoters = sum(c for s, c in full.items() if s >= _NPS_PROMOTER_MIN)
    detractors = sum(c for s, c in full.items() if s <= _NPS_DETRACTOR_MAX)
    ok = derive and n > 0  # n = 0: headline is unknown (None), not 0
    return NpsStats(
        n=n,
        promoters=promoters,
        passives=n - promoters - detractors,
        detractors=detractors,
        nps=int(round_half_away(Fraction(100 * (promoters - detractors), n))) if ok else None,
        margin_of_error=_nps_margin_of_error(promoters, detractors, n) if ok else None,
        distribution=full,
    )


def _share_and_mean(full: dict[int, int], derive: bool, good_min: int) -> tuple[int, float | None, float | None]:
    """n, the percentage of answers at ``good_min`` or above, and the mean score (None unless derived)."""
    n = sum(full.values())
    if not (derive and n > 0):
        return n, None, None
    return n, _pct(sum(c for s, c in full.items() if s >= good_min), n), _mean(full, n)


def _csat(full: dict[int, int], derive: bool) -> CsatStats:
    n, satisfied_pct, mean = _share_and_mean(full, derive, _CSAT_SATISFIED_MIN)
    return CsatStats(n=n, satisfied_pct=satisfied_pct, mean=mean, distribution=full)


def _ces(full: dict[int, int], derive: bool) -> CesStats:
    n, easy_pct, mean = _share_and_mean(full, derive, _CES_EASY_MIN)
    return CesStats(n=n, mean=mean, easy_pct=easy_pct, distribution=full)


Stats = NpsStats | CsatStats | CesStats
_BUILDERS: dict[str, Callable[[dict[int, int], bool], Stats]] = {"nps": _nps, "csat": _csat, "ces": _ces}


def nps_stats(counts: Mapping[int, int]) -> NpsStats:
    """NPS = %promoters (9-10) - %detractors (0-6), an integer in -100..100, plus 95% margin of error."""
    return _nps(_full_counts("nps", counts), derive=True)


def csat_stats(counts: Mapping[int, int]) -> CsatStats:
    """CSAT = share of 4-5 answers in percent (one decimal), plus the mean score (two decimals)."""
    return _csat(_full_counts("csat", counts), derive=True)


def ces_stats(counts: Mapping[int, int]) -> CesStats:
    """CES = mean score (two decimals, 7 = very easy), plus the share of 5-7 answers (one decimal)."""
    return _ces(_full_counts("ces", counts), derive=True)


def stats_for(metric: str, counts: Mapping[int, int]) -> Stats:
    full = _full_counts(metric, counts)  # first: it turns an unknown metric into ValueError, not KeyError
    return _BUILDERS[metric](full, True)


class MetricSummary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: Metric
    n: int
    status: Literal["ok", "no_responses", "too_few_responses"]
    headline: float | int | None  # NPS (int) / CSAT satisfied_pct / CES mean; None unless status == "ok"
    margin_of_error: float | None  # NPS only, None unless status == "ok"
    stats: Stats


def summarize(metric: str, counts: Mapping[int, int], min_n: int = MIN_RESPONSES_DEFAULT) -> MetricSummary:
    """What a report shows: the headline, or only the count when there are too few responses.

    Below ``min_n`` the percentages are too noisy to show (and could single out a respondent), so every
    derived value is withheld (None) while n and the distribution are kept.
    """
    if not _is_int(min_n) or min_n < 0:
        raise ValueError(f"min_n must be a non-negative integer, got {min_n!r}")
    full = _full_counts(metric, counts)
    n = sum(full.values())
    status: Literal["ok", "no_responses", "too_few_responses"]
    status = "no_responses" if n == 0 else "too_few_responses" if n < min_n else "ok"
    stats = _BUILDERS[metric](full, status == "ok")
    headline: float | int | None
    margin: float | None = None
    if isinstance(stats, NpsStats):
        headline, margin = stats.nps, stats.margin_of_error
    elif isinstance(stats, CsatStats):
        headline = stats.satisfied_pct
    else:
        headline = stats.mean
    return MetricSummary(
        metric=as_metric(metric),  # known: _full_counts above refused any other
        n=n,
        status=status,
        headline=headline,
        margin_of_error=margin,
        stats=stats,
    )


def merge_counts(*counts: Mapping[int, int]) -> dict[int, int]:
    """Sum several distributions (days, touchpoints) score by score; keys come out sorted.

    There is no metric here, so only the shape is checked (integer keys, non-negative integer counts);
    the scale is checked when the merged counts reach ``stats_for`` / ``summarize``.
    """
    merged: dict[int, int] = {}
    for mapping in counts:
        for score, count in mapping.items():
            if not _is_int(score):
                raise ValueError(f"score must be an integer, got {score!r}")
            if not _is_int(count) or count < 0:
                raise ValueError(f"count for score {score} must be an integer >= 0, got {count!r}")
            merged[score] = merged.get(score, 0) + count
    return dict(sorted(merged.items()))
