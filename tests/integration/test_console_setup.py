"""The console's setup and print pages (issue #14): the business's settings, touchpoints created, renamed
and retired (after a confirmation), the widget snippet, POS keys and the owner key shown once, and the
print page with one A6 card per active table."""

from __future__ import annotations

import re
from typing import Any

from chalice.test import Client

from tests.integration.conftest import Biz, table_items
from tests.integration.test_console import Browser, sign_in_by_key


def _setup(client: Client, biz: Biz) -> tuple[Browser, str]:
    browser = Browser(client)
    sign_in_by_key(browser, biz)
    return browser, f"/console/{biz.business_id}/setup"


def test_the_owner_edits_the_business_and_a_bad_value_is_a_sentence_that_changes_nothing(
    client: Client, biz: Biz, aws: Any
) -> None:
    browser, path = _setup(client, biz)
    fields = {
        "action": "business",
        "name": "Cà Phê Mới",
        "owner_emails": "owner@caphe.example\r\nban@caphe.example",
        "locale": "en",
        "timezone": "Asia/Bangkok",
        "sender_email": "",
        "allowed_origins": "https://shop.example",
        "voucher_description": "Giảm 10%",
        "voucher_days": "14",
    }
    saved = browser.post(path, fields)
    assert saved.status_code == 200, saved.body
    got = client.http.get(f"/v1/businesses/{biz.business_id}", headers=biz.auth).json_body
    assert got["name"] == "Cà Phê Mới" and got["owner_emails"] == ["owner@caphe.example", "ban@caphe.example"]
    assert got["locale"] == "en" and got["timezone"] == "Asia/Bangkok"
    assert got["voucher"]["description"] == "Giảm 10%" and got["voucher"]["valid_days"] == 14
    before = table_items(aws)
    refused = browser.post(path, {**fields, "timezone": "Mars/Olympus"})
    assert refused.status_code == 422 and "timezone" in refused.body.decode()
    assert table_items(aws) == before


def test_touchpoints_are_created_renamed_and_retired_only_after_a_confirmation(client: Client, biz: Biz) -> None:
    browser, path = _setup(client, biz)
    created = browser.post(path, {"action": "create", "name": "Bàn 7", "channel": "qr", "metric": "csat"})
    assert created.status_code == 200 and 'value="Bàn 7"' in created.body.decode()
    listed = client.http.get(f"/v1/businesses/{biz.business_id}/touchpoints", headers=biz.auth).json_body["items"]
    table7 = next(tp for tp in listed if tp["name"] == "Bàn 7")
    renamed = browser.post(path, {"action": "rename", "touchpoint_id": table7["touchpoint_id"], "name": "Bàn số 7"})
    assert renamed.status_code == 200 and 'value="Bàn số 7"' in renamed.body.decode()
    asked = browser.post(path, {"action": "retire", "touchpoint_id": table7["touchpoint_id"]})
    assert asked.status_code == 200 and 'name="confirm" value="yes"' in asked.body.decode()
    still = client.http.get(f"/v1/businesses/{biz.business_id}/touchpoints", headers=biz.auth).json_body["items"]
    assert next(tp for tp in still if tp["touchpoint_id"] == table7["touchpoint_id"])["retired_at"] is None
    browser.post(path, {"action": "retire", "touchpoint_id": table7["touchpoint_id"], "confirm": "yes"})
    after = client.http.get(f"/v1/businesses/{biz.business_id}/touchpoints", headers=biz.auth).json_body["items"]
    assert next(tp for tp in after if tp["touchpoint_id"] == table7["touchpoint_id"])["retired_at"]


def test_setup_shows_the_widget_snippet_with_the_site_key_ready_to_copy(client: Client, biz: Biz) -> None:
    browser, path = _setup(client, biz)
    page = browser.get(path).body.decode()
    snippet = re.search(r'<textarea id="snippet" readonly[^>]*>([^<]*)</textarea>', page)
    assert snippet, page
    assert (
        f"&lt;script async src=&#34;https://surveys.example/widget.js&#34; data-site-key=&#34;{biz.site_key}&#34;"
        in snippet.group(1)
    )
    assert '<label for="snippet">' in page


def test_pos_keys_are_revealed_or_rotated_only_in_the_answer_to_a_post(client: Client, biz: Biz) -> None:
    browser, path = _setup(client, biz)
    secret = client.http.get(f"/v1/businesses/{biz.business_id}/pos-secret", headers=biz.auth).json_body["secret"]
    assert secret not in browser.get(path).body.decode()
    revealed = browser.post(path, {"action": "pos_reveal"})
    assert secret in revealed.body.decode() and revealed.headers["Cache-Control"] == "no-store"
    rotated = browser.post(path, {"action": "pos_rotate"})
    new = client.http.get(f"/v1/businesses/{biz.business_id}/pos-secret", headers=biz.auth).json_body["secret"]
    assert new != secret and new in rotated.body.decode()


def test_rotating_the_owner_key_shows_it_once_and_ends_this_session_too(client: Client, biz: Biz) -> None:
    browser, path = _setup(client, biz)
    unconfirmed = browser.post(path, {"action": "owner_key"})
    assert unconfirmed.status_code == 422
    assert client.http.get(f"/v1/businesses/{biz.business_id}", headers=biz.auth).status_code == 200
    copied = dict(browser.cookies)
    rotated = browser.post(path, {"action": "owner_key", "confirm": "yes"})
    assert rotated.status_code == 200
    key = re.search(r"ok_[0-9a-z]+_[0-9a-z]{32}", rotated.body.decode())
    assert key and key.group(0) != biz.owner_key
    assert f"/console/{biz.business_id}/signin" in rotated.body.decode()
    assert client.http.get(f"/v1/businesses/{biz.business_id}", headers=biz.auth).status_code == 401
    thief = Browser(client)
    thief.cookies = copied
    assert thief.get(f"/console/{biz.business_id}").status_code == 401
    assert browser.get(f"/console/{biz.business_id}").status_code == 401


def test_the_print_page_holds_one_a6_card_per_active_table_and_no_other(client: Client, biz: Biz) -> None:
    browser, path = _setup(client, biz)
    browser.post(path, {"action": "create", "name": "Bàn 2", "channel": "qr", "metric": "nps"})
    page = browser.get(f"/console/{biz.business_id}/print")
    assert page.status_code == 200
    body = page.body.decode()
    cards = re.findall(r'<div class="card"><img src="([^"]+)" alt="([^"]+)"', body)
    assert sorted(alt for _, alt in cards) == ["Bàn 2", "table"]  # the receipt and web touchpoints are no tables
    assert "@media print" in body and "break-after:page" in body and "size:A6" in body
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", body)
    card = browser.get(cards[0][0].replace("&amp;", "&"))
    assert card.status_code == 200 and card.headers["Content-Type"].startswith("image/svg+xml")
    assert 'width="105mm" height="148mm"' in card.body.decode()
    # The card is the owner's: without the session it is the sign-in page, not the image.
    assert client.http.get(cards[0][0].replace("&amp;", "&")).status_code == 401
    assert browser.get(f"/console/{biz.business_id}/print/zzzzzzzz").status_code == 404
