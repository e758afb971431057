"""Issue #15, "why": the compact counts a stored daily report keeps of what its answers name, and the report
blocks built from a window of them. Pure: stdlib + pydantic.

A day's answers are counted as tuples (``Counter`` in C, as ``report.Tally`` does) into three small
counters, then reduced once per distinct tuple into ``Facets``:

- ``totals`` (metric, score) and ``keys`` (metric, score, key): the answers naming each reason
  (``reason:wait``) or comment topic (``topic:wait``), the two kept apart by their prefix. An answer names
  a key at most once. The effect of a key needs only these (``effects.tallied``), so days merge by addition.
- ``labels`` (name, value, metric, score): answers per label value.
- ``heat`` (touchpoint, local weekday, local hour, unhappy): answers per cell of the weekday x hour grid,
  in the business's own time zone. Answers are counted per UTC hour (per minute in zones such as +05:45,
  whose hours do not fall on whole UTC hours) and each distinct one is converted once.

Caps keep a stored item far below DynamoDB's 400 KB: at most ``MAX_CUSTOM_KEYS`` owners' own keys per
prefix (the rest counted once per answer as ``<prefix>custom:other``; taxonomy keys are always kept),
``MAX_LABEL_NAMES`` label names (the rest dropped: owners define five kinds), ``MAX_LABEL_VALUES`` values
per name (the rest summed as ``other``) and ``MAX_HEAT_TOUCHPOINTS`` touchpoints in the grid (the rest as
``other``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from pydantic import BaseModel, ConfigDict

from chalicelib.domain import labels as label_rules
from chalicelib.domain.calendar import zone
from chalicelib.domain.effects import Effects, ShareChanges, effects_of, share_changes_of, tallied
from chalicelib.domain.heatmap import DAYS, HOURS, Heatmap, Heatmaps
from chalicelib.domain.metrics import METRICS, MetricSummary, is_unhappy, score_in_range, summarize
from chalicelib.domain.topics import CUSTOM_PREFIX, TOPICS

REASON, TOPIC = "reason:", "topic:"
OTHER = "other"
MAX_CUSTOM_KEYS = 30
MAX_LABEL_NAMES = 8
MAX_LABEL_VALUES = 50
MAX_HEAT_TOUCHPOINTS = 200
MAX_HEATMAPS = 20  # touchpoints with a grid in one report, most unhappy answers first
FORMAT = 1

Keys = tuple[str, ...]
Labels = tuple[tuple[str, str], ...]
# (metric, score, the reasons or the topics of one answer)
NamedKey = tuple[str, int, tuple[str, ...]]
# (metric, score, labels as sorted (name, value) pairs)
LabelKey = tuple[str, int, tuple[tuple[str, str], ...]]
# (touchpoint, created_at cut to the UTC hour "YYYY-MM-DDTHH" or minute "YYYY-MM-DDTHH:MM", metric, score)
TimeKey = tuple[str, str, str, int]


def _valid(metric: Any, score: Any) -> bool:
    try:
        return isinstance(score, int) and not isinstance(score, bool) and score_in_range(metric, score)
    except ValueError:
        return False


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _top(counts: Counter[str], limit: int) -> list[str]:
    return sorted(counts, key=lambda k: (-counts[k], k))[:limit]


class Facets:
    """The counts of a day (or, added up, a window) that the "why" blocks are built from."""

    __slots__ = ("heat", "keys", "labels", "totals")

    def __init__(
        self,
        totals: Mapping[tuple[str, int], int] | None = None,
        keys: Mapping[tuple[str, int, str], int] | None = None,
        labels: Mapping[tuple[str, str, str, int], int] | None = None,
        heat: Mapping[tuple[str, int, int, bool], int] | None = None,
    ):
        self.totals: Counter[tuple[str, int]] = Counter(totals or {})
        self.keys: Counter[tuple[str, int, str]] = Counter(keys or {})
        self.labels: Counter[tuple[str, str, str, int]] = Counter(labels or {})
        self.heat: Counter[tuple[str, int, int, bool]] = Counter(heat or {})

    def __add__(self, other: Facets) -> Facets:
        return Facets(
            self.totals + other.totals, self.keys + other.keys, self.labels + other.labels, self.heat + other.heat
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Facets) and self.to_json() == other.to_json()

    def __hash__(self) -> int:  # pragma: no cover - mutable values, never dict keys
        raise TypeError("Facets is not hashable")

    @classmethod
    def of_counts(
        cls,
        reasons: Mapping[NamedKey, int],
        topics: Mapping[NamedKey, int],
        labels: Mapping[LabelKey, int],
        times: Mapping[TimeKey, int],
        timezone: str,
    ) -> Facets:
        """A day's facets from its answers counted as tuples; invalid (metric, score) pairs are left out,
        as the report leaves them out of every figure. ``times`` counts every answer, so it also gives the
        totals; the other three need only the answers that name something."""
        facets = cls()
        for (_, _, metric, score), n in times.items():
            if _valid(metric, score):
                facets.totals[(metric, score)] += n
        facets._count_keys(REASON, reasons)
        facets._count_keys(TOPIC, topics)
        facets._count_labels(labels)
        facets._count_heat(times, timezone)
        return facets

    def _count_keys(self, prefix: str, counts: Mapping[NamedKey, int]) -> None:
        # Reasons and topics are counted apart (their keys never meet, thanks to the prefix): an answer's
        # keys are deduplicated within each, which is all "once per answer" needs.
        named: Counter[str] = Counter()
        for (_, _, keys), n in counts.items():
            for key in set(keys):
                named[key] += n
        custom = sorted((k for k in named if k.startswith(CUSTOM_PREFIX)), key=lambda k: (-named[k], k))
        kept = set(custom[:MAX_CUSTOM_KEYS])
        other = CUSTOM_PREFIX + OTHER
        for (metric, score, keys), n in counts.items():
            if keys and _valid(metric, score):
                for key in {k if k in kept or not k.startswith(CUSTOM_PREFIX) else other for k in keys}:
                    self.keys[(metric, score, prefix + key)] += n

    def _count_labels(self, labels: Mapping[LabelKey, int]) -> None:
        names: Counter[str] = Counter()
        values: dict[str, Counter[str]] = {}
        for (_, _, pairs), n in labels.items():
            for name, value in dict(pairs).items():
                names[name] += n
                values.setdefault(name, Counter())[value] += n
        kept_names = set(_top(names, MAX_LABEL_NAMES))
        kept_values = {name: set(_top(values[name], MAX_LABEL_VALUES)) for name in kept_names}
        for (metric, score, pairs), n in labels.items():
            if not _valid(metric, score):
                continue
            for name, value in dict(pairs).items():
                if name in kept_names:
                    self.labels[(name, value if value in kept_values[name] else OTHER, metric, score)] += n

    def _count_heat(self, times: Mapping[TimeKey, int], timezone: str) -> None:
        tz = zone(timezone)
        local: dict[str, tuple[int, int]] = {}
        per_tp: Counter[str] = Counter()
        cells: Counter[tuple[str, int, int, bool]] = Counter()
        for (tp, cut, metric, score), n in times.items():
            if not _valid(metric, score):
                continue
            if cut not in local:
                try:
                    moment = datetime.fromisoformat(cut[:16]).replace(tzinfo=UTC).astimezone(tz)
                except ValueError:
                    continue  # a malformed created_at: the answer still counts everywhere else
                local[cut] = (moment.weekday(), moment.hour)
            day, hour = local[cut]
            cells[(tp, day, hour, is_unhappy(metric, score))] += n
            per_tp[tp] += n
        kept = set(_top(per_tp, MAX_HEAT_TOUCHPOINTS))
        for (tp, day, hour, unhappy), n in cells.items():
            self.heat[(tp if tp in kept else OTHER, day, hour, unhappy)] += n

    # ---- stored form ---------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """Compact and stable: rows [metric], [key, metric], [name, value, metric], each followed by its
        counts indexed by score - lowest score; heat rows [touchpoint, weekday, hour, unhappy, answers]."""
        return {
            "v": FORMAT,
            "totals": _rows(self.totals.items(), lambda k: (k[0],), lambda k: k[1]),
            "keys": _rows(self.keys.items(), lambda k: (k[2], k[0]), lambda k: k[1]),
            "labels": _rows(self.labels.items(), lambda k: (k[0], k[1], k[2]), lambda k: k[3]),
            "heat": [
                [tp, d, h, n_unhappy, n_unhappy + self.heat.get((tp, d, h, False), 0)]
                for tp, d, h in sorted({(tp, d, h) for tp, d, h, _ in self.heat})
                for n_unhappy in [self.heat.get((tp, d, h, True), 0)]
            ],
        }

    @classmethod
    def from_json(cls, data: Any) -> Facets:
        """The facets of a stored report; malformed rows are dropped rather than failing the job."""
        facets = cls()
        if not isinstance(data, dict) or data.get("v") != FORMAT:
            return facets
        for row in _list(data.get("totals")):
            for score, n in _scores(row, 1):
                facets.totals[(row[0], score)] += n
        for row in _list(data.get("keys")):
            if isinstance(row[0], str) and row[0].startswith((REASON, TOPIC)):
                for score, n in _scores(row, 2):
                    facets.keys[(row[1], score, row[0])] += n
        for row in _list(data.get("labels")):
            if isinstance(row[0], str) and isinstance(row[1], str):
                for score, n in _scores(row, 3):
                    facets.labels[(row[0], row[1], row[2], score)] += n
        for row in _list(data.get("heat")):
            if (
                len(row) == 5
                and isinstance(row[0], str)
                and row[1] in range(DAYS)
                and row[2] in range(HOURS)
                and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in row[3:])
                and row[3] <= row[4]
            ):
                if row[3]:
                    facets.heat[(row[0], row[1], row[2], True)] += row[3]
                if row[4] > row[3]:
                    facets.heat[(row[0], row[1], row[2], False)] += row[4] - row[3]
        # A key is never named by more answers than there were (effects.tallied refuses it): a damaged
        # stored day is trimmed to that, rather than failing every report whose window holds it.
        for (metric, score, key), n in list(facets.keys.items()):
            facets.keys[(metric, score, key)] = min(n, facets.totals[(metric, score)])
        facets.keys = +facets.keys
        return facets


class DayCounter:
    """Counts a day's answers as tuples while they stream past (a dict update each, no list kept).

    The time of an answer is cut to its UTC hour when the business's zone is a whole number of hours
    from UTC all that day (most are), else to the minute: a +05:45 hour straddles two local hours.
    """

    __slots__ = ("cut", "labels", "reasons", "times", "topics")

    def __init__(self, timezone: str, day: date) -> None:
        self.reasons: Counter[NamedKey] = Counter()
        self.topics: Counter[NamedKey] = Counter()
        self.labels: Counter[LabelKey] = Counter()
        self.times: Counter[TimeKey] = Counter()
        self.cut = 13 if _whole_hours(timezone, day) else 16

    def add(self, tp: str, metric: str, score: int, at: str, reasons: Keys, topics: Keys, labels: Labels) -> None:
        """One answer: its touchpoint, metric, score, created_at (UTC ISO), reasons, topics and labels."""
        if reasons:
            self.reasons[(metric, score, reasons)] += 1
        if topics:
            self.topics[(metric, score, topics)] += 1
        if labels:
            self.labels[(metric, score, labels)] += 1
        self.times[(tp, at[: self.cut], metric, score)] += 1

    def facets(self, timezone: str) -> Facets:
        return Facets.of_counts(self.reasons, self.topics, self.labels, self.times, timezone)


def _whole_hours(timezone: str, day: date) -> bool:
    tz = zone(timezone)
    offsets = (datetime.combine(day, time(h), tz).utcoffset() for h in (0, 12, 23))
    return all(offset is not None and int(offset.total_seconds()) % 3600 == 0 for offset in offsets)


_LOW = {"nps": 0, "csat": 1, "ces": 1}
_HIGH = {"nps": 10, "csat": 5, "ces": 7}


def _rows(
    items: Iterable[tuple[Any, int]], head: Callable[[Any], tuple[str, ...]], score_of: Callable[[Any], int]
) -> list[list[Any]]:
    grouped: dict[tuple[Any, ...], list[int]] = {}
    for key, n in items:
        if n <= 0:
            continue
        first = head(key)
        metric = first[-1]  # every row's head ends with its metric
        counts = grouped.setdefault(first, [0] * (_HIGH[metric] - _LOW[metric] + 1))
        counts[score_of(key) - _LOW[metric]] += n
    return [[*first, counts] for first, counts in sorted(grouped.items())]


def _list(value: Any) -> list[list[Any]]:
    return [row for row in value if isinstance(row, list) and row] if isinstance(value, list) else []


def _scores(row: list[Any], at: int) -> list[tuple[int, int]]:
    """(score, count) pairs of a stored row whose metric is row[at - 1] and counts row[at]."""
    if len(row) != at + 1 or not isinstance(row[at], list):
        return []
    metric = row[at - 1]
    if metric not in _LOW or not all(isinstance(x, str) for x in row[:at]):
        return []
    counts = row[at]
    if len(counts) != _HIGH[metric] - _LOW[metric] + 1:
        return []
    return [(_LOW[metric] + i, n) for i, n in enumerate(counts) if _is_count(n)]


# ---- the report's blocks ----------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LabelValue(_Model):
    value: str
    metrics: dict[str, MetricSummary]  # n, status (too_few_responses below the minimum), headline, margin


class LabelGroups(_Model):
    name: str
    values: list[LabelValue]  # most answers first


class Why(_Model):
    """The "what moves the score" blocks of a report; ``first..last`` is the week they cover."""

    first: str
    last: str
    previous_first: str
    previous_last: str
    effects: Effects
    share_changes: ShareChanges
    labels: list[LabelGroups]
    heatmaps: Heatmaps  # the week's grids, ``by_touchpoint`` limited to MAX_HEATMAPS
    # Days of each window whose stored report predates these counts (counted as empty), and a sentence
    # saying so, for readers of the JSON.
    missing_days: int = 0
    previous_missing_days: int = 0
    notes: list[str] = []


def label_groups(facets: Facets, min_n: int, *, staff_views: bool) -> list[LabelGroups]:
    per: dict[str, dict[str, dict[str, Counter[int]]]] = {}
    for (name, value, metric, score), n in facets.labels.items():
        if label_rules.staff_grouping(name, staff_views):
            continue  # per-person scores invite gaming: shown only when the owner turned staff views on
        per.setdefault(name, {}).setdefault(value, {}).setdefault(metric, Counter())[score] += n
    groups = []
    for name in sorted(per):
        values = per[name]
        ordered = sorted(values, key=lambda v: (-sum(c.total() for c in values[v].values()), v))
        groups.append(
            LabelGroups(
                name=name,
                values=[
                    LabelValue(
                        value=v,
                        metrics={m: summarize(m, values[v][m], min_n) for m in METRICS if m in values[v]},
                    )
                    for v in ordered
                ],
            )
        )
    return groups


def heatmaps(facets: Facets) -> Heatmaps:
    grids: dict[str, tuple[list[list[int]], list[list[int]]]] = {}
    for (tp, day, hour, unhappy), n in facets.heat.items():
        bad, total = grids.setdefault(tp, ([[0] * HOURS for _ in range(DAYS)], [[0] * HOURS for _ in range(DAYS)]))
        total[day][hour] += n
        if unhappy:
            bad[day][hour] += n
    every = {
        tp: Heatmap(unhappy=tuple(map(tuple, bad)), answers=tuple(map(tuple, total)))
        for tp, (bad, total) in grids.items()
    }
    overall = Heatmap()
    for grid in every.values():
        overall = overall + grid
    shown = sorted(every, key=lambda tp: (-every[tp].n_unhappy, -every[tp].n, tp))[:MAX_HEATMAPS]
    return Heatmaps(overall=overall, by_touchpoint={tp: every[tp] for tp in sorted(shown)})


def build_why(
    week: Facets,
    previous: Facets,
    *,
    first: str,
    last: str,
    previous_first: str,
    previous_last: str,
    min_n: int,
    staff_views: bool,
    missing_days: int = 0,
    previous_missing_days: int = 0,
) -> Why:
    """The blocks over ``week`` (effects, labels, heatmaps) and its key shares against ``previous``."""
    now, before = tallied(week.totals, week.keys), tallied(previous.totals, previous.keys)
    notes = [
        f"{missing} of the days {a}..{b} were stored before reasons, topics and labels were counted; "
        "they count as days without any."
        for missing, a, b in ((missing_days, first, last), (previous_missing_days, previous_first, previous_last))
        if missing
    ]
    return Why(
        first=first,
        last=last,
        previous_first=previous_first,
        previous_last=previous_last,
        effects=effects_of(now, min_n),
        share_changes=share_changes_of(now, before, min_n),
        labels=label_groups(week, min_n, staff_views=staff_views),
        heatmaps=heatmaps(week),
        missing_days=missing_days,
        previous_missing_days=previous_missing_days,
        notes=notes,
    )


def key_name(key: str) -> tuple[str, str]:
    """("reason" | "topic", the key without its prefix): ``topic:custom:xyz`` -> ("topic", "custom:xyz")."""
    kind, _, rest = key.partition(":")
    return kind, rest


def is_taxonomy(key: str) -> bool:
    return key in TOPICS
