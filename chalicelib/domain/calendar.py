"""Time, in UTC for storage and in the business's own zone for days. Pure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def iso_utc(moment: datetime) -> str:
    """Fixed-width ISO 8601 in UTC, so strings sort in time order inside a sort key."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso_utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(zone(timezone)).date()


def days_newest_first(start: date, end: date) -> Iterator[date]:
    day = end
    while day >= start:
        yield day
        day -= timedelta(days=1)
