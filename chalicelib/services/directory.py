"""Businesses and touchpoints as the hot path sees them: read once, kept for a short while per container.

A warm container then spends one AWS call per submission (the write). A business edited in the
meantime is seen after ``ttl_seconds`` at the latest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import cast

from pydantic import BaseModel

from chalicelib.domain.models import Business, Touchpoint
from chalicelib.errors import Expired, NotFound
from chalicelib.ports import BusinessStore

_MAX_ENTRIES = 10_000


class Directory:
    def __init__(self, store: BusinessStore, ttl_seconds: int, monotonic: Callable[[], float] = time.monotonic):
        self._store = store
        self._ttl = ttl_seconds
        self._now = monotonic
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, ...], tuple[float, object]] = {}

    def business(self, business_id: str) -> Business | None:
        return self._cached(("b", business_id), lambda: self._store.get_business(business_id))

    def touchpoint(self, business_id: str, touchpoint_id: str) -> Touchpoint | None:
        return self._cached(
            ("t", business_id, touchpoint_id), lambda: self._store.get_touchpoint(business_id, touchpoint_id)
        )

    def fresh(self, business_id: str) -> Business:
        """The business as stored, read past the cache: a change of keys must start from the stored keys,
        not a copy up to ``ttl_seconds`` old. NotFound when there is none."""
        business = self._store.get_business(business_id)
        if business is None:
            raise NotFound("Unknown business.")
        return business

    def forget_business(self, business_id: str) -> None:
        """Drop this container's copy after a change of keys, so its next read here sees the change."""
        with self._lock:
            self._cache.pop(("b", business_id), None)

    def forget_touchpoint(self, business_id: str, touchpoint_id: str) -> None:
        """Drop this container's copy after a rename or a retirement (others see it within ``ttl_seconds``)."""
        with self._lock:
            self._cache.pop(("t", business_id, touchpoint_id), None)

    def _cached[T: BaseModel](self, key: tuple[str, ...], load: Callable[[], T | None]) -> T | None:
        now = self._now()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return cast(T, hit[1])
        value = load()
        # Misses are not cached: a business created a second ago must work at once on another container.
        if value is not None and self._ttl > 0:
            with self._lock:
                if len(self._cache) >= _MAX_ENTRIES:
                    self._cache.clear()
                self._cache[key] = (now + self._ttl, value)
        return value


def in_use(touchpoint: Touchpoint) -> Touchpoint:
    """The touchpoint, unless its owner retired it: then its link, QR code and widget answer 410
    ``touchpoint_retired``. Checked on the copy already read, so an answer costs no extra read."""
    if touchpoint.retired_at is not None:
        raise Expired("This survey is no longer in use.", code="touchpoint_retired")
    return touchpoint
