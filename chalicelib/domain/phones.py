"""A customer's phone number, for Zalo (issue #16). Pure: stdlib only.

Zalo accounts, and so Zalo Notification Service messages, belong to Vietnamese mobile numbers, so that is
what is accepted: a number a person types on a receipt's thank-you page in any of the ways Vietnamese
people write it (``0912 345 678``, ``0912.345.678``, ``+84 912 345 678``, ``84912345678``,
``(+84) 0912-345-678``), and the 11-digit numbers of before the 2018 renumbering (``0168 …`` is
``038 …``), which people still have on old cards. One number, one spelling: E.164, ``+84`` and nine digits.

Landlines (``02…``) and other countries' numbers are refused with a sentence saying what is accepted:
no message could reach them.

The keyed hash is the lookup value wherever only lookup is needed (erasure, caps), as for email
addresses; the clear number is kept only on the answer whose customer agreed to be messaged.
"""

from __future__ import annotations

import re

from chalicelib.domain import keys

MAX_INPUT_CHARS = 32
# What a person may type around the digits: spaces (also non-breaking ones from copy and paste), dots,
# dashes, slashes and parentheses.
_SEPARATORS = re.compile(r"[\s.\-/()\u00a0]")
# After the country code: a mobile number is nine digits starting 3, 5, 7, 8 or 9 (every network's
# prefixes since the 2018 renumbering: Viettel 03x/086/09x, Vinaphone 08x/091/094, MobiFone 07x/089/090/093,
# Vietnamobile 05x/092, Gmobile 059/099, iTel 087).
_MOBILE = re.compile(r"^[35789][0-9]{8}$")
# The 2018 renumbering of 11-digit mobiles: old prefix (after the 0) -> new one.
_RENUMBERED = {
    "120": "70", "121": "79", "122": "77", "126": "76", "128": "78",
    "123": "83", "124": "84", "125": "85", "127": "81", "129": "82",
    "162": "32", "163": "33", "164": "34", "165": "35", "166": "36", "167": "37", "168": "38", "169": "39",
    "186": "56", "188": "58", "199": "59",
}  # fmt: skip

NOT_A_MOBILE = (
    "must be a Vietnamese mobile number, like 0912 345 678 or +84 912 345 678 "
    "(Zalo messages reach mobiles only)"
)


def normalize(raw: str) -> str:
    """``raw`` as E.164 (``+84912345678``); ValueError with a sentence a person can act on otherwise."""
    if not isinstance(raw, str) or len(raw) > MAX_INPUT_CHARS:
        raise ValueError(NOT_A_MOBILE)
    compact = _SEPARATORS.sub("", raw.strip())
    if compact.startswith("+"):
        if not compact.startswith("+84"):
            raise ValueError(NOT_A_MOBILE)
        national = compact[3:]
    elif compact.startswith("0084"):
        national = compact[4:]
    elif compact.startswith("84") and len(compact) in (11, 12):
        national = compact[2:]
    else:
        national = compact
    if not national.isascii() or not national.isdigit():
        raise ValueError(NOT_A_MOBILE)
    national = national.removeprefix("0")  # "+84 0912…" is written too
    if len(national) == 10 and national[:3] in _RENUMBERED:
        national = _RENUMBERED[national[:3]] + national[3:]
    if not _MOBILE.match(national):
        raise ValueError(NOT_A_MOBILE)
    return "+84" + national


def zalo_format(e164: str) -> str:
    """The spelling Zalo's API takes: the country code without the plus (``84912345678``)."""
    return e164.removeprefix("+")


def masked(e164: str) -> str:
    """For owners' pages and logs: enough to recognise a number, not to call it (``+84 91x xxx 678``)."""
    national = e164.removeprefix("+84")
    return f"+84 {national[:2]}x xxx {national[-3:]}" if len(national) == 9 else "+84 …"


def phone_hash(secret: str, e164: str) -> str:
    """The keyed hash stored for lookup (erasure, caps): one value per number, however it was typed."""
    return keys.keyed_hash(secret, "phone", e164)
