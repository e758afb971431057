"""The closed loop's rules on in-memory fakes: vouchers for answering, apologies, owner alerts, recovery,
and the stream batch (idempotent, partial failures)."""

from __future__ import annotations

import math
import re

import pytest

from chalicelib.domain.models import VoucherPolicy
from chalicelib.errors import Conflict, Expired, NotFound
from chalicelib.services.followups import (
    VOUCHER_ALPHABET,
    new_voucher_code,
    normalize_voucher_code,
)
from chalicelib.web.events import stream_batch
from tests.unit.test_followups_fakes import Loop, stream_record

CODE = re.compile(r"^[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}$")


@pytest.fixture
def loop() -> Loop:
    built = Loop()
    built.add_business()
    return built


# ---- voucher codes ------------------------------------------------------------------------------------


def test_voucher_codes_are_typable_grouped_and_carry_at_least_64_bits() -> None:
    codes = {new_voucher_code() for _ in range(5000)}
    assert len(codes) == 5000
    assert all(CODE.match(c) for c in codes)
    assert not set("0O1I") & set("".join(codes))
    symbols = len(next(iter(codes)).replace("-", ""))
    assert symbols * math.log2(len(VOUCHER_ALPHABET)) >= 64


def test_a_cashier_may_type_a_code_in_lower_case_or_without_dashes() -> None:
    assert normalize_voucher_code("abcd efgh-jkmn pqrs") == "ABCD-EFGH-JKMN-PQRS"
    assert normalize_voucher_code("ABCD-EFGH-JKMN-PQR0") is None  # 0 is never in a code
    assert normalize_voucher_code("ABCD") is None


# ---- vouchers for answering ------------------------------------------------------------------------------


@pytest.mark.parametrize(("score", "kind"), [(0, "apology"), (6, "apology"), (9, "voucher"), (10, "voucher")])
def test_a_consenting_customer_gets_the_voucher_whatever_the_score(loop: Loop, score: int, kind: str) -> None:
    # Issue #11: an unhappy customer gets it inside the one apology email, a happy one in the voucher email.
    loop.followups.handle(loop.response(score))
    customer = [s for s in loop.mailer.sent if s.recipients == ["khach@example.com"]]
    assert [s.kind for s in customer] == [kind]
    (voucher,) = loop.store.vouchers.values()
    assert voucher.kind == "answer"
    assert voucher.code in customer[0].part("plain") and voucher.code in customer[0].part("html")
    assert loop.store.funnel[("biz001", "2026-11-20")]["issued"] == 1


def test_no_voucher_without_an_email_or_without_a_policy(loop: Loop) -> None:
    loop.followups.handle(loop.response(9, email=None))
    assert loop.mailer.sent == []
    other = Loop()
    other.add_business(voucher=None)
    other.followups.handle(other.response(9))
    assert other.mailer.sent == []


def test_one_answer_voucher_per_address_per_policy_window(loop: Loop) -> None:
    loop.followups.handle(loop.response(9))
    loop.clock.advance(days=10)
    loop.followups.handle(loop.response(10))
    assert len(loop.mailer.of_kind("voucher")) == 1
    loop.clock.advance(days=21)  # 31 days after the first: the 30-day window has passed
    loop.followups.handle(loop.response(10))
    assert len(loop.mailer.of_kind("voucher")) == 2


def test_a_voucher_redeems_once_then_409_and_410_after_expiry(loop: Loop) -> None:
    loop.followups.handle(loop.response(9))
    (voucher,) = loop.store.vouchers.values()
    business = loop.businesses.businesses["biz001"]
    assert loop.followups.redeem(business, voucher.code.lower()).code == voucher.code
    with pytest.raises(Conflict):
        loop.followups.redeem(business, voucher.code)
    with pytest.raises(NotFound):
        loop.followups.redeem(business, "ABCD-EFGH-JKMN-PQRS")
    loop.followups.handle(loop.response(9, email="other@example.com"))
    other = next(v for v in loop.store.vouchers.values() if v.code != voucher.code)
    loop.clock.advance(days=32)
    with pytest.raises(Expired):
        loop.followups.redeem(business, other.code)
    assert loop.store.funnel[("biz001", "2026-11-20")] == {"issued": 2, "redeemed": 1}


# ---- apologies, recovery ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "score", "unhappy"),
    [("nps", 6, True), ("nps", 7, False), ("csat", 2, True), ("csat", 3, False), ("ces", 3, True), ("ces", 4, False)],
)
def test_only_an_unhappy_answer_gets_an_apology(loop: Loop, metric: str, score: int, unhappy: bool) -> None:
    loop.followups.handle(loop.response(score, metric=metric))
    assert len(loop.mailer.of_kind("apology")) == (1 if unhappy else 0)
    assert len(loop.store.apologies) == (1 if unhappy else 0)


def test_the_apology_speaks_the_customers_language_and_records_what_the_report_needs(loop: Loop) -> None:
    response = loop.response(2, locale="en")
    loop.followups.handle(response)
    (apology,) = loop.mailer.of_kind("apology")
    assert "We are sorry" in apology.part("plain")
    assert apology.message["Reply-To"] == "owner@caphe.example"
    ((key, record),) = loop.store.apologies.items()
    assert key == ("biz001", "2026-11-20", response.response_id)
    assert record["metric"] == "nps" and record["score"] == 2 and record["touchpoint_id"] == "tp0001"
    assert record["email_hash"] == response.email_hash and record["sent_at"]


def test_a_recovery_voucher_rides_with_the_apology_when_the_policy_says_so() -> None:
    loop = Loop()
    loop.add_business(voucher=VoucherPolicy(description="Free coffee", recovery=True))
    loop.followups.handle(loop.response(1))
    (apology,) = loop.mailer.of_kind("apology")
    assert "Free coffee" in apology.part("plain")
    (voucher,) = loop.store.vouchers.values()  # issue #11: one code, not an answer voucher beside it
    assert voucher.kind == "recovery" and voucher.code in apology.part("plain")
    assert loop.mailer.of_kind("voucher") == []


def test_a_later_happier_answer_from_the_same_address_marks_the_apology_recovered(loop: Loop) -> None:
    loop.followups.handle(loop.response(3))
    loop.clock.advance(days=5)
    later = loop.response(9)
    loop.followups.handle(later)
    (record,) = loop.store.apologies.values()
    assert record["recovered_at"] == later.created_at


def test_an_answer_after_28_days_or_still_unhappy_does_not_count_as_recovered(loop: Loop) -> None:
    loop.followups.handle(loop.response(3))
    loop.clock.advance(days=1)
    loop.followups.handle(loop.response(4))  # still unhappy: a second apology, no recovery
    loop.clock.advance(days=29)
    loop.followups.handle(loop.response(10))
    assert all("recovered_at" not in r for r in loop.store.apologies.values())


# ---- owner alerts ---------------------------------------------------------------------------------------


def test_every_owner_hears_about_an_unhappy_answer_with_reply_to_the_customer(loop: Loop) -> None:
    loop.followups.handle(loop.response(4, comment="Cà phê nguội"))
    alerts = loop.mailer.of_kind("alert")
    assert sorted(a.recipients[0] for a in alerts) == ["manager@caphe.example", "owner@caphe.example"]
    for alert in alerts:
        assert alert.message["Reply-To"] == "khach@example.com"
        text = alert.part("plain")
        assert "NPS 4" in text and "Bàn số 4" in text and "Mã QR" in text and "Cà phê nguội" in text


def test_an_anonymous_unhappy_answer_alerts_without_reply_to(loop: Loop) -> None:
    loop.followups.handle(loop.response(0, email=None))
    alerts = loop.mailer.of_kind("alert")
    assert len(alerts) == 2 and all(a.message["Reply-To"] is None for a in alerts)
    assert loop.mailer.of_kind("apology") == []


def test_past_n_alerts_in_five_minutes_the_rest_come_as_one_batched_email(loop: Loop) -> None:
    for _ in range(10):
        loop.followups.handle(loop.response(0, email=None))
        loop.clock.advance(seconds=5)
    assert len(loop.mailer.of_kind("alert")) == 3 * 2  # ALERT_BATCH_AFTER=3, two owners
    ((biz, window, delay),) = loop.flusher.scheduled
    assert biz == "biz001" and 0 < delay <= 305
    assert loop.followups.flush_alerts(biz, window) == 7
    assert loop.followups.flush_alerts(biz, window) == 7  # a redelivered flush sends nothing again
    batched = loop.mailer.of_kind("alert")[6:]
    assert len(batched) == 2
    assert "7" in batched[0].message["Subject"] and batched[0].part("plain").count("NPS 0") == 7


def test_a_comment_added_after_an_unhappy_score_reaches_the_owners(loop: Loop) -> None:
    first = loop.response(2, email=None)
    loop.followups.handle(first)
    later = first.model_copy(
        update={"comment": "Chờ 40 phút", "email": "k@example.com", "consent": True, "email_hash": "h"}
    )
    loop.followups.handle(later, first)
    loop.followups.handle(later, first)
    alerts = loop.mailer.of_kind("alert")
    assert len(alerts) == 4  # first alert and the follow-up, to two owners, once each
    assert "Chờ 40 phút" in alerts[-1].part("plain") and alerts[-1].message["Reply-To"] == "k@example.com"


# ---- the stream batch ---------------------------------------------------------------------------------


def test_delivering_the_same_batch_twice_sends_nothing_twice(loop: Loop) -> None:
    event = {
        "Records": [
            stream_record(loop.response(s, email=f"c{i}@example.com"), sequence=str(i)) for i, s in enumerate([0, 9, 5])
        ]
    }
    assert stream_batch(event, loop.followups) == {"batchItemFailures": []}
    first = len(loop.mailer.sent)
    assert first == 1 + 2 + 2 * 2  # the happy one's voucher, two apologies (with their codes), owner alerts
    assert stream_batch(event, loop.followups) == {"batchItemFailures": []}
    assert len(loop.mailer.sent) == first
    assert len(loop.store.vouchers) == 3 and loop.store.funnel[("biz001", "2026-11-20")]["issued"] == 3


def test_an_unreadable_record_is_parked_and_the_rest_of_the_batch_goes_through(loop: Loop) -> None:
    broken = stream_record(loop.response(9), sequence="2")
    del broken["dynamodb"]["NewImage"]["score"]
    no_keys = stream_record(None, sequence="3")
    junk = {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "4", "Keys": "nope"}}
    event = {
        "Records": [
            stream_record(loop.response(0), sequence="1"),
            broken,
            no_keys,
            junk,
            stream_record(loop.response(10, email="b@example.com"), sequence="5"),
        ]
    }
    answer = stream_batch(event, loop.followups)
    # Issue #11 item 6: reading them again would fail again, so they are parked, not retried in front of
    # the others: nothing in batchItemFailures, three letters on the dead-letter queue.
    assert answer == {"batchItemFailures": []}
    assert sorted(m["sequence"] for m in loop.dead.letters.values()) == ["2", "3", "4"]
    assert all(m["kind"] == "stream_record" for m in loop.dead.letters.values())
    assert [s.recipients[0] for s in loop.mailer.of_kind("voucher")] == ["b@example.com"]
    assert [s.recipients[0] for s in loop.mailer.of_kind("apology")] == ["khach@example.com"]


def test_records_of_other_items_and_removals_send_nothing(loop: Loop) -> None:
    record = stream_record(loop.response(0), sequence="1")
    record["dynamodb"]["Keys"]["PK"] = {"S": "V#biz001#ABCD"}
    removal = stream_record(loop.response(0), sequence="2", event_name="REMOVE")
    assert stream_batch({"Records": [record, removal]}, loop.followups) == {"batchItemFailures": []}
    assert loop.mailer.sent == []


def test_an_old_response_changing_later_triggers_no_email(loop: Loop) -> None:
    response = loop.response(0)
    loop.clock.advance(days=60)  # e.g. an erasure months later rewrites the item
    loop.followups.handle(response)
    assert loop.mailer.sent == []


# ---- issue #11 item 4: one identity per mailbox, one email per unhappy customer ---------------------------


def test_address_variants_share_one_voucher_window_across_days(loop: Loop) -> None:
    # Days apart, so the daily caps are not what stops them: the 30-day voucher limit sees one person.
    for address in ["Foo.Bar+x@gmail.com", "foobar@googlemail.com", "FOOBAR@gmail.com", "foo.bar+z@gmail.com"]:
        loop.followups.handle(loop.response(9, email=address))
        loop.clock.advance(days=2)
    assert len(loop.mailer.of_kind("voucher")) == 1 and len(loop.store.vouchers) == 1


def test_a_recovery_voucher_respects_the_per_email_window_too() -> None:
    loop = Loop()
    loop.add_business(voucher=VoucherPolicy(description="Free coffee", recovery=True, per_email_days=30))
    loop.followups.handle(loop.response(9))  # a voucher for answering
    loop.clock.advance(days=3)
    loop.followups.handle(loop.response(1))  # unhappy three days later: an apology, but no second code
    (apology,) = loop.mailer.of_kind("apology")
    assert "Free coffee" not in apology.part("plain") and len(loop.store.vouchers) == 1


def test_the_apology_never_carries_the_customers_comment_in_any_language(loop: Loop) -> None:
    for locale in ("vi", "en"):
        loop.followups.handle(loop.response(0, locale=locale, comment="log in at http://evil.example now"))
        loop.clock.advance(days=1)
    apologies = loop.mailer.of_kind("apology")
    assert len(apologies) == 2
    for apology in apologies:
        assert "evil.example" not in apology.part("plain") and "evil.example" not in apology.part("html")
    assert all("evil.example" in a.part("plain") for a in loop.mailer.of_kind("alert"))


def test_capped_mail_is_recorded_once_never_sent_and_the_owners_hear_of_the_business_cap_once() -> None:
    from tests.unit.test_followups_fakes import SETTINGS

    loop = Loop()
    loop.add_business()
    settings = SETTINGS.model_copy(update={"mail_cap_per_business": 2})
    loop.mail._settings = settings
    loop.followups._settings = settings
    for i in range(5):
        loop.followups.handle(loop.response(9, email=f"g{i}@example.com"))
    assert len(loop.mailer.of_kind("voucher")) == 2
    assert sorted(loop.ledger.capped.values()) == ["business_day"] * 3
    notices = [s.recipients[0] for s in loop.mailer.of_kind("cap_notice")]
    assert notices == ["owner@caphe.example", "manager@caphe.example"]  # each owner once, not per capped email


def test_an_address_that_unsubscribed_gets_no_voucher_issued_for_nobody(loop: Loop) -> None:
    from chalicelib.services.mail import address_hash
    from tests.unit.test_followups_fakes import SETTINGS

    loop.ledger.suppress(address_hash(SETTINGS.app_secret, "khach@example.com"), "biz001", reason="u", at="t")
    loop.followups.handle(loop.response(9))
    loop.followups.handle(loop.response(2))
    assert loop.store.vouchers == {} and loop.store.apologies == {}
    assert [s.kind for s in loop.mailer.sent] == ["alert", "alert"]  # the owners still hear of the unhappy one
