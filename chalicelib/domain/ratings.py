"""Ratings through Zalo (issue #16, docs/zalo-ratings.md): what a POS sends to ask a customer for a ZNS
service rating, what it hears back, the request as stored, and how a star rating Zalo hands back becomes a
CSAT answer of the business's ``zalo`` touchpoint. Pure: no I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain import keys, labels, topics
from chalicelib.domain.calendar import iso_utc, local_day
from chalicelib.domain.metrics import is_unhappy
from chalicelib.domain.models import Business, Out, StoredResponse, Strict

# The touchpoint id every rating of a business is stored under (made on first use); an id like any other
# (6-16 of [0-9a-z]) so `?touchpoint_id=` and the touchpoint routes take it.
ZALO_TOUCHPOINT = "zalorating"
LOOKBACK_DAYS = 7  # a request older than this is not polled for any more (Zalo's rating window is days)
OVERLAP_MS = 15 * 60 * 1000  # each poll reads this far back before the last one's end: late-indexed ratings
MAX_FEEDBACKS = 10
MAX_NOTE_CHARS = 2000  # the comment's limit (models.MAX_COMMENT_CHARS)

Status = Literal["pending", "sent", "failed"]


class RatingAskIn(Strict):
    phone: str = Field(max_length=40, description="The customer's Vietnamese mobile number (normalised to E.164)")
    receipt_id: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:#-]+$",
        description="The POS receipt: the same receipt asks once (a repeat answers the first request)",
    )


class RatingAsked(Out):
    request_id: str = Field(description="Also the ZNS tracking id the rating comes back with")
    status: Status


class RatingRequest(BaseModel):
    """A rating request as stored: the phone only as its keyed hash (the clear number is sent and dropped)."""

    model_config = ConfigDict(frozen=True)

    business_id: str
    request_id: str
    receipt_id: str | None = None
    phone_hash: str
    status: Status = "pending"
    created_at: str
    day: str  # UTC day of the request: the poll's index of businesses with recent requests
    sent_at: str | None = None
    msg_id: str | None = None
    problem: str | None = None
    rated_at: str | None = None
    response_id: str | None = None


def request_id(business_id: str, receipt_id: str | None, secret: str) -> str:
    """A receipt's request id is derived from it, so the request item itself makes the receipt ask once."""
    if receipt_id is None:
        return keys.new_id(16)
    return keys.keyed_hash(secret, "zalo-rating", f"{business_id}\n{receipt_id}")[:22]


def rating_answer(
    business: Business, request: RatingRequest, *, rate: int, note: str, feedbacks: tuple[str, ...],
    submitted: datetime, touchpoint_labels: dict[str, str],
) -> StoredResponse:
    """The CSAT answer of one Zalo rating: stars 1..5 are the CSAT score, the note is the comment (topics
    tagged like any comment) and Zalo's chosen feedback options are kept as the comment's last line
    ("Zalo: option; option"), since they are free text of the owner's template, not our reason keys."""
    chosen = [f.strip() for f in feedbacks if f.strip()][:MAX_FEEDBACKS]
    parts = [note.strip()] if note.strip() else []
    if chosen:
        parts.append("Zalo: " + "; ".join(chosen))
    comment = "\n".join(parts)[:MAX_NOTE_CHARS] or None
    tagged = topics.tag(comment, business.topic_keywords) if comment else None
    created = iso_utc(submitted)
    return StoredResponse(
        response_id=keys.new_id(16),
        business_id=business.business_id,
        touchpoint_id=ZALO_TOUCHPOINT,
        channel="zalo",
        metric="csat",
        score=rate,
        unhappy=is_unhappy("csat", rate),
        created_at=created,
        updated_at=created,
        local_date=local_day(submitted, business.timezone).isoformat(),
        locale=business.locale,
        receipt_id=request.receipt_id,
        comment=comment,
        labels=labels.overlay(touchpoint_labels, {}),
        topics=list(tagged.topics) if tagged else [],
        polarity=tagged.polarity if tagged else None,
    )
