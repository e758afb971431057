"""What a business owner (and the operator's admin key) can do."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from chalicelib.domain import keys, tokens
from chalicelib.domain.calendar import days_newest_first, iso_utc, local_day
from chalicelib.domain.metrics import METRICS, summarize
from chalicelib.domain.models import (
    Business,
    BusinessCreated,
    BusinessIn,
    Erased,
    Link,
    LinksCreated,
    LinksIn,
    MetricsQuery,
    ResponseItem,
    ResponsesPage,
    ResponsesQuery,
    StoredResponse,
    Touchpoint,
    TouchpointCreated,
    TouchpointIn,
)
from chalicelib.errors import InvalidInput, MalformedRequest, NotFound, Unauthorized
from chalicelib.ports import BusinessRegistry, BusinessStore, Clock, LinkRecord, ResponseStore
from chalicelib.services.directory import Directory
from chalicelib.services.submissions import email_hash
from chalicelib.settings import Settings

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30


@dataclass(frozen=True)
class Caller:
    business: Business
    is_admin: bool


class Owners:
    def __init__(
        self,
        directory: Directory,
        businesses: BusinessStore,
        responses: ResponseStore,
        clock: Clock,
        settings: Settings,
        registry: BusinessRegistry | None = None,
    ):
        self._directory = directory
        self._businesses = businesses
        self._responses = responses
        self._clock = clock
        self._settings = settings
        self._registry = registry

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
        business = self._directory.business(business_id)
        expected = keys.keyed_hash(self._settings.app_secret, "owner-key", key)
        if business is None or not keys.same(business.owner_key_hash, expected):
            raise Unauthorized()
        return Caller(business, is_admin=False)

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
            signing_keys={1: keys.b64url(tokens.new_secret())},
            active_key_id=1,
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
        token = self._sign(business, touchpoint, link_id="", minted=False, expires_at=None)
        return TouchpointCreated(touchpoint_id=touchpoint.touchpoint_id, url=self._url(token), token=token)

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
        self, business: Business, touchpoint: Touchpoint, *, link_id: str, minted: bool, expires_at: int | None
    ) -> str:
        kid = business.active_key_id
        secret = business.signing_keys[kid]
        claims = tokens.LinkClaims(
            business_id=business.business_id,
            touchpoint_id=touchpoint.touchpoint_id,
            channel=touchpoint.channel,
            metric=touchpoint.metric,
            link_id=link_id,
            minted=minted,
            issued_at=int(self._clock.now().timestamp()),
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
        business = caller.business
        hashed = email_hash(self._settings.app_secret, email)
        found = self._responses.find_personal_data(business.business_id, hashed)
        now = iso_utc(self._clock.now())
        responses = links = 0
        for pk, sk in found:
            self._responses.erase_personal_data(pk, sk, now)
            if pk.startswith("R#"):
                responses += 1
            else:
                links += 1
        return Erased(responses_erased=responses, links_erased=links)


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
