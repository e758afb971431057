"""Owners' webhooks and Slack (issue #16) through the real handlers on moto: an answer, the table's
stream into ``webhook_events``, the queue into ``webhook_worker``, a real HTTP receiver on loopback that
verifies each delivery exactly as docs/webhooks.md tells a receiver to (and nothing else), retries with
backoff, the pause after a day with the owner told once, and the SSRF refusals at registration."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib.local.scheduler import sqs_event
from chalicelib.settings import get_settings
from tests.clock import FakeClock
from tests.integration.conftest import Biz, make_business, post_json, send_answer
from tests.integration.test_closed_loop import Stream, loop, of_kind  # noqa: F401

EVENTS = ["response.created", "case.opened", "case.replied", "case.resolved", "report.daily"]


class Receiver:
    """A receiver written from docs/webhooks.md only: it checks ``Survey-Signature`` (HMAC-SHA256 of
    "<t>.<raw body>" under the secret, compared in constant time), refuses a timestamp more than five
    minutes from its clock, and refuses an event id it has seen (a replay); answers ``status``."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.secret = ""
        self.now = now
        self.status = 200
        self.accepted: list[dict[str, Any]] = []
        self.refused: list[str] = []
        self.seen: set[str] = set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                verdict = receiver.verify(self.headers.get("Survey-Signature", ""), raw)
                if verdict:
                    receiver.refused.append(verdict)
                    self.send_response(400)
                else:
                    self.send_response(receiver.status)
                    if receiver.status < 300:
                        receiver.accepted.append(json.loads(raw))
                        receiver.seen.add(json.loads(raw)["id"])
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/survey"

    def verify(self, header: str, raw: bytes) -> str | None:
        fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
        if "t" not in fields or "v1" not in fields:
            return "no signature"
        expected = hmac.new(self.secret.encode(), fields["t"].encode() + b"." + raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields["v1"]):
            return "bad signature"
        if abs(self.now() - int(fields["t"])) > 300:
            return "too old"
        if json.loads(raw)["id"] in self.seen:
            return "replay"
        return None


@pytest.fixture
def receiver(clock: FakeClock) -> Iterator[Receiver]:
    found = Receiver(lambda: clock.now().timestamp())
    yield found
    found.server.shutdown()


@pytest.fixture
def queues(loop: Stream) -> Any:  # noqa: F811
    settings = get_settings()
    sqs = boto3.client("sqs")
    for name in (settings.webhooks_queue_name, settings.webhooks_dlq_name):
        sqs.create_queue(QueueName=name)
    return sqs


def _register(client: Client, biz: Biz, url: str, events: list[str] = EVENTS, kind: str = "json") -> Any:
    return post_json(client, f"/v1/businesses/{biz.business_id}/webhooks", {"url": url, "events": events,
                                                                           "kind": kind}, biz.auth)


def _fan_out(client: Client, stream: Stream) -> dict[str, Any]:
    return client.lambda_.invoke("webhook_events", stream.event()).payload


def _drain(client: Client, sqs: Any) -> int:
    """Run the worker once on each message waiting now, as Lambda would; a retry the worker enqueues meanwhile
    waits for the next drain (moto may not hold back a delayed message, so the count is taken first)."""
    url = sqs.get_queue_url(QueueName=get_settings().webhooks_queue_name)["QueueUrl"]
    waiting = int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"])
    done = 0
    while done < waiting:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(10, waiting - done)).get("Messages", [])
        if not got:
            return done
        for message in got:
            client.lambda_.invoke("webhook_worker", sqs_event(message["Body"], "webhooks", message["ReceiptHandle"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            done += 1
    return done


def _messages(sqs: Any, name: str) -> list[dict[str, Any]]:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
        "Messages", [])]


def test_an_unhappy_answer_reaches_the_owners_endpoint_signed_with_its_secret_and_a_replay_is_refused(
    client: Client, loop: Stream, queues: Any, receiver: Receiver  # noqa: F811
) -> None:
    biz = make_business(client)
    created = _register(client, biz, receiver.url)
    assert created.status_code == 201, created.body
    receiver.secret = created.json_body["secret"]
    assert receiver.secret.startswith("whsec_") and created.headers["Cache-Control"] == "no-store"
    listed = client.http.get(f"/v1/businesses/{biz.business_id}/webhooks", headers=biz.auth).json_body
    assert "secret" not in json.dumps(listed)

    answer = send_answer(client, {"token": biz.touchpoints["table"]["token"], "score": 2})
    assert answer.status_code == 201
    assert client.lambda_.invoke("followups", loop.event()).payload == {"batchItemFailures": []}  # opens the case
    stream = Stream()
    assert _fan_out(client, stream) == {"batchItemFailures": []}
    assert _drain(client, queues) == 2
    by_type = {e["type"]: e for e in receiver.accepted}
    assert set(by_type) == {"response.created", "case.opened"} and receiver.refused == []
    body = by_type["response.created"]
    assert body["version"] == 1 and body["data"]["score"] == 2 and body["data"]["touchpoint_name"] == "table"
    assert body["data"]["response_id"] == answer.json_body["response_id"] and body["id"].startswith("evt_")

    # The same event again (a retried stream batch) is refused by the receiver as a replay.
    replayed = Stream()
    _fan_out(client, replayed)
    _drain(client, queues)
    assert receiver.refused.count("replay") == 2 and len(receiver.accepted) == 2
    log = client.http.get(
        f"/v1/businesses/{biz.business_id}/webhooks/{created.json_body['webhook_id']}/deliveries", headers=biz.auth
    ).json_body["deliveries"]
    assert [d["ok"] for d in log].count(True) == 2 and all(d["latency_ms"] >= 0 for d in log)


def test_a_rotated_secret_signs_from_then_on_and_the_old_one_fails_verification(
    client: Client, loop: Stream, queues: Any, receiver: Receiver  # noqa: F811
) -> None:
    biz = make_business(client)
    created = _register(client, biz, receiver.url, ["response.created"]).json_body
    receiver.secret = created["secret"]
    rotated = client.http.post(
        f"/v1/businesses/{biz.business_id}/webhooks/{created['webhook_id']}/secret", headers=biz.auth
    )
    assert rotated.status_code == 201 and rotated.json_body["secret"] != created["secret"]
    send_answer(client, {"token": biz.touchpoints["table"]["token"], "score": 9})
    _fan_out(client, loop)
    _drain(client, queues)
    assert receiver.refused == ["bad signature"]


def test_a_failing_endpoint_is_retried_with_backoff_then_paused_after_a_day_and_the_owner_told_once(
    client: Client, loop: Stream, queues: Any, receiver: Receiver, clock: FakeClock  # noqa: F811
) -> None:
    biz = make_business(client, owner_emails=["owner@caphe.example", "ban@caphe.example"])
    created = _register(client, biz, receiver.url, ["response.created"]).json_body
    receiver.secret, receiver.status = created["secret"], 503
    send_answer(client, {"token": biz.touchpoints["table"]["token"], "score": 7})
    _fan_out(client, loop)
    from chalicelib import wiring

    webhooks = wiring.services().webhooks
    delays: list[int] = []
    real_send = webhooks._queue.send

    def recording(message: dict[str, Any], delay_seconds: int = 0) -> None:
        delays.append(delay_seconds)
        real_send(message, 0)  # moto would hide a delayed message for real seconds: the test keeps time

    webhooks._queue.send = recording  # type: ignore[method-assign]
    for _ in range(4):
        clock.advance(minutes=10)
        _drain(client, queues)
    assert delays == [30, 60, 120, 240]  # doubling from 30 s, at most SQS's 900 s
    state = client.http.get(f"/v1/businesses/{biz.business_id}/webhooks", headers=biz.auth).json_body
    assert state["webhooks"][0]["status"] == "active" and state["webhooks"][0]["failing_since"]
    assert of_kind("webhook_paused") == []

    clock.advance(hours=24)
    _drain(client, queues)
    paused = client.http.get(f"/v1/businesses/{biz.business_id}/webhooks", headers=biz.auth).json_body
    assert paused["webhooks"][0]["status"] == "paused"
    told = of_kind("webhook_paused")
    assert sorted(m["To"] for m in told) == ["ban@caphe.example", "owner@caphe.example"]
    assert receiver.url in told[0].get_body(("plain",)).get_content()
    # Past a day of retries the delivery went to the dead letters, not back to the queue.
    assert [m["event"]["type"] for m in _messages(queues, get_settings().webhooks_dlq_name)] == ["response.created"]

    # Paused: new events are not queued for it, and nothing tells the owner again.
    send_answer(client, {"token": biz.touchpoints["table"]["token"], "score": 8})
    _fan_out(client, loop)
    assert _drain(client, queues) == 0 and len(of_kind("webhook_paused")) == 2
    resumed = client.http.post(
        f"/v1/businesses/{biz.business_id}/webhooks/{created['webhook_id']}/resume", headers=biz.auth
    )
    assert resumed.status_code == 200 and resumed.json_body["status"] == "active"
    receiver.status = 200
    send_answer(client, {"token": biz.touchpoints["table"]["token"], "score": 10})
    _fan_out(client, loop)
    _drain(client, queues)
    assert [e["data"]["score"] for e in receiver.accepted] == [10]


def test_a_slack_endpoint_gets_a_readable_message_in_the_business_language(
    client: Client, loop: Stream, queues: Any, receiver: Receiver  # noqa: F811
) -> None:
    biz = make_business(client)
    assert _register(client, biz, receiver.url, ["response.created"], kind="slack").status_code == 201
    got: list[dict[str, Any]] = []
    receiver.verify = lambda header, raw: got.append(json.loads(raw)) or None  # type: ignore[method-assign]
    created = send_answer(client, {"token": biz.touchpoints["table"]["token"], "score": 3})
    post_json(client, f"/v1/responses/{created.json_body['response_id']}/comment",
              {"edit_token": created.json_body["edit_token"], "comment": "Chờ <lâu> & nguội"})
    _fan_out(client, loop)
    _drain(client, queues)
    assert got[0] == {"text": "Cà Phê Sài Gòn: câu trả lời mới NPS 3/10 (table)"}


# Refused even here, where the test stage lets loopback receivers in (tests/unit/test_webhook_urls.py holds
# the deployed rules: plain http and loopback in every spelling refused too).
HOSTILE = [
    "https://user:pass@example.com/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://[fd00:ec2::254]/",
    "https://10.0.0.5/hook",
    "https://192.168.1.1/hook",
    "https://172.16.0.1/hook",
    "https://167772161/",  # 10.0.0.1 as one decimal number
    "https://0xa.1/",  # 10.0.0.1 in inet_aton's hex-and-short form
    "https://[::ffff:10.0.0.1]/",
    "https://metadata.google.internal/",
    "https://intranet/hook",
    "ftp://example.com/hook",
]


@pytest.mark.parametrize("url", HOSTILE)
def test_registration_refuses_urls_that_point_inside_with_a_clear_422_and_stores_nothing(
    client: Client, biz: Biz, url: str
) -> None:
    refused = _register(client, biz, url)
    assert refused.status_code == 422, (url, refused.body)
    assert refused.json_body["error"]["code"] in ("url_not_allowed", "invalid_input")
    assert client.http.get(f"/v1/businesses/{biz.business_id}/webhooks", headers=biz.auth).json_body == {
        "webhooks": []}


def test_a_name_that_resolves_inside_is_refused_at_registration_and_again_at_delivery(
    client: Client, loop: Stream, queues: Any, receiver: Receiver  # noqa: F811
) -> None:
    from chalicelib import wiring
    from chalicelib.adapters.http_out import PinnedHttpSender

    answers = {"hooks.example.com": ["93.184.216.34"]}
    sender = PinnedHttpSender(allow_loopback=False, resolver=lambda host, port: answers[host])
    webhooks = wiring.services().webhooks
    webhooks._sender = sender
    biz = make_business(client)
    answers["inside.example.com"] = ["10.1.2.3"]
    refused = _register(client, biz, "https://inside.example.com/hook")
    assert refused.status_code == 422 and "private" in refused.json_body["error"]["message"]
    created = _register(client, biz, "https://hooks.example.com/hook", ["response.created"])
    assert created.status_code == 201
    answers["hooks.example.com"] = ["127.0.0.1"]  # the name now resolves to loopback (DNS rebinding)
    send_answer(client, {"token": biz.touchpoints["table"]["token"], "score": 9})
    _fan_out(client, loop)
    _drain(client, queues)
    (attempt,) = client.http.get(
        f"/v1/businesses/{biz.business_id}/webhooks/{created.json_body['webhook_id']}/deliveries", headers=biz.auth
    ).json_body["deliveries"]
    assert attempt["ok"] is False and attempt["error"].startswith("refused") and attempt["status"] is None


def test_the_owner_api_limits_and_validates_endpoints(client: Client, biz: Biz, receiver: Receiver) -> None:
    for body in ({"url": receiver.url, "events": []}, {"url": receiver.url, "events": ["order.paid"]},
                 {"url": receiver.url, "events": EVENTS, "kind": "teams"}):
        assert post_json(client, f"/v1/businesses/{biz.business_id}/webhooks", body, biz.auth).status_code == 422
    for _ in range(10):
        assert _register(client, biz, receiver.url).status_code == 201
    over = _register(client, biz, receiver.url)
    assert over.status_code == 409 and over.json_body["error"]["code"] == "too_many_webhooks"
    other = make_business(client, name="Quán khác")
    hook = client.http.get(f"/v1/businesses/{biz.business_id}/webhooks", headers=biz.auth).json_body["webhooks"][0]
    foreign = client.http.delete(f"/v1/businesses/{other.business_id}/webhooks/{hook['webhook_id']}",
                                 headers=other.auth)
    assert foreign.status_code == 404
    assert client.http.delete(f"/v1/businesses/{biz.business_id}/webhooks/{hook['webhook_id']}",
                              headers=biz.auth).status_code == 200


def test_the_console_adds_an_endpoint_showing_its_secret_once_and_deletes_it_only_after_a_confirmation(
    client: Client, biz: Biz, receiver: Receiver
) -> None:
    from tests.integration.test_console import Browser, sign_in_by_key

    browser = Browser(client)
    sign_in_by_key(browser, biz)
    path = f"/console/{biz.business_id}/channels"
    added = browser.post(path, {"action": "hook_add", "url": receiver.url, "kind": "json",
                                "event_case_opened": "on", "event_report_daily": "on"})
    assert added.status_code == 200 and "whsec_" in added.body.decode()
    (hook,) = client.http.get(f"/v1/businesses/{biz.business_id}/webhooks", headers=biz.auth).json_body["webhooks"]
    assert hook["events"] == ["case.opened", "report.daily"]
    page = browser.get(path).body.decode()
    assert receiver.url in page and "whsec_" not in page  # shown once
    refused = browser.post(path, {"action": "hook_add", "url": "https://10.0.0.1/x", "event_case_opened": "on"})
    assert refused.status_code == 422 and "private" in refused.body.decode()
    asked = browser.post(path, {"action": "hook_delete", "webhook_id": hook["webhook_id"]})
    assert "Có, xóa" in asked.body.decode()
    assert len(client.http.get(f"/v1/businesses/{biz.business_id}/webhooks", headers=biz.auth).json_body[
        "webhooks"]) == 1
    browser.post(path, {"action": "hook_delete", "webhook_id": hook["webhook_id"], "confirm": "yes"})
    assert client.http.get(f"/v1/businesses/{biz.business_id}/webhooks", headers=biz.auth).json_body == {
        "webhooks": []}
