"""What a business owner (and the operator's admin key) can do."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from pydantic import Field

from chalicelib.domain import keys, nonces, tokens
from chalicelib.domain.calendar import days_newest_first, iso_utc, local_day, parse_iso_utc
from chalicelib.domain.metrics import METRICS, summarize
from chalicelib.domain.models import (
    Business,
    BusinessCreated,
    BusinessIn,
    Erased,
    Link,
    LinksCreated,
    LinksIn,
    Locale,
    Metric,
    MetricsQuery,
    ObjectId,
    Out,
    ResponseItem,
    ResponsesPage,
    ResponsesQuery,
    StoredResponse,
    Strict,
    Touchpoint,
    TouchpointCreated,
    TouchpointIn,
)
from chalicelib.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidToken,
    MalformedRequest,
    NotFound,
    Unauthorized,
)
from chalicelib.ports import BusinessRegistry, BusinessStore, Clock, LinkRecord, ReportStore, ResponseStore
from chalicelib.services.directory import Directory
from chalicelib.services.submissions import email_hash
from chalicelib.settings import Settings

# #11 item 7: what the mail layer offers erasure, MailService.forget(business_id, email_hash) -> items erased.
ForgetMail = Callable[[str, str], int]

_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$")
MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30
# Each live key is a secret that forges links if it leaks: a cap makes owners retire old ones.
MAX_VERIFYING_KEYS = 4
FIRST_POS_KEY = tokens.POS_KEY_IDS.start


@dataclass(frozen=True)
class Caller:
    business: Business
    is_admin: bool


@dataclass(frozen=True)
class TouchpointLink:
    """What a printed QR code or table card shows: the touchpoint's static link and its words."""

    url: str
    business_name: str
    touchpoint_name: str
    metric: str
    locale: Locale


class PosSecret(Out):
    business_id: str
    key_id: int = Field(description="Goes in byte 1 of every token the till mints")
    secret: str = Field(description="base64url of the raw HMAC-SHA256 key; keep it on the till only")
    algorithm: str = "HMAC-SHA256"
    token_version: int = tokens.VERSION
    verifying_key_ids: list[int] = Field(description="Keys whose tokens are still accepted (retire old ones)")
    propagation_seconds: int = Field(description="After a rotation, wait this long before the till uses the key")


class OwnerKeyRotated(Out):
    business_id: str
    owner_key: str = Field(description="The new owner key, shown once; the old one no longer works")


class PosKeyRetired(Out):
    business_id: str
    retired_key_id: int
    verifying_key_ids: list[int]


class SiteQuery(Strict):
    metric: Metric | None = None
    touchpoint_id: ObjectId | None = None


class SiteConfig(Out):
    business_name: str
    locale: Locale
    metric: Metric | None = None
    touchpoint_id: str | None = None
    # #11 item 1: a fresh single-use nonce for this page view's answer (POST /v1/responses "nonce").
    nonce: str


class Owners:
    def __init__(
        self,
        directory: Directory,
        businesses: BusinessStore,
        responses: ResponseStore,
        clock: Clock,
        settings: Settings,
        registry: BusinessRegistry | None = None,
        *,
        reports: ReportStore | None = None,
        forget_mail: ForgetMail | None = None,
    ):
        self._directory = directory
        self._businesses = businesses
        self._responses = responses
        self._clock = clock
        self._settings = settings
        self._registry = registry
        # #11 item 7 (erasure): stored reports hold copies of unhappy comments; the mail layer (alert
        # batches, the dead-letter queue) holds others and forgets them through ``forget_mail``
        # (MailService.forget(business_id, email_hash) -> items erased), wired in wiring.py.
        self._reports = reports
        self._forget_mail = forget_mail

    # ---- who is calling ---------------------------------------------------------------------------

    def require_admin(self, authorization: str | None) -> None:
        key = _bearer(authorization)
        admin = self._settings.admin_key
        if not key or not admin or not keys.same(key, admin):
            raise Unauthorized("The admin key is required.")

    def authenticate(self, authorization: str | None, business_id: str) -> Caller:
        """The caller's business, or 401 (no or bad key) / 404 (a key of another business, so that
        nobody learns which business ids exist)."""
        key = _bearer(authorization)
        if not key:
            raise Unauthorized()
        admin = self._settings.admin_key
        if admin and keys.same(key, admin):
            business = self._directory.business(business_id)
            if business is None:
                raise NotFound("Unknown business.")
            return Caller(business, is_admin=True)
        key_business = keys.owner_key_business(key)
        if key_business is None:
            raise Unauthorized()
        if key_business != business_id:
            raise NotFound("Unknown business.")
        # Read past the per-container cache (#11): a rotated key must be dead at once in every container,
        # and a cached business would still hold the old key's hash for up to a minute. Owner calls are
        # few; the hot paths (submissions, the widget) keep the cache.
        business = self._businesses.get_business(business_id)
        expected = keys.keyed_hash(self._settings.app_secret, "owner-key", key)
        if business is None or not keys.same(business.owner_key_hash, expected):
            raise Unauthorized()
        return Caller(business, is_admin=False)

    # ---- #11 item 7: owner-key rotation ------------------------------------------------------------------

    def rotate_owner_key(self, caller: Caller) -> OwnerKeyRotated:
        """A new owner key, shown once; the old key fails from the next request on, in every container
        (authentication reads the stored hash, never a cached one), and every dashboard session ends
        (a session names a prefix of the key hash it was opened with)."""
        business = self._fresh(caller.business.business_id)
        owner_key = keys.new_owner_key(business.business_id)
        new_hash = keys.keyed_hash(self._settings.app_secret, "owner-key", owner_key)
        if not self._businesses.set_owner_key_hash(business.business_id, new_hash, business.owner_key_hash):
            raise Conflict("The owner key was changed at the same time; sign in again.", code="owner_key_changed")
        self._directory.forget("b", business.business_id)
        return OwnerKeyRotated(business_id=business.business_id, owner_key=owner_key)

    # ---- setup ------------------------------------------------------------------------------------

    def create_business(self, data: BusinessIn) -> BusinessCreated:
        business_id = keys.new_id(10)
        owner_key = keys.new_owner_key(business_id)
        site_key = keys.new_site_key(business_id)
        business = Business(
            business_id=business_id,
            name=data.name,
            owner_emails=data.owner_emails,
            timezone=data.timezone,
            locale=data.locale,
            sender_email=data.sender_email,
            allowed_origins=data.allowed_origins,
            voucher=data.voucher,
            owner_key_hash=keys.keyed_hash(self._settings.app_secret, "owner-key", owner_key),
            site_key=site_key,
            # #11: key 1 stays on the server (printed QR codes, links the API mints); key 128 is the
            # tills' (revealed by GET .../pos-secret), so a stolen till is cut off without a reprint.
            signing_keys={1: keys.b64url(tokens.new_secret()), FIRST_POS_KEY: keys.b64url(tokens.new_secret())},
            active_key_id=FIRST_POS_KEY,
            created_at=iso_utc(self._clock.now()),
        )
        if self._registry is not None:
            # Indexed first: if the business write then fails, the daily job skips an id with no
            # business; the other order could leave a business that never gets a report.
            self._registry.register(business_id, data.timezone, local_day(self._clock.now(), data.timezone).isoformat())
        self._businesses.put_business(business)
        return BusinessCreated(business_id=business_id, owner_key=owner_key, site_key=site_key)

    def create_touchpoint(self, caller: Caller, data: TouchpointIn) -> TouchpointCreated:
        business = caller.business
        touchpoint = Touchpoint(
            business_id=business.business_id,
            touchpoint_id=keys.new_id(8),
            name=data.name,
            channel=data.channel,
            metric=data.metric,
            created_at=iso_utc(self._clock.now()),
        )
        self._businesses.put_touchpoint(touchpoint)
        token = self._static_token(business, touchpoint)
        return TouchpointCreated(touchpoint_id=touchpoint.touchpoint_id, url=self._url(token), token=token)

    def touchpoint_link(self, caller: Caller, touchpoint_id: str) -> TouchpointLink:
        """The static link a QR code of this touchpoint encodes: the same URL every time it is asked for
        (under the same active key), so a reprinted card matches the first one."""
        business = caller.business
        touchpoint = self._directory.touchpoint(business.business_id, touchpoint_id)
        if touchpoint is None:
            raise NotFound("Unknown touchpoint.", code="touchpoint_not_found")
        return TouchpointLink(
            url=self._url(self._static_token(business, touchpoint)),
            business_name=business.name,
            touchpoint_name=touchpoint.name,
            metric=touchpoint.metric,
            locale=business.locale,
        )

    def _static_token(self, business: Business, touchpoint: Touchpoint) -> str:
        # issued_at is the touchpoint's creation second, not "now": the static link is a fixed thing.
        issued = int(parse_iso_utc(touchpoint.created_at).timestamp())
        return self._sign(business, touchpoint, link_id="", minted=False, expires_at=None, issued_at=issued)

    # ---- the till's signing secret ------------------------------------------------------------------

    def reveal_pos_secret(self, caller: Caller) -> PosSecret:
        """The active signing key, for a till that mints receipt tokens offline."""
        return self._pos_secret(caller.business, propagation=0)

    def rotate_pos_secret(self, caller: Caller) -> PosSecret:
        """A new active key; tokens (and printed QR codes) signed with older keys keep verifying until
        those keys are retired. Refused when too many keys are live, so old ones do not pile up."""
        business = self._fresh(caller.business.business_id)
        if len([k for k in business.signing_keys if k in tokens.POS_KEY_IDS]) >= MAX_VERIFYING_KEYS:
            raise Conflict(
                f"At most {MAX_VERIFYING_KEYS} till keys can verify at once: retire an old key first.",
                code="too_many_keys",
            )
        used = set(business.signing_keys)
        # Key ids are one byte of the token; a till's keys live in 128..255 (tokens.POS_KEY_IDS): count up
        # from the newest, and wrap to the first free id after 255.
        pos = tokens.POS_KEY_IDS
        newest = max([k for k in used if k in pos], default=pos.start - 1)
        new_id = next(k for k in [*range(newest + 1, pos.stop), *pos] if k not in used)
        updated = business.model_copy(
            update={
                "signing_keys": {**business.signing_keys, new_id: keys.b64url(tokens.new_secret())},
                "active_key_id": new_id,
            }
        )
        self._save_keys(business, updated)
        return self._pos_secret(updated, propagation=self._settings.business_cache_seconds)

    def retire_pos_key(self, caller: Caller, key_id: str) -> PosKeyRetired:
        """Stop accepting tokens signed with an old till key (receipts minted with it die; printed touchpoint
        QR codes are signed with the server's own key and keep working)."""
        business = self._fresh(caller.business.business_id)
        if not key_id.isdigit() or len(key_id) > 3 or int(key_id) not in business.signing_keys:
            raise NotFound("Unknown key id.", code="key_not_found")
        kid = int(key_id)
        if kid == business.active_key_id:
            raise Conflict("The active key cannot be retired: rotate first.", code="active_key")
        if kid == qr_key_id(business):
            # Retiring it would kill every printed table card. A business made before POS keys were
            # separate rotates once (POST), moves its tills to the new key, and keeps this one for its QRs.
            raise Conflict(
                "This key signs your printed QR codes; it cannot be retired from the POS route.", code="qr_key"
            )
        remaining = {k: v for k, v in business.signing_keys.items() if k != kid}
        self._save_keys(business, business.model_copy(update={"signing_keys": remaining}))
        return PosKeyRetired(
            business_id=business.business_id, retired_key_id=kid, verifying_key_ids=sorted(remaining)
        )

    # ---- the widget's public view of a site key -------------------------------------------------------

    def check_site(self, site_key: str, origin: str | None, query: SiteQuery) -> SiteConfig:
        """What the widget needs before it renders: is this key known, is this page's origin allowed,
        the business's name and language, and the nonce its answer will carry. Public: it reveals
        nothing the page does not hold. Refusals are raised; the web layer adds CORS headers to them."""
        origin = (origin or "").strip().lower().rstrip("/")
        business_id = keys.site_key_business(site_key)
        business = self._directory.business(business_id) if business_id else None
        if business is None or not keys.same(business.site_key, site_key):
            raise InvalidToken("Unknown site key.", code="invalid_site_key")
        if not _ORIGIN.match(origin) or origin not in business.allowed_origins:
            raise Forbidden(
                "This website is not allowed to send responses for this site key.", code="origin_not_allowed"
            )
        if query.touchpoint_id is not None:
            touchpoint = self._directory.touchpoint(business.business_id, query.touchpoint_id)
            if touchpoint is None:
                raise NotFound("Unknown touchpoint.", code="touchpoint_not_found")
            if query.metric is not None and touchpoint.metric != query.metric:
                raise InvalidInput(f"This touchpoint asks for {touchpoint.metric}.", code="metric_mismatch")
        nonce = nonces.issue(
            self._settings.app_secret,
            "site",
            business.business_id,
            nonces.site_subject(self._settings.app_secret, site_key),
            int(self._clock.now().timestamp()),
            self._settings.nonce_ttl_minutes * 60,
        )
        return SiteConfig(
            business_name=business.name,
            locale=business.locale,
            metric=query.metric,
            touchpoint_id=query.touchpoint_id,
            nonce=nonce,
        )

    def _fresh(self, business_id: str) -> Business:
        # Read past the cache: a rotation must start from the stored keys, not a minute-old copy.
        business = self._businesses.get_business(business_id)
        if business is None:
            raise NotFound("Unknown business.")
        return business

    def _save_keys(self, before: Business, after: Business) -> None:
        saved = self._businesses.set_signing_keys(
            after.business_id, after.signing_keys, after.active_key_id, before.active_key_id
        )
        if not saved:
            raise Conflict("The keys were changed at the same time; read them again and retry.", code="keys_changed")
        self._directory.forget("b", after.business_id)

    def _pos_secret(self, business: Business, propagation: int) -> PosSecret:
        kid = business.active_key_id
        return PosSecret(
            business_id=business.business_id,
            key_id=kid,
            secret=business.signing_keys[kid],
            verifying_key_ids=sorted(business.signing_keys),
            propagation_seconds=propagation,
        )

    def mint_links(self, caller: Caller, data: LinksIn) -> LinksCreated:
        business = caller.business
        touchpoint = self._directory.touchpoint(business.business_id, data.touchpoint_id)
        if touchpoint is None:
            raise NotFound("Unknown touchpoint.", code="touchpoint_not_found")
        if data.count > 1 and (data.receipt_id or data.email):
            raise InvalidInput("receipt_id and email name one link: use them with count 1.", code="count_conflict")
        now = self._clock.now()
        expires_at = int((now + timedelta(days=data.expires_in_days or self._settings.default_link_days)).timestamp())
        hashed = email_hash(self._settings.app_secret, data.email) if data.email else None
        links: list[Link] = []
        records: list[LinkRecord] = []
        for _ in range(data.count):
            link_id = data.receipt_id or keys.new_id(12)
            token = self._sign(business, touchpoint, link_id=link_id, minted=True, expires_at=expires_at)
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

    def _sign(
        self,
        business: Business,
        touchpoint: Touchpoint,
        *,
        link_id: str,
        minted: bool,
        expires_at: int | None,
        issued_at: int | None = None,
    ) -> str:
        # The server's own key (never revealed to a till) signs printed QR codes and the links it mints.
        kid = qr_key_id(business)
        secret = business.signing_keys[kid]
        claims = tokens.LinkClaims(
            business_id=business.business_id,
            touchpoint_id=touchpoint.touchpoint_id,
            channel=touchpoint.channel,
            metric=touchpoint.metric,
            link_id=link_id,
            minted=minted,
            issued_at=int(self._clock.now().timestamp()) if issued_at is None else issued_at,
            expires_at=expires_at,
            key_id=kid,
        )
        return tokens.sign(claims, keys.unb64url(secret) or b"")

    def _url(self, token: str) -> str:
        return f"{self._settings.public_base_url}/s/{token}"

    # ---- reading ----------------------------------------------------------------------------------

    def _range(self, business: Business, start: date | None, end: date | None) -> tuple[date, date]:
        today = local_day(self._clock.now(), business.timezone)
        end = end or today
        start = start or (end - timedelta(days=DEFAULT_RANGE_DAYS - 1))
        if start > end:
            raise InvalidInput("from must not be after to.", code="invalid_range")
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise InvalidInput(f"A range covers at most {MAX_RANGE_DAYS} days.", code="range_too_long")
        return start, end

    def list_responses(self, caller: Caller, query: ResponsesQuery) -> ResponsesPage:
        business = caller.business
        start, end = self._range(business, query.from_, query.to)
        resume_day, resume_after = end, None
        if query.cursor:
            cursor = keys.unseal(self._settings.app_secret, "cursor:" + business.business_id, query.cursor)
            if not (isinstance(cursor, list) and len(cursor) == 2 and all(isinstance(c, str) for c in cursor)):
                raise MalformedRequest("The cursor is not valid for this listing.", code="invalid_cursor")
            try:
                resume_day = date.fromisoformat(cursor[0])
            except ValueError:
                raise MalformedRequest("The cursor is not valid for this listing.", code="invalid_cursor") from None
            resume_after = cursor[1] if cursor[1] != "~" else None
            if not start <= resume_day <= end:
                raise MalformedRequest("The cursor belongs to another range.", code="invalid_cursor")

        items: list[ResponseItem] = []
        next_cursor = None
        for day in days_newest_first(start, resume_day):
            want = query.limit - len(items)
            page = self._responses.query_day(
                business.business_id,
                day.isoformat(),
                limit=want,
                start_after=resume_after if day == resume_day else None,
                metric=query.metric,
                touchpoint_id=query.touchpoint_id,
            )
            items.extend(_item(r) for r in page.items)
            if len(items) >= query.limit:
                if page.last_sort_key is not None:
                    next_cursor = [day.isoformat(), page.last_sort_key]
                elif day > start:
                    # This day is done; the next page starts with the day before, from its top.
                    next_cursor = [(day - timedelta(days=1)).isoformat(), ""]
                break
        if next_cursor and next_cursor[1] == "":
            next_cursor = [next_cursor[0], "~"]  # sorts after every timestamp: the whole day
        token = (
            keys.seal(self._settings.app_secret, "cursor:" + business.business_id, next_cursor) if next_cursor else None
        )
        return ResponsesPage(items=items, next_cursor=token)

    def metrics(self, caller: Caller, query: MetricsQuery) -> dict:
        business = caller.business
        start, end = self._range(business, query.from_, query.to)
        overall: dict[str, Counter[int]] = {m: Counter() for m in METRICS}
        groups: dict[str, dict[str, Counter[int]]] = defaultdict(lambda: {m: Counter() for m in METRICS})
        for day in days_newest_first(start, end):
            page = self._responses.query_day(business.business_id, day.isoformat(), limit=None)
            for r in page.items:
                overall[r.metric][r.score] += 1
                if query.group_by:
                    key = {"day": r.local_date, "touchpoint": r.touchpoint_id, "channel": r.channel}[query.group_by]
                    groups[key][r.metric][r.score] += 1
        min_n = self._settings.min_responses

        def summaries(per_metric: dict[str, Counter[int]]) -> dict:
            return {m: summarize(m, per_metric[m], min_n).model_dump() for m in METRICS}

        result: dict = {
            "business_id": business.business_id,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "timezone": business.timezone,
            "min_responses": min_n,
            "overall": summaries(overall),
        }
        if query.group_by:
            result["group_by"] = query.group_by
            result["groups"] = [{"key": k, "metrics": summaries(groups[k])} for k in sorted(groups)]
        return result

    # ---- erasure ----------------------------------------------------------------------------------

    def erase_respondent(self, caller: Caller, email: str) -> Erased:
        """Erase a person's address and comments everywhere this business keeps them: their responses
        (scores stay, anonymous), minted links, vouchers and apology records (all found by the keyed
        hash of the address, one Query on the email index), the comments copied into stored daily
        reports (and so the dashboard), and what the mail layer holds. Safe to repeat."""
        business = caller.business
        hashed = email_hash(self._settings.app_secret, email)
        found = self._responses.find_personal_data(business.business_id, hashed)
        now = iso_utc(self._clock.now())
        responses = links = 0
        # report day -> (created_at, text) of the person's comments, as stored reports keep them
        commented: dict[str, set[tuple[str, str]]] = defaultdict(set)
        response_prefix = f"R#{business.business_id}#"  # the keys find_personal_data returns (tables.py)
        for pk, sk in found:
            comment = self._responses.erase_personal_data(pk, sk, now)
            if pk.startswith(response_prefix):
                responses += 1
                if comment:
                    # R#{biz}#{day} / {created_at}#{response_id}
                    commented[pk[len(response_prefix) :]].add((sk.rsplit("#", 1)[0], comment))
            elif pk.startswith("C#"):
                links += 1
        # After the responses: a report recomputed from now on no longer sees the comment either.
        report_comments = 0
        if self._reports is not None:
            for day, comments in sorted(commented.items()):
                report_comments += self._reports.erase_report_comments(business.business_id, day, comments)
        mail_items = self._forget_mail(business.business_id, hashed) if self._forget_mail is not None else 0
        return Erased(
            responses_erased=responses,
            links_erased=links,
            report_comments_erased=report_comments,
            mail_items_erased=mail_items,
        )


def qr_key_id(business: Business) -> int:
    """The key that signs printed touchpoint QR codes and API-minted links: the newest server key
    (ids below 128). A business made before #11 has only key 1, which then also serves its tills."""
    server = [k for k in business.signing_keys if k not in tokens.POS_KEY_IDS]
    return max(server) if server else business.active_key_id


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip() or len(value) > 200:
        return None
    return value.strip()


def _item(r: StoredResponse) -> ResponseItem:
    return ResponseItem(
        response_id=r.response_id,
        created_at=r.created_at,
        local_date=r.local_date,
        metric=r.metric,
        score=r.score,
        unhappy=r.unhappy,
        touchpoint_id=r.touchpoint_id,
        channel=r.channel,
        locale=r.locale,
        receipt_id=r.receipt_id,
        comment=r.comment,
        email=r.email if r.consent else None,
    )
