"""The addresses a customer or a website is known by: email addresses and web origins. Pure: stdlib only.

Email, one rule for the API and the mail layer: a bare address (no display name, no CR/LF, no quoting
tricks), since addresses end up in headers of emails we send.

One person, one identity for email limits (issue #11 item 4): ``Foo.Bar+x@Gmail.com``,
``foobar@googlemail.com`` and ``FOOBAR@gmail.com`` reach the same mailbox, so they earn one voucher and
share one daily cap. No secret here (the caller hashes the result with its key).

Rules, kept deliberately few and safe (a rule that merged two real people would refuse one of them a
voucher, nothing worse):

* case is ignored and surrounding spaces trimmed;
* a ``+tag`` is dropped from the local part (sub-addressing, honoured by Gmail, Outlook, iCloud, Fastmail
  and most hosts);
* for Gmail (``gmail.com`` and its alias ``googlemail.com``) dots in the local part are ignored and both
  domains are one.

Origins: what a browser sends in ``Origin`` and what a business lists as ``allowed_origins``, both
normalised the same way so that one comparison decides.
"""

from __future__ import annotations

import re

from chalicelib.domain import keys

GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
MAX_ADDRESS_CHARS = 254
_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$")


def is_plain_address(address: str | None) -> bool:
    """A bare address like ``name@example.com``: nothing a mail header could be bent with."""
    if not address or len(address) > MAX_ADDRESS_CHARS:
        return False
    return bool(_ADDRESS.match(address)) and ".." not in address


def email_hash(secret: str, address: str) -> str:
    """The keyed hash stored instead of an address wherever only lookup is needed (responses, links,
    vouchers, suppressions, dead letters): the same for every spelling of case and surrounding space."""
    return keys.keyed_hash(secret, "email", address.strip().lower())


def normalize_address(address: str) -> str:
    """The identity of an address for limits and caps: never used to send, only hashed and compared."""
    local, at, domain = address.strip().lower().rpartition("@")
    if not at or not local:
        return address.strip().lower()
    base = local.split("+", 1)[0] or local  # "+tag@x" alone has no base: keep it as is
    if domain in GMAIL_DOMAINS:
        base = base.replace(".", "") or base
        domain = "gmail.com"
    return f"{base}@{domain}"


def normalize_origin(origin: str) -> str:
    """``Origin`` as stored and compared: trimmed, lowercase, no trailing slash."""
    return origin.strip().lower().rstrip("/")


def is_origin(origin: str) -> bool:
    """A normalised origin: scheme, host and an optional port, nothing else (no path, no credentials)."""
    return bool(_ORIGIN.match(origin))


def allowed_origin(origin: str | None, allowed: list[str]) -> str | None:
    """``origin`` normalised when it is one of ``allowed`` (a business's ``allowed_origins``), else None."""
    normalised = normalize_origin(origin or "")
    return normalised if is_origin(normalised) and normalised in allowed else None
