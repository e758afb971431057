"""The site-key policy: which business a widget's site key names, and which web pages may use it.

One policy for every caller: the widget's site check (``GET /v1/sites/{site_key}``), a widget's answer
(``POST /v1/responses`` with a site key) and the CORS headers of both, refusals included.
"""

from __future__ import annotations

from chalicelib.domain import keys, nonces, reasons
from chalicelib.domain.addresses import allowed_origin
from chalicelib.domain.models import Business, Metric, SiteChip, SiteConfig, SiteQuery, SiteReasons, Touchpoint
from chalicelib.errors import Forbidden, InvalidInput, InvalidToken, NotFound
from chalicelib.ports import Clock
from chalicelib.services.directory import Directory, in_use
from chalicelib.settings import Settings


class Sites:
    def __init__(self, directory: Directory, clock: Clock, settings: Settings) -> None:
        self._directory, self._clock, self._settings = directory, clock, settings

    def business(self, site_key: str, origin: str | None) -> Business:
        """The business of ``site_key`` when the page at ``origin`` may use it: InvalidToken
        ``invalid_site_key`` for a key that names no business (or not its current key), Forbidden
        ``origin_not_allowed`` for a page the business did not list."""
        business = self._known(site_key)
        if business is None:
            raise InvalidToken("Unknown site key.", code="invalid_site_key")
        if allowed_origin(origin, business.allowed_origins) is None:
            raise Forbidden(
                "This website is not allowed to send responses for this site key.", code="origin_not_allowed"
            )
        return business

    def touchpoint(self, business: Business, touchpoint_id: str | None, metric: Metric | None) -> Touchpoint | None:
        """The touchpoint a widget names, if any; NotFound ``touchpoint_not_found``, Expired
        ``touchpoint_retired``, or InvalidInput ``metric_mismatch`` when the widget asks for another metric
        than the touchpoint's."""
        if touchpoint_id is None:
            return None
        touchpoint = self._directory.touchpoint(business.business_id, touchpoint_id)
        if touchpoint is None:
            raise NotFound("Unknown touchpoint.", code="touchpoint_not_found")
        in_use(touchpoint)
        if metric is not None and touchpoint.metric != metric:
            raise InvalidInput(f"This touchpoint asks for {touchpoint.metric}.", code="metric_mismatch")
        return touchpoint

    def allowed_origin(self, site_key: str | None, origin: str | None) -> str | None:
        """``origin`` (normalised) when it may read answers about ``site_key``, else None. For the web
        layer's CORS headers, which every answer to a site-key request carries, refusals included."""
        if not site_key or not origin:
            return None
        business = self._known(site_key)
        return allowed_origin(origin, business.allowed_origins) if business is not None else None

    def check(self, site_key: str, origin: str | None, query: SiteQuery) -> SiteConfig:
        """What the widget needs before it renders: is this key known, is this page's origin allowed,
        the business's name and language, and the nonce its answer will carry. Public: it reveals
        nothing the page does not hold."""
        business = self.business(site_key, origin)
        touchpoint = self.touchpoint(business, query.touchpoint_id, query.metric)
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
            reasons=_chips(touchpoint, query.metric, business.locale),
        )

    def _known(self, site_key: str) -> Business | None:
        # The key names its business in clear; only the stored key, compared in constant time, proves it.
        business_id = keys.site_key_business(site_key)
        business = self._directory.business(business_id) if business_id else None
        return business if business is not None and keys.same(business.site_key, site_key) else None


def _chips(touchpoint: Touchpoint | None, metric: Metric | None, locale: str) -> SiteReasons:
    """The touchpoint's chips, else the defaults of the asked metric (none without one: nothing to ask)."""
    metric = touchpoint.metric if touchpoint is not None else metric
    saved = touchpoint.reasons if touchpoint is not None else None
    if metric is None:
        return SiteReasons(unhappy=[], happy=[])
    return SiteReasons(
        unhappy=[SiteChip(key=c.key, label=c.label) for c in reasons.chips(metric, saved, "unhappy", locale)],
        happy=[SiteChip(key=c.key, label=c.label) for c in reasons.chips(metric, saved, "happy", locale)],
    )
