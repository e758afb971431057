"""A till's signing keys: reveal the active one, rotate to a new one, retire an old one (#11).

Key ids 128..255 (``tokens.POS_KEY_IDS``) are the tills'; the server's own key (below 128) signs
printed QR codes and API-minted links, never leaves the server, and is never retired from here.
"""

from __future__ import annotations

from chalicelib.domain import keys, tokens
from chalicelib.domain.models import Business, PosKeyRetired, PosSecret
from chalicelib.errors import Conflict, NotFound
from chalicelib.ports import BusinessStore
from chalicelib.services.access import Caller
from chalicelib.services.directory import Directory
from chalicelib.settings import Settings

# Each live key is a secret that forges links if it leaks: a cap makes owners retire old ones.
MAX_VERIFYING_KEYS = 4


def qr_key_id(business: Business) -> int:
    """The key that signs printed touchpoint QR codes and API-minted links: the newest server key
    (ids below 128). A business made before #11 has only key 1, which then also serves its tills."""
    server = [k for k in business.signing_keys if k not in tokens.POS_KEY_IDS]
    return max(server) if server else business.active_key_id


class PosKeys:
    def __init__(self, directory: Directory, businesses: BusinessStore, settings: Settings) -> None:
        self._directory, self._businesses, self._settings = directory, businesses, settings

    def reveal(self, caller: Caller) -> PosSecret:
        """The active signing key, for a till that mints receipt tokens offline."""
        return _pos_secret(caller.business, propagation=0)

    def rotate(self, caller: Caller) -> PosSecret:
        """A new active key; tokens (and printed QR codes) signed with older keys keep verifying until
        those keys are retired. Refused when too many keys are live, so old ones do not pile up."""
        business = self._directory.fresh(caller.business.business_id)
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
        self._save(business, updated)
        return _pos_secret(updated, propagation=self._settings.business_cache_seconds)

    def retire(self, caller: Caller, key_id: str) -> PosKeyRetired:
        """Stop accepting tokens signed with an old till key (receipts minted with it die; printed touchpoint
        QR codes are signed with the server's own key and keep working)."""
        business = self._directory.fresh(caller.business.business_id)
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
        self._save(business, business.model_copy(update={"signing_keys": remaining}))
        return PosKeyRetired(
            business_id=business.business_id, retired_key_id=kid, verifying_key_ids=sorted(remaining)
        )

    def _save(self, before: Business, after: Business) -> None:
        saved = self._businesses.set_signing_keys(
            after.business_id, after.signing_keys, after.active_key_id, before.active_key_id
        )
        if not saved:
            raise Conflict("The keys were changed at the same time; read them again and retry.", code="keys_changed")
        self._directory.forget_business(after.business_id)


def _pos_secret(business: Business, propagation: int) -> PosSecret:
    kid = business.active_key_id
    return PosSecret(
        business_id=business.business_id,
        key_id=kid,
        secret=business.signing_keys[kid],
        verifying_key_ids=sorted(business.signing_keys),
        propagation_seconds=propagation,
    )
