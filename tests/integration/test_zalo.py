"""A business's Zalo Official Account (issue #16) through the real handlers and the local fake Zalo on
loopback: connecting (checked by one refresh, secrets in Secrets Manager, nothing secret in the table or in
an answer), the access token refreshed before it expires and once after Zalo refuses it, one refresh at a
time, and our requests held to the documented shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.adapters.zalo import HttpZaloApi
from chalicelib.domain.zalo import ZaloError
from chalicelib.local.fake_zalo import FakeZalo
from chalicelib.settings import get_settings
from tests.clock import FakeClock
from tests.integration.conftest import Biz, table_items
from tests.integration.test_closed_loop import loop  # noqa: F401 - the stream fixture

CONNECT = {"app_id": "4321", "app_secret": "app-secret-123", "refresh_token": "oa-refresh-0",
           "templates": {"voucher": "1001", "apology": "1002", "rating": "1003"}}


@pytest.fixture
def fake(aws: Any) -> Iterator[FakeZalo]:
    found = FakeZalo().start()
    found.accept_refresh_token("oa-refresh-0")
    services = wiring.services()
    zalo = services.zalo
    zalo._api = HttpZaloApi(found.url, found.url)
    yield found
    found.stop()


def _connect(client: Client, biz: Biz, **body: Any) -> Any:
    return client.http.put(f"/v1/businesses/{biz.business_id}/zalo", body=json.dumps({**CONNECT, **body}),
                           headers={"Content-Type": "application/json", **biz.auth})


def test_connecting_checks_the_token_with_zalo_keeps_secrets_out_of_the_table_and_turns_the_phone_field_on(
    client: Client, biz: Biz, fake: FakeZalo, aws: Any
) -> None:
    connected = _connect(client, biz)
    assert connected.status_code == 200, connected.body
    body = connected.json_body
    assert body["connected"] is True and body["templates"] == {"voucher": "1001", "apology": "1002", "rating": "1003"}
    assert "app-secret-123" not in connected.body.decode() and "oa-refresh-0" not in connected.body.decode()
    table = json.dumps(table_items(aws), default=str)
    assert "app-secret-123" not in table and "rt-1" not in table and "at-1" not in table
    secret_id = f"{get_settings().table_name}/zalo/{biz.business_id}"
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)
    assert json.loads(secret["SecretString"])["refresh_token"] == "rt-1"  # the next one, kept for the next refresh
    assert client.http.get(f"/v1/businesses/{biz.business_id}", headers=biz.auth).status_code == 200
    token = biz.touchpoints["receipt"]["token"]
    from tests.integration.conftest import page_form

    page = client.http.post(f"/s/{token}", body=page_form(client, token, 3),
                            headers={"Content-Type": "application/x-www-form-urlencoded"}).body.decode()
    assert 'type="tel" name="phone"' in page

    gone = client.http.delete(f"/v1/businesses/{biz.business_id}/zalo", headers=biz.auth)
    assert gone.status_code == 200 and gone.json_body["connected"] is False
    with pytest.raises(boto3.client("secretsmanager").exceptions.ResourceNotFoundException):
        boto3.client("secretsmanager").get_secret_value(SecretId=f"{get_settings().table_name}/zalo/{biz.business_id}")


def test_a_refresh_token_zalo_refuses_is_a_clear_422_and_nothing_is_stored(
    client: Client, biz: Biz, fake: FakeZalo, aws: Any
) -> None:
    before = table_items(aws)
    refused = _connect(client, biz, refresh_token="RT-unknown")
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "zalo_refused"
    assert "refresh token" in refused.json_body["error"]["message"]
    assert table_items(aws) == before
    for bad in ({"templates": {}}, {"app_id": "abc"}, {"templates": {"voucher": "1; drop"}}):
        assert _connect(client, biz, **bad).status_code == 422


def test_the_access_token_is_refreshed_before_it_expires_and_once_when_zalo_refuses_it(
    client: Client, biz: Biz, fake: FakeZalo, clock: FakeClock
) -> None:
    assert _connect(client, biz).status_code == 200
    zalo = wiring.services().zalo
    zalo.send(biz.business_id, "voucher", "+84912345678", {"code": "A"}, "t1")
    assert fake.refreshes == 1  # the connect's refresh only: the token was fresh
    clock.advance(hours=25)  # past the token's 90,000 s in our clock: refreshed before sending
    zalo.send(biz.business_id, "voucher", "+84912345678", {"code": "B"}, "t2")
    assert fake.refreshes == 2
    fake.expire_access_tokens()  # Zalo ends the token early: refused once, refreshed, sent
    sent = zalo.send(biz.business_id, "voucher", "+84912345678", {"code": "C"}, "t3")
    assert fake.refreshes == 3 and sent.msg_id.startswith("zns-")
    assert [m["tracking_id"] for m in fake.sent()] == ["t1", "t2", "t3"]


def test_each_zalo_error_class_reaches_the_caller_with_its_kind(client: Client, biz: Biz, fake: FakeZalo) -> None:
    assert _connect(client, biz, templates={"voucher": "1001"}).status_code == 200
    zalo = wiring.services().zalo
    for code, message, kind in ((-118, "Zalo account not existed", "bad_phone"), (-1472, "Daily limit exceeded",
                                "owner"), (-500, "Internal error", "transient")):
        fake.fail_next(code, message)
        with pytest.raises(ZaloError) as raised:
            zalo.send(biz.business_id, "voucher", "+84912345678", {}, f"t{code}")
        assert raised.value.kind == kind
    with pytest.raises(ZaloError) as missing:
        zalo.send(biz.business_id, "apology", "+84912345678", {}, "t-apology")  # no apology template connected
    assert missing.value.kind == "owner"


def test_two_containers_refreshing_at_once_make_one_refresh_call(
    client: Client, biz: Biz, fake: FakeZalo, clock: FakeClock
) -> None:
    assert _connect(client, biz).status_code == 200
    zalo = wiring.services().zalo
    clock.advance(hours=25)
    # The other container holds the refresh lock: this one waits for its token instead of refreshing too.
    now = clock.now().isoformat()
    assert zalo._connections.lock(biz.business_id, now, "9999-12-31T00:00:00Z")
    waited: list[float] = []

    def other_container_refreshes(seconds: float) -> None:
        waited.append(seconds)
        zalo._connections.refreshed(biz.business_id, "")  # its refresh done, the lock released
        tokens = zalo._api.refresh("4321", "app-secret-123", json.loads(boto3.client("secretsmanager").get_secret_value(
            SecretId=f"{get_settings().table_name}/zalo/{biz.business_id}")["SecretString"])["refresh_token"])
        zalo._secrets.put(biz.business_id, zalo._secret("app-secret-123", tokens))

    zalo._sleep = other_container_refreshes
    zalo.send(biz.business_id, "voucher", "+84912345678", {}, "t-lock")
    assert waited == [0.5] and fake.refreshes == 2  # the connect's, and the other container's: none of ours


def test_our_requests_have_the_documented_method_path_headers_and_fields() -> None:
    fake = FakeZalo().start()
    try:
        fake.accept_refresh_token("RT0")
        api = HttpZaloApi(fake.url, fake.url)
        tokens = api.refresh("123", "s3cret-key", "RT0")
        api.send_template(tokens.access_token, "84912345678", "1001", {"code": "ABC"}, "voucher#b#r")
        api.ratings(tokens.access_token, "1003", 0, 1, 0, 100)
        refresh, send, ratings = fake.requests
        assert (refresh["method"], refresh["path"]) == ("POST", "/v4/oa/access_token")
        assert refresh["body"] == {"app_id": "123", "refresh_token": "RT0", "grant_type": "refresh_token"}
        assert refresh["headers"]["secret_key"] == "…"  # sent, and never written to the outbox
        assert (send["method"], send["path"]) == ("POST", "/message/template")
        assert send["body"] == {"phone": "84912345678", "template_id": "1001", "template_data": {"code": "ABC"},
                                "tracking_id": "voucher#b#r"}
        assert send["headers"]["content-type"] == "application/json" and send["headers"]["access_token"] == "…"
        assert (ratings["method"], ratings["path"]) == ("GET", "/rating/get")
        with pytest.raises(ZaloError) as used:
            api.refresh("123", "s3cret-key", "RT0")  # a refresh token works once
        assert used.value.code == -14014
    finally:
        fake.stop()


def test_the_fake_writes_each_request_to_the_outbox_without_secrets(tmp_path: Any) -> None:
    fake = FakeZalo(outbox=tmp_path).start()
    try:
        fake.accept_refresh_token("RT0")
        api = HttpZaloApi(fake.url, fake.url)
        api.refresh("123", "s3cret-key", "RT0")
        (written,) = tmp_path.glob("zalo-*.json")
        text = written.read_text()
        assert "s3cret-key" not in text and json.loads(text)["path"] == "/v4/oa/access_token"
    finally:
        fake.stop()


# ---- vouchers and apologies by ZNS (the stream consumer) ------------------------------------------------------


def _answer_with_phone(client: Client, biz: Biz, score: int, **contact: Any) -> dict[str, Any]:
    from tests.integration.conftest import post_json, send_answer

    created = send_answer(client, {"token": biz.touchpoints["table"]["token"], "score": score}).json_body
    saved = post_json(client, f"/v1/responses/{created['response_id']}/comment",
                      {"edit_token": created["edit_token"], "consent": True, **contact})
    assert saved.status_code == 200, saved.body
    return created


@pytest.fixture
def zshop(client: Client, fake: FakeZalo, loop: Any) -> Biz:  # noqa: F811
    from tests.integration.conftest import make_business
    from tests.integration.test_closed_loop import VOUCHER

    shop = make_business(client, voucher=VOUCHER, sender_email="xin-chao@caphe.example")
    assert _connect(client, shop).status_code == 200
    return shop


def test_an_answer_with_a_phone_gets_its_voucher_by_zalo_and_no_email(
    client: Client, zshop: Biz, fake: FakeZalo, loop: Any  # noqa: F811
) -> None:
    from tests.integration.test_closed_loop import deliver, of_kind

    created = _answer_with_phone(client, zshop, 9, phone="0912 345 678", email="khach@example.com")
    assert deliver(client, loop.event()) == {"batchItemFailures": []}
    (message,) = fake.sent()
    assert message["phone"] == "84912345678" and message["template_id"] == "1001"
    assert message["tracking_id"] == f"zns#{zshop.business_id}#voucher#{created['response_id']}"
    assert set(message["template_data"]) == {"business_name", "voucher_code", "voucher_description", "valid_until"}
    assert of_kind("voucher") == []  # one message: the Zalo one
    assert deliver(client, loop.event()) == {"batchItemFailures": []}  # a redelivered batch sends nothing more
    assert len(fake.sent()) == 1


def test_an_unhappy_customer_gets_one_apology_by_zalo_and_the_owner_the_alert(
    client: Client, zshop: Biz, fake: FakeZalo, loop: Any  # noqa: F811
) -> None:
    from tests.integration.test_closed_loop import deliver, of_kind

    _answer_with_phone(client, zshop, 2, phone="+84 987 654 321", email="buon@example.com", comment="Chờ lâu")
    assert deliver(client, loop.event()) == {"batchItemFailures": []}
    (message,) = fake.sent()
    assert message["template_id"] == "1002" and "Chờ lâu" not in json.dumps(message, ensure_ascii=False)
    assert of_kind("apology") == [] and of_kind("alert")  # the customer's one message is Zalo's


def test_a_number_without_zalo_falls_back_to_email_with_the_same_code(
    client: Client, zshop: Biz, fake: FakeZalo, loop: Any  # noqa: F811
) -> None:
    from tests.integration.test_closed_loop import deliver, of_kind

    fake.fail_next(-118, "Zalo account not existed")
    _answer_with_phone(client, zshop, 9, phone="0912345678", email="khach@example.com")
    assert deliver(client, loop.event()) == {"batchItemFailures": []}
    assert fake.sent() == []
    (email,) = of_kind("voucher")
    assert email["To"] == "khach@example.com"


def test_an_owner_side_problem_falls_back_to_email_and_tells_the_owner_once_a_day(
    client: Client, zshop: Biz, fake: FakeZalo, loop: Any  # noqa: F811
) -> None:
    from tests.integration.test_closed_loop import deliver, of_kind

    fake.fail_next(-1472, "Daily limit exceeded", times=2)
    _answer_with_phone(client, zshop, 9, phone="0912345678", email="a@example.com")
    _answer_with_phone(client, zshop, 10, phone="0987654321", email="b@example.com")
    assert deliver(client, loop.event()) == {"batchItemFailures": []}
    assert sorted(m["To"] for m in of_kind("voucher")) == ["a@example.com", "b@example.com"]
    (told,) = of_kind("zalo_problem")
    assert told["To"] == "owner@caphe.example" and "Daily limit exceeded" in told.get_body(("plain",)).get_content()
    connection = client.http.get(f"/v1/businesses/{zshop.business_id}/zalo", headers=zshop.auth).json_body
    assert connection["problem"] == "Daily limit exceeded"


def test_a_passing_zalo_failure_is_retried_by_the_stream_and_sends_once(
    client: Client, zshop: Biz, fake: FakeZalo, loop: Any  # noqa: F811
) -> None:
    from tests.integration.test_closed_loop import deliver, of_kind

    fake.fail_next(-500, "Internal server error")
    _answer_with_phone(client, zshop, 9, phone="0912345678")
    event = loop.event()
    first = deliver(client, event)
    assert len(first["batchItemFailures"]) == 1  # the record is retried, the claim given back
    assert deliver(client, event) == {"batchItemFailures": []}
    assert len(fake.sent()) == 1 and of_kind("voucher") == []


def test_erasing_a_customer_by_phone_reaches_the_voucher_sent_by_zalo(
    client: Client, zshop: Biz, fake: FakeZalo, loop: Any, aws: Any  # noqa: F811
) -> None:
    from chalicelib.domain import phones
    from tests.integration.test_closed_loop import deliver

    _answer_with_phone(client, zshop, 9, phone="0912345678")
    assert deliver(client, loop.event()) == {"batchItemFailures": []}
    hashed = phones.phone_hash(get_settings().app_secret, "+84912345678")
    assert hashed in json.dumps(table_items(aws))
    erased = client.http.delete(f"/v1/businesses/{zshop.business_id}/respondents?phone=0912345678",
                                headers=zshop.auth)
    assert erased.status_code == 200 and erased.json_body["responses_erased"] == 1
    assert "+84912345678" not in json.dumps(table_items(aws))
    # What keeps the number's hash is only the marker that stops it being asked for a rating again.
    holding = [i for i in table_items(aws) if hashed in json.dumps(i)]
    assert [i["type"]["S"] for i in holding] == ["zalo_erased"]
