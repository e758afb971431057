"""Unhappy answers by the business's local weekday and hour, per touchpoint and overall. Pure.

An owner asks "when do things go wrong?": a 7 x 24 grid (Monday = row 0, hour 0..23 in the business's
own zone, so a Berlin café's 18 h stays 18 h across the DST change) of unhappy answers, kept beside the
total answers of each cell, because a busy Saturday evening has more of everything and only the share
says whether it is *worse*. Grids are plain ints (a stored report holds two 7 x 24 lists per touchpoint)
and add up with ``+``/``merge``, so days are counted once and summed into weeks.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, field_validator

from chalicelib.domain.calendar import parse_iso_utc, zone

DAYS = 7
HOURS = 24
Grid = tuple[tuple[int, ...], ...]
# (created_at as UTC ISO from calendar.iso_utc, touchpoint_id, unhappy)
HeatRow = tuple[str, str, bool]


def _empty() -> Grid:
    return tuple((0,) * HOURS for _ in range(DAYS))


def _add(a: Grid, b: Grid) -> Grid:
    return tuple(tuple(x + y for x, y in zip(ra, rb, strict=True)) for ra, rb in zip(a, b, strict=True))


class Heatmap(BaseModel):
    """Counts for one touchpoint (or all of them): ``unhappy[day][hour]`` of ``answers[day][hour]``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unhappy: Grid = _empty()
    answers: Grid = _empty()

    @field_validator("unhappy", "answers")
    @classmethod
    def _shape(cls, grid: Grid) -> Grid:
        # A stored report is read back years later: a malformed grid must fail loudly, not shift cells.
        if len(grid) != DAYS or any(len(row) != HOURS or min(row) < 0 for row in grid):
            raise ValueError("a heatmap grid is 7 rows of 24 non-negative counts")
        return grid

    def __add__(self, other: Heatmap) -> Heatmap:
        return Heatmap(unhappy=_add(self.unhappy, other.unhappy), answers=_add(self.answers, other.answers))

    def merge(self, other: Heatmap) -> Heatmap:
        return self + other

    @property
    def n(self) -> int:
        return sum(map(sum, self.answers))

    @property
    def n_unhappy(self) -> int:
        return sum(map(sum, self.unhappy))

    def hours_with_answers(self) -> list[int]:
        return [h for h in range(HOURS) if any(self.answers[d][h] for d in range(DAYS))]


class Heatmaps(BaseModel):
    """The overall grid and one per touchpoint; ``overall`` is always the sum of the touchpoints."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    overall: Heatmap = Heatmap()
    by_touchpoint: dict[str, Heatmap] = {}

    def __add__(self, other: Heatmaps) -> Heatmaps:
        merged = dict(self.by_touchpoint)
        for key, grid in other.by_touchpoint.items():
            merged[key] = merged[key] + grid if key in merged else grid
        return Heatmaps(overall=self.overall + other.overall, by_touchpoint=dict(sorted(merged.items())))

    def merge(self, other: Heatmaps) -> Heatmaps:
        return self + other

    @classmethod
    def of(cls, rows: Iterable[HeatRow], timezone: str) -> Heatmaps:
        """Bucket answers by local weekday and hour in ``timezone`` (an IANA name)."""
        tz = zone(timezone)
        # Mutable lists while counting; frozen tuples once, at the end.
        cells: dict[str, tuple[list[list[int]], list[list[int]]]] = {}
        for created_at, touchpoint_id, unhappy in rows:
            local = parse_iso_utc(created_at).astimezone(tz)
            day, hour = local.weekday(), local.hour
            bad, total = cells.setdefault(
                touchpoint_id, ([[0] * HOURS for _ in range(DAYS)], [[0] * HOURS for _ in range(DAYS)])
            )
            total[day][hour] += 1
            if unhappy:
                bad[day][hour] += 1
        by_touchpoint = {
            key: Heatmap(unhappy=tuple(map(tuple, bad)), answers=tuple(map(tuple, total)))
            for key, (bad, total) in sorted(cells.items())
        }
        overall = Heatmap()
        for grid in by_touchpoint.values():
            overall = overall + grid
        return cls(overall=overall, by_touchpoint=by_touchpoint)
