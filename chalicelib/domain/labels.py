"""Owner-defined labels of where and when an answer was given: ``{"table": "5", "shift": "tối"}``.

A touchpoint carries labels (one table card per table: a touchpoint per table with ``{"table": "5"}``) and
so may a minted link, inside its signed token (a till prints them offline). An answer keeps the
touchpoint's labels overlaid by its link's. Pure: stdlib only, shared by the models and the token codec.

Rules: a name matches ``^[a-z][a-z0-9_]{0,15}$`` (suggested: table, area, staff, shift, till; any name
allowed); a value is 1..32 characters of one line, NFC, without control characters or surrounding
spaces; at most 4 labels per touchpoint or link.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

MAX_LABELS = 4
MAX_NAME_CHARS = 16
MAX_VALUE_CHARS = 32
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,15}$"
SUGGESTED = ("table", "area", "staff", "shift", "till")
# The label of one person: hidden from listings and refused as a group unless the owner turns staff views on.
STAFF = "staff"
# The metrics group of the answers that do not carry the label asked for.
NO_LABEL = ""

_NAME = re.compile(NAME_PATTERN)
# C0/C1 controls, tab and newline: a value is printed on one line of a receipt, a card, a CSV cell.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"a label name is 1-{MAX_NAME_CHARS} characters a-z, 0-9 or _, starting with a letter")
    return name


def clean_value(value: str) -> str:
    """The canonical form of a value an owner typed: NFC (Vietnamese typed precomposed or combining
    compares equal), without surrounding spaces. ValueError when it breaks a rule."""
    value = unicodedata.normalize("NFC", value).strip()
    if _CONTROL.search(value):
        raise ValueError("a label value is one line without control characters")
    if not 1 <= len(value) <= MAX_VALUE_CHARS:
        raise ValueError(f"a label value is 1-{MAX_VALUE_CHARS} characters")
    return value


def cleaned(labels: Mapping[str, str]) -> dict[str, str]:
    """Labels an owner sent, validated and canonical: values cleaned, names sorted."""
    if len(labels) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} labels")
    return {check_name(name): clean_value(labels[name]) for name in sorted(labels)}


def is_canonical(labels: Mapping[str, str]) -> bool:
    """True when ``labels`` are exactly what :func:`cleaned` makes of them (what a token must carry, so
    that one set of labels has one encoding)."""
    try:
        return list(cleaned(labels).items()) == list(labels.items())
    except (ValueError, TypeError):
        return False


def overlay(touchpoint: Mapping[str, str], link: Mapping[str, str]) -> dict[str, str]:
    """An answer's labels: the touchpoint's, overlaid by its link's (the link wins per name), sorted."""
    merged = {**touchpoint, **link}
    return {name: merged[name] for name in sorted(merged)}


def visible_labels(labels: Mapping[str, str], staff_views: bool) -> dict[str, str]:
    """What an owner's listings, exports and reports show: every label but ``staff`` while staff views are
    off (per-person scores invite gaming; team labels such as shift and area stay)."""
    return {name: value for name, value in labels.items() if staff_views or name != STAFF}


def staff_grouping(label: str, staff_views: bool) -> bool:
    """True when grouping by ``label`` would show per-person figures the owner has not turned on."""
    return label == STAFF and not staff_views
