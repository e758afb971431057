"""Redeeming a voucher at the till through the real route, on moto: once, then 409; 410 once expired; 404
for an unknown code or another business's key; counters for the daily report."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib.settings import get_settings
from tests.clock import FakeClock
from tests.integration.conftest import ADMIN, Biz, make_business, post_json, table_items
from tests.integration.test_closed_loop import Stream, answer, deliver, of_kind

CODE = re.compile(r"\b[2-9A-HJ-NP-Z]{4}(?:-[2-9A-HJ-NP-Z]{4}){3}\b")


@pytest.fixture
def shop(client: Client, aws: Any, monkeypatch: pytest.MonkeyPatch) -> Biz:
    from chalicelib.adapters.sqs import create_queues

    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    boto3.client("sesv2").create_email_identity(EmailIdentity=get_settings().mail_from)
    create_queues([get_settings().mail_dlq_name, get_settings().alert_queue_name])
    return make_business(client, voucher={"description": "Free coffee", "valid_days": 7, "per_email_days": 0})


def issued_code(client: Client, biz: Biz, stream: Stream, who: str) -> str:
    answer(client, biz, 9, who=who, email=f"{who}@example.com", consent=True)
    deliver(client, stream.event())
    message = next(m for m in of_kind("voucher") if m["To"] == f"{who}@example.com")
    found = CODE.search(message.get_body(("plain",)).get_content())
    assert found
    return found.group(0)


def redeem(client: Client, biz: Biz, code: str, auth: dict[str, str] | None = None) -> Any:
    return client.http.post(f"/v1/businesses/{biz.business_id}/vouchers/{code}/redeem", headers=auth or biz.auth)


def test_a_voucher_redeems_once_then_409(client: Client, shop: Biz) -> None:
    stream = Stream()
    code = issued_code(client, shop, stream, "a")
    first = redeem(client, shop, code)
    assert first.status_code == 200, first.body
    assert first.json_body["code"] == code and first.json_body["description"] == "Free coffee"
    again = redeem(client, shop, code.lower().replace("-", ""))
    assert again.status_code == 409 and again.json_body["error"]["code"] == "voucher_already_redeemed"
    counters = [
        i for i in table_items(boto3.client("dynamodb")) if i["PK"]["S"].startswith("F#") and i["SK"]["S"] == "V"
    ]
    assert counters[0]["issued"]["N"] == "1" and counters[0]["redeemed"]["N"] == "1"


def test_an_expired_voucher_is_410_and_stays_unredeemed(client: Client, shop: Biz, clock: FakeClock) -> None:
    code = issued_code(client, shop, Stream(), "b")
    clock.advance(days=9)
    got = redeem(client, shop, code)
    assert got.status_code == 410 and got.json_body["error"]["code"] == "voucher_expired"
    (voucher,) = [i for i in table_items(boto3.client("dynamodb")) if i["PK"]["S"].startswith("V#")]
    assert "redeemed_at" not in voucher


@pytest.mark.parametrize("code", ["ABCD-EFGH-JKMN-PQRS", "nope", "0000-0000-0000-0000", "A" * 200])
def test_an_unknown_or_malformed_code_is_404(client: Client, shop: Biz, code: str) -> None:
    got = redeem(client, shop, code)
    assert got.status_code == 404 and got.json_body["error"]["code"] == "voucher_not_found"


def test_another_business_cannot_redeem_and_no_key_is_401(client: Client, shop: Biz) -> None:
    code = issued_code(client, shop, Stream(), "c")
    other = post_json(
        client,
        "/v1/businesses",
        {"name": "Other", "owner_emails": ["o@other.example"], "timezone": "Asia/Ho_Chi_Minh", "locale": "en"},
        ADMIN,
    ).json_body
    got = redeem(client, shop, code, {"Authorization": f"Bearer {other['owner_key']}"})
    assert got.status_code == 404
    assert client.http.post(f"/v1/businesses/{shop.business_id}/vouchers/{code}/redeem").status_code == 401
    assert redeem(client, shop, code).status_code == 200  # untouched by the refused attempts
