"""Reason chips (#15): the defaults per metric and mood, a touchpoint's own set, and what an answer may name."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.domain import reasons, topics
from chalicelib.domain.models import ReasonSets, TouchpointPatch


@pytest.mark.parametrize("metric", ["nps", "csat", "ces"])
@pytest.mark.parametrize("mood", reasons.MOODS)
def test_every_default_set_holds_at_most_8_taxonomy_chips_labelled_in_both_languages(
    metric: str, mood: reasons.Mood
) -> None:
    chips = reasons.defaults(metric, mood)
    assert 1 <= len(chips) <= 8
    for chip in chips:
        assert chip["key"] in topics.TOPICS
        assert 1 <= len(chip["vi"]) <= 40 and 1 <= len(chip["en"]) <= 40
        assert chip["vi"] != chip["en"]


def test_labels_fit_the_mood_while_the_key_stays_the_same() -> None:
    assert reasons.chips("nps", None, "unhappy", "vi")[0] == reasons.Chip("wait", "Chờ lâu")
    assert reasons.chips("nps", None, "unhappy", "en")[0] == reasons.Chip("wait", "Long wait")
    assert reasons.chips("nps", None, "happy", "vi")[0] == reasons.Chip("wait", "Nhanh")
    assert reasons.chips("nps", None, "happy", "en")[0] == reasons.Chip("wait", "Quick service")


def test_vietnamese_labels_are_written_with_their_diacritics() -> None:
    vietnamese = " ".join(chip["vi"] for m in reasons.MOODS for chip in reasons.defaults("nps", m))
    assert "ờ" in vietnamese and "đ" in vietnamese.lower() and "ệ" in vietnamese


def test_the_mood_is_unhappy_for_an_unhappy_score() -> None:
    assert reasons.mood(True) == "unhappy" and reasons.mood(False) == "happy"


def test_a_touchpoints_own_set_replaces_the_defaults_of_that_mood_only() -> None:
    saved = ReasonSets.model_validate(
        {"unhappy": [{"key": "custom:ice", "vi": "Nhiều đá", "en": "Too much ice"}, {"key": "price", "en": "Pricey"}]}
    ).model_dump(mode="json")
    assert reasons.chips("csat", saved, "unhappy", "vi") == [
        reasons.Chip("custom:ice", "Nhiều đá"), reasons.Chip("price", "Giá cao")
    ]
    assert reasons.chips("csat", saved, "unhappy", "en")[1] == reasons.Chip("price", "Pricey")
    assert reasons.effective("csat", saved, "happy") == reasons.defaults("csat", "happy")
    assert reasons.allowed("csat", saved, "unhappy") == {"custom:ice", "price"}
    assert "wait" not in reasons.allowed("csat", saved, "unhappy")


def test_an_empty_list_offers_no_chips_for_that_mood() -> None:
    saved = ReasonSets.model_validate({"happy": []}).model_dump(mode="json")
    assert reasons.chips("nps", saved, "happy", "vi") == []
    assert reasons.allowed("nps", saved, "happy") == frozenset()


def test_duplicates_collapse_in_order_and_unknown_keys_are_named() -> None:
    assert reasons.unique(["wait", "price", "wait"]) == ["wait", "price"]
    assert reasons.unknown(["wait", "nope"], frozenset({"wait"})) == ["nope"]


@pytest.mark.parametrize(
    "chip",
    [
        {"key": "noise"},  # not a taxonomy key
        {"key": "custom:"},
        {"key": "custom:" + "a" * 31},
        {"key": "custom:Đá", "vi": "Đá", "en": "Ice"},
        {"key": "custom:ice", "en": "Ice"},  # a custom chip needs both labels
        {"key": "wait", "vi": ""},
        {"key": "wait", "vi": "a\nb"},
        {"key": "wait", "vi": "x" * 41},
        {"key": "wait", "colour": "red"},
    ],
)
def test_a_bad_chip_is_refused(chip: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        ReasonSets.model_validate({"unhappy": [chip]})


def test_a_set_holds_at_most_8_chips_each_once_and_null_is_refused() -> None:
    nine = [{"key": k} for k in topics.TOPICS]
    with pytest.raises(ValidationError):
        ReasonSets.model_validate({"happy": nine})
    with pytest.raises(ValidationError):
        ReasonSets.model_validate({"happy": [{"key": "wait"}, {"key": "wait"}]})
    with pytest.raises(ValidationError):
        ReasonSets.model_validate({"happy": None})
    with pytest.raises(ValidationError):
        TouchpointPatch.model_validate({"reasons": None})
    assert ReasonSets.model_validate({"happy": nine[:8]}).happy is not None
