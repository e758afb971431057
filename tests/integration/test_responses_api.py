"""Customers answering: POST /v1/responses and the comment route through the real handlers on moto."""

from __future__ import annotations

import json

from chalice.test import Client

from tests.clock import FakeClock
from tests.integration.conftest import Biz, page_nonce, post_json, send_answer, table_items, tap


def _responses(aws) -> list[dict]:
    return [i for i in table_items(aws) if i["PK"]["S"].startswith("R#")]


def test_a_table_qr_score_is_stored_once_and_flagged_unhappy_when_low(client: Client, biz: Biz, aws) -> None:
    token = biz.touchpoints["table"]["token"]
    answer = send_answer(client, {"token": token, "score": 3})
    assert answer.status_code == 201
    body = answer.json_body
    assert body["unhappy"] is True
    assert len(body["response_id"]) == 16 and body["edit_token"]
    stored = _responses(aws)
    assert len(stored) == 1
    assert stored[0]["score"] == {"N": "3"}
    assert stored[0]["metric"] == {"S": "nps"} and stored[0]["channel"] == {"S": "qr"}
    # The business day is Ho Chi Minh City's: 03:00 UTC on the 20th is 10:00 there.
    assert stored[0]["PK"]["S"] == f"R#{biz.business_id}#2026-11-20"


def test_send_beacon_text_plain_body_is_accepted(client: Client, biz: Biz) -> None:
    token = biz.touchpoints["table"]["token"]
    answer = client.http.post(
        "/v1/responses",
        body=json.dumps({"token": token, "score": 10, "nonce": page_nonce(client, token)}),
        headers={"Content-Type": "text/plain;charset=UTF-8"},
    )
    assert answer.status_code == 201
    assert answer.json_body["unhappy"] is False


def test_the_same_widget_browser_scoring_a_table_qr_twice_a_day_updates_its_one_response(
    client: Client, biz: Biz, aws
) -> None:
    # The soft once-per-day rule rests on the respondent_id a browser keeps, never on the network.
    token = biz.touchpoints["table"]["token"]
    first = tap(client, token, 4, respondent_id="anon-a")
    again = tap(client, token, 8, respondent_id="anon-a")
    other = tap(client, token, 9, respondent_id="anon-b")
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert again.json_body["response_id"] == first.json_body["response_id"]
    scores = sorted(int(i["score"]["N"]) for i in _responses(aws))
    assert scores == [8, 9]


def test_a_minted_receipt_link_takes_one_response_and_closes_after_the_edit_window(
    client: Client, biz: Biz, aws, clock: FakeClock
) -> None:
    tp = biz.touchpoints["receipt"]["touchpoint_id"]
    minted = post_json(
        client, f"/v1/businesses/{biz.business_id}/links", {"touchpoint_id": tp, "receipt_id": "HD-000123"}, biz.auth
    )
    assert minted.status_code == 201
    token = minted.json_body["links"][0]["token"]
    assert minted.json_body["links"][0]["url"].endswith("/s/" + token)

    first = post_json(client, "/v1/responses", {"token": token, "score": 2}, {"User-Agent": "a"})
    assert first.status_code == 201 and first.json_body["unhappy"] is True
    # Another device, same receipt: still one response, score corrected inside the window.
    clock.advance(hours=2)
    fix = post_json(client, "/v1/responses", {"token": token, "score": 5}, {"User-Agent": "b"})
    assert fix.status_code == 200
    assert fix.json_body["response_id"] == first.json_body["response_id"]
    assert fix.json_body["unhappy"] is False
    stored = _responses(aws)
    assert len(stored) == 1 and stored[0]["score"] == {"N": "5"} and stored[0]["receipt_id"] == {"S": "HD-000123"}

    clock.advance(hours=23)
    late = post_json(client, "/v1/responses", {"token": token, "score": 1})
    assert late.status_code == 409
    assert late.json_body["error"]["code"] == "edit_window_closed"
    assert _responses(aws)[0]["score"] == {"N": "5"}


def test_an_expired_link_gets_410_and_stores_nothing(client: Client, biz: Biz, aws, clock: FakeClock) -> None:
    tp = biz.touchpoints["receipt"]["touchpoint_id"]
    minted = post_json(
        client, f"/v1/businesses/{biz.business_id}/links", {"touchpoint_id": tp, "expires_in_days": 1}, biz.auth
    )
    token = minted.json_body["links"][0]["token"]
    clock.advance(days=1, seconds=1)
    answer = post_json(client, "/v1/responses", {"token": token, "score": 4})
    assert answer.status_code == 410
    assert answer.json_body["error"]["code"] == "expired"
    assert _responses(aws) == []


def test_a_token_signed_by_someone_else_gets_401(client: Client, biz: Biz) -> None:
    token = biz.touchpoints["table"]["token"]
    forged = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    answer = post_json(client, "/v1/responses", {"token": forged, "score": 9})
    assert answer.status_code == 401
    assert set(answer.json_body["error"]) >= {"code", "message"}


def test_a_token_decides_the_metric_and_it_cannot_be_overridden(client: Client, biz: Biz) -> None:
    token = biz.touchpoints["table"]["token"]
    answer = post_json(client, "/v1/responses", {"token": token, "score": 4, "metric": "csat"})
    assert answer.status_code == 422
    assert answer.json_body["error"]["code"] == "metric_mismatch"


def test_widget_post_from_an_allowed_origin_is_recorded_with_cors_header(client: Client, biz: Biz, aws) -> None:
    body = {"site_key": biz.site_key, "metric": "csat", "score": 5, "respondent_id": "anon-123"}
    answer = send_answer(client, body, {"Origin": "https://shop.example"})
    assert answer.status_code == 201
    assert answer.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    stored = _responses(aws)
    assert stored[0]["channel"] == {"S": "web"} and stored[0]["touchpoint_id"] == {"S": "site"}


def test_widget_post_from_another_origin_is_refused_and_stores_nothing(client: Client, biz: Biz, aws) -> None:
    body = {"site_key": biz.site_key, "metric": "csat", "score": 5}
    answer = post_json(client, "/v1/responses", body, {"Origin": "https://evil.example"})
    assert answer.status_code == 403
    assert answer.json_body["error"]["code"] == "origin_not_allowed"
    assert _responses(aws) == []


def test_widget_with_a_touchpoint_uses_its_channel_and_checks_its_metric(client: Client, biz: Biz) -> None:
    tp = biz.touchpoints["web"]["touchpoint_id"]
    origin = {"Origin": "https://shop.example"}
    ok = send_answer(client, {"site_key": biz.site_key, "metric": "ces", "score": 6, "touchpoint_id": tp}, origin)
    assert ok.status_code == 201
    wrong = send_answer(
        client,
        {"site_key": biz.site_key, "metric": "nps", "score": 6, "touchpoint_id": tp, "respondent_id": "x2"},
        origin,
    )
    assert wrong.status_code == 422


def test_idempotency_key_makes_a_retried_post_return_the_first_answer(client: Client, biz: Biz, aws) -> None:
    tp = biz.touchpoints["receipt"]["touchpoint_id"]
    token = post_json(client, f"/v1/businesses/{biz.business_id}/links", {"touchpoint_id": tp}, biz.auth).json_body[
        "links"
    ][0]["token"]
    headers = {"Idempotency-Key": "pos-42-retry"}
    first = post_json(client, "/v1/responses", {"token": token, "score": 5}, headers)
    retry = post_json(client, "/v1/responses", {"token": token, "score": 5}, headers)
    assert first.status_code == retry.status_code == 201
    assert first.json_body == retry.json_body
    assert len(_responses(aws)) == 1
    reused = post_json(client, "/v1/responses", {"token": token, "score": 1}, headers)
    assert reused.status_code == 422
    assert reused.json_body["error"]["code"] == "idempotency_key_reused"


def test_a_comment_and_consented_email_are_added_with_the_edit_token(client: Client, biz: Biz, aws) -> None:
    token = biz.touchpoints["table"]["token"]
    created = send_answer(client, {"token": token, "score": 6}).json_body
    path = f"/v1/responses/{created['response_id']}/comment"
    saved = post_json(
        client,
        path,
        {
            "edit_token": created["edit_token"],
            "comment": "Cà phê nguội quá",
            "email": "khach@example.com",
            "consent": True,
        },
    )
    assert saved.status_code == 200
    assert saved.json_body == {
        "response_id": created["response_id"], "comment_saved": True, "email_saved": True,
        "reasons_saved": False, "phone_saved": False,
    }
    stored = _responses(aws)[0]
    assert stored["comment"] == {"S": "Cà phê nguội quá"}
    assert stored["email"] == {"S": "khach@example.com"}
    assert "GSI1PK" in stored


def test_a_wrong_edit_token_gets_401_and_changes_nothing(client: Client, biz: Biz, aws) -> None:
    token = biz.touchpoints["table"]["token"]
    created = send_answer(client, {"token": token, "score": 6}).json_body
    other = send_answer(client, {"token": token, "score": 6}).json_body
    before = table_items(aws)
    path = f"/v1/responses/{created['response_id']}/comment"
    answer = post_json(client, path, {"edit_token": other["edit_token"], "comment": "hijack"})
    assert answer.status_code == 401
    assert answer.json_body["error"]["code"] == "invalid_edit_token"
    assert table_items(aws) == before


def test_an_email_without_consent_is_refused(client: Client, biz: Biz, aws) -> None:
    token = biz.touchpoints["table"]["token"]
    answer = post_json(client, "/v1/responses", {"token": token, "score": 9, "email": "a@b.example"})
    assert answer.status_code == 422
    assert answer.json_body["error"]["code"] == "consent_required"
    assert _responses(aws) == []
