"""The complaint inbox (issue #14) through the real handlers on moto: an unhappy answer, the stream Lambda
opening its case, the owner's reply emailed through SESv2 (read back from moto's sent messages), resolution,
listing with the cursor, and erasure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import boto3
import pytest
from chalice.test import Client

from chalicelib import tables, wiring
from chalicelib.settings import get_settings
from tests.clock import FakeClock
from tests.integration.conftest import Biz, make_business, post_json, table_items
from tests.integration.test_closed_loop import VOUCHER, Stream, answer, deliver, loop, of_kind  # noqa: F401

CUSTOMER = "khach@example.com"


@pytest.fixture
def shop(client: Client, loop: Stream) -> Biz:  # noqa: F811
    return make_business(
        client, voucher=VOUCHER, sender_email="xin-chao@caphe.example",
        owner_emails=["owner@caphe.example", "chu2@caphe.example"],
    )


def cases_path(biz: Biz, tail: str = "") -> str:
    return f"/v1/businesses/{biz.business_id}/cases{tail}"


def reply(client: Client, biz: Biz, response_id: str, message: str, auth: dict[str, str] | None = None) -> Any:
    return post_json(client, cases_path(biz, f"/{response_id}/reply"), {"message": message}, auth or biz.auth)


def unhappy_case(client: Client, loop: Stream, biz: Biz, **extra: Any) -> str:  # noqa: F811
    created = answer(client, biz, 2, **extra)
    assert deliver(client, loop.event()) == {"batchItemFailures": []}
    return str(created["response_id"])


def test_an_unhappy_answer_with_a_consented_email_opens_a_case_the_inbox_lists(
    client: Client, loop: Stream, shop: Biz  # noqa: F811
) -> None:
    rid = unhappy_case(client, loop, shop, email=CUSTOMER, consent=True, comment="Cà phê nguội")
    listed = client.http.get(cases_path(shop), headers=shop.auth)
    assert listed.status_code == 200, listed.body
    (case,) = listed.json_body["items"]
    assert case["response_id"] == rid and case["status"] == "open" and case["has_contact"] is True
    assert case["score"] == 2 and case["metric"] == "nps" and case["comment"] == "Cà phê nguội"
    assert [(e["by"], e["action"]) for e in case["history"]] == [("customer", "opened")]
    # No copy of the customer's address on the case: it is read from the answer.
    (item,) = [i for i in table_items(boto3.client("dynamodb")) if i["PK"]["S"] == tables.case_pk(shop.business_id)]
    assert CUSTOMER not in str(item) and "Cà phê nguội" not in str(item)


def test_a_reply_reaches_the_customer_threaded_with_the_apology_from_the_owner_escaped(
    client: Client, loop: Stream, shop: Biz  # noqa: F811
) -> None:
    rid = unhappy_case(client, loop, shop, email=CUSTOMER, consent=True)
    (apology,) = of_kind("apology")
    got = reply(client, shop, rid, "Xin lỗi bạn <b>rất nhiều</b>\nLần sau mời bạn một ly.")
    assert got.status_code == 200, got.body
    case = got.json_body
    assert case["status"] == "replied" and case["replies"] == 1 and case["first_reply_at"]
    assert [(e["action"], e.get("outcome")) for e in case["history"]] == [("opened", None), ("reply", "sent")]
    assert case["history"][1]["by"] == "owner key"
    (sent_reply,) = of_kind("reply")
    assert sent_reply["To"] == CUSTOMER and sent_reply["Reply-To"] == "owner@caphe.example"
    assert sent_reply["Subject"] == "Re: " + apology["Subject"]
    # SES replaces the Message-ID it is given: the reply names SES's (what the customer holds) first and
    # ours too; moto keeps ours, so the apology moto stored carries the deterministic one.
    ledger = wiring.services().mail._ledger.get(tables.apology_mail(shop.business_id, rid))
    assert ledger is not None and ledger.message_id
    assert sent_reply["In-Reply-To"] == f"<{ledger.message_id}@{boto3.client('sesv2').meta.region_name}.amazonses.com>"
    assert apology["Message-ID"] in sent_reply["References"].split()
    assert sent_reply["In-Reply-To"] in sent_reply["References"].split()
    html = sent_reply.get_body(("html",)).get_content()
    assert "&lt;b&gt;rất nhiều&lt;/b&gt;<br>" in html and "<b>rất nhiều" not in html
    assert "Lần sau mời bạn một ly." in sent_reply.get_body(("plain",)).get_content()
    assert sent_reply["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert sent_reply["List-Unsubscribe"].startswith("<https://")


def test_the_sixth_reply_is_refused_and_sends_nothing(client: Client, loop: Stream, shop: Biz) -> None:  # noqa: F811
    rid = unhappy_case(client, loop, shop, email=CUSTOMER, consent=True)
    for n in range(5):
        assert reply(client, shop, rid, f"Trả lời số {n + 1}").status_code == 200
    sixth = reply(client, shop, rid, "Số sáu")
    assert sixth.status_code == 409 and sixth.json_body["error"]["code"] == "reply_limit"
    assert len(of_kind("reply")) == 5


def test_an_unsubscribed_customer_gets_no_reply_and_the_case_is_unchanged(
    client: Client, loop: Stream, shop: Biz  # noqa: F811
) -> None:
    rid = unhappy_case(client, loop, shop, email=CUSTOMER, consent=True)
    (apology,) = of_kind("apology")
    url = apology["List-Unsubscribe"].split(",")[0].strip("<> ")
    assert client.http.post("/u/" + url.rsplit("/", 1)[1], body="List-Unsubscribe=One-Click",
                            headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 200
    before = table_items(boto3.client("dynamodb"))
    refused = reply(client, shop, rid, "Xin lỗi")
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "customer_unsubscribed"
    assert table_items(boto3.client("dynamodb")) == before
    assert of_kind("reply") == []


def test_a_case_resolves_once_and_then_takes_no_reply(client: Client, loop: Stream, shop: Biz) -> None:  # noqa: F811
    rid = unhappy_case(client, loop, shop, email=CUSTOMER, consent=True)
    done = post_json(client, cases_path(shop, f"/{rid}/resolve"), {"note": "Đã gọi điện xin lỗi"}, shop.auth)
    assert done.status_code == 200, done.body
    assert done.json_body["status"] == "resolved" and done.json_body["history"][-1]["note"] == "Đã gọi điện xin lỗi"
    again = post_json(client, cases_path(shop, f"/{rid}/resolve"), {}, shop.auth)
    assert again.status_code == 409 and again.json_body["error"]["code"] == "case_resolved"
    late = reply(client, shop, rid, "Xin lỗi")
    assert late.status_code == 409 and late.json_body["error"]["code"] == "case_resolved"


def test_a_case_without_an_address_opens_when_the_customer_adds_one(
    client: Client, loop: Stream, shop: Biz  # noqa: F811
) -> None:
    created = answer(client, shop, 1)
    deliver(client, loop.event())
    rid = created["response_id"]
    refused = reply(client, shop, rid, "Xin lỗi")
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "no_contact"
    listed = client.http.get(cases_path(shop, "?status=no_contact"), headers=shop.auth).json_body
    assert [c["response_id"] for c in listed["items"]] == [rid]
    added = post_json(client, f"/v1/responses/{rid}/comment",
                      {"edit_token": created["edit_token"], "email": CUSTOMER, "consent": True})
    assert added.status_code == 200, added.body
    deliver(client, loop.event())
    opened = client.http.get(cases_path(shop, "?status=open"), headers=shop.auth).json_body["items"]
    assert [c["response_id"] for c in opened] == [rid]
    assert [e["action"] for e in opened[0]["history"]] == ["opened", "contact_added"]
    assert reply(client, shop, rid, "Xin lỗi").status_code == 200


def test_the_inbox_pages_newest_first_by_status_with_a_sealed_cursor(
    client: Client, loop: Stream, shop: Biz, clock: FakeClock  # noqa: F811
) -> None:
    ids = []
    for n in range(5):
        ids.append(answer(client, shop, 1, who=f"p{n}", email=f"p{n}@example.com", consent=True)["response_id"])
        clock.advance(seconds=10)
    deliver(client, loop.event())
    assert reply(client, shop, ids[1], "Xin lỗi").status_code == 200
    seen: list[str] = []
    cursor = None
    while True:
        query = "?status=open&limit=2" + (f"&cursor={quote(cursor)}" if cursor else "")
        page = client.http.get(cases_path(shop, query), headers=shop.auth)
        assert page.status_code == 200, page.body
        seen += [c["response_id"] for c in page.json_body["items"]]
        cursor = page.json_body["next_cursor"]
        if not cursor:
            break
    assert seen == [ids[4], ids[3], ids[2], ids[0]]
    bad = client.http.get(cases_path(shop, "?cursor=forged.cursor"), headers=shop.auth)
    assert bad.status_code == 422 and bad.json_body["error"]["code"] == "invalid_cursor"
    assert client.http.get(cases_path(shop, "?status=closed"), headers=shop.auth).status_code == 422


def test_erasing_the_customer_removes_the_owner_replies_and_the_contact(
    client: Client, loop: Stream, shop: Biz  # noqa: F811
) -> None:
    rid = unhappy_case(client, loop, shop, email=CUSTOMER, consent=True)
    secret = "Mã giảm giá riêng cho chị Lan zq7-erase-me"
    assert reply(client, shop, rid, secret).status_code == 200
    erased = client.http.delete(
        f"/v1/businesses/{shop.business_id}/respondents?email={quote(CUSTOMER)}", headers=shop.auth
    )
    assert erased.status_code == 200, erased.body
    assert erased.json_body["cases_erased"] == 1
    assert not any("zq7-erase-me" in str(item) for item in table_items(boto3.client("dynamodb")))
    case = client.http.get(cases_path(shop), headers=shop.auth).json_body["items"][0]
    assert case["has_contact"] is False and case["history"][-1]["action"] == "erased"
    refused = reply(client, shop, rid, "Xin lỗi")
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "no_contact"


def test_another_business_key_finds_no_case(client: Client, loop: Stream, shop: Biz) -> None:  # noqa: F811
    rid = unhappy_case(client, loop, shop, email=CUSTOMER, consent=True)
    other = make_business(client, name="Quán Khác")
    for path in (cases_path(shop, f"/{rid}/reply"), cases_path(shop, f"/{rid}/resolve")):
        got = post_json(client, path, {"message": "x"} if path.endswith("reply") else {}, other.auth)
        assert got.status_code == 404
    # Under its own business id, the other owner's key finds no case of that answer either.
    own = reply(client, other, rid, "x")
    assert own.status_code == 404 and own.json_body["error"]["code"] == "case_not_found"
    assert of_kind("reply") == []


def test_the_daily_report_and_digest_show_the_resolution_figures_and_link_the_overdue_cases(
    client: Client, loop: Stream, shop: Biz, clock: FakeClock  # noqa: F811
) -> None:
    from tests.integration.test_daily_reports import run_schedule

    boto3.client("sqs").create_queue(QueueName=get_settings().reports_queue_name)
    replied = answer(client, shop, 2, who="a", email="a@example.com", consent=True)["response_id"]
    waiting = answer(client, shop, 0, who="b", email="b@example.com", consent=True)["response_id"]
    answer(client, shop, 1, who="c")  # no address: a no_contact case, outside the 24 h share
    deliver(client, loop.event())
    clock.advance(hours=2)
    assert reply(client, shop, replied, "Xin lỗi").status_code == 200
    clock.advance(days=1)
    assert run_schedule(client) >= 1
    day = (clock.now() - timedelta(days=1)).astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
    report = client.http.get(f"/v1/businesses/{shop.business_id}/reports/daily/{day}", headers=shop.auth)
    assert report.status_code == 200, report.body
    block = report.json_body["resolution"]
    figures = block["figures"]
    assert figures["median_hours_to_reply"] == {"value": 2.0, "n": 1}
    assert figures["median_hours_to_resolve"] == {"value": None, "n": 0}
    # a (replied in 2 h) and b (no reply after 26 h) had an address: 1 of 2
    assert figures["contacted_within_24h_pct"] == {"value": 50.0, "n": 2}
    assert block["overdue_count"] == 1 and [c["response_id"] for c in block["overdue"]] == [waiting]
    assert set(block["overdue"][0]) == {"response_id", "created_at", "touchpoint_id", "touchpoint", "metric", "score"}
    digest = of_kind("digest")[0]  # one per owner
    html = digest.get_body(("html",)).get_content()
    assert f"/console/{shop.business_id}/cases/{waiting}" in html
    assert "b@example.com" not in html
    text = digest.get_body(("plain",)).get_content()
    assert "2,0 giờ (n = 1)" in text and "50,0% (n = 2)" in text


def test_the_table_refuses_a_second_write_of_the_same_reply_number_and_a_second_resolution(
    client: Client, loop: Stream, shop: Biz  # noqa: F811
) -> None:
    from chalicelib.adapters.cases_store import DynamoCaseStore
    from chalicelib.domain.cases import CaseEvent

    rid = unhappy_case(client, loop, shop, email=CUSTOMER, consent=True)
    store = DynamoCaseStore(get_settings().table_name)
    stored = store.get_case(shop.business_id, rid)
    assert stored is not None and stored.case.replies == 0
    event = CaseEvent(at="2026-11-20T04:00:00.000000Z", by="owner key", action="reply", message="x")
    # Two owners who both read "0 replies": only one write of reply number 1 lands.
    assert store.begin_reply(shop.business_id, rid, replies=0, history=1, event=event)
    assert not store.begin_reply(shop.business_id, rid, replies=0, history=1, event=event)
    done = CaseEvent(at="2026-11-20T05:00:00.000000Z", by="owner key", action="resolve")
    assert store.resolve(shop.business_id, rid, done) is not None
    assert store.resolve(shop.business_id, rid, done) is None
    final = store.get_case(shop.business_id, rid)
    assert final is not None and final.case.replies == 1 and [e.action for e in final.case.history] == [
        "opened", "reply", "resolve"
    ]


def test_a_status_listing_reads_a_bounded_number_of_pages_and_the_cursor_goes_on(
    client: Client, loop: Stream, shop: Biz, clock: FakeClock, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    from chalicelib.adapters import cases_store

    monkeypatch.setattr(cases_store, "_PAGE", 2)
    monkeypatch.setattr(cases_store, "_MAX_PAGES", 2)
    oldest = answer(client, shop, 1, who="x", email=CUSTOMER, consent=True)["response_id"]
    for n in range(5):  # newer cases without an address: a status=open listing skips them
        clock.advance(seconds=10)
        answer(client, shop, 1, who=f"n{n}")
    deliver(client, loop.event())
    first = client.http.get(cases_path(shop, "?status=open"), headers=shop.auth).json_body
    assert first["items"] == [] and first["next_cursor"]  # 4 cases read, none open: go on
    second = client.http.get(
        cases_path(shop, f"?status=open&cursor={quote(first['next_cursor'])}"), headers=shop.auth
    ).json_body
    assert [c["response_id"] for c in second["items"]] == [oldest] and second["next_cursor"] is None
