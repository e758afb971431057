# ruff: noqa: F811 - the fixtures loop and shop come from test_closed_loop
"""Issue #11: the service cannot be used to mail strangers, one ordinary record never holds up anyone
else's email, alert batches stay small, and the mail dead-letter queue can be erased. Through the real
handlers on moto (stream -> followups Lambda -> SESv2 raw)."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.adapters.ses import SesMailer, TokenBucket
from chalicelib.domain.addresses import email_hash
from chalicelib.local.stream import StreamPoller
from chalicelib.settings import get_settings
from tests.clock import FakeClock
from tests.integration.conftest import Biz, make_business, table_items
from tests.integration.test_closed_loop import (  # noqa: F401 - fixtures
    VOUCHER,
    Stream,
    answer,
    dead_letters,
    deliver,
    loop,
    of_kind,
    sent,
    shop,
)

CODE = re.compile(r"[2-9A-HJ-NP-Z]{4}(?:-[2-9A-HJ-NP-Z]{4}){3}")
EVIL = "Your order failed, log in at http://evil.example to get a refund"


def customer_mail() -> list[Any]:
    return [m for m in sent() if m["X-Survey-Kind"] in ("voucher", "apology")]


def both_parts(message: Any) -> str:
    return message.get_body(("plain",)).get_content() + message.get_body(("html",)).get_content()


def with_settings(clock: FakeClock, **changes: Any) -> None:
    settings = get_settings().model_copy(update=changes)
    wiring.install(wiring.build(settings, DynamoStore(settings.table_name), clock))


def unsubscribe(client: Client, message: Any) -> None:
    url = str(message["List-Unsubscribe"]).split("<")[1].split(">")[0]
    done = client.http.post(
        "/u/" + url.rsplit("/u/", 1)[1],
        body="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200


# ---- item 4: no mail to strangers --------------------------------------------------------------------


def test_a_customers_words_never_reach_a_customer_address_but_the_owner_reads_them_escaped(
    client: Client, loop: Stream, shop: Biz
) -> None:
    answer(client, shop, 1, email="stranger@example.com", consent=True, comment=f"<b>{EVIL}</b>")
    assert deliver(client, loop.event()) == {"batchItemFailures": []}
    (apology,) = customer_mail()
    assert "evil.example" not in both_parts(apology) and "refund" not in both_parts(apology)
    (alert,) = of_kind("alert")
    assert alert["To"] == "owner@caphe.example"
    assert EVIL in alert.get_body(("plain",)).get_content()
    html = alert.get_body(("html",)).get_content()
    assert f"&lt;b&gt;{EVIL}&lt;/b&gt;" in html and "<b>Your" not in html


def test_an_unhappy_consenting_customer_receives_exactly_one_email_with_at_most_one_code(
    client: Client, loop: Stream, shop: Biz
) -> None:
    answer(client, shop, 0, email="sad@example.com", consent=True, comment="Chờ lâu")
    deliver(client, loop.event())
    (only,) = [m for m in sent() if m["To"] == "sad@example.com"]
    assert only["X-Survey-Kind"] == "apology"
    codes = set(CODE.findall(only.get_body(("plain",)).get_content()))
    assert len(codes) == 1  # the answering voucher a happy customer would get, inside the apology
    vouchers = [i for i in table_items(boto3.client("dynamodb")) if i["PK"]["S"].startswith("V#")]
    assert [v["code"]["S"] for v in vouchers] == list(codes)


def test_a_recovery_policy_puts_its_one_code_in_the_apology(client: Client, loop: Stream) -> None:
    shop = make_business(client, voucher={**VOUCHER, "recovery": True}, sender_email="xin-chao@caphe.example")
    answer(client, shop, 2, email="sad@example.com", consent=True)
    deliver(client, loop.event())
    (only,) = [m for m in sent() if m["To"] == "sad@example.com"]
    assert len(set(CODE.findall(only.get_body(("plain",)).get_content()))) == 1
    vouchers = [i for i in table_items(boto3.client("dynamodb")) if i["PK"]["S"].startswith("V#")]
    assert [v["kind"]["S"] for v in vouchers] == ["recovery"]


def test_five_answers_from_variants_of_one_address_earn_one_voucher(client: Client, loop: Stream, shop: Biz) -> None:
    variants = ["Foo.Bar+x@gmail.com", "foobar@googlemail.com", "FOOBAR@gmail.com", "f.o.o.bar+y@gmail.com",
                "foo.bar@GoogleMail.com"]  # fmt: skip
    for i, address in enumerate(variants):
        answer(client, shop, 9, who=f"v{i}", email=address, consent=True)
    assert deliver(client, loop.event()) == {"batchItemFailures": []}
    assert len(customer_mail()) == 1
    vouchers = [i for i in table_items(boto3.client("dynamodb")) if i["PK"]["S"].startswith("V#")]
    assert len(vouchers) == 1


def test_one_person_gets_one_automatic_email_per_business_and_three_a_day_capped_mail_is_never_retried(
    client: Client, loop: Stream, clock: FakeClock
) -> None:
    shops = [make_business(client, voucher=VOUCHER, sender_email="xin-chao@caphe.example") for _ in range(4)]
    answer(client, shops[0], 2, who="a", email="busy@example.com", consent=True)  # apology (with a code)
    answer(client, shops[0], 1, who="b", email="Busy+2@example.com", consent=True)  # same person, same shop
    for i, other in enumerate(shops[1:]):
        answer(client, other, 9, who=f"c{i}", email="busy@example.com", consent=True)
    event = loop.event()
    assert deliver(client, event) == {"batchItemFailures": []}  # capped is an outcome, not a failure
    to_busy = [m for m in customer_mail() if "busy" in str(m["To"]).lower()]
    assert len(to_busy) == 3  # one at shops[0], then two more shops: three a day across businesses
    items = table_items(boto3.client("dynamodb"))
    capped = [i for i in items if i["PK"]["S"].startswith("M#") and i["status"]["S"] == "capped"]
    assert sorted(i["cap"]["S"] for i in capped) == ["address_business", "address_day"]
    # No code is issued for an email the caps hold back: it would count as issued and reach no one.
    with_code = {i["PK"]["S"].split("#")[1] for i in items if i["PK"]["S"].startswith("V#")}
    assert with_code == {shop.business_id for shop in shops[:3]}
    counters = [i for i in items if i["PK"]["S"].startswith("CAP#")]
    assert counters and not any("busy" in i["PK"]["S"].lower() for i in counters)  # keyed hashes only
    assert deliver(client, event) == {"batchItemFailures": []}  # redelivered: nothing sent, nothing counted
    assert len([m for m in customer_mail() if "busy" in str(m["To"]).lower()]) == 3
    assert dead_letters() == []
    clock.advance(days=1)  # a new day: the caps start again
    answer(client, shops[0], 10, who="d", email="busy@example.com", consent=True)
    deliver(client, loop.event())
    assert len([m for m in customer_mail() if "busy" in str(m["To"]).lower()]) == 3  # voucher limit: 30 days
    answer(client, shops[0], 3, who="e", email="busy@example.com", consent=True)
    deliver(client, loop.event())
    assert len([m for m in customer_mail() if "busy" in str(m["To"]).lower()]) == 4  # day 2's one apology
    answer(client, shops[0], 2, who="f", email="busy@example.com", consent=True)
    deliver(client, loop.event())
    assert len([m for m in customer_mail() if "busy" in str(m["To"]).lower()]) == 4  # 1 per shop per day


def test_a_business_past_its_daily_cap_stops_customer_mail_and_its_owners_are_told_once(
    client: Client, loop: Stream, shop: Biz, clock: FakeClock
) -> None:
    with_settings(clock, mail_cap_per_business=3, rate_limit_per_ip=10_000)
    for i in range(6):
        answer(client, shop, 9, who=f"w{i}", email=f"guest{i}@example.com", consent=True)
    event = loop.event()
    assert deliver(client, event) == {"batchItemFailures": []}
    assert len(customer_mail()) == 3
    notices = of_kind("cap_notice")
    assert [m["To"] for m in notices] == ["owner@caphe.example"]
    assert "3" in notices[0].get_body(("plain",)).get_content()
    deliver(client, event)  # redelivered: capped mail stays capped, the owners are not told twice
    answer(client, shop, 9, who="w9", email="guest9@example.com", consent=True)
    deliver(client, loop.event())
    assert len(customer_mail()) == 3 and len(of_kind("cap_notice")) == 1
    items = table_items(boto3.client("dynamodb"))
    assert len([i for i in items if i["PK"]["S"].startswith("M#") and i["status"]["S"] == "capped"]) == 4
    assert dead_letters() == []


# ---- item 6: one record never holds up the others ----------------------------------------------------------


def test_a_suppressed_address_then_the_next_customer_are_handled_in_one_batch_without_failures(
    client: Client, loop: Stream, shop: Biz
) -> None:
    answer(client, shop, 9, who="q1", email="quit@example.com", consent=True)
    deliver(client, loop.event())
    unsubscribe(client, of_kind("voucher")[0])
    answer(client, shop, 1, who="q2", email="quit@example.com", consent=True, comment="bad")
    answer(client, shop, 9, who="n1", email="next@example.com", consent=True)
    event = loop.event()
    assert deliver(client, event) == {"batchItemFailures": []}  # suppressed is an outcome: nothing to retry
    assert [m["To"] for m in of_kind("voucher")] == ["quit@example.com", "next@example.com"]
    assert of_kind("apology") == []


def test_after_a_voucher_limit_cancels_a_transaction_the_next_customers_answer_still_reaches_the_stream(
    client: Client, loop: Stream, shop: Biz
) -> None:
    # The cause of the 93 s under `make run`: the quitter had a voucher already, so the voucher limit
    # cancelled a transaction; moto then put back a copy of the table and the poller's stream iterator
    # read a detached shard, so nothing written afterwards was seen.
    answer(client, shop, 9, who="q1", email="quit@example.com", consent=True)
    deliver(client, loop.event())
    unsubscribe(client, of_kind("voucher")[0])
    answer(client, shop, 1, who="q2", email="quit@example.com", consent=True)
    assert deliver(client, loop.event()) == {"batchItemFailures": []}  # the limit: a cancelled transaction
    answer(client, shop, 9, who="n1", email="next@example.com", consent=True)  # in a LATER batch
    assert deliver(client, loop.event()) == {"batchItemFailures": []}
    assert [m["To"] for m in of_kind("voucher")] == ["quit@example.com", "next@example.com"]


class Breaks:
    """SES, except that one address makes the SDK fail the way a bug would (not a mail error)."""

    def __init__(self, address: str, error: Exception) -> None:
        self.real = boto3.client("sesv2")
        self.address = address
        self.error = error

    def send_email(self, **kwargs: Any) -> Any:
        if self.address in kwargs["Destination"]["ToAddresses"]:
            raise self.error
        return self.real.send_email(**kwargs)


def _install_ses(client_like: Any) -> None:
    mailer = SesMailer(max_send_rate=1000, client=client_like, sleep=lambda s: None, bucket=TokenBucket(1000))
    wiring.install(dataclasses.replace(wiring.services(), mailer=mailer))


def test_a_record_that_truly_fails_is_parked_and_the_records_after_it_go_out(
    client: Client, loop: Stream, shop: Biz
) -> None:
    ses = Breaks("bug@example.com", KeyError("MessageId"))
    _install_ses(ses)
    answer(client, shop, 9, who="b1", email="bug@example.com", consent=True, comment="secret words")
    for i in range(3):
        answer(client, shop, 9, who=f"n{i}", email=f"after{i}@example.com", consent=True)
    assert deliver(client, loop.event()) == {"batchItemFailures": []}
    assert sorted(m["To"] for m in of_kind("voucher")) == ["after0@example.com", "after1@example.com",
                                                           "after2@example.com"]  # fmt: skip
    (letter,) = dead_letters()
    assert letter["kind"] == "stream_record"
    body = json.dumps(letter)
    assert "bug@example.com" not in body and "secret words" not in body  # keys and hashes only
    assert letter["about"] == [email_hash(get_settings().app_secret, "bug@example.com")]
    ses.address = "nobody"  # fixed: make redrive handles it again from the table
    services = wiring.services()
    assert services.mail.redrive(stream_record=services.followups.redrive_record)["sent"] == 1
    assert "bug@example.com" in [m["To"] for m in of_kind("voucher")]
    assert dead_letters() == []


def test_the_local_poller_delivers_the_next_customer_while_a_failing_record_waits_for_its_retry(
    client: Client, loop: Stream, shop: Biz
) -> None:
    from app import on_response_change

    ses = Breaks("stuck@example.com", ConnectionResetError("connection reset"))
    _install_ses(ses)
    now = [1000.0]
    poller = StreamPoller(get_settings().table_name, on_response_change, monotonic=lambda: now[0])
    answer(client, shop, 9, who="s1", email="stuck@example.com", consent=True)
    answer(client, shop, 9, who="n1", email="next@example.com", consent=True)
    poller.poll_once()  # one poll, no sleeping: the next customer's voucher is out already
    assert [m["To"] for m in of_kind("voucher")] == ["next@example.com"]
    assert [len(records) for _, _, records in poller.pending] == [1]  # only the failing one waits
    poller.poll_once()
    assert len(poller.pending) == 1  # not due yet: it is not retried in front of anyone
    ses.address = "nobody"  # the connection is back
    now[0] += 5
    poller.poll_once()
    assert poller.pending == []
    assert sorted(m["To"] for m in of_kind("voucher")) == ["next@example.com", "stuck@example.com"]


# ---- item 7: alert batches hold ids only --------------------------------------------------------------------


def test_two_hundred_long_comments_in_one_window_arrive_as_one_batched_alert_and_the_item_stays_small(
    client: Client, loop: Stream, shop: Biz, clock: FakeClock
) -> None:
    with_settings(clock, rate_limit_per_ip=10_000, rate_limit_per_link=10_000)
    long_comment = ("Phục vụ chậm, đồ uống nguội. " * 80)[:2000]
    for i in range(200):
        got = answer(client, shop, 0, who=f"x{i}", comment=f"#{i} {long_comment}"[:2000])
        assert "response_id" in got
    records: list[dict[str, Any]] = []
    while batch := loop.event()["Records"]:  # moto hands out a page of the stream at a time
        records += batch
    for start in range(0, len(records), 25):  # as the event source mapping delivers them (batch_size=25)
        assert deliver(client, {"Records": records[start : start + 25]}) == {"batchItemFailures": []}
    limit = get_settings().alert_batch_after
    assert len(of_kind("alert")) == limit
    windows = [i for i in table_items(boto3.client("dynamodb")) if i["PK"]["S"].startswith("AW#")]
    (window,) = windows
    assert len(json.dumps(window)) < 40_000  # ids and keys: far from DynamoDB's 400 KB, whatever the comments
    assert "Phục vụ" not in json.dumps(window, ensure_ascii=False)
    # The flush message waits on SQS (DelaySeconds) until the window has closed: deliver it as SQS then would.
    body = json.dumps({"business_id": shop.business_id, "window": int(window["PK"]["S"].rsplit("#", 1)[1])})
    flush = {"Records": [{"messageId": "m1", "body": body, "eventSource": "aws:sqs",
                          "receiptHandle": "r", "attributes": {}, "messageAttributes": {},
                          "eventSourceARN": "arn:aws:sqs:ap-southeast-1:000000000000:surveys-alerts"}]}  # fmt: skip
    client.lambda_.invoke("alert_flusher", flush)
    batched = of_kind("alert")[limit:]
    assert len(batched) == 1
    text = batched[0].get_body(("plain",)).get_content()
    assert str(200 - limit) in str(batched[0]["Subject"])
    assert text.count("Góp ý:") == 100  # the first 100 comments shown, rendered from the stored responses
    assert f"{200 - limit - 100}" in text  # "... and 95 more"


# ---- erasure: the dead-letter queue --------------------------------------------------------------------------


def test_forget_removes_every_dead_letter_to_or_about_a_person_and_keeps_the_others(
    client: Client, loop: Stream, shop: Biz
) -> None:
    class Down:
        def send_email(self, **kwargs: Any) -> Any:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "MessageRejected"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "S")

    _install_ses(Down())
    answer(client, shop, 2, who="a", email="gone@example.com", consent=True, comment="private words")
    answer(client, shop, 9, who="b", email="stays@example.com", consent=True)
    deliver(client, loop.event())
    letters = dead_letters()
    # gone@: the apology, and the owner's alert that quotes them; stays@: a voucher.
    assert sorted(m["kind"] for m in letters) == ["alert", "apology", "voucher"]
    secret = get_settings().app_secret
    mail = wiring.services().mail
    assert mail.forget(shop.business_id, email_hash(secret, "gone@example.com")) == 2
    assert mail.forget("someoneelse", email_hash(secret, "stays@example.com")) == 0
    left = dead_letters()
    assert [m["kind"] for m in left] == ["voucher"]
    assert "gone@example.com" not in json.dumps(left) and "private words" not in json.dumps(left)
    assert mail.forget(shop.business_id, email_hash(secret, "Gone@Example.com ")) == 0  # idempotent


@pytest.fixture(autouse=True)
def _as_make_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.local import emulator

    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    emulator.install()  # the emulator as `make run` patches it (cancelled transactions keep the stream)
