"""The complaint inbox's rules and figures (chalicelib/domain/cases.py), with hand-computed examples."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from chalicelib.domain.calendar import iso_utc
from chalicelib.domain.cases import (
    MAX_REPLIES,
    Case,
    CaseEvent,
    CasesQuery,
    ReplyIn,
    ResolveIn,
    Status,
    check_reply,
    check_resolve,
    overdue,
    resolution_figures,
    status_after_reply,
    status_when_opened,
)
from chalicelib.errors import Conflict

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def case(
    hours_to_reply: float | None = None,
    hours_to_resolve: float | None = None,
    *,
    contact: bool = True,
    status: Status | None = None,
    replies: int | None = None,
    start: datetime = T0,
) -> Case:
    first = iso_utc(start + timedelta(hours=hours_to_reply)) if hours_to_reply is not None else None
    resolved = iso_utc(start + timedelta(hours=hours_to_resolve)) if hours_to_resolve is not None else None
    derived: Status = "resolved" if resolved else "replied" if first else "open" if contact else "no_contact"
    return Case(
        response_id="r" + str(abs(hash((hours_to_reply, hours_to_resolve, contact, start))) % 10**8),
        status=status or derived,
        score=2,
        metric="nps",
        created_at=iso_utc(start),
        history=[CaseEvent(at=iso_utc(start), by="customer", action="opened")],
        touchpoint_id="tp0001",
        channel="qr",
        has_contact=contact,
        replies=replies if replies is not None else (1 if first else 0),
        first_reply_at=first,
        resolved_at=resolved,
    )


# ---- transitions ----------------------------------------------------------------------------------------


def test_a_case_opens_only_with_a_consented_address_else_waits_without_contact() -> None:
    assert status_when_opened(True) == "open"
    assert status_when_opened(False) == "no_contact"


def test_a_reply_moves_an_open_case_to_replied_and_keeps_a_replied_one_replied() -> None:
    assert status_after_reply("open") == "replied"
    assert status_after_reply("replied") == "replied"
    with pytest.raises(ValueError):
        status_after_reply("resolved")


@pytest.mark.parametrize(
    ("made", "code"),
    [
        (case(1, 2), "case_resolved"),
        (case(contact=False), "no_contact"),
        (case(1, replies=MAX_REPLIES), "reply_limit"),
    ],
)
def test_a_reply_is_refused_when_resolved_without_contact_or_after_five(made: Case, code: str) -> None:
    with pytest.raises(Conflict) as refused:
        check_reply(made)
    assert refused.value.code == code


def test_a_fourth_reply_is_still_allowed() -> None:
    check_reply(case(1, replies=MAX_REPLIES - 1))


def test_a_resolved_case_cannot_be_resolved_again_but_any_other_can() -> None:
    for fine in (case(), case(1), case(contact=False)):
        check_resolve(fine)
    with pytest.raises(Conflict) as refused:
        check_resolve(case(1, 3))
    assert refused.value.code == "case_resolved"


def test_an_open_case_is_overdue_after_24_hours_and_a_replied_one_never() -> None:
    assert not overdue(case(), T0 + timedelta(hours=24))
    assert overdue(case(), T0 + timedelta(hours=24, seconds=1))
    assert not overdue(case(30), T0 + timedelta(days=3))
    assert not overdue(case(contact=False), T0 + timedelta(days=3))


# ---- the API's models -----------------------------------------------------------------------------------


def test_a_reply_keeps_line_breaks_normalises_to_nfc_and_refuses_control_characters() -> None:
    assert ReplyIn(message="Xin lo\u0302\u0303i\r\nLần sau").message == "Xin lỗi\nLần sau"
    for bad in ("", "   \n ", "a\x00b", "tab\there", "x" * 2001, "a\u2028b"):
        with pytest.raises(ValidationError):
            ReplyIn(message=bad)
    assert len(ReplyIn(message="x" * 2000).message) == 2000


def test_a_resolve_note_is_optional_and_at_most_2000_characters() -> None:
    assert ResolveIn().note is None
    assert ResolveIn(note="").note is None
    assert ResolveIn(note="Đã gọi điện").note == "Đã gọi điện"
    with pytest.raises(ValidationError):
        ResolveIn(note="x" * 2001)


def test_the_inbox_query_takes_a_known_status_a_bounded_cursor_and_1_to_100_items() -> None:
    assert CasesQuery().limit == 20 and CasesQuery().status is None
    for bad in ({"status": "closed"}, {"limit": 0}, {"limit": 101}, {"cursor": "c" * 1025}, {"other": 1}):
        with pytest.raises(ValidationError):
            CasesQuery.model_validate(bad)


# ---- figures (hand-computed) ----------------------------------------------------------------------------


def test_figures_of_no_case_are_null_never_zero() -> None:
    figures = resolution_figures([])
    for figure in (figures.median_hours_to_reply, figures.median_hours_to_resolve, figures.contacted_within_24h_pct):
        assert figure.value is None and figure.n == 0


def test_figures_by_hand() -> None:
    cases = [
        case(2, 5),  # replied in 2 h, resolved in 5 h
        case(30),  # replied after 30 h: not within 24 h
        case(6.25, 48),  # 6.25 h, resolved in 48 h
        case(contact=False, hours_to_resolve=1, status="resolved"),  # no address: not in the 24 h share
        case(),  # open, never replied, 4 days old at `now`: counts as not contacted
    ]
    now = T0 + timedelta(days=4)
    figures = resolution_figures(cases, now)
    # replies after 2, 6.25 and 30 h: the median is 6.25 h, shown with one decimal
    assert figures.median_hours_to_reply.n == 3
    assert figures.median_hours_to_reply.value in (6.2, 6.3)
    # resolutions: 1, 5, 48 -> median 5.0
    assert (figures.median_hours_to_resolve.value, figures.median_hours_to_resolve.n) == (5.0, 3)
    # with an address: 4 cases; within 24 h: 2 -> 50.0 %
    assert (figures.contacted_within_24h_pct.value, figures.contacted_within_24h_pct.n) == (50.0, 4)


def test_a_young_case_without_a_reply_is_left_out_of_the_24_hour_share_until_its_day_is_over() -> None:
    young = case(start=T0)
    replied = case(1, start=T0 - timedelta(days=1))
    assert resolution_figures([young, replied], T0 + timedelta(hours=3)).contacted_within_24h_pct.n == 1
    late = resolution_figures([young, replied], T0 + timedelta(hours=25)).contacted_within_24h_pct
    assert (late.value, late.n) == (50.0, 2)


def test_an_even_number_of_replies_takes_the_mean_of_the_middle_two() -> None:
    figures = resolution_figures([case(1), case(2), case(3), case(10)])
    assert figures.median_hours_to_reply.value == 2.5


@given(st.lists(st.tuples(st.integers(0, 30_000), st.booleans()), max_size=30))
def test_figures_stay_within_their_ranges_and_count_what_they_cover(minutes: list[tuple[int, bool]]) -> None:
    entries = [(m / 60, replied) for m, replied in minutes]
    cases = [case(h if replied else None, contact=True) for h, replied in entries]
    figures = resolution_figures(cases, T0 + timedelta(days=30))
    replied = [h for h, r in entries if r]
    assert figures.median_hours_to_reply.n == len(replied)
    if replied:
        assert figures.median_hours_to_reply.value == pytest.approx(round(statistics.median(replied), 1), abs=0.051)
        assert min(replied) - 0.05 <= (figures.median_hours_to_reply.value or 0) <= max(replied) + 0.05
    share = figures.contacted_within_24h_pct
    assert share.n == len(entries)
    assert (share.value is None) == (not entries)
    if share.value is not None:
        within = sum(1 for h, r in entries if r and h <= 24)
        assert share.value == round(100 * within / len(entries), 1)
