"""Reason chips: the one-tap answers to "What stood out?" after a score. Pure: stdlib only.

A chip is a key (a taxonomy key of ``topics.TOPICS``, or the owner's own ``custom:<slug>``) with a label in
Vietnamese and English. Labels follow the mood of the answer: an unhappy customer taps "Chờ lâu" / "Long
wait", a happy one "Nhanh" / "Quick service", and both store the same key, ``wait``, so reports can set the
two against each other.

Each touchpoint offers, per mood, the owner's own set when one was saved for that mood, else the defaults
of its metric. A touchpoint's saved sets are plain data (as stored):
``{"unhappy": [{"key", "vi"?, "en"?}, ...] | None, "happy": ...}``; a missing or None mood means the
defaults; a taxonomy chip without a label shows its default label.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

from chalicelib.domain.topics import CUSTOM_PREFIX, TOPICS

Mood = Literal["unhappy", "happy"]
MOODS: tuple[Mood, ...] = ("unhappy", "happy")
MAX_CHIPS = 8
MAX_LABEL = 40
CUSTOM_KEY = re.compile(r"^custom:[a-z0-9_-]{1,30}$")

# key -> mood -> (vi, en). Short enough for a chip on a 360 px phone; worded for the mood.
_LABELS: dict[str, dict[Mood, tuple[str, str]]] = {
    "wait": {"unhappy": ("Chờ lâu", "Long wait"), "happy": ("Nhanh", "Quick service")},
    "food_drink": {
        "unhappy": ("Đồ ăn, thức uống chưa ngon", "Food or drinks not great"),
        "happy": ("Đồ ăn, thức uống ngon", "Tasty food and drinks"),
    },
    "staff": {
        "unhappy": ("Nhân viên chưa nhiệt tình", "Unhelpful staff"),
        "happy": ("Nhân viên thân thiện", "Friendly staff"),
    },
    "price": {"unhappy": ("Giá cao", "Too expensive"), "happy": ("Giá hợp lý", "Fair price")},
    "cleanliness": {"unhappy": ("Chưa sạch sẽ", "Not clean"), "happy": ("Sạch sẽ", "Clean")},
    "atmosphere": {
        "unhappy": ("Ồn ào, không thoải mái", "Noisy or uncomfortable"),
        "happy": ("Không gian dễ chịu", "Nice atmosphere"),
    },
    "parking": {"unhappy": ("Khó gửi xe", "Hard to park"), "happy": ("Dễ gửi xe", "Easy parking")},
    "payment": {
        "unhappy": ("Thanh toán bất tiện", "Payment trouble"),
        "happy": ("Thanh toán tiện lợi", "Easy payment"),
    },
    "delivery": {"unhappy": ("Giao hàng có vấn đề", "Delivery problem"), "happy": ("Giao hàng tốt", "Good delivery")},
}

# NPS and CSAT rate the visit as a whole; CES asks how easy it was, so its chips are about getting things done.
_VISIT = ("wait", "food_drink", "staff", "price", "cleanliness", "atmosphere", "payment", "delivery")
_EFFORT = ("wait", "staff", "payment", "delivery", "parking", "price")
_DEFAULT_KEYS: dict[str, dict[Mood, tuple[str, ...]]] = {
    "nps": {"unhappy": _VISIT, "happy": _VISIT},
    "csat": {"unhappy": _VISIT, "happy": _VISIT},
    "ces": {"unhappy": _EFFORT, "happy": _EFFORT},
}


class Chip(NamedTuple):
    key: str
    label: str


def mood(unhappy: bool) -> Mood:
    """The mood of an answer, from ``metrics.is_unhappy`` of its score."""
    return "unhappy" if unhappy else "happy"


def is_key(key: str) -> bool:
    """A key a chip may carry: a taxonomy key or ``custom:<slug>`` (a-z, 0-9, _ and -, 1-30 long)."""
    return key in _LABELS or bool(CUSTOM_KEY.match(key))


def default_label(key: str, of_mood: Mood, locale: str) -> str | None:
    """The default label of a taxonomy key for a mood (None for a ``custom:`` key: it has none)."""
    labels = _LABELS.get(key)
    if labels is None:
        return None
    vi, en = labels[of_mood]
    return en if locale == "en" else vi


def defaults(metric: str, of_mood: Mood) -> list[dict[str, str]]:
    """The default chips of a metric and mood, labels filled: ``[{"key", "vi", "en"}, ...]``."""
    return [_filled({"key": key}, of_mood) for key in _DEFAULT_KEYS[metric][of_mood]]


def effective(metric: str, saved: Mapping[str, Any] | None, of_mood: Mood) -> list[dict[str, str]]:
    """The chips a customer sees for a mood: the owner's set when saved (labels filled), else the defaults."""
    own = (saved or {}).get(of_mood)
    if own is None:
        return defaults(metric, of_mood)
    return [_filled(chip, of_mood) for chip in own]


def effective_sets(metric: str, saved: Mapping[str, Any] | None) -> dict[str, list[dict[str, str]]]:
    """Both moods' chips as the owner's console and API show them."""
    return {m: effective(metric, saved, m) for m in MOODS}


def chips(metric: str, saved: Mapping[str, Any] | None, of_mood: Mood, locale: str) -> list[Chip]:
    """What the thank-you page and the widget show, in ``locale`` ("en", else Vietnamese)."""
    lang = "en" if locale == "en" else "vi"
    return [Chip(chip["key"], chip[lang]) for chip in effective(metric, saved, of_mood)]


def allowed(metric: str, saved: Mapping[str, Any] | None, of_mood: Mood) -> frozenset[str]:
    """The keys an answer of this mood may name at this touchpoint."""
    return frozenset(chip["key"] for chip in effective(metric, saved, of_mood))


def unknown(chosen: Sequence[str], offered: frozenset[str]) -> list[str]:
    """The chosen keys not offered, in the order given (empty: all fine)."""
    return [key for key in chosen if key not in offered]


def unique(chosen: Sequence[str]) -> list[str]:
    """Duplicates collapse, the first one's place kept."""
    return list(dict.fromkeys(chosen))


def _filled(chip: Mapping[str, Any], of_mood: Mood) -> dict[str, str]:
    key = str(chip["key"])
    vi = chip.get("vi") or default_label(key, of_mood, "vi") or key.removeprefix(CUSTOM_PREFIX)
    en = chip.get("en") or default_label(key, of_mood, "en") or key.removeprefix(CUSTOM_PREFIX)
    return {"key": key, "vi": vi, "en": en}


assert set(_LABELS) == set(TOPICS), "every taxonomy key needs its labels"
assert all(len(keys) <= MAX_CHIPS for sets in _DEFAULT_KEYS.values() for keys in sets.values())
