"""One person, one identity for email limits (issue #11 item 4): ``Foo.Bar+x@Gmail.com``,
``foobar@googlemail.com`` and ``FOOBAR@gmail.com`` reach the same mailbox, so they earn one voucher and
share one daily cap. Pure: no I/O, no secret (the caller hashes the result with its key).

Rules, kept deliberately few and safe (a rule that merged two real people would refuse one of them a
voucher, nothing worse):

* case is ignored and surrounding spaces trimmed;
* a ``+tag`` is dropped from the local part (sub-addressing, honoured by Gmail, Outlook, iCloud, Fastmail
  and most hosts);
* for Gmail (``gmail.com`` and its alias ``googlemail.com``) dots in the local part are ignored and both
  domains are one.
"""

from __future__ import annotations

GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


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
