"""The complaint inbox's service (chalicelib/services/cases.py) with the in-memory fakes: cases opened by the
stream, replies emailed and threaded, the refusals that change nothing, resolution, and the figures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib import tables
from chalicelib.domain.cases import CaseEvent, CasesQuery, ReplyIn, ResolveIn
from chalicelib.domain.models import Business
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.services.access import Caller
from chalicelib.services.mail import address_hash
from tests.unit.test_followups_fakes import SETTINGS, Loop


@pytest.fixture
def loop() -> Loop:
    made = Loop()
    made.add_business()
    return made


def owner(business: Business, actor: str = "owner key") -> Caller:
    return Caller(business, is_admin=False, actor=actor)


def biz(loop: Loop) -> Business:
    found = loop.businesses.get_business("biz001")
    assert found is not None
    return found


def unhappy(loop: Loop, **over: Any) -> str:
    response = loop.response(2, **over)
    loop.followups.handle(response)
    return response.response_id


def test_an_unhappy_answer_opens_one_case_however_often_the_stream_delivers_it(loop: Loop) -> None:
    response = loop.response(1)
    for _ in range(3):
        loop.followups.handle(response)
    (stored,) = loop.cases.cases.values()
    assert stored.case.status == "open" and stored.case.has_contact
    assert [e.action for e in stored.case.history] == ["opened"]


def test_a_happy_answer_opens_no_case(loop: Loop) -> None:
    loop.followups.handle(loop.response(9))
    assert loop.cases.cases == {}


def test_an_answer_without_an_address_waits_as_no_contact_and_opens_when_one_is_added(loop: Loop) -> None:
    first = loop.response(2, email=None)
    loop.followups.handle(first)
    assert loop.inbox.get(owner(biz(loop)), first.response_id).status == "no_contact"
    hashed = address_hash(SETTINGS.app_secret, "late@example.com")
    later = first.model_copy(update={"email": "late@example.com", "email_hash": hashed, "consent": True})
    loop.store.saved[first.response_id] = later
    loop.followups.handle(later, first)
    loop.followups.handle(later, first)  # redelivered: one contact_added
    case = loop.inbox.get(owner(biz(loop)), first.response_id)
    assert case.status == "open" and case.has_contact
    assert [e.action for e in case.history] == ["opened", "contact_added"]


def test_an_edited_score_that_is_no_longer_unhappy_keeps_the_case_with_the_new_score(loop: Loop) -> None:
    first = loop.response(2)
    loop.followups.handle(first)
    edited = first.model_copy(update={"score": 8, "unhappy": False})
    loop.store.saved[first.response_id] = edited
    loop.followups.handle(edited, first)
    loop.followups.handle(edited, first)
    case = loop.inbox.get(owner(biz(loop)), first.response_id)
    assert case.score == 8 and case.status == "open"
    assert [(e.action, e.score) for e in case.history] == [("opened", None), ("score_changed", 8)]


def test_a_reply_threads_with_the_apology_and_answers_to_the_owner_who_wrote_it(loop: Loop) -> None:
    rid = unhappy(loop)
    (apology,) = loop.mailer.of_kind("apology")
    case = loop.inbox.reply(owner(biz(loop), "manager@caphe.example"), rid, ReplyIn(message="Dạ <i>xin lỗi</i>\nạ"))
    assert case.status == "replied" and case.replies == 1
    assert case.history[-1].by == "manager@caphe.example" and case.history[-1].outcome == "sent"
    (sent,) = loop.mailer.of_kind("reply")
    message = sent.message
    # A mailer that keeps the Message-ID it is given (the local outbox, these fakes): it is the one named.
    assert message["In-Reply-To"] == apology.message["Message-ID"]
    assert message["References"] == apology.message["Message-ID"]
    assert message["Subject"] == "Re: " + apology.message["Subject"]
    assert message["Reply-To"] == "manager@caphe.example" and message["To"] == "khach@example.com"
    assert "Dạ &lt;i&gt;xin lỗi&lt;/i&gt;<br>" in sent.part("html")


def test_an_actor_who_is_not_an_owner_address_gets_replies_at_the_first_owner(loop: Loop) -> None:
    rid = unhappy(loop)
    loop.inbox.reply(owner(biz(loop), "owner key"), rid, ReplyIn(message="Xin lỗi"))
    assert loop.mailer.of_kind("reply")[0].message["Reply-To"] == "owner@caphe.example"


def test_without_an_apology_sent_the_reply_carries_no_threading_headers(loop: Loop) -> None:
    business = biz(loop)
    # Today's cap of automatic emails for this business is full: the apology is held, the owner's reply is not.
    for cap in loop.mail.caps_for(business, "khach@example.com", loop.clock.now()):
        if cap.name == "business_day":
            loop.ledger.counters[cap.key] = cap.limit
    rid = unhappy(loop)
    assert loop.mailer.of_kind("apology") == []
    loop.inbox.reply(owner(business), rid, ReplyIn(message="Xin lỗi"))
    (sent,) = loop.mailer.of_kind("reply")
    assert sent.message["In-Reply-To"] is None and sent.message["References"] is None
    assert not sent.message["Subject"].startswith("Re:")


def test_two_owners_replying_at_once_never_make_a_sixth_reply(loop: Loop, monkeypatch: pytest.MonkeyPatch) -> None:
    rid = unhappy(loop)
    business = biz(loop)
    for n in range(4):
        loop.inbox.reply(owner(business), rid, ReplyIn(message=f"Lần {n + 1}"))
    real = loop.cases.begin_reply
    raced = []

    def racing(business_id: str, response_id: str, *, replies: int, history: int, event: CaseEvent) -> bool:
        if not raced:  # the other owner's reply lands between this one's read and its write
            raced.append(True)
            loop.inbox.reply(owner(business, "manager@caphe.example"), rid, ReplyIn(message="Của quản lý"))
        return real(business_id, response_id, replies=replies, history=history, event=event)

    monkeypatch.setattr(loop.cases, "begin_reply", racing)
    with pytest.raises(Conflict) as refused:
        loop.inbox.reply(owner(business), rid, ReplyIn(message="Lần 5 của chủ"))
    assert refused.value.code == "reply_limit"
    assert loop.inbox.get(owner(business), rid).replies == 5
    assert len(loop.mailer.of_kind("reply")) == 5
    assert len({s.message["Message-ID"] for s in loop.mailer.of_kind("reply")}) == 5


def test_an_unsubscribed_customer_gets_no_reply_and_nothing_changes(loop: Loop) -> None:
    rid = unhappy(loop)
    token = loop.mail.unsubscribe_url("biz001", "khach@example.com").rsplit("/", 1)[1]
    loop.mail.unsubscribe(token)
    before = dict(loop.cases.cases)
    with pytest.raises(Conflict) as refused:
        loop.inbox.reply(owner(biz(loop)), rid, ReplyIn(message="Xin lỗi"))
    assert refused.value.code == "customer_unsubscribed"
    assert loop.cases.cases == before and loop.mailer.of_kind("reply") == []


def test_a_case_resolves_once(loop: Loop) -> None:
    rid = unhappy(loop)
    done = loop.inbox.resolve(owner(biz(loop), "admin"), rid, ResolveIn(note="Đã gọi"))
    assert done.status == "resolved" and done.resolved_at and done.history[-1].note == "Đã gọi"
    with pytest.raises(Conflict) as again:
        loop.inbox.resolve(owner(biz(loop)), rid, ResolveIn())
    assert again.value.code == "case_resolved"


def test_an_unknown_case_is_not_found(loop: Loop) -> None:
    with pytest.raises(NotFound) as missing:
        loop.inbox.reply(owner(biz(loop)), "nope000001", ReplyIn(message="x"))
    assert missing.value.code == "case_not_found"


def test_the_inbox_lists_newest_first_and_refuses_a_cursor_of_another_status(loop: Loop) -> None:
    ids = []
    for _ in range(3):
        ids.append(unhappy(loop))
        loop.clock.advance(minutes=1)
    first = loop.inbox.list(owner(biz(loop)), CasesQuery(limit=2))
    assert [c.response_id for c in first.items] == [ids[2], ids[1]] and first.next_cursor
    rest = loop.inbox.list(owner(biz(loop)), CasesQuery(limit=2, cursor=first.next_cursor))
    assert [c.response_id for c in rest.items] == [ids[0]] and rest.next_cursor is None
    with pytest.raises(InvalidInput):
        loop.inbox.list(owner(biz(loop)), CasesQuery(status="open", cursor=first.next_cursor))


def test_figures_and_overdue_cases_as_the_report_reads_them(loop: Loop) -> None:
    business = biz(loop)
    quick = unhappy(loop)
    slow = unhappy(loop)
    loop.clock.advance(hours=3)
    loop.inbox.reply(owner(business), quick, ReplyIn(message="Xin lỗi"))
    loop.clock.advance(days=1)
    day = loop.clock.now().date()
    figures = loop.inbox.figures(business, day - timedelta(days=6), day)
    assert (figures.median_hours_to_reply.value, figures.median_hours_to_reply.n) == (3.0, 1)
    assert (figures.contacted_within_24h_pct.value, figures.contacted_within_24h_pct.n) == (50.0, 2)
    assert [c.response_id for c in loop.inbox.overdue(business)] == [slow]
    assert loop.inbox.overdue_summary(business, limit=0) == (1, [])


def test_erasure_removes_the_reply_texts_from_the_case(loop: Loop) -> None:
    from chalicelib.services.privacy import Privacy
    from tests.fakes import InMemoryStore

    rid = unhappy(loop)
    loop.inbox.reply(owner(biz(loop)), rid, ReplyIn(message="Mã riêng cho chị zq7"))
    stored = loop.cases.cases[("biz001", rid)]

    class Found(InMemoryStore):
        def find_personal_data(self, business_id: str, person_hash: str, by: str = "email") -> list[tuple[str, str]]:
            return [(tables.case_pk(business_id), stored.sort_key)]

    erased = Privacy(Found(), loop.clock, SETTINGS, cases=loop.cases).erase_respondent(
        owner(biz(loop)), "khach@example.com"
    )
    assert erased.cases_erased == 1
    case = loop.cases.cases[("biz001", rid)].case
    assert "zq7" not in case.model_dump_json() and not case.has_contact
