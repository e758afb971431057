"""Owners' webhooks and Slack (issue #16): the events, the signed envelope, the endpoint rules. Pure: stdlib
and pydantic; the network is ``adapters/http_out.py``.

Contract (PRODUCT.md "Reach"): a delivery's body is ``{"id","type","created_at","version":1,"data":{...}}``
and its header ``Survey-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`` under the
endpoint's secret, so a receiver verifies the body and refuses a replay by the age of ``t`` and the ``id``.

An endpoint's secret is never stored: it is derived from the app secret, the business, the endpoint and
a version (``secret``), so the table holds nothing a reader could sign with; rotating bumps the version.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import zlib
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from chalicelib.domain import keys
from chalicelib.domain.models import Out, Strict

EVENTS = ("response.created", "case.opened", "case.replied", "case.resolved", "report.daily")
Event = Literal["response.created", "case.opened", "case.replied", "case.resolved", "report.daily"]
Kind = Literal["json", "slack"]
VERSION = 1
MAX_WEBHOOKS = 10  # per business
MAX_BODY_BYTES = 64 * 1024
TIMEOUT_SECONDS = 5.0
RETRY_FOR_SECONDS = 24 * 3600  # a delivery is retried with backoff for a day, then dead-lettered
PAUSE_AFTER_SECONDS = 24 * 3600  # an endpoint with no success for a day is paused (the owner told once)
LOG_KEPT = 100  # attempts listed per endpoint
LOG_TTL_SECONDS = 14 * 86400
SIGNATURE_HEADER = "Survey-Signature"
MAX_URL = 2000


@dataclass(frozen=True)
class HttpResult:
    """What one delivery attempt got back (``ports.HttpSender.post``)."""

    status: int | None  # None: no HTTP answer came back
    latency_ms: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class HostileUrl(ValueError):
    """A URL an endpoint may not have: not https (outside local mode), credentials in it, or a host that is
    or resolves to a private, loopback, link-local, multicast, reserved or cloud-metadata address."""


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host spells, in any of the forms resolvers accept (``2130706433``, ``0x7f.1``,
    ``017700000001``, ``[::ffff:127.0.0.1]``), or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(parts):
        return None
    numbers: list[int] = []
    for part in parts:
        try:
            if part.lower().startswith("0x"):
                numbers.append(int(part, 16))
            elif len(part) > 1 and part.startswith("0"):
                numbers.append(int(part, 8))
            else:
                numbers.append(int(part, 10))
        except ValueError:
            return None
    # inet_aton: the last part fills the remaining bytes ("127.1" is 127.0.0.1).
    value = 0
    for number in numbers[:-1]:
        if number > 255:
            return None
        value = value * 256 + number
    rest_bytes = 4 - (len(numbers) - 1)
    if numbers[-1] >= 256**rest_bytes:
        return None
    value = value * 256**rest_bytes + numbers[-1]
    return ipaddress.IPv4Address(value)


_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


def address_refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_loopback: bool) -> str | None:
    """Why a delivery may not go to ``address`` (None: it may)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if allow_loopback and address.is_loopback:
        return None
    if address in _METADATA:
        return "points at the cloud metadata service"
    if (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    ):
        return "points at a private or reserved address"
    return None


def _events(value: list[str]) -> list[str]:
    unknown = [e for e in value if e not in EVENTS]
    if unknown:
        raise ValueError(f"unknown event {unknown[0]!r}; events are " + ", ".join(EVENTS))
    if not value:
        raise ValueError("name at least one event")
    return sorted(set(value), key=EVENTS.index)


class WebhookIn(Strict):
    url: Annotated[str, Field(min_length=8, max_length=MAX_URL)]
    events: Annotated[list[str], Field(min_length=1, max_length=len(EVENTS)), AfterValidator(_events)]
    kind: Kind = "json"


class WebhookOut(Out):
    webhook_id: str
    url: str
    events: list[str]
    kind: Kind
    status: Literal["active", "paused"]
    created_at: str
    last_success_at: str | None = None
    failing_since: str | None = Field(default=None, description="The first failure since the last success")
    paused_at: str | None = None


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Signs every delivery (Survey-Signature); shown once, rotate to replace it")


class WebhookList(Out):
    webhooks: list[WebhookOut]


class Delivery(Out):
    event_id: str
    type: str
    attempt: int
    at: str
    status: int | None = Field(default=None, description="The receiver's HTTP status; None when none came back")
    error: str | None = None
    latency_ms: int
    ok: bool


class DeliveryList(Out):
    webhook_id: str
    deliveries: list[Delivery]


class StoredWebhook(BaseModel):
    model_config = ConfigDict(frozen=True)

    business_id: str
    webhook_id: str
    url: str
    events: list[str]
    kind: Kind
    status: Literal["active", "paused"] = "active"
    secret_version: int = 1
    created_at: str
    last_success_at: str | None = None
    failing_since: str | None = None
    paused_at: str | None = None

    def out(self) -> WebhookOut:
        return WebhookOut.model_validate(self.model_dump(exclude={"business_id", "secret_version"}))


def secret(app_secret: str, business_id: str, webhook_id: str, version: int) -> str:
    """The endpoint's signing secret, derived (never stored): ``whsec_`` and 43 base64url characters."""
    raw = hmac.new(
        app_secret.encode(), f"webhook\x00{business_id}\x00{webhook_id}\x00{version}".encode(), hashlib.sha256
    ).digest()
    return "whsec_" + keys.b64url(raw)


def signature(secret_value: str, timestamp: int, body: bytes) -> str:
    """The ``Survey-Signature`` header's value for ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret_value.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def envelope(event_id: str, event_type: str, created_at: str, data: dict[str, Any]) -> bytes:
    body = {"id": event_id, "type": event_type, "created_at": created_at, "version": VERSION, "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def event_id(*parts: str) -> str:
    """A stable id per event, the same for every retry and every endpoint, so a receiver drops a repeat."""
    return "evt_" + hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:24]


def backoff_seconds(attempt: int) -> int:
    """The wait before attempt ``attempt + 1``: 30 s doubling to SQS's 15-minute maximum delay."""
    return min(900, 30 << min(10, max(0, attempt - 1)))


# ---- which table changes are events ------------------------------------------------------------------------

_RESPONSE_DATA = (
    "response_id", "touchpoint_id", "channel", "metric", "score", "unhappy", "created_at", "local_date", "locale",
    "receipt_id", "comment", "reasons", "topics", "labels",
)  # fmt: skip
_CASE_DATA = ("response_id", "status", "metric", "score", "touchpoint_id", "channel", "created_at", "replies")


@dataclass(frozen=True)
class TableEvent:
    business_id: str
    type: str
    id: str
    created_at: str
    data: dict[str, Any]


def events_of(change: str, new: dict[str, Any] | None, old: dict[str, Any] | None, now: str) -> list[TableEvent]:
    """The owner events one stream record of the table is (``change``: INSERT / MODIFY / REMOVE; ``new`` and
    ``old`` its images as plain values, keys included). A new response is ``response.created``; a case
    item's insert ``case.opened``, its status or reply count moving ``case.replied`` / ``case.resolved``; a
    stored daily report's first write ``report.daily``. Anything else is no event. Customers' email
    addresses and phone numbers are never in the data."""
    if new is None or change == "REMOVE":
        return []
    pk = str(new.get("PK", ""))
    kind = new.get("type")
    if pk.startswith("R#") and change == "INSERT" and "response_id" in new:
        data = {k: new[k] for k in _RESPONSE_DATA if new.get(k) not in (None, [], {})}
        business = str(new.get("business_id", ""))
        rid = str(new["response_id"])
        created = str(new.get("created_at") or now)
        return [TableEvent(business, "response.created", event_id("response.created", business, rid), created, data)]
    if kind == "case" and "response_id" in new:
        business = str(new.get("business_id", ""))
        data = {k: new[k] for k in _CASE_DATA if new.get(k) is not None}
        rid = str(new["response_id"])
        if change == "INSERT":
            return [TableEvent(business, "case.opened", event_id("case.opened", business, rid), now, data)]
        before, after = (old or {}).get("status"), new.get("status")
        replies_before, replies_after = int((old or {}).get("replies") or 0), int(new.get("replies") or 0)
        if after == "resolved" and before != "resolved":
            return [TableEvent(business, "case.resolved", event_id("case.resolved", business, rid), now, data)]
        if replies_after > replies_before:
            return [TableEvent(business, "case.replied", event_id("case.replied", business, rid, str(replies_after)),
                               now, data)]
        return []
    if kind == "daily_report" and change == "INSERT" and pk.startswith("D#"):
        business, day = pk[2:], str(new.get("SK", ""))
        return [TableEvent(business, "report.daily", event_id("report.daily", business, day), now,
                           report_data(business, day, new.get("report_z")))]
    return []


def report_data(business_id: str, day: str, blob: Any) -> dict[str, Any]:
    """The headline figures of a stored daily report (its compressed JSON), for ``report.daily``."""
    data: dict[str, Any] = {"business_id": business_id, "day": day}
    try:
        raw = base64.b64decode(blob) if isinstance(blob, str) else bytes(blob)
        report = json.loads(zlib.decompress(raw).decode())
    except (TypeError, ValueError, zlib.error, UnicodeDecodeError):
        return data
    if not isinstance(report, dict):
        return data
    data["responses"] = report.get("responses")
    overall: dict[str, Any] = {}
    for metric, figure in (report.get("metrics") or {}).items():
        summary = figure.get("summary") if isinstance(figure, dict) else None
        if isinstance(summary, dict):
            overall[metric] = {k: summary.get(k) for k in ("n", "status", "headline", "margin_of_error")}
    data["overall"] = overall
    unhappy = report.get("unhappy")
    if isinstance(unhappy, dict):
        data["unhappy"] = unhappy.get("count")
    return data
