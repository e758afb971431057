"""Cookies and the CSRF guard of the owner's HTML forms (the dashboard and the console): one implementation.

The guard is a double-submit of a random value the page puts in a cookie of its own, the form field being
that value sealed under the app secret with a purpose naming the page and the business. No server state;
a POST whose field does not match the cookie is refused (a friendly 403 page) and changes nothing. An
existing cookie is reused, so two open tabs both keep working.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any, Literal

from chalicelib.domain import keys
from chalicelib.web import http

_NONCE = re.compile(r"^[0-9a-z]{24}$")


def cookie_value(request: Any, name: str) -> str | None:
    """The value of one cookie the browser sent, or None (absent, or a Cookie header we cannot read)."""
    raw = http.header(request, "cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


@dataclass(frozen=True)
class CookieJar:
    """The cookies of one page family of one business: where they live and how strictly they travel.

    ``same_site`` Strict for the dashboard; Lax for the console, so a link in the owner's digest email opens
    it signed in (every state-changing request is a POST carrying the CSRF token, which Lax never sends
    cross-site). ``secure`` is dropped only for the plain-http local run, where a browser would not keep it.
    """

    path: str  # e.g. /dashboard/{biz}
    csrf_name: str  # the CSRF cookie's name
    purpose: str  # what the sealed field is bound to (page family + business)
    max_age: int
    same_site: Literal["Strict", "Lax"] = "Strict"
    secure: bool = True

    def header(self, name: str, value: str, max_age: int | None = None) -> str:
        """A Set-Cookie header value: HttpOnly always, scoped to this page family's path."""
        age = self.max_age if max_age is None else max_age
        secure = "Secure; " if self.secure else ""
        return f"{name}={value}; Path={self.path}; Max-Age={age}; HttpOnly; {secure}SameSite={self.same_site}"

    def csrf(self, secret: str, request: Any) -> tuple[str, str | None]:
        """(the form's token, a Set-Cookie header when the browser has no CSRF cookie yet)."""
        nonce = cookie_value(request, self.csrf_name)
        set_cookie = None
        if not nonce or not _NONCE.match(nonce):
            nonce = keys.new_id(24)
            set_cookie = self.header(self.csrf_name, nonce)
        return keys.seal(secret, self.purpose, nonce), set_cookie

    def csrf_ok(self, secret: str, request: Any, form: dict[str, str]) -> bool:
        """The form's token is this browser's cookie value, sealed by us for this page family."""
        nonce = cookie_value(request, self.csrf_name)
        sealed = keys.unseal(secret, self.purpose, form.get("csrf") or "", 256)
        return bool(nonce) and isinstance(sealed, str) and keys.same(sealed, nonce or "")
