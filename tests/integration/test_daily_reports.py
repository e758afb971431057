"""The daily job end to end on moto: the hourly schedule enqueues one SQS message per due business, the
consumer computes its day in its own time zone, stores it, and sends the owner one digest per day."""

from __future__ import annotations

import dataclasses
import email
from datetime import UTC, datetime
from email import policy
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import tables, wiring
from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.settings import get_settings
from tests.clock import FakeClock
from tests.integration.conftest import Biz, make_business, post_json, send_answer


class CapturingMailer:
    """Stands in for SES behind the real mail layer (suppression, dedupe, headers all still apply)."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, str, list[str]]] = []

    def send_raw(self, raw: bytes, *, sender: str, recipients: Any) -> str:
        self.sent.append((raw, sender, list(recipients)))
        return f"msg-{len(self.sent)}"

    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(raw, policy=policy.default) for raw, _, _ in self.sent]  # type: ignore[misc]


@pytest.fixture
def mailer(aws: Any, clock: FakeClock) -> CapturingMailer:
    boto3.client("sqs").create_queue(QueueName=get_settings().reports_queue_name)
    boto3.client("sqs").create_queue(QueueName=get_settings().mail_dlq_name)
    capturing = CapturingMailer()
    built = wiring.build(get_settings(), DynamoStore(get_settings().table_name), clock)
    wiring.install(dataclasses.replace(built, mailer=capturing))
    return capturing


def run_schedule(client: Client) -> int:
    """The hourly event, then every queued message through the consumer; returns the jobs run."""
    client.lambda_.invoke("report_schedule", client.events.generate_cw_event("aws.events", "Scheduled Event", {}, []))
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().reports_queue_name)["QueueUrl"]
    done = 0
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            event = client.events.generate_sqs_event(
                queue_name=get_settings().reports_queue_name, message_bodies=[message["Body"]]
            )
            client.lambda_.invoke("report_worker", event)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            done += 1
    return done


def rerun(client: Client, business_id: str, day: str) -> None:
    body = f'{{"business_id":"{business_id}","day":"{day}"}}'
    event = client.events.generate_sqs_event(queue_name=get_settings().reports_queue_name, message_bodies=[body])
    client.lambda_.invoke("report_worker", event)


def score(client: Client, biz: Biz, touchpoint: str, value: int, agent: str) -> dict:
    answer = send_answer(client, {"token": biz.touchpoints[touchpoint]["token"], "score": value}, {"User-Agent": agent})
    assert answer.status_code == 201, answer.body
    return answer.json_body


def comment(client: Client, created: dict, text: str) -> None:
    answer = post_json(
        client,
        f"/v1/responses/{created['response_id']}/comment",
        {"edit_token": created["edit_token"], "comment": text},
    )
    assert answer.status_code == 200, answer.body


def report(client: Client, biz: Biz, day: str) -> Any:
    return client.http.get(f"/v1/businesses/{biz.business_id}/reports/daily/{day}", headers=biz.auth)


def test_after_local_midnight_the_owner_gets_a_stored_report_and_one_digest(
    client: Client, aws: Any, clock: FakeClock, mailer: CapturingMailer
) -> None:
    biz = make_business(client)  # Asia/Ho_Chi_Minh, vi; now 10:00 local on 2026-11-20
    for i, value in enumerate([10, 9, 9, 8, 3, 0]):
        created = score(client, biz, "table", value, f"phone-{i}")
        if value == 3:
            comment(client, created, "Cà phê nguội, chờ <b>lâu</b>")
    score(client, biz, "receipt", 5, "phone-r")
    for _ in range(8):
        assert client.http.get(f"/s/{biz.touchpoints['table']['token']}").status_code == 200
    # What the closed loop writes (issue 3's contract): voucher counters and apology records.
    day_pk = tables.funnel_pk(biz.business_id, "2026-11-20")
    aws.put_item(
        TableName=get_settings().table_name,
        Item={"PK": {"S": day_pk}, "SK": {"S": "V"}, "issued": {"N": "4"}, "redeemed": {"N": "1"}},
    )
    for rid, recovered in [("r1", True), ("r2", False)]:
        item = {"PK": {"S": tables.apology_pk(biz.business_id, "2026-11-20")}, "SK": {"S": rid}}
        if recovered:
            item["recovered_at"] = {"S": "2026-11-20T09:00:00.000000Z"}
        aws.put_item(TableName=get_settings().table_name, Item=item)

    assert report(client, biz, "2026-11-20").status_code == 404  # the day is not over yet
    assert run_schedule(client) == 0

    clock.moment = datetime(2026, 11, 20, 17, 5, tzinfo=UTC)  # 00:05 on the 21st in Saigon
    assert run_schedule(client) == 1

    answer = report(client, biz, "2026-11-20")
    assert answer.status_code == 200, answer.body
    body = answer.json_body
    nps = body["metrics"]["nps"]["summary"]
    assert (nps["n"], nps["status"], nps["headline"]) == (6, "ok", 17)  # (3 - 2) / 6 = 16.7 -> 17
    assert nps["margin_of_error"] is not None
    assert nps["stats"]["distribution"]["10"] == 1 and nps["stats"]["distribution"]["9"] == 2
    csat = body["metrics"]["csat"]["summary"]
    assert (csat["n"], csat["status"], csat["headline"]) == (1, "too_few_responses", None)
    assert body["metrics"]["ces"]["summary"]["headline"] is None
    table = next(f for f in body["funnel"] if f["touchpoint_id"] == biz.touchpoints["table"]["touchpoint_id"])
    assert (table["opened"], table["scored"], table["commented"]) == (8, 6, 1)
    assert body["vouchers"] == {"issued": 4, "redeemed": 1}
    assert body["unhappy"]["count"] == 2
    assert body["unhappy"]["recovery"] == {"window_days": 28, "apologised": 2, "recovered": 1, "rate_pct": 50.0}
    assert [c["comment"] for c in body["comments"]] == ["Cà phê nguội, chờ <b>lâu</b>"]
    assert {c["channel"] for c in body["channels"]} == {"qr", "receipt"}

    [digest] = mailer.messages()
    assert digest["To"] == "owner@caphe.example"
    assert "2026-11-20" in digest["Subject"] and "NPS +17" in digest["Subject"]
    assert digest["List-Unsubscribe"] and digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = digest.get_body(("html",)).get_content()
    text = digest.get_body(("plain",)).get_content()
    assert "chờ &lt;b&gt;lâu&lt;/b&gt;" in html and "<b>lâu</b>" not in html
    assert "Cà phê nguội, chờ <b>lâu</b>" in text
    assert f"https://surveys.example/console/{biz.business_id}" in html  # the owner's console (issue #14)
    assert "<img" not in html

    # Re-running the day (a duplicate delivery, a manual backfill) stores the same figures, mails nothing.
    rerun(client, biz.business_id, "2026-11-20")
    assert report(client, biz, "2026-11-20").json_body["metrics"] == body["metrics"]
    assert len(mailer.sent) == 1
    clock.advance(hours=1)
    assert run_schedule(client) == 0


def test_the_report_route_refuses_malformed_and_future_dates_and_other_businesses(
    client: Client, clock: FakeClock, mailer: CapturingMailer
) -> None:
    biz = make_business(client)
    other = make_business(client, name="Another shop")
    for bad in ("2026-13-01", "2026-02-30", "yesterday", "2026-2-1", "20261120", "2026-11-20T00:00"):
        answer = report(client, biz, bad)
        assert answer.status_code == 422, bad
        assert answer.json_body["error"]["code"] == "invalid_date"
    future = report(client, biz, "2026-11-21")
    assert future.status_code == 404 and future.json_body["error"]["code"] == "report_not_found"
    assert report(client, biz, "2026-11-19").status_code == 404
    assert client.http.get(f"/v1/businesses/{biz.business_id}/reports/daily/2026-11-19").status_code == 401
    foreign = client.http.get(f"/v1/businesses/{biz.business_id}/reports/daily/2026-11-19", headers=other.auth)
    assert foreign.status_code == 404


def test_a_business_with_no_responses_gets_a_report_of_nulls_and_a_digest_that_says_so(
    client: Client, clock: FakeClock, mailer: CapturingMailer
) -> None:
    biz = make_business(client, locale="en", owner_emails=["a@quiet.example", "b@quiet.example"])
    clock.moment = datetime(2026, 11, 20, 17, 5, tzinfo=UTC)
    assert run_schedule(client) == 1
    body = report(client, biz, "2026-11-20").json_body
    assert body["responses"] == 0
    for metric in ("nps", "csat", "ces"):
        summary = body["metrics"][metric]["summary"]
        assert (summary["n"], summary["status"], summary["headline"]) == (0, "no_responses", None)
    assert body["unhappy"]["recovery"]["rate_pct"] is None
    messages = mailer.messages()
    assert sorted(m["To"] for m in messages) == ["a@quiet.example", "b@quiet.example"]
    assert all("no responses" in m["Subject"] for m in messages)
    assert "No responses on this day." in messages[0].get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    ("zone", "created", "last_answer", "before_midnight", "after_midnight", "day"),
    [
        # New York falls back on 2026-11-01: a 25-hour day, midnight after it is 05:00 UTC.
        (
            "America/New_York",
            (2026, 11, 1, 4, 30),
            (2026, 11, 2, 4, 15),
            (2026, 11, 2, 4, 55),
            (2026, 11, 2, 5, 5),
            "2026-11-01",
        ),
        # Berlin springs forward on 2026-03-29: a 23-hour day, midnight after it is 22:00 UTC.
        (
            "Europe/Berlin",
            (2026, 3, 28, 23, 30),
            (2026, 3, 29, 21, 50),
            (2026, 3, 29, 21, 55),
            (2026, 3, 29, 22, 5),
            "2026-03-29",
        ),
        (
            "Asia/Ho_Chi_Minh",
            (2026, 11, 19, 17, 30),
            (2026, 11, 20, 16, 50),
            (2026, 11, 20, 16, 55),
            (2026, 11, 20, 17, 5),
            "2026-11-20",
        ),
    ],
)
def test_a_day_is_the_business_s_own_calendar_day_across_daylight_saving_changes(
    client: Client,
    clock: FakeClock,
    mailer: CapturingMailer,
    zone: str,
    created: tuple[int, ...],
    last_answer: tuple[int, ...],
    before_midnight: tuple[int, ...],
    after_midnight: tuple[int, ...],
    day: str,
) -> None:
    clock.moment = datetime(*created, tzinfo=UTC)  # type: ignore[arg-type]
    biz = make_business(client, timezone=zone, locale="en")
    score(client, biz, "table", 10, "first")  # the first minutes of the local day
    clock.moment = datetime(*last_answer, tzinfo=UTC)  # type: ignore[arg-type]
    score(client, biz, "table", 0, "last")  # its last minutes, after the clocks changed
    clock.moment = datetime(*before_midnight, tzinfo=UTC)  # type: ignore[arg-type]
    assert run_schedule(client) == 0
    clock.moment = datetime(*after_midnight, tzinfo=UTC)  # type: ignore[arg-type]
    assert run_schedule(client) == 1
    body = report(client, biz, day).json_body
    assert body["timezone"] == zone
    assert body["metrics"]["nps"]["summary"]["n"] == 2
    assert body["metrics"]["nps"]["summary"]["stats"]["distribution"]["10"] == 1


def test_changes_compare_the_day_with_the_day_before_and_the_trailing_windows(
    client: Client, clock: FakeClock, mailer: CapturingMailer
) -> None:
    biz = make_business(client)
    for i in range(5):
        score(client, biz, "table", 10, f"a{i}")
    clock.advance(days=1)
    for i in range(5):
        score(client, biz, "table", 0, f"b{i}")
    clock.advance(days=1)
    assert run_schedule(client) == 2  # both finished days, oldest first
    nps = report(client, biz, "2026-11-21").json_body["metrics"]["nps"]
    assert nps["summary"]["headline"] == -100
    assert nps["change"]["previous_day"]["headline"] == 100
    assert nps["change"]["previous_day"]["delta"] == -200
    assert nps["change"]["previous_day"]["within_noise"] is False
    assert nps["change"]["trailing_7"]["n"] == 5 and nps["change"]["trailing_28"]["headline"] == 100


def _calls(client_: Any, job: Any) -> list[str]:
    calls: list[str] = []

    def count(event_name: str, **_: Any) -> None:
        calls.append(event_name.rsplit(".", 1)[-1])

    client_.meta.events.register("before-call.dynamodb", count)
    try:
        wiring.services().reports.run(job, send_digest=False)
    finally:
        client_.meta.events.unregister("before-call.dynamodb", count)
    return calls


def test_one_business_s_report_costs_the_same_calls_however_busy_another_business_is(
    client: Client, clock: FakeClock, mailer: CapturingMailer
) -> None:
    from chalicelib.domain.jobs import ReportJob

    a = make_business(client, name="Quiet")
    b = make_business(client, name="Busy")
    score(client, a, "table", 9, "a")
    clock.moment = datetime(2026, 11, 20, 17, 5, tzinfo=UTC)
    store_client = wiring.services().store.client  # type: ignore[union-attr]
    job = ReportJob(a.business_id, "2026-11-20")
    quiet = _calls(store_client, job)
    clock.moment = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
    for i in range(60):
        score(client, b, "table", i % 11, f"b{i}")
    clock.moment = datetime(2026, 11, 20, 17, 5, tzinfo=UTC)
    busy = _calls(store_client, job)
    assert quiet == busy
    assert "Scan" not in quiet and set(quiet) <= {"GetItem", "Query", "PutItem", "UpdateItem"}


def test_the_local_server_s_hourly_pass_runs_the_same_handlers_and_drains_the_queue(
    client: Client, clock: FakeClock, mailer: CapturingMailer
) -> None:
    from chalicelib.local.scheduler import run_once

    biz = make_business(client)
    score(client, biz, "table", 9, "local")
    queue = get_settings().reports_queue_name
    assert run_once(queue) == 0
    clock.moment = datetime(2026, 11, 20, 17, 5, tzinfo=UTC)
    assert run_once(queue) == 1
    assert report(client, biz, "2026-11-20").json_body["metrics"]["nps"]["summary"]["n"] == 1
    assert len(mailer.sent) == 1
    assert run_once(queue) == 0


def test_backfilling_an_older_day_does_not_make_later_days_due_again(
    client: Client, clock: FakeClock, mailer: CapturingMailer
) -> None:
    biz = make_business(client)
    clock.advance(days=2)
    assert run_schedule(client) == 2  # the 20th and the 21st
    rerun(client, biz.business_id, "2026-11-20")
    assert run_schedule(client) == 0
    clock.advance(days=1)
    assert run_schedule(client) == 1  # only the 22nd
