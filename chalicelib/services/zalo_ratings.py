"""Ratings through Zalo (issue #16, docs/zalo-ratings.md): a POS asks for a ZNS service-rating message to a
customer's phone; a scheduled poll reads the stars back from Zalo's rating API and stores each rating once
as a CSAT answer of the business's ``zalo`` touchpoint, through the same store path as any answer (so the
stream consumer, cases, reports, metrics and exports see it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from chalicelib import tables
from chalicelib.domain import phones, ratings
from chalicelib.domain.calendar import iso_utc, local_day, parse_iso_utc
from chalicelib.domain.models import Business, Touchpoint
from chalicelib.domain.ratings import RatingAsked, RatingAskIn, RatingRequest
from chalicelib.domain.zalo import Kind, ZaloError, ZaloRating, ZnsSent
from chalicelib.errors import Conflict, InvalidInput, RateLimited, TemporarilyUnavailable
from chalicelib.observability import count, logger
from chalicelib.ports import (
    BusinessStore,
    Claim,
    Clock,
    EmailCap,
    RatingsStore,
    ResponseStore,
    SuppressionStore,
    WriteGuards,
)
from chalicelib.services.access import Caller
from chalicelib.services.directory import Directory
from chalicelib.settings import Settings

_DAY = 86400
ZALO_RETRY_AFTER = 30  # seconds a POS waits after a transient Zalo failure; the receipt makes it safe
IN_FLIGHT = timedelta(seconds=60)  # a pending request younger than this, with no problem, is being sent


class ZaloSender(Protocol):
    """What ratings use of the Zalo service (``services/zalo.py``, ZALO_PORT)."""

    def template(self, business_id: str, kind: Kind) -> str | None: ...

    def send(
        self, business_id: str, kind: Kind, phone_e164: str, data: Mapping[str, str], tracking_id: str
    ) -> ZnsSent: ...

    def ratings(self, business_id: str, since_ms: int, until_ms: int) -> Iterator[ZaloRating]: ...


class ZaloUnavailable(TemporarilyUnavailable):
    """Zalo failed for a while (timeout, 5xx, rate limit): retry the same request later."""


@dataclass(frozen=True)
class Asked:
    body: RatingAsked
    created: bool


@dataclass
class PollResult:
    businesses: int = 0
    stored: int = 0
    duplicates: int = 0
    unknown: int = 0  # ratings whose tracking id names no request of ours: ignored
    failed: int = 0  # businesses whose ratings could not be read this time (read again next poll)


class ZaloRatings:
    def __init__(
        self, store: RatingsStore, responses: ResponseStore, businesses: BusinessStore, directory: Directory,
        suppressions: SuppressionStore, zalo: Callable[[], ZaloSender], clock: Clock, settings: Settings,
    ) -> None:
        self._store, self._responses, self._businesses = store, responses, businesses
        self._directory, self._suppressions, self._zalo = directory, suppressions, zalo
        self._clock, self._settings = clock, settings

    # ---- asking -----------------------------------------------------------------------------------------

    def ask(self, caller: Caller, body: RatingAskIn) -> Asked:
        business = caller.business
        biz = business.business_id
        try:
            phone = phones.normalize(body.phone)
        except ValueError as exc:
            raise InvalidInput(str(exc), code="invalid_phone") from None
        zalo = self._zalo()
        if zalo.template(biz, "rating") is None:
            raise Conflict(
                "Connect the business's Zalo Official Account with a rating template first (PUT .../zalo).",
                code="zalo_not_connected",
            )
        phone_hash = phones.phone_hash(self._settings.app_secret, phone)
        if self._suppressions.is_suppressed(phone_hash, biz) or self._store.is_erased(biz, phone_hash):
            raise Conflict("This customer asked not to be contacted, or was erased: no message is sent.",
                           code="phone_refused")
        now = self._clock.now()
        day = now.date().isoformat()
        request = RatingRequest(
            business_id=biz, request_id=ratings.request_id(biz, body.receipt_id, self._settings.app_secret),
            receipt_id=body.receipt_id, phone_hash=phone_hash, created_at=iso_utc(now), day=day,
        )
        outcome, first = self._store.ask(request, self._caps(biz, phone_hash, day, now))
        created = outcome == "stored"
        if outcome == "exists" and first is not None:
            request = first
            if first.status == "sent":
                return Asked(RatingAsked(request_id=first.request_id, status="sent"), False)
            if first.status == "failed":
                raise InvalidInput(first.problem or "This phone cannot receive Zalo messages.",
                                   code="phone_not_on_zalo")
            in_flight = first.problem is None and now - parse_iso_utc(first.created_at) < IN_FLIGHT
            if in_flight:
                # A second press while the first is being sent: answering beats a second message.
                return Asked(RatingAsked(request_id=first.request_id, status="pending"), False)
            # Still pending after a transient or owner problem (or a first try that died): this retry sends it.
        elif not created:
            raise RateLimited(
                "One rating request per customer a day, and at most "
                f"{self._settings.zalo_rating_cap_per_business} a business a day: this one was not sent.",
                code="rating_capped", retry_after=_seconds_to_midnight(now),
            )
        sent = self._send(zalo, business, request, phone, now)
        return Asked(RatingAsked(request_id=request.request_id, status="sent" if sent else "pending"), created)

    def _send(self, zalo: ZaloSender, business: Business, request: RatingRequest, phone: str, now: datetime) -> bool:
        biz = business.business_id
        data = {
            "business": business.name[:30],
            "receipt_id": request.receipt_id or request.request_id,
            "date": local_day(now, business.timezone).strftime("%d/%m/%Y"),
        }
        try:
            sent = zalo.send(biz, "rating", phone, data, request.request_id)
        except ZaloError as exc:
            count("ZaloRatingRefused", kind=exc.kind)
            if exc.kind == "bad_phone":
                message = "This phone number is not on Zalo or cannot receive Zalo messages."
                self._store.update_request(biz, request.request_id, {"status": "failed", "problem": message})
                raise InvalidInput(message, code="phone_not_on_zalo") from None
            self._store.update_request(biz, request.request_id, {"problem": f"{exc.code}: {exc.message}"[:300]})
            if exc.kind == "owner":
                raise Conflict(f"Zalo refused the message: {exc.message}", code="zalo_problem") from None
            raise ZaloUnavailable(
                "Zalo is not answering right now; send the same request again shortly.", retry_after=ZALO_RETRY_AFTER
            ) from None
        self._store.update_request(
            biz, request.request_id, {"status": "sent", "sent_at": sent.sent_at or iso_utc(now), "msg_id": sent.msg_id,
                                      "problem": None},
        )
        count("ZaloRatingAsked")
        return True

    def _caps(self, biz: str, phone_hash: str, day: str, now: datetime) -> list[EmailCap]:
        expires = int(now.timestamp()) + 2 * _DAY
        return [
            EmailCap("phone_business", tables.zalo_phone_cap(biz, phone_hash, day), 1, expires),
            EmailCap("business_day", tables.zalo_business_cap(biz, day), self._settings.zalo_rating_cap_per_business,
                     expires),
        ]

    def forget(self, business_id: str, identity: str) -> None:
        """Erasure: a phone the owner erased is never asked for a rating again by this business (the
        request items hold only its keyed hash)."""
        self._store.mark_erased(business_id, identity, iso_utc(self._clock.now()))

    # ---- the poll ---------------------------------------------------------------------------------------

    def poll(self) -> PollResult:
        """Every business that asked for a rating in the last ``LOOKBACK_DAYS`` days: its ratings since its
        watermark (less an overlap, for ratings Zalo lists late), each stored once. One business's failure
        leaves its watermark where it was and does not hold up the others."""
        now = self._clock.now()
        result = PollResult()
        seen: set[str] = set()
        for back in range(ratings.LOOKBACK_DAYS + 1):
            for biz in self._store.businesses_on((now - timedelta(days=back)).date().isoformat()):
                if biz in seen:
                    continue
                seen.add(biz)
                try:
                    self._poll_business(biz, now, result)
                except (ZaloError, TemporarilyUnavailable) as exc:
                    result.failed += 1
                    logger.warning("zalo ratings poll failed", extra={"business_id": biz, "error": str(exc)})
        result.businesses = len(seen)
        logger.info("zalo ratings polled", extra=vars(result))
        return result

    def _poll_business(self, biz: str, now: datetime, result: PollResult) -> None:
        business = self._directory.business(biz)
        if business is None:
            return
        until_ms = int(now.timestamp() * 1000)
        start = self._store.watermark(biz)
        earliest = until_ms - (ratings.LOOKBACK_DAYS + 1) * _DAY * 1000
        since_ms = max(earliest, (start if start is not None else earliest) - ratings.OVERLAP_MS)
        for rating in self._zalo().ratings(biz, since_ms, until_ms):
            self._store_rating(business, rating, now, result)
        self._store.set_watermark(biz, until_ms)

    def _store_rating(self, business: Business, rating: ZaloRating, now: datetime, result: PollResult) -> None:
        biz = business.business_id
        request = self._store.get_request(biz, rating.tracking_id) if rating.tracking_id else None
        if request is None or not 1 <= rating.rate <= 5:
            result.unknown += 1
            logger.info("zalo rating ignored", extra={"business_id": biz, "tracking_id": rating.tracking_id[:40]})
            return
        touchpoint = self._touchpoint(business, now)
        try:
            submitted = parse_iso_utc(rating.submitted_at)
        except ValueError:
            submitted = now
        answer = ratings.rating_answer(
            business, request, rate=rating.rate, note=rating.note, feedbacks=rating.feedbacks,
            submitted=submitted, touchpoint_labels=touchpoint.labels,
        )
        claim = Claim(biz, tables.zalo_rating_claim(rating.tracking_id), int(now.timestamp()) + 90 * _DAY)
        outcome = self._responses.record(answer, WriteGuards([claim]))
        if outcome.kind != "created":
            result.duplicates += 1
            return
        result.stored += 1
        self._store.update_request(biz, request.request_id, {"rated_at": answer.created_at,
                                                            "response_id": answer.response_id})

    def _touchpoint(self, business: Business, now: datetime) -> Touchpoint:
        biz = business.business_id
        found = self._directory.touchpoint(biz, ratings.ZALO_TOUCHPOINT)
        if found is not None:
            return found
        touchpoint = Touchpoint(
            business_id=biz, touchpoint_id=ratings.ZALO_TOUCHPOINT, name="Zalo", channel="zalo", metric="csat",
            created_at=iso_utc(now),
        )
        if self._businesses.get_touchpoint(biz, ratings.ZALO_TOUCHPOINT) is None:
            self._businesses.put_touchpoint(touchpoint)
        self._directory.forget_touchpoint(biz, ratings.ZALO_TOUCHPOINT)
        return touchpoint


def _seconds_to_midnight(now: datetime) -> int:
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((tomorrow - now).total_seconds()))
