"""Erasing a respondent (DELETE .../respondents?email=) reaches every copy of their address and comments:
responses, minted links, vouchers and apology records, and the comments the daily job copied into stored
(compressed) reports, which the dashboard and the report API read. Their scores stay, anonymous.

Through the real handlers on moto: answers, the stream Lambda (vouchers, apologies, alerts), the daily
schedule and its worker, then the erasure, then every item of the table is read back (a Scan: tests only)."""

from __future__ import annotations

import json
import zlib
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from chalice.test import Client

from chalicelib.settings import get_settings
from tests.clock import FakeClock
from tests.integration.conftest import Biz, make_business, post_json, table_items
from tests.integration.test_closed_loop import VOUCHER, Stream, answer, deliver, loop  # noqa: F401
from tests.integration.test_daily_reports import run_schedule

ADDRESS = "Lan.Nguyen+quan@Example.com"  # erased as typed by the owner, in another case
DISTINCT = "Nhân viên Trần Văn Bảo quát tôi zq7-erase-me"
OTHER_COMMENT = "Chờ quá lâu, cà phê nguội kx9-keep-me"


def _text_of(value: Any) -> str:
    """Every string an attribute holds, compressed report blobs decompressed."""
    kind, inner = next(iter(value.items()))
    if kind == "B":
        raw = bytes(inner)
        try:
            return zlib.decompress(raw).decode("utf-8", "replace")
        except zlib.error:
            return raw.decode("utf-8", "replace")
    if kind in ("S", "N"):
        return str(inner)
    if kind == "M":
        return " ".join(k + " " + _text_of(v) for k, v in inner.items())
    if kind == "L":
        return " ".join(_text_of(v) for v in inner)
    if kind in ("SS", "NS"):
        return " ".join(inner)
    return json.dumps(inner, default=str)


def everything(aws: Any) -> list[str]:
    return [" ".join(k + " " + _text_of(v) for k, v in item.items()) for item in table_items(aws)]


@pytest.fixture
def shop(client: Client, loop: Stream) -> Biz:  # noqa: F811
    boto3.client("sqs").create_queue(QueueName=get_settings().reports_queue_name)
    return make_business(client, voucher={**VOUCHER, "recovery": True}, sender_email="xin-chao@caphe.example")


def test_erasing_a_customer_removes_their_address_and_comment_from_every_item_and_stored_report(
    client: Client, aws: Any, loop: Stream, shop: Biz, clock: FakeClock  # noqa: F811
) -> None:
    biz_id = shop.business_id
    # Lan: an unhappy table answer with a comment and her address (voucher + apology follow), and a
    # receipt link minted for her address. Another customer: unhappy, with a comment of their own.
    lan = answer(client, shop, 2, who="lan", email=ADDRESS.lower(), consent=True, comment=DISTINCT)
    answer(client, shop, 1, who="other", email="other@example.com", consent=True, comment=OTHER_COMMENT)
    minted = post_json(
        client,
        f"/v1/businesses/{biz_id}/links",
        {"touchpoint_id": shop.touchpoints["receipt"]["touchpoint_id"], "email": ADDRESS.lower()},
        shop.auth,
    )
    assert minted.status_code == 201
    assert deliver(client, loop.event()) == {"batchItemFailures": []}
    clock.advance(days=1)  # past local midnight: the schedule reports 2026-11-20
    assert run_schedule(client) >= 1
    day = "2026-11-20"
    before = client.http.get(f"/v1/businesses/{biz_id}/reports/daily/{day}", headers=shop.auth)
    assert before.status_code == 200
    assert DISTINCT in json.dumps(before.json_body, ensure_ascii=False)
    assert any(DISTINCT in text for text in everything(aws))  # the report blob holds a copy
    assert any(ADDRESS.lower() in text for text in everything(aws))

    erased = client.http.delete(f"/v1/businesses/{biz_id}/respondents?email={quote(ADDRESS)}", headers=shop.auth)

    assert erased.status_code == 200, erased.body
    assert erased.json_body["responses_erased"] == 1 and erased.json_body["links_erased"] == 1
    assert erased.json_body["report_comments_erased"] == 1
    texts = everything(aws)
    for needle in (DISTINCT, "zq7-erase-me", ADDRESS.lower(), "lan.nguyen"):
        leaks = [text[:200] for text in texts if needle.lower() in text.lower()]
        assert leaks == [], f"{needle!r} is still stored in {leaks}"
    # Her score stays, anonymous; the other customer's comment stays in the stored report.
    responses = [i for i in table_items(aws) if i["PK"]["S"].startswith(f"R#{biz_id}#")]
    mine = next(i for i in responses if i["response_id"]["S"] == lan["response_id"])
    assert mine["score"] == {"N": "2"} and "erased_at" in mine
    assert any(OTHER_COMMENT in text for text in texts)
    after = client.http.get(f"/v1/businesses/{biz_id}/reports/daily/{day}", headers=shop.auth).json_body
    assert [c["comment"] for c in after["comments"]] == [OTHER_COMMENT]
    dashboard = client.http.get(f"/dashboard/{biz_id}", headers=shop.auth).body.decode()
    assert "zq7-erase-me" not in dashboard and "kx9-keep-me" in dashboard
    # Erasing again finds nothing and changes nothing.
    again = client.http.delete(f"/v1/businesses/{biz_id}/respondents?email={quote(ADDRESS)}", headers=shop.auth)
    assert again.status_code == 200 and again.json_body["responses_erased"] == 0
    assert everything(aws) == texts
