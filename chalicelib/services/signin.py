"""Signing in to the owner console (issue #14): a one-time link emailed to an owner address, or the owner
key; the console's sessions and signing out.

* A link's secret is random (192 bits) and stored only as a keyed hash with its expiry (15 minutes: a TTL
  attribute, and checked on use). It is used up by a conditional delete, so it signs in once however many
  tabs race. Opening it (GET) reads only: mail scanners open every link, so the page's button (POST) uses it.
* Anybody may ask for a link for any address; the answer never says whether it was an owner's. Only an
  address in ``owner_emails`` (compared normalised) gets one, through the one mail layer. A stranger could
  still make us email an owner again and again: at most ``SIGNIN_EMAILS_PER_WINDOW`` sign-in emails per
  business per ``LINK_MINUTES`` window, counted atomically, and past that nothing is sent (docs/console.md).
* A session is sealed (``keys.seal``, purpose ``console``), never a key: the business, a prefix of the owner
  key hash (a key rotation ends every session), a random session id (signing out revokes it server-side in
  the dashboard's revoked-session items), its expiry (12 h) and who signed in (the owner's address or
  "owner key"): the ``Caller.actor`` of everything done from the console.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib import tables
from chalicelib.domain import keys
from chalicelib.domain.addresses import is_plain_address, normalize_address
from chalicelib.domain.models import Business
from chalicelib.errors import NotFound, Unauthorized
from chalicelib.observability import count, logger
from chalicelib.ports import Clock, SigninEmailRenderer, SigninStore
from chalicelib.services.access import Access, Caller
from chalicelib.services.directory import Directory
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from chalicelib.services.mail import MailService

SESSION_SECONDS = 12 * 3600
LINK_MINUTES = 15
SIGNIN_EMAILS_PER_WINDOW = 5  # per business per LINK_MINUTES window
OWNER_KEY_ACTOR = "owner key"
_PURPOSE = "console"
_LINK_PURPOSE = "signin-link"
_MAX_TOKEN_CHARS = 64


@dataclass(frozen=True)
class ConsoleSession:
    business: Business
    actor: str  # the owner's address, or "owner key"
    session_id: str

    @property
    def caller(self) -> Caller:
        return Caller(self.business, is_admin=False, actor=self.actor)


class Signin:
    def __init__(
        self,
        directory: Directory,
        store: SigninStore,
        access: Access,
        clock: Clock,
        settings: Settings,
        *,
        mail: Callable[[], MailService],
        render: SigninEmailRenderer,
    ) -> None:
        self._directory, self._store, self._access = directory, store, access
        self._clock, self._settings = clock, settings
        self._mail, self._render = mail, render  # the mail layer is built when a link is first sent

    def business(self, business_id: str) -> Business | None:
        """The business a console path names (cached per container, like the survey pages), or None."""
        return self._directory.business(business_id)

    # ---- by emailed link -----------------------------------------------------------------------------

    def link_url(self, business_id: str, token: str) -> str:
        return f"{self._settings.public_base_url}/console/{business_id}/signin/{token}"

    def request_link(self, business_id: str, email: str, locale: str) -> str:
        """Email a one-time link if ``email`` is an owner address of the business. The outcome is for logs
        and tests only: the page says the same whatever it is (``sent``, ``not_owner``, ``capped``, or the
        mail layer's outcome: ``suppressed`` ...)."""
        business = self._directory.business(business_id)
        email = email.strip()
        if business is None or not is_plain_address(email):
            return "not_owner"
        wanted = normalize_address(email)
        owner = next((o for o in business.owner_emails if normalize_address(o) == wanted), None)
        if owner is None:
            count("SigninRefused", reason="not_owner")
            return "not_owner"
        now = int(self._clock.now().timestamp())
        window_seconds = LINK_MINUTES * 60
        window = now // window_seconds
        if not self._store.count_signin_email(
            business_id, window, SIGNIN_EMAILS_PER_WINDOW, (window + 2) * window_seconds
        ):
            logger.warning("sign-in email not sent: cap reached", extra={"business_id": business_id})
            count("SigninRefused", reason="capped")
            return "capped"
        token = keys.b64url(secrets.token_bytes(24))
        token_hash = self._token_hash(token)
        # The stored address is the owner's as listed, not as typed: the session's actor reads the same.
        self._store.put_link(business_id, token_hash, owner, now + window_seconds)
        mail = self._mail()
        rendered = self._render(
            business,
            locale,
            url=self.link_url(business_id, token),
            minutes=LINK_MINUTES,
            unsubscribe_url=mail.unsubscribe_url(business_id, owner),
        )
        outcome = mail.deliver(
            kind="signin",
            dedupe_key=tables.signin_mail(business_id, token_hash),
            business=business,
            to=owner,
            email=rendered,
            to_customer=False,
        )
        count("SigninLinks", outcome=outcome)
        return outcome

    def link_pending(self, business_id: str, token: str) -> bool:
        """Whether the link would sign in now (the page of its GET): reads, uses nothing."""
        if not self._token_shaped(token):
            return False
        return self._store.link_email(business_id, self._token_hash(token), self._now()) is not None

    def use_link(self, business_id: str, token: str) -> str | None:
        """A sealed session for the owner the link was sent to, using the link up; None when it is unknown,
        expired or already used."""
        business = self._directory.business(business_id)
        if business is None or not self._token_shaped(token):
            return None
        email = self._store.consume_link(business_id, self._token_hash(token), self._now())
        if email is None:
            count("SigninRefused", reason="link")
            return None
        fresh = self._directory.fresh(business_id)
        if not any(normalize_address(o) == normalize_address(email) for o in fresh.owner_emails):
            return None  # removed from the owners since the link was sent
        return self._open(fresh, email)

    # ---- by owner key --------------------------------------------------------------------------------

    def with_owner_key(self, business_id: str, owner_key: str) -> str:
        """A sealed session for the owner key's holder. Unauthorized for a wrong key (and the operator's
        admin key: a session is an owner's), NotFound for another business's key."""
        key = owner_key.strip()
        if not key or len(key) > 200:
            raise Unauthorized()
        caller = self._access.authenticate(f"Bearer {key}", business_id)
        if caller.is_admin:
            raise Unauthorized()
        return self._open(caller.business, OWNER_KEY_ACTOR)

    # ---- sessions ------------------------------------------------------------------------------------

    def session(self, business_id: str, sealed: str | None) -> ConsoleSession | None:
        """The signed-in owner of a console cookie, or None: missing, forged, expired, signed out, opened
        under an owner key since rotated. NotFound when it is a valid session of another business."""
        payload = self._payload(sealed)
        if payload is None:
            return None
        if payload["b"] != business_id:
            raise NotFound("Unknown business.")
        business = self._directory.fresh(business_id)  # past the cache: a rotated key ends it at once
        if not keys.same(business.owner_key_hash[:16], payload["k"]):
            return None
        if self._store.session_revoked(business_id, payload["s"]):
            return None
        return ConsoleSession(business, payload["a"], payload["s"])

    def sign_out(self, business_id: str, sealed: str | None) -> bool:
        """This session stops working at once, in every container, copies of the cookie included."""
        payload = self._payload(sealed)
        if payload is None or payload["b"] != business_id:
            return False
        self._store.revoke_session(business_id, payload["s"], payload["e"])
        return True

    def _open(self, business: Business, actor: str) -> str:
        expires = self._now() + SESSION_SECONDS
        payload = {
            "b": business.business_id,
            "k": business.owner_key_hash[:16],
            "s": keys.new_id(16),
            "e": expires,
            "a": actor,
        }
        return keys.seal(self._settings.app_secret, _PURPOSE, payload)

    def _payload(self, sealed: str | None) -> dict[str, Any] | None:
        found = keys.unseal(self._settings.app_secret, _PURPOSE, sealed or "", max_length=768)
        if not isinstance(found, dict):
            return None
        shaped = {"b": str, "k": str, "s": str, "a": str, "e": int}
        if any(not isinstance(found.get(name), kind) for name, kind in shaped.items()):
            return None
        return found if found["e"] > self._now() else None

    # ---- helpers -------------------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self._clock.now().timestamp())

    def _token_hash(self, token: str) -> str:
        return keys.keyed_hash(self._settings.app_secret, _LINK_PURPOSE, token)

    @staticmethod
    def _token_shaped(token: str) -> bool:
        return 0 < len(token) <= _MAX_TOKEN_CHARS and keys.unb64url(token) is not None
