"""Identifiers, API keys, keyed hashes and small signed blobs (edit tokens, cursors). Pure stdlib.

Owner keys carry their business id in clear (``ok_<biz>_<secret>``): the key check is then one
cached read of the business plus a constant-time comparison of keyed hashes, with no index on secrets.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from functools import lru_cache
from typing import Any

# Crockford-like lowercase base32 without i, l, o, u: unambiguous when read aloud or typed.
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_OWNER_KEY = re.compile(r"^ok_([0-9a-z]{6,16})_([0-9a-z]{32})$")
_SITE_KEY = re.compile(r"^sk_([0-9a-z]{6,16})_([0-9a-z]{16})$")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def new_id(length: int = 10) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def new_owner_key(business_id: str) -> str:
    return f"ok_{business_id}_{new_id(32)}"  # 160 bits


def new_site_key(business_id: str) -> str:
    # Public (pasted into web pages); it names the business, the Origin check guards it.
    return f"sk_{business_id}_{new_id(16)}"


def owner_key_business(key: str) -> str | None:
    match = _OWNER_KEY.match(key)
    return match.group(1) if match else None


def site_key_business(key: str) -> str | None:
    match = _SITE_KEY.match(key)
    return match.group(1) if match else None


def keyed_hash(secret: str, purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` under a key derived for ``purpose``: stored instead of the value
    wherever only lookup or comparison is needed (owner keys, respondent emails, fingerprints)."""
    return hmac.new(_purpose_key(secret, purpose), value.encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=32)
def _purpose_key(secret: str, purpose: str) -> bytes:
    # A handful of (secret, purpose) pairs per container; a submission hashes two or three values.
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def b64url(data: bytes) -> str:
    """base64url (RFC 4648 section 5) without ``=`` padding: tokens, secrets, sealed blobs."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes | None:
    """The bytes of :func:`b64url` text, or None unless ``text`` is exactly what :func:`b64url` makes:
    its alphabet only, no padding, no whitespace, canonical (unused low bits zero), so each byte string
    has one spelling and a signature over the text is a signature over the bytes."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        return None
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if b64url(data) == text else None


def seal(secret: str, purpose: str, payload: Any) -> str:
    """A compact signed (not encrypted) blob: base64url(JSON) + "." + base64url(MAC[:16])."""
    body = b64url(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    return f"{body}.{_mac(secret, purpose, body)}"


def unseal(secret: str, purpose: str, blob: str, max_length: int = 1024) -> Any | None:
    """The payload of a blob made by :func:`seal`, or None if anything about it is wrong."""
    if not isinstance(blob, str) or len(blob) > max_length or blob.count(".") != 1:
        return None
    body, mac = blob.split(".")
    if not hmac.compare_digest(mac.encode(), _mac(secret, purpose, body).encode()):
        return None
    raw = unb64url(body)
    if raw is None:
        return None
    try:
        return json.loads(raw.decode())
    except (UnicodeDecodeError, ValueError):
        return None


def _mac(secret: str, purpose: str, body: str) -> str:
    key = hmac.new(secret.encode(), ("seal:" + purpose).encode(), hashlib.sha256).digest()
    return b64url(hmac.new(key, body.encode(), hashlib.sha256).digest()[:16])
