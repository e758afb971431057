"""An owner's settings (issue #14): their business (name, owner emails, language, time zone, sender,
allowed origins, voucher policy) and their touchpoints (list, rename, retire). Creating a touchpoint
stays with :class:`chalicelib.services.links.Links`.

Every change is an UpdateItem of the attributes it changes, never a whole put of the business read at
sign-in: an owner-key or till-key rotation written at the same moment survives a settings change.
A retired touchpoint keeps its item, its name and its answers (reports and listings still show them);
only its links stop taking answers (``chalicelib.services.directory.in_use``).
"""

from __future__ import annotations

from chalicelib.domain import reasons
from chalicelib.domain.calendar import iso_utc, local_day
from chalicelib.domain.models import (
    Business,
    BusinessOut,
    BusinessPatch,
    Touchpoint,
    TouchpointList,
    TouchpointOut,
    TouchpointPatch,
    is_object_id,
)
from chalicelib.errors import NotFound
from chalicelib.ports import BusinessRegistry, Clock, SettingsStore
from chalicelib.services.access import Caller
from chalicelib.services.directory import Directory
from chalicelib.services.links import Links

_SHOWN = set(BusinessOut.model_fields)  # what an owner reads: no key hash, no signing secret
_TOUCHPOINT_SHOWN = set(TouchpointOut.model_fields) - {"url", "reasons"}


class Setup:
    def __init__(
        self, directory: Directory, store: SettingsStore, links: Links, clock: Clock, *,
        registry: BusinessRegistry | None = None,
    ) -> None:
        self._directory, self._store, self._links, self._clock = directory, store, links, clock
        # The daily report job's index of businesses and their zones (None in unit tests without reports).
        self._registry = registry

    # ---- the business ---------------------------------------------------------------------------------

    def business(self, caller: Caller) -> BusinessOut:
        return _business_out(caller.business)

    def update_business(self, caller: Caller, patch: BusinessPatch) -> BusinessOut:
        """Change the settings the patch names (null removes the voucher policy or the own sender); the
        business as stored after. A new time zone also moves the daily report to the new midnight."""
        business_id = caller.business.business_id
        given = patch.model_dump(mode="json", include=patch.model_fields_set)
        changes = {name: value for name, value in given.items() if value is not None}
        removed = [name for name, value in given.items() if value is None]
        updated = self._store.update_business_settings(business_id, changes, removed)
        if updated is None:
            raise NotFound("Unknown business.")
        # This container's hot path sees the change at once; the others within the cache's lifetime.
        self._directory.forget_business(business_id)
        if "timezone" in changes and self._registry is not None:
            # Written whenever the patch names a zone, even the same one: a retry of a PATCH whose index
            # write failed (503) then repairs it. The index keeps its last reported day (no skip, no repeat).
            today = local_day(self._clock.now(), updated.timezone).isoformat()
            self._registry.set_timezone(business_id, updated.timezone, today)
        return _business_out(updated)

    # ---- touchpoints ------------------------------------------------------------------------------------

    def touchpoints(self, caller: Caller) -> TouchpointList:
        """Every touchpoint, retired ones included (their answers stay in the reports), oldest first."""
        business = caller.business
        found = self._store.list_touchpoints(business.business_id)
        found.sort(key=lambda t: (t.created_at, t.touchpoint_id))
        return TouchpointList(items=[self._touchpoint_out(business, t) for t in found])

    def update_touchpoint(self, caller: Caller, touchpoint_id: str, patch: TouchpointPatch) -> TouchpointOut:
        """Change what the patch names: its name (a retired touchpoint may be renamed too: the name shows in
        its old reports), its reason chips (replaced as a whole). One UpdateItem of those attributes only."""
        business = caller.business
        changes = patch.model_dump(mode="json", include=patch.model_fields_set)
        changed = self._store.update_touchpoint(business.business_id, _known_id(touchpoint_id), changes)
        return self._changed(business, changed)

    def retire_touchpoint(self, caller: Caller, touchpoint_id: str) -> TouchpointOut:
        """Its printed QR code, its links and the widget stop taking answers (410); what it collected stays.
        Retiring it again answers the same touchpoint and changes nothing."""
        business = caller.business
        retired = self._store.retire_touchpoint(
            business.business_id, _known_id(touchpoint_id), iso_utc(self._clock.now())
        )
        return self._changed(business, retired)

    def _changed(self, business: Business, touchpoint: Touchpoint | None) -> TouchpointOut:
        if touchpoint is None:
            raise NotFound("Unknown touchpoint.", code="touchpoint_not_found")
        self._directory.forget_touchpoint(business.business_id, touchpoint.touchpoint_id)
        return self._touchpoint_out(business, touchpoint)

    def _touchpoint_out(self, business: Business, touchpoint: Touchpoint) -> TouchpointOut:
        shown = touchpoint.model_dump(include=_TOUCHPOINT_SHOWN)
        # The chips customers see, the defaults included, so the owner reads what the page shows.
        chips = reasons.effective_sets(touchpoint.metric, touchpoint.reasons)
        return TouchpointOut.model_validate(
            {**shown, "url": self._links.static_url(business, touchpoint), "reasons": chips}
        )


def _business_out(business: Business) -> BusinessOut:
    return BusinessOut.model_validate(business.model_dump(include=_SHOWN))


def _known_id(touchpoint_id: str) -> str:
    # Anything else cannot name a touchpoint: refused before it becomes a key of a write.
    if not is_object_id(touchpoint_id):
        raise NotFound("Unknown touchpoint.", code="touchpoint_not_found")
    return touchpoint_id
