"""Issue #15: the rules of an owner's labels, an answer's labels (touchpoint overlaid by link) and what an
owner sees of them while staff views are off."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from chalicelib.domain import labels
from chalicelib.domain.models import BusinessPatch, LinksIn, MetricsQuery, TouchpointIn, TouchpointPatch


def test_vietnamese_values_are_kept_composed_and_trimmed_and_names_sorted():
    typed = {"table": " 5 ", "area": unicodedata.normalize("NFD", "Sân vườn")}
    assert list(labels.cleaned(typed).items()) == [("area", "Sân vườn"), ("table", "5")]
    assert labels.is_canonical({"area": "Sân vườn", "table": "5"})
    assert not labels.is_canonical(typed)
    assert not labels.is_canonical({"table": "5", "area": "x"})  # unsorted


def test_a_value_of_32_characters_typed_with_combining_marks_fits():
    typed = unicodedata.normalize("NFD", "ệ" * 32)
    assert len(typed) > 32 and labels.clean_value(typed) == "ệ" * 32


@pytest.mark.parametrize("name", ["", "Table", "1st", "_x", "a-b", "bàn", "x" * 17, "table "])
def test_a_label_name_is_lowercase_ascii_starting_with_a_letter(name):
    with pytest.raises(ValueError):
        labels.check_name(name)


@pytest.mark.parametrize("name", ["a", "table", "till_2", "x" * 16])
def test_any_well_formed_name_is_allowed_not_only_the_suggested_ones(name):
    assert labels.check_name(name) == name


@pytest.mark.parametrize("value", ["", "   ", "a\nb", "a\tb", "a\x00", "a\u2028b", "x" * 33])
def test_a_label_value_is_one_line_of_1_to_32_characters(value):
    with pytest.raises(ValueError):
        labels.clean_value(value)


def test_at_most_four_labels():
    assert len(labels.cleaned({"a": "1", "b": "2", "c": "3", "d": "4"})) == 4
    with pytest.raises(ValueError):
        labels.cleaned({"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"})


def test_the_link_s_label_wins_per_name_over_the_touchpoint_s():
    merged = labels.overlay({"table": "5", "area": "Sân vườn"}, {"table": "7", "shift": "tối"})
    assert list(merged.items()) == [("area", "Sân vườn"), ("shift", "tối"), ("table", "7")]
    assert labels.overlay({}, {}) == {}


def test_while_staff_views_are_off_only_the_staff_label_is_hidden():
    answer = {"shift": "tối", "staff": "Lan", "area": "Sân vườn"}
    assert labels.visible_labels(answer, staff_views=False) == {"shift": "tối", "area": "Sân vườn"}
    assert labels.visible_labels(answer, staff_views=True) == answer
    assert labels.staff_grouping("staff", staff_views=False)
    assert not labels.staff_grouping("staff", staff_views=True)
    assert not labels.staff_grouping("shift", staff_views=False)


@given(st.dictionaries(st.sampled_from(["table", "staff", "shift", "till"]), st.text(min_size=1, max_size=3)),
       st.booleans())
def test_visible_labels_never_adds_or_changes_a_label(answer, staff_views):
    shown = labels.visible_labels(answer, staff_views)
    assert shown.items() <= answer.items()
    assert set(answer) - set(shown) <= ({"staff"} if not staff_views else set())


def test_the_api_models_take_labels_on_touchpoints_links_and_patches():
    made = TouchpointIn(name="Bàn 5", channel="qr", metric="nps", labels={"table": "5"})
    assert made.labels == {"table": "5"}
    assert TouchpointIn(name="Bàn 5", channel="qr", metric="nps").labels == {}
    assert LinksIn(touchpoint_id="tp000001", labels={"till": "2"}).labels == {"till": "2"}
    assert TouchpointPatch(labels={}).model_dump(include={"labels"}) == {"labels": {}}
    with pytest.raises(ValidationError):
        TouchpointPatch(labels=None)
    assert BusinessPatch(staff_views=True).model_dump(include={"staff_views"}) == {"staff_views": True}
    with pytest.raises(ValidationError):
        BusinessPatch(staff_views="yes")


@pytest.mark.parametrize("group_by", ["day", "touchpoint", "channel", "label:table", "label:staff", "label:x_1"])
def test_metrics_group_by_a_label_or_as_before(group_by):
    assert MetricsQuery(group_by=group_by).group_by == group_by


@pytest.mark.parametrize("group_by", ["label:", "label:Table", "label", "labels:table", "label:table:5", "week"])
def test_a_malformed_group_by_is_refused(group_by):
    with pytest.raises(ValidationError):
        MetricsQuery(group_by=group_by)
