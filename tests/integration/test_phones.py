"""A customer's phone number (issue #16): given with consent on the thank-you page or through the comment
API, kept as E.164 with a keyed hash for lookup, listed to the owner, erased with the person."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

from chalice.test import Client

from chalicelib.domain import phones
from chalicelib.settings import get_settings
from tests.integration.conftest import Biz, page_form, post_json, send_answer, table_items

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _responses(aws: Any) -> list[dict[str, Any]]:
    return [i for i in table_items(aws) if i["PK"]["S"].startswith("R#")]


def _answer(client: Client, biz: Biz, score: int = 3) -> dict[str, Any]:
    created = send_answer(client, {"token": biz.touchpoints["table"]["token"], "score": score})
    assert created.status_code == 201, created.body
    return created.json_body


def _comment(client: Client, created: dict[str, Any], **body: Any) -> Any:
    return post_json(
        client, f"/v1/responses/{created['response_id']}/comment", {"edit_token": created["edit_token"], **body}
    )


def _connect_zalo(aws: Any, biz: Biz) -> None:
    """What connecting a Zalo OA sets on the business item (the tokens go to the secret store)."""
    aws.update_item(
        TableName=get_settings().table_name,
        Key={"PK": {"S": f"B#{biz.business_id}"}, "SK": {"S": "META"}},
        UpdateExpression="SET zalo = :yes",
        ExpressionAttributeValues={":yes": {"BOOL": True}},
    )
    from chalicelib import wiring

    wiring.services().directory.forget_business(biz.business_id)


def test_a_phone_given_with_consent_is_kept_in_e164_with_its_keyed_hash_and_listed(
    client: Client, biz: Biz, aws: Any
) -> None:
    created = _answer(client, biz)
    saved = _comment(client, created, phone="0912 345 678", consent=True)
    assert saved.status_code == 200, saved.body
    assert saved.json_body["phone_saved"] is True and saved.json_body["email_saved"] is False
    (stored,) = _responses(aws)
    assert stored["phone"] == {"S": "+84912345678"}
    hashed = phones.phone_hash(get_settings().app_secret, "+84912345678")
    assert stored["phone_hash"] == {"S": hashed}
    assert stored["GSI2PK"] == {"S": f"P#{biz.business_id}#{hashed}"} and stored["consent"] == {"BOOL": True}
    listed = client.http.get(f"/v1/businesses/{biz.business_id}/responses", headers=biz.auth).json_body["items"]
    assert listed[0]["phone"] == "+84912345678"


def test_a_phone_without_consent_or_that_no_zalo_message_could_reach_is_refused_and_nothing_is_stored(
    client: Client, biz: Biz, aws: Any
) -> None:
    created = _answer(client, biz)
    before = _responses(aws)
    unconsented = _comment(client, created, phone="0912345678")
    assert unconsented.status_code == 422
    assert unconsented.json_body["error"]["code"] == "consent_required"
    landline = _comment(client, created, phone="028 3822 1234", consent=True)
    assert landline.status_code == 422
    assert "Vietnamese mobile number" in landline.json_body["error"]["message"]
    assert _responses(aws) == before


def test_erasing_by_phone_removes_the_phone_the_address_beside_it_and_the_comment_and_keeps_the_score(
    client: Client, biz: Biz, aws: Any
) -> None:
    mine = _answer(client, biz, 2)
    other = _answer(client, biz, 9)
    assert _comment(client, mine, phone="0912345678", email="lan@example.com", consent=True,
                    comment="Chờ lâu quá zq7").status_code == 200
    assert _comment(client, other, phone="0987654321", consent=True, comment="Ngon").status_code == 200
    erased = client.http.delete(
        f"/v1/businesses/{biz.business_id}/respondents?phone={quote('+84 912 345 678')}", headers=biz.auth
    )
    assert erased.status_code == 200, erased.body
    assert erased.json_body["responses_erased"] == 1
    by_score = {int(i["score"]["N"]): i for i in _responses(aws)}
    assert not {"phone", "phone_hash", "email", "email_hash", "comment", "GSI1PK", "GSI2PK"} & set(by_score[2])
    assert by_score[9]["phone"] == {"S": "+84987654321"} and by_score[9]["comment"] == {"S": "Ngon"}
    both = client.http.delete(
        f"/v1/businesses/{biz.business_id}/respondents?phone=0987654321&email=a%40example.com", headers=biz.auth
    )
    assert both.status_code == 422


def _thank_you(client: Client, biz: Biz) -> tuple[str, str]:
    token = biz.touchpoints["receipt"]["token"]
    html = client.http.post(f"/s/{token}?lang=en", body=page_form(client, token, 2), headers=FORM).body.decode()
    return token, html


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


def test_the_thank_you_page_asks_for_a_phone_only_when_the_business_has_zalo(
    client: Client, biz: Biz, aws: Any
) -> None:
    _, without = _thank_you(client, biz)
    assert 'type="tel"' not in without and "may email me" in without
    _connect_zalo(aws, biz)
    token, html = _thank_you(client, biz)
    assert 'type="tel" name="phone"' in html and "by email or Zalo" in html
    form = {"response_id": _hidden(html, "response_id"), "edit_token": _hidden(html, "edit_token"),
            "score_shown": "2", "consent": "true"}
    wrong = client.http.post(f"/s/{token}?lang=en", body=urlencode({**form, "phone": "028 3822 1234"}), headers=FORM)
    assert wrong.status_code == 422
    assert "Vietnamese mobile" in wrong.body.decode() and 'value="028 3822 1234"' in wrong.body.decode()
    saved = client.http.post(f"/s/{token}?lang=en", body=urlencode({**form, "phone": "0912.345.678"}), headers=FORM)
    assert saved.status_code == 200
    assert [i.get("phone") for i in _responses(aws) if "phone" in i] == [{"S": "+84912345678"}]
