"""Issue #11 items 1-3 and 5 (server): many people behind one network, one page view = one answer, rate
limits that do not punish carrier NAT, and CORS headers on every answer a widget can receive.

Through the real handlers on moto. chalice's test client sends every request from one address
(127.0.0.1), as carrier NAT or a café's wifi would; other addresses go through the service."""

from __future__ import annotations

import json
from typing import Any

from chalice.test import Client

from chalicelib import wiring
from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.domain.models import ResponseIn
from chalicelib.errors import RateLimited
from chalicelib.services.submissions import RequestMeta
from chalicelib.settings import Settings, get_settings
from tests.clock import FakeClock
from tests.integration.conftest import (
    Biz,
    make_business,
    page_form,
    page_nonce,
    post_json,
    send_answer,
    site_nonce,
    table_items,
    tap,
    with_nonce,
)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SHOP = {"Origin": "https://shop.example"}
# Two customers with the same phone on one café wifi: everything the network shows is the same.
SAME_PHONE = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5) Mobile/15E148", "Accept-Language": "vi-VN"}


def _responses(aws: Any) -> list[dict]:
    return [i for i in table_items(aws) if i["PK"]["S"].startswith("R#")]


def _limited(clock: FakeClock, **limits: int) -> wiring.Services:
    settings = get_settings().model_copy(update=limits)
    built = wiring.build(settings, DynamoStore(settings.table_name), clock)
    wiring.install(built)
    return built


def _shipped(clock: FakeClock) -> wiring.Services:
    defaults = {name: Settings.model_fields[name].default for name in ("rate_limit_per_ip", "rate_limit_per_link")}
    return _limited(clock, **defaults)


# ---- item 1: two customers are never merged into one answer ----------------------------------------


def test_two_customers_on_one_wifi_keep_their_own_answers(client: Client, biz: Biz, aws: Any) -> None:
    token = biz.touchpoints["table"]["token"]
    # Both open the table's QR page (two page views), then tap 10 and 0 on their own phones.
    first = client.http.post(f"/s/{token}", body=page_form(client, token, 10), headers={**FORM, **SAME_PHONE})
    second = client.http.post(f"/s/{token}", body=page_form(client, token, 0), headers={**FORM, **SAME_PHONE})
    assert first.status_code == second.status_code == 200
    assert sorted(int(r["score"]["N"]) for r in _responses(aws)) == [0, 10]
    tokens = [_hidden(page.body.decode(), "edit_token") for page in (first, second)]
    ids = [_hidden(page.body.decode(), "response_id") for page in (first, second)]
    assert tokens[0] != tokens[1] and ids[0] != ids[1]
    # Each thank-you page's edit token reaches its own answer only.
    for response_id, edit_token, text in zip(ids, tokens, ("ngon", "chậm"), strict=True):
        saved = post_json(client, f"/v1/responses/{response_id}/comment", {"edit_token": edit_token, "comment": text})
        assert saved.status_code == 200
    crossed = post_json(client, f"/v1/responses/{ids[0]}/comment", {"edit_token": tokens[1], "comment": "x"})
    assert crossed.status_code == 401
    assert {(r["score"]["N"], r["comment"]["S"]) for r in _responses(aws)} == {("10", "ngon"), ("0", "chậm")}


def test_two_json_answers_from_one_phone_model_on_one_network_are_two_answers(client: Client, biz: Biz) -> None:
    token = biz.touchpoints["table"]["token"]
    one = tap(client, token, 10, SAME_PHONE)
    two = tap(client, token, 0, SAME_PHONE)
    assert one.status_code == two.status_code == 201
    assert one.json_body["response_id"] != two.json_body["response_id"]


def test_the_same_page_view_tapping_twice_changes_its_one_answer(client: Client, biz: Biz, aws: Any) -> None:
    token = biz.touchpoints["table"]["token"]
    nonce = page_nonce(client, token)
    first = client.http.post(f"/s/{token}", body=f"score=3&nonce={_q(nonce)}", headers=FORM)
    again = client.http.post(f"/s/{token}", body=f"score=9&nonce={_q(nonce)}", headers=FORM)
    assert first.status_code == again.status_code == 200
    assert _hidden(first.body.decode(), "response_id") == _hidden(again.body.decode(), "response_id")
    assert [r["score"]["N"] for r in _responses(aws)] == ["9"]
    # The JSON route says so with a 200 and the same response id, as a repeat on a minted link does.
    json_again = post_json(client, "/v1/responses", {"token": token, "score": 7, "nonce": nonce})
    assert json_again.status_code == 200
    assert json_again.json_body["response_id"] == _hidden(first.body.decode(), "response_id")


def test_json_without_a_nonce_to_a_table_qr_is_refused_and_stores_nothing(client: Client, biz: Biz, aws: Any) -> None:
    before = table_items(aws)
    refused = post_json(client, "/v1/responses", {"token": biz.touchpoints["table"]["token"], "score": 9})
    assert refused.status_code == 422
    assert refused.json_body["error"]["code"] == "nonce_required"
    assert table_items(aws) == before


def test_a_site_key_answer_without_a_nonce_is_refused_with_cors_so_the_widget_can_read_it(
    client: Client, biz: Biz, aws: Any
) -> None:
    before = table_items(aws)
    refused = post_json(client, "/v1/responses", {"site_key": biz.site_key, "metric": "nps", "score": 9}, SHOP)
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "nonce_required"
    assert refused.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert table_items(aws) == before
    body = {"site_key": biz.site_key, "metric": "nps", "score": 9, "nonce": site_nonce(client, biz)}
    assert post_json(client, "/v1/responses", body, SHOP).status_code == 201


def test_a_minted_receipt_link_needs_no_nonce(client: Client, biz: Biz) -> None:
    tp = biz.touchpoints["receipt"]["touchpoint_id"]
    minted = post_json(client, f"/v1/businesses/{biz.business_id}/links", {"touchpoint_id": tp}, biz.auth)
    token = minted.json_body["links"][0]["token"]
    # Its page carries no nonce: an old open tab can still answer the one receipt.
    assert 'name="nonce"' not in client.http.get(f"/s/{token}").body.decode()
    assert post_json(client, "/v1/responses", {"token": token, "score": 4}).status_code == 201
    assert post_json(client, "/v1/responses", {"token": token, "score": 5}).status_code == 200


def test_an_expired_page_nonce_gets_a_friendly_page_and_stores_nothing(
    client: Client, biz: Biz, aws: Any, clock: FakeClock
) -> None:
    token = biz.touchpoints["table"]["token"]
    form = page_form(client, token, 9, "?lang=en")
    clock.advance(minutes=get_settings().nonce_ttl_minutes, seconds=1)
    before = table_items(aws)
    page = client.http.post(f"/s/{token}?lang=en", body=form, headers=FORM)
    assert page.status_code == 410
    assert page.headers["Content-Type"].startswith("text/html")
    assert "This survey page is out of date" in page.body.decode() and b"nonce_expired" not in page.body
    assert table_items(aws) == before
    stale = post_json(client, "/v1/responses", {"token": token, "score": 9, "nonce": _form_nonce(form)})
    assert stale.status_code == 410 and stale.json_body["error"]["code"] == "nonce_expired"


def test_a_page_post_without_its_nonce_gets_a_friendly_page_in_the_link_locale(client: Client, biz: Biz) -> None:
    page = client.http.post(f"/s/{biz.touchpoints['table']['token']}", body="score=9", headers=FORM)
    assert page.status_code == 422 and "Trang khảo sát này đã cũ" in page.body.decode()


def test_a_nonce_reused_after_its_edit_window_is_refused(client: Client, biz: Biz, clock: FakeClock) -> None:
    # An operator may keep nonces longer than the edit window: the claim still refuses a late replay.
    _limited(clock, edit_window_hours=1)
    token = biz.touchpoints["table"]["token"]
    body = with_nonce({"token": token, "score": 9})
    assert post_json(client, "/v1/responses", body).status_code == 201
    clock.advance(minutes=61)
    late = post_json(client, "/v1/responses", {**body, "score": 1})
    assert late.status_code == 409 and late.json_body["error"]["code"] == "edit_window_closed"


# ---- item 3: the write path asks for proof of a page view ------------------------------------------


def test_a_script_replaying_one_scraped_nonce_65_times_stores_one_answer(client: Client, biz: Biz, aws: Any) -> None:
    token = biz.touchpoints["table"]["token"]
    nonce = page_nonce(client, token)  # the script scrapes ONE page
    statuses = [
        post_json(
            client,
            "/v1/responses",
            {"token": token, "score": i % 11, "nonce": nonce, "respondent_id": f"bot-{i}", "elapsed_ms": 5000},
            {"User-Agent": f"bot-{i}"},
        ).status_code
        for i in range(65)
    ]
    assert statuses[0] == 201 and set(statuses[1:]) == {200}  # the edits of its one answer
    assert len(_responses(aws)) == 1


# ---- item 2: rate limits that do not punish carrier NAT or shared wifi ------------------------------


def test_150_answers_from_one_address_over_three_cafes_in_a_minute_are_all_stored(
    client: Client, aws: Any, clock: FakeClock
) -> None:
    _shipped(clock)
    cafes = [make_business(client, name=f"Quán {n}") for n in range(3)]
    bodies = [with_nonce({"token": cafes[i % 3].touchpoints["table"]["token"], "score": i % 11}) for i in range(150)]
    statuses = [post_json(client, "/v1/responses", body, SAME_PHONE).status_code for body in bodies]
    assert statuses.count(201) == 150, statuses
    assert len(_responses(aws)) == 150


def test_a_flood_on_one_cafe_from_one_address_gets_429_with_retry_after(
    client: Client, biz: Biz, aws: Any, clock: FakeClock
) -> None:
    _shipped(clock)
    token = biz.touchpoints["table"]["token"]
    per_ip = Settings.model_fields["rate_limit_per_ip"].default
    bodies = [with_nonce({"token": token, "score": 9}) for _ in range(per_ip + 1)]
    statuses = [post_json(client, "/v1/responses", body).status_code for body in bodies[:-1]]
    before = table_items(aws)
    refused = post_json(client, "/v1/responses", bodies[-1])
    assert set(statuses) == {201}
    assert refused.status_code == 429 and refused.json_body["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert table_items(aws) == before


def test_one_flooding_address_cannot_make_another_address_answer_on_the_same_qr_get_429(
    biz: Biz, aws: Any, clock: FakeClock
) -> None:
    services = _limited(clock, rate_limit_per_ip=3, rate_limit_per_link=6)
    token = biz.touchpoints["table"]["token"]

    def send(address: str) -> int:
        body = ResponseIn.model_validate(with_nonce({"token": token, "score": 8}))
        try:
            return 201 if services.submissions.submit(body, RequestMeta(source_ip=address)).created else 200
        except RateLimited:
            return 429

    flood = [send("198.51.100.66") for _ in range(20)]
    assert flood.count(201) == 3 and flood.count(429) == 17  # refused answers never reach the shared count
    assert [send("203.0.113.7") for _ in range(3)] == [201, 201, 201]


def test_the_shared_link_limit_still_caps_many_addresses(biz: Biz, aws: Any, clock: FakeClock) -> None:
    services = _limited(clock, rate_limit_per_ip=2, rate_limit_per_link=4)
    token = biz.touchpoints["table"]["token"]
    accepted = 0
    for i in range(6):
        body = ResponseIn.model_validate(with_nonce({"token": token, "score": 8}))
        try:
            services.submissions.submit(body, RequestMeta(source_ip=f"192.0.2.{i}"))
            accepted += 1
        except RateLimited:
            pass
    assert accepted == 4 and len(_responses(aws)) == 4


# ---- item 5 (server): CORS on every answer to a site-key request, errors included --------------------


def _widget(client: Client, biz: Biz, origin: str = "https://shop.example", **body: Any) -> Any:
    answer = {"site_key": biz.site_key, "metric": "nps", "score": 9, **body}
    return post_json(client, "/v1/responses", answer, {"Origin": origin})


def _assert_cors(answer: Any) -> None:
    assert answer.headers.get("Access-Control-Allow-Origin") == "https://shop.example", answer.headers
    assert answer.headers.get("Vary") == "Origin"


def test_widget_refusals_carry_cors_for_an_allowed_origin(client: Client, biz: Biz, clock: FakeClock) -> None:
    # 422 from the model (score is a string) with a readable site key, and 422 from a rule.
    _assert_cors(_widget(client, biz, score="nine", nonce=site_nonce(client, biz)))
    _assert_cors(_widget(client, biz, metric=None))
    # 409: the page view's answer is past its edit window.
    _limited(clock, edit_window_hours=1)
    nonce = site_nonce(client, biz)
    assert _widget(client, biz, nonce=nonce).status_code == 201
    clock.advance(minutes=61)
    closed = _widget(client, biz, nonce=nonce)
    assert closed.status_code == 409
    _assert_cors(closed)
    # 413: too large to read, the site key is still found.
    big = client.http.post(
        "/v1/responses",
        body=json.dumps({"site_key": biz.site_key, "metric": "nps", "score": 9, "comment": "x" * 20000}),
        headers={"Content-Type": "text/plain", **SHOP},
    )
    assert big.status_code == 413
    _assert_cors(big)


def test_a_widget_429_carries_cors_and_exposes_retry_after(client: Client, biz: Biz, clock: FakeClock) -> None:
    _limited(clock, rate_limit_per_ip=1)
    assert _widget(client, biz, nonce=site_nonce(client, biz)).status_code == 201
    limited = _widget(client, biz, nonce=site_nonce(client, biz))
    assert limited.status_code == 429
    _assert_cors(limited)
    assert "Retry-After" in limited.headers
    assert "Retry-After" in limited.headers["Access-Control-Expose-Headers"]


def test_another_origin_gets_no_cors_header_on_refusals(client: Client, biz: Biz) -> None:
    for answer in (
        _widget(client, biz, "https://evil.example"),
        _widget(client, biz, "https://evil.example", score="nine"),
        client.http.get(f"/v1/sites/{biz.site_key}", headers={"Origin": "https://evil.example"}),
    ):
        assert answer.status_code in (403, 422)
        assert "Access-Control-Allow-Origin" not in answer.headers
        assert answer.headers["Vary"] == "Origin"


def test_a_403_from_any_check_on_a_site_key_route_carries_cors_for_an_allowed_origin(biz: Biz) -> None:
    # The CORS boundary is one place (web/routes.py): any refusal a route's call raises gets the headers.
    from chalice import Chalice
    from chalice.test import Client as TestClient

    from app import app as real_app
    from chalicelib.errors import Forbidden
    from chalicelib.web import http
    from chalicelib.web.routes import Route, RouteTable

    def refuse(call: Any) -> Any:
        raise Forbidden("No.", code="some_other_check")

    app = Chalice(app_name="cors-probe")
    try:
        # The request lookup follows the probe app until the finally below.
        table = RouteTable(app, owner=lambda key, business_id: None, admin=lambda key: None)
        table.add([Route("GET", "/probe", "probe", "A refusal", refuse, cors=lambda request: "https://shop.example")])
        with TestClient(app) as probe_client:
            answer = probe_client.http.get("/probe", headers=SHOP)
    finally:
        http.bind(real_app)  # the module-level app is the one the other tests use
    assert answer.status_code == 403 and answer.json_body["error"]["code"] == "some_other_check"
    _assert_cors(answer)


def test_the_widget_config_is_not_cacheable_and_carries_a_fresh_nonce(client: Client, biz: Biz) -> None:
    first = client.http.get(f"/v1/sites/{biz.site_key}", headers=SHOP)
    second = client.http.get(f"/v1/sites/{biz.site_key}", headers=SHOP)
    assert first.headers["Cache-Control"] == "no-store"
    assert first.json_body["nonce"] != second.json_body["nonce"]
    _assert_cors(first)


def test_a_widget_nonce_is_bound_to_its_site_key(client: Client, biz: Biz) -> None:
    other = make_business(client, name="Quán Khác")
    foreign = {"site_key": other.site_key, "metric": "nps", "score": 9, "nonce": site_nonce(client, biz)}
    refused = send_answer(client, foreign, SHOP)
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "invalid_nonce"


# ---- helpers ---------------------------------------------------------------------------------------


def _hidden(html: str, name: str) -> str:
    import re

    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, name
    return match.group(1)


def _q(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _form_nonce(form: str) -> str:
    from urllib.parse import parse_qs

    return parse_qs(form)["nonce"][0]
