"""Page-view nonces: the proof that an answer to a shared link comes from one view of its page (#11 item 1).

A static QR on a table or a widget on a shop's site is one link for everyone, so the network (address,
User-Agent, language) cannot tell two customers apart. Instead each page view gets a nonce: a random id
signed (keyed HMAC under the app secret) together with the business, what it was issued for (a touchpoint
link or a site key) and an expiry. The answer claims the nonce's id in the same DynamoDB transaction that
stores it, so a nonce yields at most one stored answer (its own edits within the edit window) and costs no
extra call. Pure: stdlib only, no I/O; the caller passes the secret and the time.

Format: ``keys.seal`` of ``[version, kind, business_id, subject, expires_at, id]``, about 110 characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from chalicelib.domain import keys
from chalicelib.errors import Expired, InvalidInput

VERSION = 1
MAX_NONCE_CHARS = 256
ID_CHARS = 20  # 100 bits of randomness: never guessed, never repeated
_PURPOSE = "page-nonce"

Kind = Literal["link", "site"]  # a touchpoint link's page, or a widget's site config


@dataclass(frozen=True)
class PageNonce:
    kind: Kind
    business_id: str
    subject: str  # the touchpoint id for a link; a keyed hash of the site key for a widget
    expires_at: int
    nonce_id: str


def site_subject(secret: str, site_key: str) -> str:
    """What a widget's nonce is bound to: the site key, hashed (rotating the key retires its nonces)."""
    return keys.keyed_hash(secret, "nonce-site", site_key)[:16]


def issue(secret: str, kind: Kind, business_id: str, subject: str, now: int, ttl_seconds: int) -> str:
    return keys.seal(secret, _PURPOSE, [VERSION, kind, business_id, subject, now + ttl_seconds, keys.new_id(ID_CHARS)])


def verify(secret: str, nonce: str | None, kind: Kind, business_id: str, subject: str, now: int) -> PageNonce:
    """The nonce's claims once its MAC checks out, it was issued for exactly this business and link or site,
    and it has not expired. Raises InvalidInput (``nonce_required``, ``invalid_nonce``) or Expired
    (``nonce_expired``). The MAC is checked first, so a forged nonce never reports that it expired."""
    if not nonce:
        raise InvalidInput(
            "This answer needs the nonce of the page it was given on: open the survey again.", code="nonce_required"
        )
    payload = keys.unseal(secret, _PURPOSE, nonce, max_length=MAX_NONCE_CHARS)
    if not (
        isinstance(payload, list)
        and len(payload) == 6
        and payload[0] == VERSION
        and payload[1] in ("link", "site")
        and all(isinstance(p, str) for p in (payload[2], payload[3], payload[5]))
        and isinstance(payload[4], int)
        and not isinstance(payload[4], bool)
    ):
        raise InvalidInput("This page's nonce is not valid: open the survey again.", code="invalid_nonce")
    found = PageNonce(payload[1], payload[2], payload[3], payload[4], payload[5])
    # Bound to where it was issued: a nonce scraped from one café's page is no proof for another's link.
    if not (found.kind == kind and keys.same(found.business_id, business_id) and keys.same(found.subject, subject)):
        raise InvalidInput("This nonce was issued for another survey: open this survey again.", code="invalid_nonce")
    if now >= found.expires_at:
        raise Expired("This page is out of date: open the survey again to answer.", code="nonce_expired")
    return found
