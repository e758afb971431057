"""A business's Zalo Official Account (issue #16, docs/zalo.md): connecting it (the tokens and app secret to
Secrets Manager, the rest to the table), keeping its access token fresh, sending ZNS templates and reading
the ratings Zalo collected. The follow-ups (vouchers, apologies) and the ratings service call ``send`` and
``ratings``; Zalo's errors come back as ``ZaloError`` with the ``kind`` that says whose they are.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any, Protocol

from chalicelib.domain import phones
from chalicelib.domain.calendar import iso_utc, parse_iso_utc
from chalicelib.domain.zalo import (
    Kind,
    RatingsPage,
    ZaloConnectIn,
    ZaloConnection,
    ZaloError,
    ZaloRating,
    ZaloTokens,
    ZnsSent,
)
from chalicelib.errors import InvalidInput, TemporarilyUnavailable
from chalicelib.observability import count, logger
from chalicelib.ports import Clock, SettingsStore
from chalicelib.services.access import Caller
from chalicelib.services.directory import Directory

# Refresh this long before the access token expires (it lives about 25 hours).
REFRESH_BEFORE = timedelta(minutes=10)
LOCK_SECONDS = 20
RATINGS_PAGE = 100


class ZaloApi(Protocol):
    def refresh(self, app_id: str, app_secret: str, refresh_token: str) -> ZaloTokens: ...

    def send_template(
        self, access_token: str, phone: str, template_id: str, data: Mapping[str, str], tracking_id: str
    ) -> ZnsSent: ...

    def ratings(
        self, access_token: str, template_id: str, since_ms: int, until_ms: int, offset: int, limit: int
    ) -> RatingsPage: ...


class ZaloSecrets(Protocol):
    def get(self, business_id: str) -> dict[str, str] | None: ...

    def put(self, business_id: str, value: Mapping[str, str]) -> None: ...

    def delete(self, business_id: str) -> None: ...


class ZaloConnections(Protocol):
    def get(self, business_id: str) -> dict[str, Any] | None: ...

    def put(self, business_id: str, record: Mapping[str, Any]) -> None: ...

    def delete(self, business_id: str) -> bool: ...

    def lock(self, business_id: str, now: str, until: str) -> bool: ...

    def refreshed(self, business_id: str, expires_at: str) -> None: ...

    def note_problem(self, business_id: str, problem: str, day: str) -> bool: ...


class Zalo:
    def __init__(
        self,
        api: ZaloApi,
        secrets: ZaloSecrets,
        connections: ZaloConnections,
        businesses: SettingsStore,
        directory: Directory,
        clock: Clock,
        *,
        sleep: Any = None,
    ) -> None:
        import time

        self._api, self._secrets, self._connections = api, secrets, connections
        self._businesses, self._directory, self._clock = businesses, directory, clock
        self._sleep = sleep or time.sleep

    # ---- the owner API ------------------------------------------------------------------------------

    def connect(self, caller: Caller, body: ZaloConnectIn) -> ZaloConnection:
        """Check the tokens by refreshing once (Zalo's answer is the only proof), then keep them: a refused
        refresh token is 422 ``zalo_refused`` with Zalo's words and nothing is stored."""
        business_id = caller.business.business_id
        try:
            tokens = self._api.refresh(body.app_id, body.app_secret, body.refresh_token)
        except ZaloError as exc:
            if exc.kind == "transient":
                raise TemporarilyUnavailable("Zalo did not answer; try again in a minute.", retry_after=30) from None
            raise InvalidInput(f"Zalo refused these credentials: {exc.message}", code="zalo_refused") from None
        templates = {k: v for k, v in body.templates.model_dump().items() if v}
        secret = self._secret(body.app_secret, tokens)
        self._secrets.put(business_id, secret)
        self._connections.put(
            business_id,
            {"app_id": body.app_id, "templates": templates, "connected_at": iso_utc(self._clock.now()),
             "token_expires_at": secret["expires_at"]},
        )
        self._flag(business_id, True)
        count("ZaloConnected")
        return self._connection(business_id)

    def connection(self, caller: Caller) -> ZaloConnection:
        return self._connection(caller.business.business_id)

    def disconnect(self, caller: Caller) -> ZaloConnection:
        business_id = caller.business.business_id
        self._connections.delete(business_id)
        self._secrets.delete(business_id)
        self._flag(business_id, False)
        return self._connection(business_id)

    def _flag(self, business_id: str, on: bool) -> None:
        # The thank-you page asks for a phone only while the business has Zalo (Business.zalo).
        self._businesses.update_business_settings(business_id, {"zalo": on}, ())
        self._directory.forget_business(business_id)

    def _connection(self, business_id: str) -> ZaloConnection:
        record = self._connections.get(business_id)
        if record is None:
            return ZaloConnection(business_id=business_id, connected=False)
        return ZaloConnection(
            business_id=business_id, connected=True, app_id=record.get("app_id"),
            templates=dict(record.get("templates") or {}), connected_at=record.get("connected_at"),
            token_expires_at=record.get("token_expires_at"), problem=record.get("problem"),
        )

    # ---- sending and reading --------------------------------------------------------------------------

    def template(self, business_id: str, kind: Kind) -> str | None:
        record = self._connections.get(business_id)
        templates = (record or {}).get("templates") or {}
        value = templates.get(kind) if isinstance(templates, dict) else None
        return str(value) if value else None

    def send(
        self, business_id: str, kind: Kind, phone_e164: str, data: Mapping[str, str], tracking_id: str,
        *, template_id: str | None = None,
    ) -> ZnsSent:
        """One ZNS message of the business's ``kind`` template (``template_id`` when the caller has just read
        it with ``template``); ZaloError (``owner`` when there is no such template) for the rest. A ``token``
        error refreshes the token and tries once more."""
        template = template_id or self.template(business_id, kind)
        if template is None:
            raise ZaloError(0, f"no approved {kind} template is connected", "owner")
        phone = phones.zalo_format(phone_e164)
        try:
            return self._api.send_template(self._access_token(business_id), phone, template, data, tracking_id)
        except ZaloError as exc:
            if exc.kind != "token":
                raise
            logger.info("zalo access token refused: refreshed once", extra={"business_id": business_id})
            return self._api.send_template(
                self._access_token(business_id, force=True), phone, template, data, tracking_id
            )

    def ratings(self, business_id: str, since_ms: int, until_ms: int) -> Iterator[ZaloRating]:
        """Every rating Zalo holds for the business's rating template in the window, page by page."""
        template = self.template(business_id, "rating")
        if template is None:
            return
        token = self._access_token(business_id)
        offset = 0
        while True:
            page = self._api.ratings(token, template, since_ms, until_ms, offset, RATINGS_PAGE)
            yield from page.items
            offset += len(page.items)
            if not page.items or offset >= page.total:
                return

    def told_owner(self, business_id: str, problem: str) -> bool:
        """Record the owner's problem (quota, template); True the first time today, so it is told once."""
        return self._connections.note_problem(business_id, problem, iso_utc(self._clock.now())[:10])

    # ---- the access token -------------------------------------------------------------------------------

    def _access_token(self, business_id: str, *, force: bool = False) -> str:
        secret = self._secrets.get(business_id)
        if secret is None:
            raise ZaloError(0, "Zalo is not connected", "owner")
        now = self._clock.now()
        if not force and _fresh(secret, now):
            return secret["access_token"]
        for _ in range(3):
            if self._connections.lock(business_id, iso_utc(now), iso_utc(now + timedelta(seconds=LOCK_SECONDS))):
                # Released with the expiry the secret holds after this pass (unchanged when it failed).
                expires_at = secret.get("expires_at", "")
                try:
                    # Read again under the lock: another container may have refreshed a moment ago.
                    secret = self._secrets.get(business_id) or secret
                    expires_at = secret.get("expires_at", "")
                    if not force and _fresh(secret, now):
                        return secret["access_token"]
                    tokens = self._api.refresh(
                        str((self._connections.get(business_id) or {}).get("app_id", "")),
                        secret["app_secret"], secret["refresh_token"],
                    )
                    renewed = self._secret(secret["app_secret"], tokens)
                    self._secrets.put(business_id, renewed)
                    expires_at = renewed["expires_at"]
                    count("ZaloTokensRefreshed")
                    return tokens.access_token
                finally:
                    self._connections.refreshed(business_id, expires_at)
            self._sleep(0.5)  # another container is refreshing: its new token will be in the secret
            secret = self._secrets.get(business_id) or secret
            if _fresh(secret, self._clock.now(), margin=timedelta(0)):
                return secret["access_token"]
        raise ZaloError(0, "the access token is being refreshed elsewhere", "transient")

    def _secret(self, app_secret: str, tokens: ZaloTokens) -> dict[str, str]:
        # The expiry counted on our clock from Zalo's expires_in: the one every freshness check reads.
        expires_at = tokens.expires_at
        if tokens.expires_in:
            expires_at = iso_utc(self._clock.now() + timedelta(seconds=tokens.expires_in))
        return {"app_secret": app_secret, "refresh_token": tokens.refresh_token, "access_token": tokens.access_token,
                "expires_at": expires_at}


def _fresh(secret: Mapping[str, str], now: Any, margin: timedelta = REFRESH_BEFORE) -> bool:
    try:
        return bool(secret.get("access_token")) and parse_iso_utc(secret["expires_at"]) - margin > now
    except (KeyError, ValueError):
        return False
