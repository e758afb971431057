"""The daily report of one business, built from score *counts*. Pure: stdlib + pydantic, no I/O.

A day's responses are reduced to a ``Tally``: a Counter keyed by (touchpoint, channel, metric, score,
commented). Counting tuples is done by ``collections.Counter`` in C, so a million responses become a few
hundred integers in well under a second, and everything after that (per metric, per touchpoint, per
channel, trailing windows) works on those few keys with the exact definitions of
``chalicelib.domain.metrics`` (``summarize``, ``merge_counts``). No list of response objects is kept.

Windows for the change figures, relative to the report's day D (all in the business's own calendar):
``previous_day`` is D-1, ``trailing_7`` is D-7..D-1 and ``trailing_28`` is D-28..D-1. The day itself is
not in its own baseline, so "change" reads as "today against the recent normal".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from chalicelib.domain.cases import ResolutionFigures
from chalicelib.domain.metrics import METRICS, MetricSummary, is_unhappy, merge_counts, score_in_range, summarize
from chalicelib.domain.why import Why

# (touchpoint_id, channel, metric, score, commented)
Row = tuple[str, str, str, int, bool]
WINDOWS: dict[str, tuple[int, int]] = {"previous_day": (1, 1), "trailing_7": (7, 1), "trailing_28": (28, 1)}
RECOVERY_WINDOW_DAYS = 28
MAX_COMMENTS = 25  # newest unhappy comments kept in a stored report (the item stays far below 400 KB)
MAX_COMMENT_CHARS = 2000
MAX_GROUPS = 200  # touchpoints / channels listed in one report; the rest are summed under "other"
_DELTA_PLACES = {"nps": 0, "csat": 1, "ces": 2}


class Tally:
    """Counts of a day's (or a window's) responses; add tallies to merge days."""

    __slots__ = ("counts",)

    def __init__(self, counts: Mapping[Row, int] | None = None):
        self.counts: Counter[Row] = Counter(counts or {})

    @classmethod
    def of(cls, rows: Iterable[Row]) -> Tally:
        return cls(Counter(rows))

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.counts + other.counts)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tally) and self.counts == other.counts

    def __hash__(self) -> int:  # pragma: no cover - tallies are mutable values, never dict keys
        raise TypeError("Tally is not hashable")

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    def to_json(self) -> list[list[Any]]:
        """Compact, stable form stored with each report so windows never re-read old responses."""
        return [[tp, ch, m, s, int(c), n] for (tp, ch, m, s, c), n in sorted(self.counts.items()) if n > 0]

    @classmethod
    def from_json(cls, data: Any) -> Tally:
        """The tally of a stored report; malformed rows are dropped rather than failing the job."""
        counts: Counter[Row] = Counter()
        if isinstance(data, list):
            for row in data:
                if (
                    isinstance(row, list)
                    and len(row) == 6
                    and all(isinstance(x, str) for x in row[:3])
                    and _valid(row[2], row[3])
                    and row[4] in (0, 1)
                    and _is_count(row[5])
                ):
                    counts[(row[0], row[1], row[2], int(row[3]), bool(row[4]))] += int(row[5])
        return cls(counts)

    def by_metric(self, where: Literal["all", "touchpoint", "channel"] = "all") -> dict[str, dict[str, Counter[int]]]:
        """{group: {metric: {score: n}}}; group is "" for the whole business."""
        out: dict[str, dict[str, Counter[int]]] = {}
        for (tp, ch, metric, score, _), n in self.counts.items():
            if not _valid(metric, score):
                continue
            key = "" if where == "all" else tp if where == "touchpoint" else ch
            out.setdefault(key, {}).setdefault(metric, Counter())[score] += n
        return out


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _valid(metric: Any, score: Any) -> bool:
    try:
        return isinstance(score, int) and not isinstance(score, bool) and score_in_range(metric, score)
    except ValueError:
        return False


# ---- the stored / served shape ----------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Change(_Model):
    """This day against one window: the window's own figures and the difference of the headlines."""

    n: int
    status: Literal["ok", "no_responses", "too_few_responses"]
    headline: float | int | None
    delta: float | int | None  # None unless both the day and the window have a headline
    within_noise: bool | None  # NPS only: |delta| inside the combined 95% margins of both figures


class MetricReport(_Model):
    summary: MetricSummary
    change: dict[str, Change]


class GroupReport(_Model):
    key: str
    name: str | None = None
    channel: str | None = None
    metrics: dict[str, MetricReport]


class Funnel(_Model):
    touchpoint_id: str
    name: str | None
    opened: int
    scored: int
    commented: int
    scored_pct: float | None  # scored / opened; responses from the widget or a POS have no page open
    commented_pct: float | None  # commented / scored


class Vouchers(_Model):
    issued: int
    redeemed: int


class Recovery(_Model):
    window_days: int
    apologised: int
    recovered: int
    rate_pct: float | None  # None when nobody got an apology in the window


class Unhappy(_Model):
    count: int
    recovery: Recovery


class OverdueCase(_Model):
    """An open case older than 24 hours, as the report lists it: no comment, no customer address."""

    response_id: str
    created_at: str
    touchpoint_id: str
    touchpoint: str  # its name when the report was computed
    metric: str
    score: int


class Resolution(_Model):
    """Issue #14: the complaint inbox's figures over the cases answered in ``first``..``last`` (the 7 days
    ending the report's day), and the cases still open after 24 hours, as known when computed."""

    window_days: int
    first: str
    last: str
    figures: ResolutionFigures
    overdue_count: int
    overdue: list[OverdueCase]


class UnhappyComment(_Model):
    created_at: str
    touchpoint_id: str
    metric: str
    score: int
    comment: str


class DailyReport(_Model):
    business_id: str
    business_name: str
    date: str
    timezone: str
    locale: str
    min_responses: int
    computed_at: str
    responses: int
    metrics: dict[str, MetricReport]
    touchpoints: list[GroupReport]
    channels: list[GroupReport]
    funnel: list[Funnel]
    vouchers: Vouchers
    unhappy: Unhappy
    comments: list[UnhappyComment]
    comments_total: int
    windows: dict[str, str]  # window name -> "first..last" day it covers
    skipped: int = 0  # stored responses that were not valid (should stay 0)
    resolution: Resolution | None = None  # issue #14; None in reports stored before it
    why: Why | None = None  # issue #15: what moves the score over the week ending ``date``; None before it


# ---- inputs -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TouchpointInfo:
    touchpoint_id: str
    name: str
    channel: str
    metric: str


@dataclass
class DayInputs:
    """Everything the report of one day needs besides the business itself; gathered by the service."""

    tally: Tally
    windows: dict[str, Tally] = field(default_factory=dict)
    window_ranges: dict[str, str] = field(default_factory=dict)
    opened: dict[str, int] = field(default_factory=dict)
    vouchers_issued: int = 0
    vouchers_redeemed: int = 0
    apologised: int = 0
    recovered: int = 0
    comments: list[UnhappyComment] = field(default_factory=list)
    comments_total: int = 0
    skipped: int = 0


class CommentKeeper:
    """Keeps the newest ``limit`` unhappy comments seen, in any order of arrival, and counts them all."""

    def __init__(self, limit: int = MAX_COMMENTS):
        self.limit = limit
        self.total = 0
        self._kept: list[UnhappyComment] = []

    def offer(self, *, created_at: str, touchpoint_id: str, metric: str, score: int, comment: str | None) -> None:
        if not comment or not comment.strip() or not _valid(metric, score) or not is_unhappy(metric, score):
            return
        self.total += 1
        self._kept.append(
            UnhappyComment(
                created_at=created_at,
                touchpoint_id=touchpoint_id,
                metric=metric,
                score=score,
                comment=comment[:MAX_COMMENT_CHARS],
            )
        )
        if len(self._kept) > 4 * self.limit:
            self._trim()

    def _trim(self) -> None:
        self._kept.sort(key=lambda c: c.created_at, reverse=True)
        del self._kept[self.limit :]

    def newest(self) -> list[UnhappyComment]:
        self._trim()
        return list(self._kept)


# ---- building ---------------------------------------------------------------------------------------


def _pct(part: int, whole: int) -> float | None:
    if whole <= 0:
        return None
    return float((Decimal(100 * part) / Decimal(whole)).quantize(Decimal("0.1"), rounding="ROUND_HALF_UP"))


def _delta(metric: str, now: MetricSummary, then: MetricSummary) -> tuple[float | int | None, bool | None]:
    if now.headline is None or then.headline is None:
        return None, None
    places = _DELTA_PLACES[metric]
    diff = Decimal(str(now.headline)) - Decimal(str(then.headline))
    delta: float | int = int(diff) if places == 0 else float(diff.quantize(Decimal(1).scaleb(-places)))
    noise = None
    if metric == "nps" and now.margin_of_error is not None and then.margin_of_error is not None:
        noise = abs(delta) <= math.hypot(now.margin_of_error, then.margin_of_error)
    return delta, noise


def _metric_report(
    metric: str, counts: Mapping[int, int], windows: Mapping[str, Mapping[int, int]], min_n: int
) -> MetricReport:
    summary = summarize(metric, merge_counts(counts), min_n)
    changes: dict[str, Change] = {}
    for name, window_counts in windows.items():
        then = summarize(metric, merge_counts(window_counts), min_n)
        delta, noise = _delta(metric, summary, then)
        changes[name] = Change(n=then.n, status=then.status, headline=then.headline, delta=delta, within_noise=noise)
    return MetricReport(summary=summary, change=changes)


def _groups(
    where: Literal["touchpoint", "channel"],
    day: Tally,
    windows: Mapping[str, Tally],
    min_n: int,
    names: Mapping[str, TouchpointInfo],
) -> list[GroupReport]:
    today = day.by_metric(where)
    past = {name: tally.by_metric(where) for name, tally in windows.items()}
    keys = set(today)
    if where == "touchpoint":
        keys |= set(names)  # a touchpoint with no answers today is still listed (its funnel may explain why)
    ordered = sorted(keys, key=lambda k: (-sum(sum(c.values()) for c in today.get(k, {}).values()), k))
    groups: list[GroupReport] = []
    for key in ordered[:MAX_GROUPS]:
        info = names.get(key) if where == "touchpoint" else None
        metrics = set(today.get(key, {}))
        if info is not None:
            metrics.add(info.metric)
        reports: dict[str, MetricReport] = {
            m: _metric_report(
                m,
                today.get(key, {}).get(m, {}),
                {w: past[w].get(key, {}).get(m, {}) for w in past},
                min_n,
            )
            for m in METRICS
            if m in metrics
        }
        groups.append(
            GroupReport(
                key=key,
                name=info.name if info else None,
                channel=info.channel if info else (key if where == "channel" else None),
                metrics=reports,
            )
        )
    return groups


def _funnel(day: Tally, opened: Mapping[str, int], names: Mapping[str, TouchpointInfo]) -> list[Funnel]:
    scored: Counter[str] = Counter()
    commented: Counter[str] = Counter()
    for (tp, _, metric, score, has_comment), n in day.counts.items():
        if _valid(metric, score):
            scored[tp] += n
            if has_comment:
                commented[tp] += n
    keys = sorted(set(names) | set(scored) | {k for k, v in opened.items() if v > 0})
    return [
        Funnel(
            touchpoint_id=tp,
            name=names[tp].name if tp in names else None,
            opened=int(opened.get(tp, 0)),
            scored=scored[tp],
            commented=commented[tp],
            scored_pct=_pct(scored[tp], int(opened.get(tp, 0))),
            commented_pct=_pct(commented[tp], scored[tp]),
        )
        for tp in keys[:MAX_GROUPS]
    ]


def unhappy_count(day: Tally) -> int:
    return sum(n for (_, _, m, s, _), n in day.counts.items() if _valid(m, s) and is_unhappy(m, s))


def build_report(
    *,
    business_id: str,
    business_name: str,
    day: str,
    timezone: str,
    locale: str,
    computed_at: str,
    inputs: DayInputs,
    touchpoints: Iterable[TouchpointInfo] = (),
    min_n: int = 5,
    resolution: Resolution | None = None,
    why: Why | None = None,
) -> DailyReport:
    """The report of one business day from its counts; the same inputs always give the same report."""
    names = {t.touchpoint_id: t for t in touchpoints}
    windows = {w: inputs.windows.get(w, Tally()) for w in WINDOWS}
    today = inputs.tally.by_metric("all").get("", {})
    past = {w: t.by_metric("all").get("", {}) for w, t in windows.items()}
    invalid = sum(n for (_, _, m, s, _), n in inputs.tally.counts.items() if not _valid(m, s))
    return DailyReport(
        # Which business-day, as the business sees it, and when it was computed with which threshold.
        business_id=business_id, business_name=business_name, date=day, timezone=timezone, locale=locale,
        min_responses=min_n, computed_at=computed_at,
        responses=inputs.tally.n - invalid,
        metrics={
            m: _metric_report(m, today.get(m, {}), {w: past[w].get(m, {}) for w in windows}, min_n) for m in METRICS
        },
        touchpoints=_groups("touchpoint", inputs.tally, windows, min_n, names),
        channels=_groups("channel", inputs.tally, windows, min_n, names),
        funnel=_funnel(inputs.tally, inputs.opened, names),
        vouchers=Vouchers(issued=inputs.vouchers_issued, redeemed=inputs.vouchers_redeemed),
        unhappy=Unhappy(
            count=unhappy_count(inputs.tally),
            recovery=Recovery(
                window_days=RECOVERY_WINDOW_DAYS,
                apologised=inputs.apologised,
                recovered=inputs.recovered,
                rate_pct=_pct(inputs.recovered, inputs.apologised),
            ),
        ),
        comments=sorted(inputs.comments, key=lambda c: c.created_at, reverse=True)[:MAX_COMMENTS],
        comments_total=max(inputs.comments_total, len(inputs.comments)),
        windows=dict(inputs.window_ranges),
        skipped=inputs.skipped + invalid,
        resolution=resolution,
        why=why,
    )


# ---- #11 item 7: erasure -------------------------------------------------------------------------------


def without_comments(report: dict[str, Any], erased: set[tuple[str, str]]) -> tuple[dict[str, Any], int]:
    """The report without the given comments, each named by (its response's created_at, its text): the
    instant alone could name two customers who answered in the same microsecond. The report keeps at
    most MAX_COMMENT_CHARS of a comment, so its copy is matched against the same prefix. Returns the
    report and how many comments were removed."""
    comments = report.get("comments")
    if not isinstance(comments, list):
        return report, 0
    wanted = {(at, text[:MAX_COMMENT_CHARS]) for at, text in erased}

    def erased_copy(c: Any) -> bool:
        return isinstance(c, dict) and (c.get("created_at"), c.get("comment")) in wanted

    kept = [c for c in comments if not erased_copy(c)]
    return {**report, "comments": kept}, len(comments) - len(kept)
