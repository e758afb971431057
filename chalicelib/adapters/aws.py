"""What every AWS adapter shares: a client made on first use, and one way to retry.

Clients are made lazily (moto only intercepts clients created after its mock starts, and a cold start
should not pay for a client it never uses) and once per container (``cached_property``).

Retries: botocore's standard mode retries a refused *call*; what it cannot see is a call that succeeded
for part of its input (``UnprocessedItems``, ``UnprocessedKeys``, a batch's ``Failed`` entries), a
transaction cancelled by a conflict, or an SES send paced by our own token bucket. Those loops use
:func:`attempts`, each with its own count and delays, so every retry here backs off the same way.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import Any


def backoff(attempt: int, *, base: float = 0.1, cap: float = 5.0, rng: Callable[[], float] = random.random) -> float:
    """Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2**attempt)]."""
    return rng() * min(cap, base * 2.0**attempt)


def attempts(count: int, *, base: float, cap: float, sleep: Callable[[float], None] = time.sleep) -> Iterator[int]:
    """0, 1, ..., count - 1, sleeping ``backoff(attempt, base=base, cap=cap)`` before every attempt after
    the first. The loop breaks on success; running out of attempts is the caller's ``for ... else``."""
    for attempt in range(count):
        if attempt:
            sleep(backoff(attempt, base=base, cap=cap))
        yield attempt


class LazyClient:
    """An adapter of one named resource (a table, a queue) and its boto3 client: the client it was given
    (tests), else the one ``_make`` makes on first use."""

    def __init__(self, name: str, client: Any | None = None):
        self.name = name
        self._client = client

    def _make(self) -> Any:
        raise NotImplementedError("an adapter says how its client is made")

    @cached_property
    def client(self) -> Any:
        return self._client if self._client is not None else self._make()
