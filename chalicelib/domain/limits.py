"""Rate limits as fixed one-minute windows. Pure: the store enforces them with conditional counters.

A counter is keyed by what it limits (a hashed IP, a link or site key) and the minute it counts, so it needs
no clean-up beyond a TTL and holds across every Lambda container: the count lives in DynamoDB.
"""

from __future__ import annotations

from dataclasses import dataclass

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` writes carrying ``key`` in the window; ``retry_after`` seconds until it ends."""

    key: str
    limit: int
    expires_at: int
    retry_after: int


def window(scope: str, subject: str, limit: int, now: int) -> RateLimit:
    """The counter of ``subject`` (already hashed or public) under ``scope`` for the minute holding ``now``."""
    start = now - now % WINDOW_SECONDS
    return RateLimit(
        key=f"{scope}#{subject}#{start // WINDOW_SECONDS}",
        limit=limit,
        # Kept an hour past its window, then DynamoDB's TTL drops it.
        expires_at=start + WINDOW_SECONDS + 3600,
        retry_after=start + WINDOW_SECONDS - now,
    )
