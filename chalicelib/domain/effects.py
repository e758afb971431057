"""What moves the score: each reason's and topic's effect on a period's figures. Pure: stdlib + pydantic.

Input rows are ``(metric, score, keys)``: one answer of the period and the reasons and topics it names
(taxonomy keys such as ``wait`` or owners' ``custom:...`` keys; a key named twice by one answer counts
once). For each metric and each key named by at least one answer of that metric:

- ``n``: answers naming the key; ``unhappy_named`` / ``happy_named`` with the period's ``unhappy_n`` /
  ``happy_n``, and ``share_unhappy_pct`` / ``share_happy_pct`` (one decimal). "Unhappy" is
  ``metrics.is_unhappy``; "happy" is every other answer (NPS passives included).
- ``without_headline``: the headline (NPS points, CSAT % satisfied, CES mean) of the answers that do NOT
  name the key, with ``without_n`` and its margin of error (NPS only: metrics.py offers none for the others).
- ``effect`` = ``without_headline`` - ``overall_headline``, both as reports round them, so the figure is
  the difference of the two numbers an owner sees. Positive: the answers naming the key pull the score
  down (removing them would raise it).

Below ``min_n`` answers naming the key (``too_few_responses``) or not naming it (``too_few_without``), the
without-figures and the effect are withheld (None) while the counts stay, like ``metrics.summarize``.
Shares are withheld only when their denominator is 0: they are plain counts of what customers said.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict

from chalicelib.domain.metrics import (
    METRICS,
    MIN_RESPONSES_DEFAULT,
    Metric,
    MetricSummary,
    as_metric,
    is_unhappy,
    round_half_away,
    summarize,
)

# (metric, score, keys named by the answer)
EffectRow = tuple[str, int, Collection[str]]
EffectStatus = Literal["ok", "too_few_responses", "too_few_without"]
ShareStatus = Literal["ok", "too_few_responses"]


class _Model(BaseModel):
    # As domain/report.py's models: frozen values, extra="forbid" so a stored report re-validates strictly.
    model_config = ConfigDict(frozen=True, extra="forbid")


class KeyEffect(_Model):
    key: str
    n: int  # answers naming the key
    status: EffectStatus
    unhappy_named: int
    happy_named: int
    share_unhappy_pct: float | None  # unhappy_named / unhappy_n; None when unhappy_n == 0
    share_happy_pct: float | None  # happy_named / happy_n; None when happy_n == 0
    without_n: int
    without_headline: float | int | None
    without_margin_of_error: float | None  # NPS only
    effect: float | int | None  # without_headline - overall_headline; None unless status == "ok"


class MetricEffects(_Model):
    metric: Metric
    n: int
    unhappy_n: int
    happy_n: int
    headline: float | int | None  # the overall figure the effects are measured against
    margin_of_error: float | None
    keys: list[KeyEffect]  # ranked: largest |effect| first, then n, then key


class Effects(_Model):
    min_responses: int
    metrics: dict[str, MetricEffects]  # only metrics with at least one answer in the period


class PeriodShare(_Model):
    named: int  # answers of the metric naming the key in the period
    n: int  # answers of the metric in the period
    share_pct: float | None  # named / n, one decimal; None below min_n answers (or none at all)


class ShareChange(_Model):
    key: str
    status: ShareStatus  # too_few_responses: a period has fewer than min_n answers of the metric
    now: PeriodShare
    previous: PeriodShare
    change_pp: float | None  # now.share_pct - previous.share_pct, percentage points, one decimal


class MetricShareChanges(_Model):
    metric: Metric
    n: int
    previous_n: int
    keys: list[ShareChange]  # largest |change| first, then named this period, then key


class ShareChanges(_Model):
    min_responses: int
    metrics: dict[str, MetricShareChanges]


class _Counts:
    """Score counts of one metric: all answers, and per key the answers naming it."""

    __slots__ = ("all", "by_key")

    def __init__(self) -> None:
        self.all: Counter[int] = Counter()
        self.by_key: dict[str, Counter[int]] = {}


def _check_min_n(min_n: int) -> None:
    if isinstance(min_n, bool) or not isinstance(min_n, int) or min_n < 0:
        raise ValueError(f"min_n must be a non-negative integer, got {min_n!r}")


def _keys(keys: Collection[str]) -> set[str]:
    if isinstance(keys, str):  # a bare "wait" would otherwise count as the keys w, a, i, t
        raise ValueError(f"keys must be a collection of strings, got the string {keys!r}")
    named = set(keys)
    for key in named:
        if not isinstance(key, str) or not key:
            raise ValueError(f"a key must be a non-empty string, got {key!r}")
    return named


def _tally(rows: Iterable[EffectRow]) -> dict[str, _Counts]:
    # Identical answers are counted first and validated once per distinct (metric, score, keys): a
    # period's answers repeat far fewer combinations than there are answers. type(score) is in the group
    # key because True == 1 would otherwise slip a bool score in under a valid one.
    grouped = Counter(
        (metric, score, type(score), keys if isinstance(keys, str) else frozenset(keys)) for metric, score, keys in rows
    )
    tallies: dict[str, _Counts] = {}
    for (metric, score, _, keys), count in grouped.items():
        is_unhappy(metric, score)  # ValueError for an unknown metric or an out-of-range score
        counts = tallies.setdefault(metric, _Counts())
        counts.all[score] += count
        for key in _keys(keys):
            counts.by_key.setdefault(key, Counter())[score] += count
    return tallies


def _unhappy(metric: str, counts: Counter[int]) -> int:
    return sum(c for s, c in counts.items() if is_unhappy(metric, s))


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else float(round_half_away(Fraction(100 * part, whole), 1))


def _minus(a: float | int, b: float | int) -> float | int:
    # Decimal via str: the headlines are already rounded (0, 1 or 2 places) and a float difference
    # would print 0.30000000000000004.
    diff = Decimal(str(a)) - Decimal(str(b))
    return int(diff) if isinstance(a, int) and isinstance(b, int) else float(diff)


def _headline(metric: str, counts: Counter[int]) -> MetricSummary:
    return summarize(metric, counts, min_n=0)  # n = 0 gives a None headline, never 0


def _key_effect(
    metric: str, key: str, named: Counter[int], overall: MetricSummary, unhappy_n: int, min_n: int
) -> KeyEffect:
    n = sum(named.values())
    unhappy_named = _unhappy(metric, named)
    without = _headline(metric, Counter(overall.stats.distribution) - named)
    # max(.., 1): with min_n = 0 an empty without-set still has no figure to show.
    least = max(min_n, 1)
    status: EffectStatus = "too_few_responses" if n < least else "too_few_without" if without.n < least else "ok"
    effect = None
    if status == "ok" and without.headline is not None and overall.headline is not None:
        effect = _minus(without.headline, overall.headline)
    return KeyEffect(
        key=key,
        n=n,
        status=status,
        unhappy_named=unhappy_named,
        happy_named=n - unhappy_named,
        share_unhappy_pct=_share(unhappy_named, unhappy_n),
        share_happy_pct=_share(n - unhappy_named, overall.n - unhappy_n),
        without_n=without.n,
        without_headline=without.headline if effect is not None else None,
        without_margin_of_error=without.margin_of_error if effect is not None else None,
        effect=effect,
    )


def _effect_rank(item: KeyEffect) -> tuple[int, float, int, str]:
    # Withheld effects go last (they are not figures), then the largest effect either way, more answers first.
    if item.effect is None:
        return (1, 0.0, -item.n, item.key)
    return (0, -abs(item.effect), -item.n, item.key)


def tallied(totals: Mapping[tuple[str, int], int], named: Mapping[tuple[str, int, str], int]) -> dict[str, _Counts]:
    """Counts already reduced elsewhere (a stored report's day): answers per (metric, score) and answers
    naming each key per (metric, score, key). The effect of a key needs only these two, never which keys
    were named together, so days reduced this way merge by plain addition."""
    tallies: dict[str, _Counts] = {}
    for (metric, score), count in totals.items():
        is_unhappy(metric, score)  # ValueError for an unknown metric or an out-of-range score
        tallies.setdefault(metric, _Counts()).all[score] += count
    for (metric, score, key), count in named.items():
        _keys((key,))
        counts = tallies.get(metric)
        if counts is None or count > counts.all[score]:
            raise ValueError(f"{key!r} named by more {metric} answers of score {score} than there were")
        counts.by_key.setdefault(key, Counter())[score] += count
    return tallies


def effects(rows: Iterable[EffectRow], min_n: int = MIN_RESPONSES_DEFAULT) -> Effects:
    """Each key's shares among unhappy / happy answers and its effect on the headline, per metric."""
    return effects_of(_tally(rows), min_n)


def effects_of(tallies: Mapping[str, _Counts], min_n: int = MIN_RESPONSES_DEFAULT) -> Effects:
    """``effects`` of counts from ``tallied`` (or ``_tally``)."""
    _check_min_n(min_n)
    result: dict[str, MetricEffects] = {}
    for metric in METRICS:  # fixed order, whatever order the rows came in
        if metric not in tallies:
            continue
        counts = tallies[metric]
        overall = _headline(metric, counts.all)
        unhappy_n = _unhappy(metric, counts.all)
        items = [_key_effect(metric, key, named, overall, unhappy_n, min_n) for key, named in counts.by_key.items()]
        result[metric] = MetricEffects(
            metric=as_metric(metric),
            n=overall.n,
            unhappy_n=unhappy_n,
            happy_n=overall.n - unhappy_n,
            headline=overall.headline,
            margin_of_error=overall.margin_of_error,
            keys=sorted(items, key=_effect_rank),
        )
    return Effects(min_responses=min_n, metrics=result)


def _period_share(counts: _Counts, key: str, min_n: int) -> PeriodShare:
    named, n = counts.by_key.get(key, Counter()).total(), counts.all.total()
    return PeriodShare(named=named, n=n, share_pct=_share(named, n) if n >= min_n else None)


def _share_change(key: str, now: _Counts, before: _Counts, min_n: int) -> ShareChange:
    current, previous = _period_share(now, key, min_n), _period_share(before, key, min_n)
    change = None
    if current.share_pct is not None and previous.share_pct is not None:
        change = _minus(current.share_pct, previous.share_pct)
    status: ShareStatus = "ok" if change is not None else "too_few_responses"
    return ShareChange(key=key, status=status, now=current, previous=previous, change_pp=change)


def share_changes(
    rows: Iterable[EffectRow], previous_rows: Iterable[EffectRow], min_n: int = MIN_RESPONSES_DEFAULT
) -> ShareChanges:
    """Week over week: each key's share of a metric's answers this period against the previous one.

    A share is withheld (None) for a period with fewer than ``min_n`` answers of the metric (a share of
    two answers moves by 50 points with one customer), and the change with it.
    """
    return share_changes_of(_tally(rows), _tally(previous_rows), min_n)


def share_changes_of(
    now: Mapping[str, _Counts], before: Mapping[str, _Counts], min_n: int = MIN_RESPONSES_DEFAULT
) -> ShareChanges:
    """``share_changes`` of counts from ``tallied`` (or ``_tally``)."""
    _check_min_n(min_n)
    result: dict[str, MetricShareChanges] = {}
    for metric in METRICS:
        if metric not in now and metric not in before:
            continue
        cur, prev = now.get(metric, _Counts()), before.get(metric, _Counts())
        items = [_share_change(key, cur, prev, min_n) for key in cur.by_key.keys() | prev.by_key.keys()]
        items.sort(key=lambda c: (c.change_pp is None, -abs(c.change_pp or 0), -c.now.named, c.key))
        n, previous_n = cur.all.total(), prev.all.total()
        result[metric] = MetricShareChanges(metric=as_metric(metric), n=n, previous_n=previous_n, keys=items)
    return ShareChanges(min_responses=min_n, metrics=result)
