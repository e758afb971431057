"""Survey links an owner hands out: a touchpoint and its static link (the QR code on a table card), and
minted one-answer links (a receipt, an email). All are signed with the server's own key (``qr_key_id``),
never a till's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pydantic import ValidationError

from chalicelib.domain import keys, tokens
from chalicelib.domain.addresses import email_hash
from chalicelib.domain.calendar import iso_utc, parse_iso_utc
from chalicelib.domain.models import (
    Business,
    Link,
    LinkChannel,
    LinksCreated,
    LinksIn,
    Locale,
    Touchpoint,
    TouchpointCreated,
    TouchpointIn,
)
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.ports import BusinessStore, Clock, LinkRecord, ResponseStore
from chalicelib.services.access import Caller
from chalicelib.services.directory import Directory, in_use
from chalicelib.services.pos_keys import qr_key_id
from chalicelib.settings import Settings


@dataclass(frozen=True)
class TouchpointLink:
    """What a printed QR code or table card shows: the touchpoint's static link and its words."""

    url: str
    business_name: str
    touchpoint_name: str
    metric: str
    locale: Locale


class Links:
    def __init__(self, directory: Directory, businesses: BusinessStore, responses: ResponseStore, clock: Clock,
                 settings: Settings) -> None:
        self._directory, self._businesses, self._responses = directory, businesses, responses
        self._clock, self._settings = clock, settings

    def create_touchpoint(self, caller: Caller, data: TouchpointIn) -> TouchpointCreated:
        business = caller.business
        touchpoint = Touchpoint(
            business_id=business.business_id,
            touchpoint_id=keys.new_id(8),
            name=data.name,
            channel=data.channel,
            metric=data.metric,
            created_at=iso_utc(self._clock.now()),
            labels=data.labels,
            reasons=data.reasons.model_dump(mode="json") if data.reasons is not None else None,
        )
        self._businesses.put_touchpoint(touchpoint)
        token = self._static_token(business, touchpoint)
        return TouchpointCreated(touchpoint_id=touchpoint.touchpoint_id, url=self._url(token), token=token)

    def touchpoint_link(self, caller: Caller, touchpoint_id: str) -> TouchpointLink:
        """The static link a QR code of this touchpoint encodes: the same URL every time it is asked for
        (under the same active key), so a reprinted card matches the first one."""
        business = caller.business
        # A retired touchpoint's QR answers 410: a reprint of it would only lead customers to that page.
        touchpoint = _linkable(in_use(self._touchpoint(business, touchpoint_id)))
        return TouchpointLink(
            url=self.static_url(business, touchpoint),
            business_name=business.name,
            touchpoint_name=touchpoint.name,
            metric=touchpoint.metric,
            locale=business.locale,
        )

    def mint(self, caller: Caller, data: LinksIn) -> LinksCreated:
        """``count`` one-answer links for a touchpoint, each recorded (with its receipt id or email) so
        that the response it gets can be matched and its personal data erased."""
        business = caller.business
        touchpoint = self._touchpoint(business, data.touchpoint_id)
        if touchpoint.retired_at is not None:
            raise Conflict("This touchpoint is retired: its links would take no answers.", code="touchpoint_retired")
        if data.count > 1 and (data.receipt_id or data.email):
            raise InvalidInput("receipt_id and email name one link: use them with count 1.", code="count_conflict")
        now = self._clock.now()
        expires_at = int((now + timedelta(days=data.expires_in_days or self._settings.default_link_days)).timestamp())
        hashed = email_hash(self._settings.app_secret, data.email) if data.email else None
        links: list[Link] = []
        records: list[LinkRecord] = []
        for _ in range(data.count):
            link_id = data.receipt_id or keys.new_id(12)
            token = self._sign(
                business, touchpoint, link_id=link_id, minted=True, expires_at=expires_at, labels=data.labels
            )
            links.append(Link(token=token, url=self._url(token)))
            records.append(
                LinkRecord(
                    business_id=business.business_id,
                    touchpoint_id=touchpoint.touchpoint_id,
                    link_id=link_id,
                    created_at=iso_utc(now),
                    link_expires_at=expires_at,
                    receipt_id=data.receipt_id,
                    email=data.email,
                    email_hash=hashed,
                )
            )
        self._responses.put_links(records)
        return LinksCreated(links=links)

    def static_url(self, business: Business, touchpoint: Touchpoint) -> str:
        """The touchpoint's static link (what its QR code encodes); none ("") for the zalo touchpoint."""
        if touchpoint.channel == "zalo":
            return ""
        return self._url(self._static_token(business, touchpoint))

    def _touchpoint(self, business: Business, touchpoint_id: str) -> Touchpoint:
        touchpoint = self._directory.touchpoint(business.business_id, touchpoint_id)
        if touchpoint is None:
            raise NotFound("Unknown touchpoint.", code="touchpoint_not_found")
        return touchpoint

    def _static_token(self, business: Business, touchpoint: Touchpoint) -> str:
        # issued_at is the touchpoint's creation second, not "now": the static link is a fixed thing.
        issued = int(parse_iso_utc(touchpoint.created_at).timestamp())
        return self._sign(business, touchpoint, link_id="", minted=False, expires_at=None, issued_at=issued)

    def _sign(
        self,
        business: Business,
        touchpoint: Touchpoint,
        *,
        link_id: str,
        minted: bool,
        expires_at: int | None,
        issued_at: int | None = None,
        labels: dict[str, str] | None = None,
    ) -> str:
        # The server's own key (never revealed to a till) signs printed QR codes and the links it mints.
        kid = qr_key_id(business)
        try:
            claims = self._claims(business, touchpoint, kid, link_id, minted, expires_at, issued_at, labels or {})
        except ValidationError:
            # Valid labels that, with these ids, overrun the 256-character token (the QR on an 80 mm receipt).
            raise InvalidInput(
                f"These labels do not fit in a link of at most {tokens.MAX_TOKEN_CHARS} characters: "
                "use shorter values or fewer labels.",
                code="labels_too_long",
            ) from None
        return tokens.sign(claims, keys.unb64url(business.signing_keys[kid]) or b"")

    def _claims(
        self, business: Business, touchpoint: Touchpoint, kid: int, link_id: str, minted: bool,
        expires_at: int | None, issued_at: int | None, labels: dict[str, str],
    ) -> tokens.LinkClaims:
        return tokens.LinkClaims(
            business_id=business.business_id,
            touchpoint_id=touchpoint.touchpoint_id,
            channel=_link_channel(touchpoint),
            metric=touchpoint.metric,
            link_id=link_id,
            minted=minted,
            issued_at=int(self._clock.now().timestamp()) if issued_at is None else issued_at,
            expires_at=expires_at,
            key_id=kid,
            labels=labels,
        )

    def _url(self, token: str) -> str:
        return f"{self._settings.public_base_url}/s/{token}"


def _linkable(touchpoint: Touchpoint) -> Touchpoint:
    _link_channel(touchpoint)
    return touchpoint


def _link_channel(touchpoint: Touchpoint) -> LinkChannel:
    if touchpoint.channel == "zalo":
        # Issue #16: the zalo touchpoint is fed by Zalo's rating API; a token cannot even name its channel.
        raise Conflict("The Zalo touchpoint takes its answers from Zalo ratings; it has no link or QR code.",
                       code="touchpoint_has_no_link")
    return touchpoint.channel
