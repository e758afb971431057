"""Reason chips and comment topics (#15): chosen on the thank-you page without JavaScript or through the
comment API, edited per touchpoint by the owner, and topics stored with every comment."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from chalice.test import Client

from tests.clock import FakeClock
from tests.integration.conftest import Biz, make_business, page_form, page_nonce, post_json, site_nonce
from tests.integration.test_survey_pages import _hidden, _responses

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ORIGIN = {"Origin": "https://shop.example"}
_listed = _responses  # the owner's listing, newest first


def _patch(client: Client, path: str, body: Any, biz: Biz) -> Any:
    headers = {"Content-Type": "application/json", **biz.auth}
    return client.http.request("PATCH", path, body=json.dumps(body), headers=headers)


def _tap(client: Client, biz: Biz, score: int, name: str = "table") -> tuple[str, str]:
    token = biz.touchpoints[name]["token"]
    answer = client.http.post(f"/s/{token}", body=page_form(client, token, score), headers=FORM)
    assert answer.status_code == 200
    return token, answer.body.decode()


def _answer(client: Client, biz: Biz, score: int, **extra: Any) -> Any:
    token = biz.touchpoints["table"]["token"]
    return post_json(client, "/v1/responses", {"token": token, "score": score, "nonce": page_nonce(client, token),
                                               **extra})


def test_an_unhappy_customer_without_javascript_picks_two_chips_and_the_listing_shows_them(
    client: Client, biz: Biz
) -> None:
    token, html = _tap(client, biz, 3)
    assert "Điều gì nổi bật?" in html and "Chờ lâu" in html and "Nhanh" not in html
    assert html.count('type="checkbox" id="r') == 8 and 'name="reasons" value="wait"' in html

    form = {
        "response_id": _hidden(html, "response_id"), "edit_token": _hidden(html, "edit_token"), "score_shown": "3",
        "comment": "", "email": "", "website": "",
    }
    body = urlencode(form) + "&reasons=wait&reasons=staff"
    saved = client.http.post(f"/s/{token}", body=body, headers=FORM)
    assert saved.status_code == 200 and "Đã lưu góp ý" in saved.body.decode()
    (item,) = _listed(client, biz)
    assert item["reasons"] == ["wait", "staff"] and item["comment"] is None


def test_a_happy_customer_sees_happy_words_in_english(client: Client, biz: Biz) -> None:
    token = biz.touchpoints["table"]["token"]
    answer = client.http.post(f"/s/{token}?lang=en", body=page_form(client, token, 10, "?lang=en"), headers=FORM)
    html = answer.body.decode()
    assert "What stood out?" in html and "Quick service" in html and "Long wait" not in html


def test_an_unknown_chip_in_the_form_gets_the_form_back_with_its_choices_and_stores_nothing(
    client: Client, biz: Biz
) -> None:
    token, html = _tap(client, biz, 2)
    form = {"response_id": _hidden(html, "response_id"), "edit_token": _hidden(html, "edit_token"),
            "score_shown": "2", "comment": "Lâu quá"}
    answer = client.http.post(f"/s/{token}", body=urlencode(form) + "&reasons=wait&reasons=bogus", headers=FORM)
    page = answer.body.decode()
    assert answer.status_code == 422 and "Vui lòng chọn trong các lý do có sẵn" in page
    assert 'value="wait" checked' in page and "Lâu quá" in page  # what the person chose and typed stays
    (item,) = _listed(client, biz)
    assert item["reasons"] == [] and item["comment"] is None


def test_the_comment_api_saves_reasons_alone_refuses_unknown_ones_and_closes_with_the_window(
    client: Client, biz: Biz, clock: FakeClock
) -> None:
    created = _answer(client, biz, 4, reasons=["price", "price"])
    assert created.status_code == 201
    rid, edit = created.json_body["response_id"], created.json_body["edit_token"]
    assert _listed(client, biz)[0]["reasons"] == ["price"]  # duplicates collapse

    path = f"/v1/responses/{rid}/comment"
    saved = post_json(client, path, {"edit_token": edit, "reasons": ["wait", "cleanliness"]})
    assert saved.status_code == 200, saved.body
    assert saved.json_body["reasons_saved"] is True and saved.json_body["comment_saved"] is False
    assert _listed(client, biz)[0]["reasons"] == ["wait", "cleanliness"]

    # A happy chip's key is the same key; one the touchpoint does not offer is refused, nothing changes.
    wrong = post_json(client, path, {"edit_token": edit, "reasons": ["parking"]})
    assert wrong.status_code == 422 and wrong.json_body["error"]["code"] == "unknown_reason"
    many = post_json(client, path, {"edit_token": edit, "reasons": ["wait"] * 9})
    assert many.status_code == 422
    assert _listed(client, biz)[0]["reasons"] == ["wait", "cleanliness"]

    cleared = post_json(client, path, {"edit_token": edit, "reasons": []})
    assert cleared.status_code == 200 and _listed(client, biz)[0]["reasons"] == []

    clock.advance(hours=25)
    late = post_json(client, path, {"edit_token": edit, "reasons": ["wait"]})
    assert late.status_code == 409 and late.json_body["error"]["code"] == "edit_window_closed"
    assert _listed(client, biz)[0]["reasons"] == []


def test_a_submission_naming_a_chip_the_touchpoint_does_not_offer_is_refused_and_stores_nothing(
    client: Client, biz: Biz
) -> None:
    answer = _answer(client, biz, 9, reasons=["custom:ice"])
    assert answer.status_code == 422 and answer.json_body["error"]["code"] == "unknown_reason"
    assert _listed(client, biz) == []


def test_the_owner_sets_a_touchpoints_chips_and_customers_see_them(client: Client, biz: Biz) -> None:
    tp = biz.touchpoints["table"]["touchpoint_id"]
    path = f"/v1/businesses/{biz.business_id}/touchpoints/{tp}"
    ice = {"key": "custom:ice", "vi": "Ít đá", "en": "Too much ice"}
    own = {"unhappy": [{"key": "wait", "vi": "Đợi món lâu"}, ice]}
    changed = _patch(client, path, {"reasons": own}, biz)
    assert changed.status_code == 200, changed.body
    chips = changed.json_body["reasons"]
    assert chips["unhappy"] == [
        {"key": "wait", "vi": "Đợi món lâu", "en": "Long wait"},  # a taxonomy chip keeps its default label
        {"key": "custom:ice", "vi": "Ít đá", "en": "Too much ice"},
    ]
    assert chips["happy"][0] == {"key": "wait", "vi": "Nhanh", "en": "Quick service"}  # left out: the defaults

    listed = client.http.get(f"/v1/businesses/{biz.business_id}/touchpoints", headers=biz.auth).json_body["items"]
    assert next(t for t in listed if t["touchpoint_id"] == tp)["reasons"] == chips

    _, html = _tap(client, biz, 1)
    assert "Ít đá" in html and "Đợi món lâu" in html and "Giá cao" not in html
    saved = post_json(client, f"/v1/responses/{_hidden(html, 'response_id')}/comment",
                      {"edit_token": _hidden(html, "edit_token"), "reasons": ["custom:ice"]})
    assert saved.status_code == 200 and _listed(client, biz)[0]["reasons"] == ["custom:ice"]

    # The widget's site config offers the same chips, in the business's language.
    config = client.http.get(f"/v1/sites/{biz.site_key}?metric=nps&touchpoint_id={tp}", headers=ORIGIN)
    assert config.status_code == 200
    assert config.json_body["reasons"]["unhappy"] == [{"key": "wait", "label": "Đợi món lâu"},
                                                      {"key": "custom:ice", "label": "Ít đá"}]
    assert config.headers["Access-Control-Allow-Origin"] == "https://shop.example"

    reset = _patch(client, path, {"reasons": {}}, biz)
    assert reset.status_code == 200 and reset.json_body["reasons"]["unhappy"][1]["key"] == "food_drink"


def test_bad_chip_settings_are_refused_422_and_change_nothing(client: Client, biz: Biz) -> None:
    tp = biz.touchpoints["table"]["touchpoint_id"]
    path = f"/v1/businesses/{biz.business_id}/touchpoints/{tp}"
    nine = [{"key": k} for k in ("wait", "food_drink", "staff", "price", "cleanliness", "atmosphere", "parking",
                                 "payment", "delivery")]
    for bad in (
        None,
        {"unhappy": None},
        {"unhappy": nine},
        {"happy": [{"key": "wait"}, {"key": "wait"}]},
        {"happy": [{"key": "custom:ice", "vi": "Ít đá"}]},  # a custom chip needs both labels
        {"happy": [{"key": "custom:Ice!", "vi": "a", "en": "b"}]},
        {"happy": [{"key": "wait", "en": "two\nlines"}]},
        {"happy": [{"key": "wait", "en": "x" * 41}]},
    ):
        answer = _patch(client, path, {"reasons": bad}, biz)
        assert answer.status_code == 422, bad
        assert answer.json_body["error"]["message"]
    listed = client.http.get(f"/v1/businesses/{biz.business_id}/touchpoints", headers=biz.auth).json_body["items"]
    assert next(t for t in listed if t["touchpoint_id"] == tp)["reasons"]["unhappy"][0]["vi"] == "Chờ lâu"


def test_a_vietnamese_comment_without_diacritics_is_stored_with_its_topics(client: Client, biz: Biz) -> None:
    created = _answer(client, biz, 2, comment="cho lau qua, nhan vien tho lo")
    assert created.status_code == 201
    (item,) = _listed(client, biz)
    assert item["topics"] == ["wait", "staff"]


def test_the_owners_own_keyword_becomes_a_custom_topic_of_later_comments(client: Client, biz: Biz) -> None:
    changed = _patch(client, f"/v1/businesses/{biz.business_id}", {"topic_keywords": ["bánh flan"]}, biz)
    assert changed.status_code == 200 and changed.json_body["topic_keywords"] == ["bánh flan"]
    created = _answer(client, biz, 10)
    saved = post_json(client, f"/v1/responses/{created.json_body['response_id']}/comment",
                      {"edit_token": created.json_body["edit_token"], "comment": "banh flan ngon lam"})
    assert saved.status_code == 200
    (item,) = _listed(client, biz)
    assert item["topics"] == ["food_drink", "custom:bánh flan"]

    refused = _patch(client, f"/v1/businesses/{biz.business_id}", {"topic_keywords": ["Flan", "flan"]}, biz)
    assert refused.status_code == 422
    business = client.http.get(f"/v1/businesses/{biz.business_id}", headers=biz.auth).json_body
    assert business["topic_keywords"] == ["bánh flan"]


def test_topic_words_given_when_the_business_is_created_are_kept_and_used(client: Client) -> None:
    biz = make_business(client, topic_keywords=["wifi"])
    assert client.http.get(f"/v1/businesses/{biz.business_id}", headers=biz.auth).json_body["topic_keywords"] == [
        "wifi"
    ]
    assert _answer(client, biz, 3, comment="wifi yeu qua").status_code == 201
    (item,) = _listed(client, biz)
    assert item["topics"] == ["atmosphere", "custom:wifi"]  # the lexicon counts wifi as the place; the owner too


def test_a_widget_answer_without_a_touchpoint_takes_taxonomy_chips(client: Client, biz: Biz) -> None:
    body = {"site_key": biz.site_key, "metric": "csat", "score": 5, "nonce": site_nonce(client, biz),
            "reasons": ["staff"]}
    answer = post_json(client, "/v1/responses", body, ORIGIN)
    assert answer.status_code == 201, answer.body
    assert answer.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    body["nonce"], body["reasons"] = site_nonce(client, biz), ["custom:ice"]
    refused = post_json(client, "/v1/responses", body, ORIGIN)
    assert refused.status_code == 422 and refused.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert [i["reasons"] for i in _listed(client, biz)] == [["staff"]]


def test_the_widget_posts_chips_as_text_plain_and_reads_the_answer_from_an_allowed_origin(
    client: Client, biz: Biz, clock: FakeClock
) -> None:
    body = {"site_key": biz.site_key, "metric": "nps", "score": 3, "nonce": site_nonce(client, biz)}
    created = post_json(client, "/v1/responses", body, ORIGIN).json_body
    path = f"/v1/responses/{created['response_id']}/comment"
    plain = {"Content-Type": "text/plain"}
    chips = json.dumps({"edit_token": created["edit_token"], "reasons": ["wait", "price"]})
    saved = client.http.post(path, body=chips, headers={**plain, **ORIGIN})
    assert saved.status_code == 200 and saved.json_body["reasons_saved"] is True
    assert saved.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert _listed(client, biz)[0]["reasons"] == ["wait", "price"]

    # Refusals are readable too; another origin, or a forged token, gets no CORS headers.
    wrong = json.dumps({"edit_token": created["edit_token"], "reasons": ["bogus"]})
    refused = client.http.post(path, body=wrong, headers={**plain, **ORIGIN})
    assert refused.status_code == 422 and refused.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    other = client.http.post(path, body=chips, headers={**plain, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    forged = json.dumps({"edit_token": "x.y", "reasons": ["wait"]})
    answer = client.http.post(path, body=forged, headers={**plain, **ORIGIN})
    assert answer.status_code == 401 and "Access-Control-Allow-Origin" not in answer.headers
    clock.advance(hours=25)
    late = client.http.post(path, body=chips, headers={**plain, **ORIGIN})
    assert late.status_code == 409 and late.headers["Access-Control-Allow-Origin"] == "https://shop.example"


def test_erasing_a_customer_removes_the_comment_but_keeps_its_topics_and_chips(client: Client, biz: Biz) -> None:
    created = _answer(client, biz, 2, comment="cho lau qua", reasons=["wait"], email="lan@example.com", consent=True)
    assert created.status_code == 201, created.body
    erased = client.http.delete(
        f"/v1/businesses/{biz.business_id}/respondents?email={quote('lan@example.com')}", headers=biz.auth
    )
    assert erased.status_code == 200 and erased.json_body["responses_erased"] == 1
    (item,) = _listed(client, biz)
    assert item["comment"] is None and item["email"] is None
    assert item["topics"] == ["wait"] and item["reasons"] == ["wait"]  # keys, not the person's words


def test_a_touchpoint_created_with_its_own_chips_offers_them(client: Client, biz: Biz) -> None:
    own = {"happy": [{"key": "custom:view", "vi": "View đẹp", "en": "Nice view"}]}
    made = post_json(client, f"/v1/businesses/{biz.business_id}/touchpoints",
                     {"name": "Sân thượng", "channel": "qr", "metric": "csat", "reasons": own}, biz.auth)
    assert made.status_code == 201, made.body
    token = made.json_body["token"]
    html = client.http.post(f"/s/{token}", body=page_form(client, token, 5), headers=FORM).body.decode()
    assert "View đẹp" in html and html.count('name="reasons"') == 1
