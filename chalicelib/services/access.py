"""Who is calling the owner API: the operator's admin key, or a business's owner key; and the two
things only those keys do, creating a business (admin) and rotating an owner key (owner)."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain import keys, tokens
from chalicelib.domain.calendar import iso_utc, local_day
from chalicelib.domain.models import Business, BusinessCreated, BusinessIn, OwnerKeyRotated
from chalicelib.errors import Conflict, NotFound, Unauthorized
from chalicelib.ports import BusinessRegistry, BusinessStore, Clock
from chalicelib.services.directory import Directory
from chalicelib.settings import Settings

# #11: key 1 stays on the server (printed QR codes, links the API mints); the first of the tills' keys
# (tokens.POS_KEY_IDS) is revealed by GET .../pos-secret, so a stolen till is cut off without a reprint.
SERVER_KEY = 1
FIRST_POS_KEY = tokens.POS_KEY_IDS.start
_OWNER_KEY_PURPOSE = "owner-key"
# What a new business takes over from its creation request as it is (everything but keys and ids).
_COPIED_FROM_INPUT = {
    "name", "owner_emails", "timezone", "locale", "sender_email", "allowed_origins", "voucher", "topic_keywords",
}


@dataclass(frozen=True)
class Caller:
    """An authenticated caller of one business's routes: its owner, or the operator (admin key)."""

    business: Business
    is_admin: bool
    # issue #14: who acts, as a case's history shows it: "owner key", "admin", or a signed-in owner's email.
    actor: str = "owner key"


class Access:
    def __init__(self, directory: Directory, businesses: BusinessStore, clock: Clock, settings: Settings, *,
                 registry: BusinessRegistry | None = None) -> None:
        self._directory, self._businesses, self._clock, self._settings = directory, businesses, clock, settings
        # The daily report job's index of businesses (None in unit tests that need no reports).
        self._registry = registry

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
            return Caller(business, is_admin=True, actor="admin")
        key_business = keys.owner_key_business(key)
        if key_business is None:
            raise Unauthorized()
        if key_business != business_id:
            raise NotFound("Unknown business.")
        # Read past the per-container cache (#11): a rotated key must be dead at once in every container,
        # and a cached business would still hold the old key's hash for up to a minute. Owner calls are
        # few; the hot paths (submissions, the widget) keep the cache.
        business = self._businesses.get_business(business_id)
        if business is None or not keys.same(business.owner_key_hash, self._owner_key_hash(key)):
            raise Unauthorized()
        return Caller(business, is_admin=False)

    def rotate_owner_key(self, caller: Caller) -> OwnerKeyRotated:
        """A new owner key, shown once; the old key fails from the next request on, in every container
        (authentication reads the stored hash, never a cached one), and every dashboard session ends
        (a session names a prefix of the key hash it was opened with)."""
        business = self._directory.fresh(caller.business.business_id)
        owner_key = keys.new_owner_key(business.business_id)
        new_hash = self._owner_key_hash(owner_key)
        if not self._businesses.set_owner_key_hash(business.business_id, new_hash, business.owner_key_hash):
            raise Conflict("The owner key was changed at the same time; sign in again.", code="owner_key_changed")
        self._directory.forget_business(business.business_id)
        return OwnerKeyRotated(business_id=business.business_id, owner_key=owner_key)

    def create_business(self, data: BusinessIn) -> BusinessCreated:
        business_id = keys.new_id(10)
        owner_key = keys.new_owner_key(business_id)
        site_key = keys.new_site_key(business_id)
        now = self._clock.now()
        business = Business(
            **data.model_dump(include=_COPIED_FROM_INPUT),
            business_id=business_id,
            owner_key_hash=self._owner_key_hash(owner_key),
            site_key=site_key,
            signing_keys={kid: keys.b64url(tokens.new_secret()) for kid in (SERVER_KEY, FIRST_POS_KEY)},
            active_key_id=FIRST_POS_KEY,
            created_at=iso_utc(now),
        )
        if self._registry is not None:
            # Indexed first: if the business write then fails, the daily job skips an id with no
            # business; the other order could leave a business that never gets a report.
            self._registry.register(business_id, data.timezone, local_day(now, data.timezone).isoformat())
        self._businesses.put_business(business)
        return BusinessCreated(business_id=business_id, owner_key=owner_key, site_key=site_key)

    def _owner_key_hash(self, owner_key: str) -> str:
        return keys.keyed_hash(self._settings.app_secret, _OWNER_KEY_PURPOSE, owner_key)


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip() or len(value) > 200:
        return None
    return value.strip()
