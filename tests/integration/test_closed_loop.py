"""The closed loop through the real handlers on moto: a submission, the table's DynamoDB stream (read back
from moto and shaped as Lambda delivers it), the stream Lambda, SESv2 raw sends, SES feedback, the
unsubscribe pages and the dead-letter queue."""

from __future__ import annotations

import dataclasses
import email
import json
from email import policy
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib import tables, wiring
from chalicelib.adapters.sqs import create_queues
from chalicelib.local.stream import to_lambda_record
from chalicelib.settings import get_settings
from tests.clock import FakeClock
from tests.integration.conftest import Biz, make_business, post_json, send_answer, table_items

VOUCHER = {"description": "Giảm 10% <b>lần sau</b>", "valid_days": 30, "per_email_days": 30}


class Stream:
    """Reads moto's stream of the table from where it was last read, as Lambda's poller does."""

    def __init__(self) -> None:
        self.client = boto3.client("dynamodbstreams")
        table = boto3.client("dynamodb").describe_table(TableName=get_settings().table_name)["Table"]
        self.arn = table["LatestStreamArn"]
        self.iterators: dict[str, str] = {}

    def event(self) -> dict[str, Any]:
        records = []
        for shard in self.client.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id not in self.iterators:
                self.iterators[shard_id] = self.client.get_shard_iterator(
                    StreamArn=self.arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            got = self.client.get_records(ShardIterator=self.iterators[shard_id])
            self.iterators[shard_id] = got["NextShardIterator"]
            records += [to_lambda_record(r, self.arn, "ap-southeast-1") for r in got["Records"]]
        return {"Records": records}


@pytest.fixture
def loop(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Stream:
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    settings = get_settings()
    boto3.client("sesv2").create_email_identity(EmailIdentity=settings.mail_from)
    boto3.client("sesv2").create_email_identity(EmailIdentity="xin-chao@caphe.example")
    create_queues([settings.mail_dlq_name, settings.alert_queue_name])
    return Stream()


def sent() -> list[email.message.EmailMessage]:
    backend = ses_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-1"]
    return [email.message_from_string(m.raw_data, policy=policy.default) for m in backend.sent_messages]  # type: ignore[misc]


def of_kind(kind: str) -> list[email.message.EmailMessage]:
    return [m for m in sent() if m["X-Survey-Kind"] == kind]


def deliver(client: Client, event: dict[str, Any]) -> dict[str, Any]:
    return client.lambda_.invoke("followups", event).payload


def answer(client: Client, biz: Biz, score: int, *, who: str = "a", **extra: Any) -> dict[str, Any]:
    body = {"token": biz.touchpoints["table"]["token"], "score": score, "respondent_id": who, **extra}
    got = send_answer(client, body)
    assert got.status_code == 201, got.body
    return got.json_body


@pytest.fixture
def shop(client: Client, loop: Stream) -> Biz:
    return make_business(client, voucher=VOUCHER, sender_email="xin-chao@caphe.example")


def test_an_unhappy_answer_brings_one_apology_with_the_voucher_and_an_alert_and_the_submission_sends_nothing(
    client: Client, loop: Stream, shop: Biz
) -> None:
    answer(client, shop, 3, email="khach@example.com", consent=True, comment="<script>x</script> nguội")
    assert sent() == []  # the submission path never mails: the stream does
    assert deliver(client, loop.event()) == {"batchItemFailures": []}
    # Issue #11: one email to the customer (the apology carries the voucher), one alert to the owner.
    assert [len(of_kind(k)) for k in ("voucher", "apology", "alert")] == [0, 1, 1]
    for message in sent():
        assert message.get_content_type() == "multipart/alternative"
        parts = [p.get_content_type() for p in message.iter_parts()]
        if message["X-Survey-Kind"] == "apology":
            # Issue #14: its code's till QR code is an inline image of the html part.
            assert parts == ["text/plain", "multipart/related"]
            related = next(p for p in message.iter_parts() if p.get_content_type() == "multipart/related")
            assert [p.get_content_type() for p in related.iter_parts()] == ["text/html", "image/png"]
        else:
            assert parts == ["text/plain", "text/html"]
        assert message["From"].addresses[0].display_name == "Cà Phê Sài Gòn"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "<script>" not in message.get_body(("html",)).get_content()
    (alert,) = of_kind("alert")
    assert alert["To"] == "owner@caphe.example" and alert["Reply-To"] == "khach@example.com"
    voucher_html = of_kind("apology")[0].get_body(("html",)).get_content()
    assert "&lt;b&gt;lần sau&lt;/b&gt;" in voucher_html
    items = table_items(loop_client())
    (apology,) = [i for i in items if i["PK"]["S"].startswith("A#")]
    assert apology["score"]["N"] == "3" and apology["metric"]["S"] == "nps"
    funnel = [i for i in table_items(loop_client()) if i["PK"]["S"].startswith("F#") and i["SK"]["S"] == "V"]
    assert funnel[0]["issued"]["N"] == "1"


def loop_client() -> Any:
    return boto3.client("dynamodb")


def test_delivering_the_same_batch_twice_sends_nothing_twice(client: Client, loop: Stream, shop: Biz) -> None:
    answer(client, shop, 0, who="a", email="a@example.com", consent=True)
    answer(client, shop, 10, who="b", email="b@example.com", consent=True)
    event = loop.event()
    deliver(client, event)
    first = len(sent())
    assert first == 1 + 1 + 1  # b's voucher, a's apology (with a's voucher in it), one alert
    deliver(client, event)
    assert len(sent()) == first
    vouchers = [i for i in table_items(loop_client()) if i["PK"]["S"].startswith("V#")]
    assert len(vouchers) == 2


def test_a_record_missing_fields_is_parked_and_never_blocks_the_batch(client: Client, loop: Stream, shop: Biz) -> None:
    answer(client, shop, 9, who="a", email="a@example.com", consent=True)
    answer(client, shop, 9, who="b", email="b@example.com", consent=True)
    event = loop.event()
    responses = [r for r in event["Records"] if r["dynamodb"]["Keys"]["PK"]["S"].startswith("R#")]
    broken = responses[0]
    del broken["dynamodb"]["NewImage"]["metric"]
    result = deliver(client, {"Records": [broken, responses[1]]})
    # Issue #11 item 6: retrying it would fail the same way in front of every later record: parked instead.
    assert result == {"batchItemFailures": []}
    assert [m["To"] for m in of_kind("voucher")] == ["b@example.com"]
    letters = dead_letters()
    assert [m["kind"] for m in letters] == ["stream_record"]
    assert letters[0]["sequence"] == broken["dynamodb"]["SequenceNumber"]


def dead_letters() -> list[dict[str, Any]]:
    """Every letter on the mail dead-letter queue (made visible again after reading)."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().mail_dlq_name)["QueueUrl"]
    found: list[dict[str, Any]] = []
    receipts: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
        if not got:
            break
        found += [json.loads(m["Body"]) for m in got]
        receipts += [m["ReceiptHandle"] for m in got]
    for receipt in receipts:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=0)
    return found


def test_a_comment_with_an_email_added_later_brings_the_voucher(client: Client, loop: Stream, shop: Biz) -> None:
    created = answer(client, shop, 8)
    deliver(client, loop.event())
    assert sent() == []
    got = post_json(
        client,
        f"/v1/responses/{created['response_id']}/comment",
        {"edit_token": created["edit_token"], "email": "late@example.com", "consent": True, "comment": "Ngon"},
    )
    assert got.status_code == 200, got.body
    deliver(client, loop.event())
    assert [m["To"] for m in of_kind("voucher")] == ["late@example.com"]


def test_ses_bounces_and_complaints_stop_later_email(client: Client, loop: Stream, shop: Biz) -> None:
    notice = {"eventType": "Complaint", "complaint": {"complainedRecipients": [{"emailAddress": "c@example.com"}]}}
    event = {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventSubscriptionArn": "arn:aws:sns:ap-southeast-1:000000000000:surveys-ses-events:1",
                "Sns": {
                    "Message": json.dumps(notice),
                    "Subject": None,
                    "MessageAttributes": {},
                    "TopicArn": "arn:aws:sns:ap-southeast-1:000000000000:surveys-ses-events",
                },
            }
        ]
    }
    client.lambda_.invoke("ses_events", event)
    answer(client, shop, 2, email="c@example.com", consent=True)
    deliver(client, loop.event())
    assert of_kind("voucher") == [] and of_kind("apology") == []
    assert len(of_kind("alert")) == 1  # the owner still hears about it


def test_the_unsubscribe_page_then_one_click_post_stop_every_later_email(
    client: Client, loop: Stream, shop: Biz
) -> None:
    answer(client, shop, 9, who="a", email="u@example.com", consent=True)
    deliver(client, loop.event())
    (voucher,) = of_kind("voucher")
    url = str(voucher["List-Unsubscribe"]).split("<")[1].split(">")[0]
    path = "/u/" + url.rsplit("/u/", 1)[1]
    page = client.http.get(path, headers={"Accept-Language": "en"})
    assert page.status_code == 200 and b"Unsubscribe" in page.body
    before = table_items(loop_client())
    assert not [i for i in before if i["PK"]["S"].startswith("S#")]  # a GET changes nothing
    done = client.http.post(
        path, body="List-Unsubscribe=One-Click", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert done.status_code == 200
    answer(client, shop, 1, who="b", email="u@example.com", consent=True)
    deliver(client, loop.event())
    assert len(of_kind("voucher")) == 1 and of_kind("apology") == []
    assert client.http.get("/u/forged.token").status_code == 404


def test_a_later_happier_answer_marks_the_apology_recovered(
    client: Client, loop: Stream, shop: Biz, clock: FakeClock
) -> None:
    answer(client, shop, 2, who="a", email="r@example.com", consent=True)
    deliver(client, loop.event())
    clock.advance(days=3)
    answer(client, shop, 10, who="a", email="r@example.com", consent=True)
    deliver(client, loop.event())
    (apology,) = [i for i in table_items(loop_client()) if i["PK"]["S"].startswith("A#")]
    assert apology["recovered_at"]["S"].startswith("2026-11-23")
    for name in ("email_hash", "metric", "score", "touchpoint_id", "sent_at"):
        assert name in apology


@pytest.mark.parametrize(
    "address",
    ["a@example.com\r\nBcc: x@evil.example", "Khach <a@example.com>", '"a@b"@example.com', "x" * 250 + "@ex.com"],
)
def test_an_address_that_could_bend_a_header_is_refused_at_the_api(
    client: Client, loop: Stream, shop: Biz, address: str
) -> None:
    body = {"token": shop.touchpoints["table"]["token"], "score": 9, "email": address, "consent": True}
    got = send_answer(client, body)
    assert got.status_code == 422 and got.json_body["error"]["code"]


def test_ses_throttling_past_every_retry_dead_letters_and_redrive_sends(
    client: Client, loop: Stream, shop: Biz, clock: FakeClock
) -> None:
    from chalicelib.adapters.ses import SesMailer, TokenBucket

    class Throttled:
        def __init__(self) -> None:
            self.real = boto3.client("sesv2")
            self.down = True

        def send_email(self, **kwargs: Any) -> Any:
            from botocore.exceptions import ClientError

            if self.down:
                raise ClientError(
                    {"Error": {"Code": "TooManyRequestsException"}, "ResponseMetadata": {"HTTPStatusCode": 429}},
                    "SendEmail",
                )
            return self.real.send_email(**kwargs)

    ses = Throttled()
    mailer = SesMailer(max_send_rate=1000, client=ses, sleep=lambda s: None, bucket=TokenBucket(1000))
    wiring.install(dataclasses.replace(wiring.services(), mailer=mailer))
    answer(client, shop, 9, email="d@example.com", consent=True)
    event = loop.event()
    assert deliver(client, event) == {"batchItemFailures": []}
    assert sent() == []
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().mail_dlq_name)["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "1"
    ses.down = False
    assert wiring.services().mail.redrive() == {"sent": 1, "failed": 0, "dropped": 0}
    assert [m["To"] for m in of_kind("voucher")] == ["d@example.com"]
    deliver(client, event)  # the stream redelivering the record sends nothing beside the redrive
    assert len(sent()) == 1


def test_the_table_definition_keeps_the_stream_the_consumer_needs() -> None:
    assert tables.STREAM_SPECIFICATION == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
