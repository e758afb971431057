"""The small protocols the services ask for; adapters implement them, tests use in-memory fakes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from chalicelib.domain.models import Business, StoredResponse, Touchpoint


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class ResponseLocator:
    business_id: str
    local_date: str
    sort_key: str
    response_id: str
    created_at: str


@dataclass(frozen=True)
class Claim:
    """The item that makes "one response per minted link" (or per browser per day) hold: written with
    the response in one transaction, on condition it has not been claimed yet."""

    business_id: str
    key: str
    expires_at: int


@dataclass(frozen=True)
class IdempotencyRecord:
    scope: str
    key: str
    fingerprint: str
    status: int
    body: dict[str, Any]
    expires_at: int


@dataclass(frozen=True)
class RecordOutcome:
    kind: Literal["created", "already_claimed", "replay"]
    existing: ResponseLocator | None = None
    replay: IdempotencyRecord | None = None


@dataclass(frozen=True)
class LinkRecord:
    business_id: str
    touchpoint_id: str
    link_id: str
    created_at: str
    link_expires_at: int
    receipt_id: str | None = None
    email: str | None = None
    email_hash: str | None = None


@dataclass
class DayPage:
    items: list[StoredResponse] = field(default_factory=list)
    last_sort_key: str | None = None


class BusinessStore(Protocol):
    def put_business(self, business: Business) -> None: ...

    def get_business(self, business_id: str) -> Business | None: ...

    def put_touchpoint(self, touchpoint: Touchpoint) -> None: ...

    def get_touchpoint(self, business_id: str, touchpoint_id: str) -> Touchpoint | None: ...

    def list_touchpoints(self, business_id: str) -> list[Touchpoint]: ...


class ResponseStore(Protocol):
    def record(
        self, response: StoredResponse, claim: Claim, idempotency: IdempotencyRecord | None
    ) -> RecordOutcome: ...

    def update_score(self, locator: ResponseLocator, score: int, unhappy: bool, updated_at: str) -> None: ...

    def save_idempotency(self, record: IdempotencyRecord) -> None: ...

    def add_comment(
        self,
        locator: ResponseLocator,
        *,
        comment: str | None,
        email: str | None,
        email_hash: str | None,
        updated_at: str,
    ) -> bool: ...

    def query_day(
        self,
        business_id: str,
        day: str,
        *,
        limit: int | None,
        start_after: str | None = None,
        metric: str | None = None,
        touchpoint_id: str | None = None,
    ) -> DayPage: ...

    def put_links(self, links: Sequence[LinkRecord]) -> None: ...

    def count_open(self, business_id: str, day: str, touchpoint_id: str) -> None: ...

    def find_personal_data(self, business_id: str, email_hash: str) -> list[tuple[str, str]]: ...

    def erase_personal_data(self, pk: str, sk: str, erased_at: str) -> None: ...


# ---- daily reports ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisteredBusiness:
    """A business as the hourly report job sees it in the business index (no Scan needed)."""

    business_id: str
    timezone: str
    created_day: str
    last_day: str | None = None  # the last local day whose report was stored


@dataclass(frozen=True)
class ReportJob:
    business_id: str
    day: str


@dataclass(frozen=True)
class ResponseRow:
    """The few fields of a response a report needs (read with a projection, never the whole item)."""

    touchpoint_id: str
    channel: str
    metric: str
    score: int
    created_at: str
    comment: str | None = None


@dataclass(frozen=True)
class StoredReport:
    day: str
    report: dict[str, Any]
    tally: list[list[Any]]


class BusinessRegistry(Protocol):
    def register(self, business_id: str, timezone: str, created_day: str) -> None: ...

    def registered(self) -> Iterator[RegisteredBusiness]: ...

    def mark_reported(self, business_id: str, day: str) -> None: ...


class ReportStore(Protocol):
    def day_rows(self, business_id: str, day: str) -> Iterator[ResponseRow]: ...

    def funnel(self, business_id: str, day: str) -> tuple[dict[str, int], int, int]:
        """(opens per touchpoint, vouchers issued, vouchers redeemed) of one day."""
        ...

    def apologies(self, business_id: str, day: str) -> tuple[int, int]:
        """(apologies sent, of which recovered) for apologies sent on one local day."""
        ...

    def put_report(self, business_id: str, day: str, report: dict[str, Any], tally: list[list[Any]]) -> None: ...

    def get_report(self, business_id: str, day: str) -> dict[str, Any] | None: ...

    def reports_between(self, business_id: str, first: str, last: str, *, with_report: bool) -> list[StoredReport]: ...


class ReportQueue(Protocol):
    def send(self, jobs: Sequence[ReportJob]) -> int: ...
