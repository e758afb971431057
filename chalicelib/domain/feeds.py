"""A live CSV link of a business's answers for Google Sheets' ``IMPORTDATA`` (issue #16). Pure.

The link is the credential: whoever has it reads the answers of its window, so it is signed (HMAC under
the app secret, purpose ``feed``), names one feed of one business, and works only while that feed is
stored: revoking deletes the feed, and the same link then answers 404, as does a forged or altered one.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain import keys
from chalicelib.domain.models import Name, Out, Strict

DEFAULT_DAYS = 90
MAX_DAYS = 365
MAX_FEEDS = 10  # per business: each is a standing credential the owner must be able to review
MAX_ROWS = 20_000  # per read: Sheets' IMPORTDATA stops at about that many cells' worth of a sheet anyway
READS_PER_HOUR = 60  # Sheets refreshes about hourly; people reopening a sheet add a few
_PURPOSE = "feed"
_SUFFIX = ".csv"


class FeedIn(Strict):
    name: Name | None = None
    days: Annotated[int, Field(ge=1, le=MAX_DAYS, strict=True)] = DEFAULT_DAYS


class FeedOut(Out):
    feed_id: str
    name: str | None = None
    days: int = Field(description="The rolling window: the last this many local days, today included")
    created_at: str
    last_read_at: str | None = None
    reads: int = 0


class FeedCreated(FeedOut):
    url: str = Field(description="The signed CSV link; it is the credential, so share it like a password")
    formula: str = Field(description='What to paste into a Google Sheets cell: =IMPORTDATA("url")')


class FeedList(Out):
    feeds: list[FeedOut]


class StoredFeed(BaseModel):
    model_config = ConfigDict(frozen=True)

    business_id: str
    feed_id: str
    name: str | None = None
    days: int
    created_at: str
    last_read_at: str | None = None
    reads: int = 0

    def out(self) -> FeedOut:
        return FeedOut.model_validate(self.model_dump(exclude={"business_id"}))


def token(secret: str, business_id: str, feed_id: str) -> str:
    """The path segment of a feed's link; it ends in ``.csv`` so a person and Sheets see what it is."""
    return keys.seal(secret, _PURPOSE, [business_id, feed_id]) + _SUFFIX


def read_token(secret: str, raw: str) -> tuple[str, str] | None:
    """(business id, feed id) of a link made by :func:`token`, or None for anything else."""
    sealed = raw.removesuffix(_SUFFIX)
    payload: Any = keys.unseal(secret, _PURPOSE, sealed, max_length=200)
    if not (isinstance(payload, list) and len(payload) == 2 and all(isinstance(p, str) for p in payload)):
        return None
    return payload[0], payload[1]


def formula(url: str) -> str:
    return f'=IMPORTDATA("{url}")'
