"""Zalo (issue #16, docs/zalo.md): the shapes of the three Zalo calls we make, and which of Zalo's errors
is whose to fix. Pure: stdlib only; the HTTP is ``adapters/zalo.py``.

The calls, as Zalo's Official Account and ZNS APIs document them:

* **refresh** ``POST {oauth}/v4/oa/access_token``, header ``secret_key: <app secret>``, form
  ``app_id``, ``refresh_token``, ``grant_type=refresh_token`` -> ``{"access_token", "refresh_token",
  "expires_in": "90000"}`` (seconds, sent as a string), or ``{"error": <negative>, "error_name",
  "error_description"}``. The refresh token is single-use: every refresh returns the next one.
* **send a template** ``POST {api}/message/template``, header ``access_token``, JSON ``{"phone":
  "84912345678", "template_id", "template_data": {...}, "tracking_id"}`` -> ``{"error": 0, "message":
  "Success", "data": {"msg_id", "sent_time", "quota": {"dailyQuota", "remainingQuota"}}}``.
* **ratings** ``GET {api}/rating/get?template_id&from_time&to_time&offset&limit`` (milliseconds) ->
  ``{"error": 0, "data": {"total", "data": [{"note", "rate", "submitDate", "msgId", "feedbacks",
  "trackingId"}]}}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Self

from pydantic import Field, model_validator

from chalicelib.domain.calendar import iso_utc
from chalicelib.domain.models import Out, Strict

Kind = Literal["voucher", "apology", "rating"]
KINDS: tuple[Kind, ...] = ("voucher", "apology", "rating")
ErrorKind = Literal["bad_phone", "owner", "token", "transient"]

# Template parameters are cut to Zalo's limits for their type (a customer name 30, a code 30, a custom
# label 30, a product or brand name 200): longer values make Zalo refuse the whole message.
PARAM_LIMIT = 30
NAME_LIMIT = 200

# Zalo's error codes as the SDKs and integrations we read them in use them; a code not listed is read by
# its message, then treated as passing (retried), which at worst costs a retry, never a lost message.
_TOKEN_CODES = {-124, -216, -220}
_PHONE_CODES = {-118, -119, -139}
_OWNER_CODES = {-103, -104, -105, -106, -107, -112, -113, -131, -144, -1472}


def classify(code: int, message: str = "") -> ErrorKind:
    """Who can fix a Zalo error: nobody but the customer's number (``bad_phone``: not a number, no Zalo
    account, cannot receive ZNS), the owner (``owner``: quota, template, app or permission problems), a
    token refresh (``token``), or time (``transient``: timeouts, 5xx, rate limits, anything unknown)."""
    if code in _TOKEN_CODES:
        return "token"
    if code in _PHONE_CODES:
        return "bad_phone"
    if code in _OWNER_CODES:
        return "owner"
    text = message.lower()
    if "access token" in text or "access_token" in text:
        return "token"
    if "phone" in text or "zalo account" in text:
        return "bad_phone"
    if any(word in text for word in ("quota", "limit", "template", "permission", "secret", "app id", "not allow")):
        return "owner"
    return "transient"


class ZaloError(Exception):
    """An error answer of Zalo's API (or no usable answer: ``code`` 0 with ``kind`` transient)."""

    def __init__(self, code: int, message: str, kind: ErrorKind | None = None) -> None:
        super().__init__(f"Zalo error {code}: {message}"[:300])
        self.code, self.message = code, message[:300]
        self._kind: ErrorKind = kind or classify(code, message)

    @property
    def kind(self) -> ErrorKind:
        return self._kind


@dataclass(frozen=True)
class ZaloTokens:
    access_token: str
    refresh_token: str
    expires_at: str  # ISO UTC (``calendar.iso_utc``)
    expires_in: int = 0  # seconds, as Zalo said: the caller may count them on its own clock


@dataclass(frozen=True)
class ZnsSent:
    msg_id: str
    sent_at: str
    remaining_quota: int | None = None


@dataclass(frozen=True)
class ZaloRating:
    tracking_id: str
    msg_id: str
    rate: int
    note: str
    feedbacks: tuple[str, ...] = field(default_factory=tuple)
    submitted_at: str = ""


@dataclass(frozen=True)
class RatingsPage:
    total: int
    items: tuple[ZaloRating, ...]


def _iso_ms(value: Any) -> str:
    try:
        moment = datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return ""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error_of(answer: Any) -> ZaloError | None:
    if not isinstance(answer, dict):
        return ZaloError(0, "not a JSON object", "transient")
    code = answer.get("error", 0)
    if not isinstance(code, int) or isinstance(code, bool):
        return ZaloError(0, f"error is not a number: {str(code)[:40]}", "transient")
    if code != 0:
        text = answer.get("message") or answer.get("error_description") or answer.get("error_name") or ""
        return ZaloError(code, str(text))
    return None


def parse_tokens(answer: Any, now: datetime) -> ZaloTokens:
    """The OAuth answer of a refresh; ZaloError for an error or a malformed answer."""
    error = _error_of(answer)
    if error is not None:
        # A refused refresh token is the owner's to replace (reconnect), not a passing failure.
        raise ZaloError(error.code, error.message, "owner" if error.code else "transient")
    access, refresh, expires = answer.get("access_token"), answer.get("refresh_token"), answer.get("expires_in")
    try:
        seconds = int(expires)
    except (TypeError, ValueError):
        seconds = 0
    if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh and seconds > 0):
        raise ZaloError(0, "token answer without access_token, refresh_token or expires_in", "transient")
    return ZaloTokens(access, refresh, iso_utc(now + timedelta(seconds=seconds)), seconds)


def parse_sent(answer: Any, now: datetime) -> ZnsSent:
    error = _error_of(answer)
    if error is not None:
        raise error
    data: dict[str, Any] = answer["data"] if isinstance(answer.get("data"), dict) else {}
    msg_id = data.get("msg_id")
    if not isinstance(msg_id, str) or not msg_id:
        raise ZaloError(0, "send answer without data.msg_id", "transient")
    quota: dict[str, Any] = data["quota"] if isinstance(data.get("quota"), dict) else {}
    try:
        remaining: int | None = int(quota["remainingQuota"])
    except (KeyError, TypeError, ValueError):
        remaining = None
    sent_at = _iso_ms(data.get("sent_time")) or iso_utc(now)
    return ZnsSent(msg_id, sent_at, remaining)


def parse_ratings(answer: Any) -> RatingsPage:
    error = _error_of(answer)
    if error is not None:
        raise error
    data: dict[str, Any] = answer["data"] if isinstance(answer.get("data"), dict) else {}
    rows: list[Any] = data["data"] if isinstance(data.get("data"), list) else []
    items = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        rate = row.get("rate")
        if not isinstance(rate, int) or isinstance(rate, bool) or not 1 <= rate <= 5:
            continue  # a star count outside 1..5 is no answer we can store
        feedbacks: list[Any] = row["feedbacks"] if isinstance(row.get("feedbacks"), list) else []
        items.append(
            ZaloRating(
                tracking_id=str(row.get("trackingId") or ""),
                msg_id=str(row.get("msgId") or ""),
                rate=rate,
                note=str(row.get("note") or "")[:2000],
                feedbacks=tuple(str(f)[:100] for f in feedbacks[:10]),
                submitted_at=_iso_ms(row.get("submitDate")),
            )
        )
    total = data.get("total")
    return RatingsPage(total if isinstance(total, int) and not isinstance(total, bool) else len(items), tuple(items))


def cut(value: str, limit: int = PARAM_LIMIT) -> str:
    """A template parameter within Zalo's length limit for its type."""
    value = " ".join(str(value).split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


# ---- the owner API's models ----------------------------------------------------------------------------------

_DIGITS = r"^[0-9]{1,32}$"


class Templates(Strict):
    voucher: str | None = Field(default=None, pattern=_DIGITS, description="Approved ZNS voucher template id")
    apology: str | None = Field(default=None, pattern=_DIGITS, description="Approved customer-care template id")
    rating: str | None = Field(default=None, pattern=_DIGITS, description="Approved service-rating template id")


class ZaloConnectIn(Strict):
    app_id: str = Field(pattern=_DIGITS)
    app_secret: str = Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
    refresh_token: str = Field(min_length=8, max_length=2048, pattern=r"^[A-Za-z0-9_.~-]+$")
    templates: Templates

    @model_validator(mode="after")
    def _some_template(self) -> Self:
        if not any((self.templates.voucher, self.templates.apology, self.templates.rating)):
            raise ValueError("name at least one approved template: voucher, apology or rating")
        return self


class ZaloConnection(Out):
    business_id: str
    connected: bool
    app_id: str | None = None
    templates: dict[str, str] = Field(default_factory=dict)
    connected_at: str | None = None
    token_expires_at: str | None = None
    problem: str | None = Field(default=None, description="The last problem the owner was told of (quota, template)")
