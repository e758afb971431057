"""Recording a score: the hot path. Rules of the contract live here; storage is behind ports."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from chalicelib import tables
from chalicelib.domain import keys, labels, limits, nonces, phones, reasons, tokens, topics
from chalicelib.domain.addresses import allowed_origin, email_hash
from chalicelib.domain.calendar import iso_utc, local_day, parse_iso_utc
from chalicelib.domain.limits import RateLimit
from chalicelib.domain.metrics import SCALES, is_unhappy, score_in_range
from chalicelib.domain.models import (
    Business,
    Channel,
    CommentIn,
    CommentSaved,
    Metric,
    ResponseCreated,
    ResponseIn,
    StoredResponse,
    Touchpoint,
)
from chalicelib.errors import Conflict, Expired, InvalidInput, InvalidToken, NotFound
from chalicelib.observability import response_recorded
from chalicelib.ports import Addition, Claim, Clock, IdempotencyRecord, ResponseLocator, ResponseStore, WriteGuards
from chalicelib.services.directory import Directory, in_use
from chalicelib.services.sites import Sites
from chalicelib.settings import Settings

SITE_TOUCHPOINT = "site"  # responses sent through a site key without a touchpoint
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
_DAY = 86400
# What an answer to a shared link or a site key must prove: the nonce's kind and subject, and where its
# soft once-per-day respondent claim is scoped (touchpoint or site) with which claim key.
_Proof = tuple[nonces.Kind, str, str, tables.KeyFormat]
MIN_HUMAN_MS = 600  # from the widget showing its question to a tap


@dataclass(frozen=True)
class RequestMeta:
    """What the transport says about a request. The address only feeds rate limits: it never identifies
    a person (one café wifi or carrier NAT address is shared by many)."""

    origin: str | None = None
    source_ip: str = ""
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Submitted:
    created: bool  # a new response; False: the same response again (re-scored, or a replayed request)
    body: ResponseCreated
    business_id: str
    channel: str
    metric: str


@dataclass(frozen=True)
class OpenedLink:
    claims: tokens.LinkClaims
    business: Business
    touchpoint: Touchpoint


class Submissions:
    def __init__(self, directory: Directory, store: ResponseStore, clock: Clock, settings: Settings, sites: Sites):
        self._directory = directory
        self._sites = sites
        self._store = store
        self._clock = clock
        self._settings = settings
        self._window = timedelta(hours=settings.edit_window_hours)

    # ---- links ------------------------------------------------------------------------------------

    def open_link(self, token: str) -> OpenedLink:
        """Verify a signed link and return what the survey page needs (404/401, 410 on failure; 410
        ``touchpoint_retired`` when its owner retired the touchpoint)."""
        opened = self.verify_link(token)
        in_use(opened.touchpoint)
        return opened

    def verify_link(self, token: str) -> OpenedLink:
        """``open_link`` short of the retirement check: a retired touchpoint's page still speaks the
        link's language when it says so."""
        now = self._clock.now()
        claims = tokens.peek(token)
        business = self._directory.business(claims.business_id)
        if business is None:
            raise InvalidToken("This link is not valid.")
        claims = tokens.verify(token, _signing_keys(business), int(now.timestamp()))
        touchpoint = self._directory.touchpoint(business.business_id, claims.touchpoint_id)
        if touchpoint is None:
            raise NotFound("This survey no longer exists.", code="touchpoint_not_found")
        return OpenedLink(claims, business, touchpoint)

    def page_nonce(self, opened: OpenedLink) -> str | None:
        """A fresh nonce for one view of a touchpoint link's page; None for a minted link, whose claim is
        the link itself (one answer per receipt or email), so an old open tab can always answer it."""
        if opened.claims.minted:
            return None
        return nonces.issue(
            self._settings.app_secret,
            "link",
            opened.business.business_id,
            opened.touchpoint.touchpoint_id,
            int(self._clock.now().timestamp()),
            self._settings.nonce_ttl_minutes * 60,
        )

    def count_open(self, opened: OpenedLink) -> None:
        """One more person opened this touchpoint's survey today (the funnel's first step)."""
        day = local_day(self._clock.now(), opened.business.timezone).isoformat()
        self._store.count_open(opened.business.business_id, day, opened.touchpoint.touchpoint_id)

    # ---- submissions ------------------------------------------------------------------------------

    def submit(self, data: ResponseIn, meta: RequestMeta) -> Submitted:
        now = self._clock.now()
        if (data.token is None) == (data.site_key is None):
            raise InvalidInput("Send exactly one of token and site_key.", code="token_or_site_key")
        if data.email is not None and not data.consent:
            raise InvalidInput(
                "An email address is kept only with consent: set consent to true.", code="consent_required"
            )
        # A person needs a moment to read the question; a script driving the widget does not, and only a
        # script fills the field no person can see.
        if data.website or (data.elapsed_ms is not None and data.elapsed_ms < MIN_HUMAN_MS):
            raise InvalidInput("This answer looks automated and was not recorded.", code="looks_automated")
        if meta.idempotency_key is not None and not _IDEMPOTENCY_KEY.match(meta.idempotency_key):
            raise InvalidInput("Idempotency-Key must be 1-100 letters, digits or _.:-", code="invalid_idempotency_key")

        touchpoint: Touchpoint | None  # a site-key answer may name none
        metric: Metric | None
        channel: Channel
        if data.token is not None:
            business, touchpoint, claims, claim_key, proof = self._from_token(data)
            channel, metric = claims.channel, claims.metric
            link_id, expiry = claims.link_id, claims.expires_at
            receipt_id = claims.link_id if claims.minted and claims.channel == "receipt" else None
            scope = _short_hash(data.token)
            link_labels = claims.labels
        else:
            business, touchpoint, claim_key, proof = self._from_site_key(data, meta)
            link_id, receipt_id, expiry = "", None, None
            channel = touchpoint.channel if touchpoint else "web"
            metric = data.metric  # checked present in _from_site_key
            scope = _short_hash(data.site_key or "")
            link_labels = {}
        assert metric is not None
        if not score_in_range(metric, data.score):
            low, high = SCALES[metric]
            raise InvalidInput(
                f"A {metric.upper()} score is a whole number from {low} to {high}.", code="score_out_of_range"
            )
        extra_keys: list[str] = []
        if proof is not None:
            # A shared link or a site key: the page view's nonce is the claim (checked last of the input,
            # so a malformed answer hears what is wrong with it, not only that its page is stale).
            kind, subject, where, claim = proof
            page = nonces.verify(self._settings.app_secret, data.nonce, kind, business.business_id, subject, _ts(now))
            claim_key = tables.nonce_claim(page.nonce_id)
            extra_keys = self._respondent_claims(data, business, where, now, claim)

        unhappy = is_unhappy(metric, data.score)
        chosen = _checked_reasons(data.reasons, _offered(metric, touchpoint, unhappy))
        tagged = topics.tag(data.comment, business.topic_keywords) if data.comment else None
        created = iso_utc(now)
        day = local_day(now, business.timezone).isoformat()
        response_id = keys.new_id(16)
        email_hash = self._email_hash(data.email) if data.email else None
        response = StoredResponse(
            response_id=response_id,
            business_id=business.business_id,
            touchpoint_id=touchpoint.touchpoint_id if touchpoint else SITE_TOUCHPOINT,
            channel=channel,
            metric=metric,
            score=data.score,
            unhappy=unhappy,
            created_at=created,
            updated_at=created,
            local_date=day,
            locale=data.locale or business.locale,
            link_id=link_id,
            receipt_id=receipt_id,
            comment=data.comment,
            email=data.email,
            email_hash=email_hash,
            consent=data.consent and data.email is not None,
            # Where and when: the touchpoint's labels (a table card), the minted link's winning per name.
            labels=labels.overlay(touchpoint.labels if touchpoint else {}, link_labels),
            reasons=chosen,
            topics=list(tagged.topics) if tagged else [],
            polarity=tagged.polarity if tagged else None,
        )
        sort_key = tables.response_sk(created, response_id)
        locator = ResponseLocator(business.business_id, day, sort_key, response_id, created)
        body = ResponseCreated(response_id=response_id, edit_token=self._edit_token(locator), unhappy=unhappy)
        # Claims outlive the edit window, so a late repeat still finds its response and gets a 409.
        claim_ttl = int(now.timestamp()) + max(2 * _DAY, int(self._window.total_seconds()) + _DAY)
        if expiry is not None:
            claim_ttl = max(claim_ttl, expiry + 90 * _DAY)
        idem = None
        if meta.idempotency_key:
            idem = IdempotencyRecord(
                scope=scope,
                key=meta.idempotency_key,
                fingerprint=_fingerprint(data),
                status=201,
                body=body.model_dump(),
                expires_at=int(now.timestamp()) + _DAY,
            )
        quotas = self._limits(meta, business.business_id, scope, int(now.timestamp()))
        response_claims = [Claim(business.business_id, key, claim_ttl) for key in (claim_key, *extra_keys)]
        outcome = self._store.record(response, WriteGuards(response_claims, idem, quotas))

        if outcome.kind == "replay" and outcome.replay is not None:
            if outcome.replay.fingerprint != (idem.fingerprint if idem else None):
                raise InvalidInput(
                    "This Idempotency-Key was used with a different request.", code="idempotency_key_reused"
                )
            return Submitted(
                outcome.replay.status == 201,
                ResponseCreated.model_validate(outcome.replay.body),
                business.business_id,
                channel,
                metric,
            )
        if outcome.kind == "already_claimed" and outcome.existing is not None:
            existing = outcome.existing
            if now - parse_iso_utc(existing.created_at) > self._window:
                raise Conflict(
                    "This survey was already answered and can no longer be changed.", code="edit_window_closed"
                )
            self._store.update_score(existing, data.score, unhappy, created, quotas)
            body = ResponseCreated(
                response_id=existing.response_id, edit_token=self._edit_token(existing), unhappy=unhappy
            )
            if idem is not None:
                self._store.save_idempotency(
                    IdempotencyRecord(idem.scope, idem.key, idem.fingerprint, 200, body.model_dump(), idem.expires_at)
                )
            return Submitted(False, body, business.business_id, channel, metric)
        response_recorded(channel, metric, unhappy)
        return Submitted(True, body, business.business_id, channel, metric)

    def _from_token(self, data: ResponseIn) -> tuple[Business, Touchpoint, tokens.LinkClaims, str, _Proof | None]:
        assert data.token is not None
        opened = self.open_link(data.token)
        claims, business, touchpoint = opened.claims, opened.business, opened.touchpoint
        if data.metric is not None and data.metric != claims.metric:
            raise InvalidInput("The link decides the metric; it cannot be overridden.", code="metric_mismatch")
        if data.touchpoint_id is not None and data.touchpoint_id != claims.touchpoint_id:
            raise InvalidInput("The link decides the touchpoint; it cannot be overridden.", code="touchpoint_mismatch")
        if claims.minted:
            # One answer per receipt or email: the link is the claim, no nonce needed (a POS posts none).
            return business, touchpoint, claims, tables.link_claim(claims.touchpoint_id, claims.link_id), None
        # A static QR is one link for everyone: only a page view's nonce tells two customers apart.
        return (
            business,
            touchpoint,
            claims,
            "",
            ("link", touchpoint.touchpoint_id, touchpoint.touchpoint_id, tables.touchpoint_respondent_claim),
        )

    def _from_site_key(self, data: ResponseIn, meta: RequestMeta) -> tuple[Business, Touchpoint | None, str, _Proof]:
        site_key = data.site_key or ""
        business = self._sites.business(site_key, meta.origin)
        if data.metric is None:
            raise InvalidInput("metric is required with a site key.", code="metric_required")
        touchpoint = self._sites.touchpoint(business, data.touchpoint_id, data.metric)
        subject = nonces.site_subject(self._settings.app_secret, site_key)
        return (
            business,
            touchpoint,
            "",
            ("site", subject, data.touchpoint_id or SITE_TOUCHPOINT, tables.site_respondent_claim),
        )

    def _respondent_claims(
        self, data: ResponseIn, business: Business, where: str, now: datetime, claim: tables.KeyFormat
    ) -> list[str]:
        """The soft once-per-day rule: the anonymous id a widget keeps in its browser, when it sends one.
        Keyed, so the stored claim says nothing about the person; never derived from the network."""
        if data.respondent_id is None:
            return []
        day = local_day(now, business.timezone).isoformat()
        who = keys.keyed_hash(self._settings.app_secret, "browser", data.respondent_id)[:24]
        return [claim(where, day, who)]

    def _limits(self, meta: RequestMeta, business_id: str, scope: str, now: int) -> list[RateLimit]:
        """Per client address within this business, then per link or site key; counted in the same write
        as the response, all or nothing. An answer refused by its address's cap is not counted against
        the shared link, and the link allows at least twice one address's share: one address (or one
        flooder) cannot lock a table's QR or a site's widget for everyone else (docs/scaling.md)."""
        per_ip = self._settings.rate_limit_per_ip
        per_link = max(self._settings.rate_limit_per_link, 2 * per_ip)
        found = []
        if meta.source_ip:
            # Keyed: the counter's key says nothing about who the client is. Scoped to the business, so
            # carrier NAT answering three cafés spends three allowances, not one.
            ip = keys.keyed_hash(self._settings.app_secret, "ip", meta.source_ip)[:24]
            found.append(limits.window("ip", f"{business_id}#{ip}", per_ip, now))
        found.append(limits.window("link", scope, per_link, now))
        return found

    # ---- comments ---------------------------------------------------------------------------------

    def add_comment(self, response_id: str, data: CommentIn) -> CommentSaved:
        now = self._clock.now()
        locator = self._locate(response_id, data.edit_token)
        if (data.email is not None or data.phone is not None) and not data.consent:
            raise InvalidInput(
                "An email address or phone number is kept only with consent: set consent to true.",
                code="consent_required",
            )
        if data.comment is None and data.email is None and data.phone is None and data.reasons is None:
            raise InvalidInput(
                "Send a comment, an email address, a phone number, reasons, or any of them.", code="nothing_to_save"
            )
        if now - parse_iso_utc(locator.created_at) > self._window:
            raise Conflict("This response can no longer be changed.", code="edit_window_closed")
        email_hash = self._email_hash(data.email) if data.email else None
        phone_hash = phones.phone_hash(self._settings.app_secret, data.phone) if data.phone else None
        addition = Addition(iso_utc(now), data.comment, data.email, email_hash, data.phone, phone_hash)
        if data.reasons is not None:
            addition = self._with_reasons(locator, data.reasons, addition)
        if data.comment is not None:
            business = self._directory.business(locator.business_id)
            tagged = topics.tag(data.comment, business.topic_keywords if business else ())
            addition = replace(addition, topics=tagged.topics, polarity=tagged.polarity)
        saved = self._store.add_comment(locator, addition)
        if not saved:
            raise NotFound("Unknown response.", code="response_not_found")
        return CommentSaved(
            response_id=response_id,
            comment_saved=data.comment is not None,
            email_saved=data.email is not None,
            reasons_saved=data.reasons is not None,
            phone_saved=data.phone is not None,
        )

    def comment_origin(self, response_id: str, edit_token: str | None, origin: str | None) -> str | None:
        """``origin`` (normalised) when the answer's business lists it, else None: the widget posts its
        chips from the customer's page and must read the answer, refusals included (CORS)."""
        if not edit_token or not origin:
            return None
        try:
            locator = self._locate(response_id, edit_token)
        except InvalidToken:
            return None
        business = self._directory.business(locator.business_id)
        return allowed_origin(origin, business.allowed_origins) if business is not None else None

    def _with_reasons(self, locator: ResponseLocator, chosen: list[str], addition: Addition) -> Addition:
        """Check the reasons against what the answer's touchpoint offers for its mood now; the write then
        holds only while that mood does (one read, only when reasons are sent)."""
        stored = self._store.find_response(locator)
        if stored is None:
            raise NotFound("Unknown response.", code="response_not_found")
        touchpoint = None
        if stored.touchpoint_id != SITE_TOUCHPOINT:
            touchpoint = self._directory.touchpoint(stored.business_id, stored.touchpoint_id)
        offered = _offered(stored.metric, touchpoint, stored.unhappy)
        return replace(addition, reasons=tuple(_checked_reasons(chosen, offered)), mood_unhappy=stored.unhappy)

    def _edit_token(self, locator: ResponseLocator) -> str:
        return keys.seal(
            self._settings.app_secret,
            "edit:" + locator.response_id,
            [locator.business_id, locator.local_date, locator.created_at],
        )

    def _locate(self, response_id: str, edit_token: str) -> ResponseLocator:
        payload = keys.unseal(self._settings.app_secret, "edit:" + response_id, edit_token)
        if not (isinstance(payload, list) and len(payload) == 3 and all(isinstance(p, str) for p in payload)):
            raise InvalidToken("Wrong edit token for this response.", code="invalid_edit_token")
        business_id, day, created = payload
        return ResponseLocator(business_id, day, tables.response_sk(created, response_id), response_id, created)

    def _email_hash(self, email: str) -> str:
        return email_hash(self._settings.app_secret, email)


def _offered(metric: Metric, touchpoint: Touchpoint | None, unhappy: bool) -> frozenset[str]:
    # A widget without a touchpoint shows its metric's defaults; any taxonomy key is a fair answer there.
    if touchpoint is None:
        return frozenset(topics.TOPICS)
    return reasons.allowed(metric, touchpoint.reasons, reasons.mood(unhappy))


def _checked_reasons(chosen: list[str], offered: frozenset[str]) -> list[str]:
    unique = reasons.unique(chosen)
    unknown = reasons.unknown(unique, offered)
    if unknown:
        raise InvalidInput(
            f"Not a reason offered for this answer: {', '.join(unknown)[:200]}.", code="unknown_reason"
        )
    return unique


def _signing_keys(business: Business) -> dict[int, bytes]:
    # Stored secrets are written by keys.b64url; one that does not read back verifies nothing.
    return {kid: raw for kid, secret in business.signing_keys.items() if (raw := keys.unb64url(secret)) is not None}


def _ts(now: datetime) -> int:
    return int(now.timestamp())


def _short_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:24]


def _fingerprint(data: ResponseIn) -> str:
    return hashlib.sha256(json.dumps(data.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


__all__ = ["Expired", "OpenedLink", "RequestMeta", "Submissions", "Submitted"]
