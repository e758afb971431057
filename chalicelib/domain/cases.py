"""The complaint inbox (PRODUCT.md "Cases", 2026-11-27): one case per unhappy answer, its statuses, the
rules of moving between them, and the resolution figures. Pure: no I/O.

Statuses: ``open`` (a consented address: the owner can reply), ``no_contact`` (none), ``replied`` (at
least one reply went out), ``resolved`` (closed, with an optional note). Moves:

* open → replied (the first reply), replied → replied (up to ``MAX_REPLIES`` replies a case);
* open, replied, no_contact → resolved (an owner may close a case they settled at the counter);
* no_contact → open when a later write of the answer adds a consented address;
* a resolved case takes no reply and cannot be resolved again.
"""

from __future__ import annotations

import statistics
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from chalicelib.domain.models import Channel, Locale, Metric, Out, Strict
from chalicelib.errors import Conflict

Status = Literal["open", "replied", "resolved", "no_contact"]
STATUSES: tuple[Status, ...] = ("open", "replied", "resolved", "no_contact")
Action = Literal["opened", "contact_added", "score_changed", "reply", "resolve", "erased"]
MAX_REPLIES = 5
MAX_MESSAGE_CHARS = 2000
CONTACT_WINDOW = timedelta(hours=24)  # "contacted within 24 h", and when an open case is overdue
REPLYABLE: tuple[Status, ...] = ("open", "replied")


def _message(value: str) -> str:
    # NFC, so Vietnamese typed precomposed or combining reads the same; line breaks are the owner's, kept.
    # A browser's form sends line breaks as CRLF: one break, kept as "\n".
    value = unicodedata.normalize("NFC", value).replace("\r\n", "\n")
    if any((unicodedata.category(ch) == "Cc" and ch != "\n") or ch in "\u2028\u2029" for ch in value):
        raise ValueError("must not contain control characters (line breaks are fine)")
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Message = Annotated[str, Field(min_length=1, max_length=MAX_MESSAGE_CHARS), AfterValidator(_message)]


def _note(value: str | None) -> str | None:
    return _message(value) if value and value.strip() else None


# ---- what the API takes ---------------------------------------------------------------------------------


class CasesQuery(Strict):
    status: Status | None = None
    cursor: Annotated[str | None, Field(max_length=1024)] = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class ReplyIn(Strict):
    message: Message


class ResolveIn(Strict):
    note: Annotated[str | None, Field(max_length=MAX_MESSAGE_CHARS), AfterValidator(_note)] = None


# ---- what it answers ------------------------------------------------------------------------------------


class CaseEvent(Out):
    at: str
    by: str = Field(description='"customer", "owner key", "admin" or the signed-in owner\'s email')
    action: Action
    message: str | None = Field(default=None, description="The reply as sent (removed when the customer is erased)")
    note: str | None = None
    outcome: str | None = Field(default=None, description="A reply's delivery: sent, suppressed, dead_lettered, ...")
    score: int | None = Field(default=None, description="The new score of a score_changed event")


class Case(Out):
    response_id: str
    status: Status
    score: int
    metric: Metric
    comment: str | None = Field(default=None, description="The customer's comment, read from the answer")
    created_at: str = Field(description="When the customer answered (UTC)")
    history: list[CaseEvent]
    touchpoint_id: str
    channel: Channel
    locale: Locale | None = None
    has_contact: bool = Field(description="A consented address is on the answer: replies can be emailed")
    replies: int
    first_reply_at: str | None = None
    resolved_at: str | None = None


class CasesPage(Out):
    items: list[Case]
    next_cursor: str | None = None


class Figure(Out):
    value: float | None = Field(description="null when n is 0, never 0")
    n: int


class ResolutionFigures(Out):
    median_hours_to_reply: Figure
    median_hours_to_resolve: Figure
    contacted_within_24h_pct: Figure


# ---- the rules ------------------------------------------------------------------------------------------


def status_when_opened(has_contact: bool) -> Status:
    return "open" if has_contact else "no_contact"


def check_reply(case: Case) -> None:
    """Raise the Conflict that refuses another reply to ``case``, if any (contact is checked by the
    caller, who reads the answer)."""
    if case.status == "resolved":
        raise Conflict("This case is resolved; it takes no more replies.", code="case_resolved")
    if case.status == "no_contact" or not case.has_contact:
        raise Conflict("The customer left no address to reply to.", code="no_contact")
    if case.replies >= MAX_REPLIES:
        raise Conflict(f"A case takes at most {MAX_REPLIES} replies.", code="reply_limit")


def check_resolve(case: Case) -> None:
    if case.status == "resolved":
        raise Conflict("This case is already resolved.", code="case_resolved")


def status_after_reply(status: Status) -> Status:
    if status not in REPLYABLE:
        raise ValueError(f"a {status} case takes no reply")
    return "replied"


def overdue(case: Case, now: datetime) -> bool:
    """Open (a reply is possible and none was sent) for more than 24 hours."""
    return case.status == "open" and now - _moment(case.created_at) > CONTACT_WINDOW


# ---- the figures (PRODUCT.md "Cases": time to reply, time to resolve, contacted within 24 h) -----------


@dataclass(frozen=True, slots=True)
class CaseTimes:
    """What the figures read of a case: the console's Today and the daily report read only these four
    attributes of a month's or a week's cases, not their histories."""

    created_at: str
    first_reply_at: str | None
    resolved_at: str | None
    has_contact: bool


def _moment(text: str) -> datetime:
    # fromisoformat reads our fixed-width "...Z" stamps (iso_utc) ~20x faster than strptime: a report
    # reads a week of cases, three stamps each (bench/report_compute.py).
    return datetime.fromisoformat(text)


def _hours(start: datetime, end: str) -> float:
    return (_moment(end) - start).total_seconds() / 3600


def _median(values: list[float]) -> Figure:
    return Figure(value=round(statistics.median(values), 1) if values else None, n=len(values))


def resolution_figures(cases: Iterable[Case | CaseTimes], now: datetime | None = None) -> ResolutionFigures:
    """Over ``cases`` (those of a period):

    * median hours from the answer to the first reply, over the cases that have one;
    * median hours from the answer to resolution, over the resolved cases;
    * contacted within 24 h: of the cases with a consented address, the share (percent, one decimal)
      whose first reply came at most 24 h after the answer. A case younger than 24 h without a reply
      yet is left out (it may still make it), when ``now`` is given.
    """
    to_reply: list[float] = []
    to_resolve: list[float] = []
    contactable = contacted = 0
    for case in cases:
        created = _moment(case.created_at)
        reply_hours = _hours(created, case.first_reply_at) if case.first_reply_at else None
        if reply_hours is not None:
            to_reply.append(reply_hours)
        if case.resolved_at:
            to_resolve.append(_hours(created, case.resolved_at))
        if not case.has_contact:
            continue
        in_time = reply_hours is not None and reply_hours <= 24
        undecided = reply_hours is None and now is not None and now - created <= CONTACT_WINDOW
        if undecided:
            continue
        contactable += 1
        contacted += in_time
    share = round(100 * contacted / contactable, 1) if contactable else None
    return ResolutionFigures(
        median_hours_to_reply=_median(to_reply),
        median_hours_to_resolve=_median(to_resolve),
        contacted_within_24h_pct=Figure(value=share, n=contactable),
    )
