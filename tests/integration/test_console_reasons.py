"""The console's setup page edits a touchpoint's reason chips and the business's topic words (#15), through
the same owner API service; a bad chip is a sentence that changes nothing."""

from __future__ import annotations

from typing import Any

from chalice.test import Client

from tests.integration.conftest import Biz, table_items
from tests.integration.test_console_setup import _setup


def _chips(client: Client, biz: Biz, touchpoint_id: str) -> dict[str, Any]:
    listed = client.http.get(f"/v1/businesses/{biz.business_id}/touchpoints", headers=biz.auth).json_body["items"]
    return next(tp for tp in listed if tp["touchpoint_id"] == touchpoint_id)["reasons"]


def test_the_owner_ticks_chips_and_adds_an_own_one_for_one_mood_and_the_other_keeps_its_defaults(
    client: Client, biz: Biz, aws: Any
) -> None:
    browser, path = _setup(client, biz)
    tp = biz.touchpoints["table"]["touchpoint_id"]
    page = browser.get(path).body.decode()
    # One touchpoint's chips are open at a time: the page links to each.
    assert 'name="k_wait"' not in page and f'href="{path}?tp={tp}#t-{tp}"' in page
    page = browser.get(f"{path}?tp={tp}").body.decode()
    assert "Lý do để khách chọn" in page and 'name="k_wait" value="1" checked' in page

    saved = browser.post(path, {"action": "reasons", "touchpoint_id": tp, "mood": "unhappy", "k_wait": "1",
                                "k_staff": "1", "custom": "ice | Nhiều đá | Too much ice\r\n"})
    assert saved.status_code == 200, saved.body
    chips = _chips(client, biz, tp)
    assert [c["key"] for c in chips["unhappy"]] == ["wait", "staff", "custom:ice"]
    assert chips["unhappy"][2] == {"key": "custom:ice", "vi": "Nhiều đá", "en": "Too much ice"}
    assert len(chips["happy"]) == 8  # untouched: still the defaults
    assert "ice | Nhiều đá | Too much ice" in saved.body.decode()  # shown back for the next edit

    before = table_items(aws)
    refused = browser.post(path, {"action": "reasons", "touchpoint_id": tp, "mood": "unhappy", "k_wait": "1",
                                  "custom": "ice | Nhiều đá"})
    assert refused.status_code == 422 and "needs its labels" in refused.body.decode()
    assert table_items(aws) == before

    reset = browser.post(path, {"action": "reasons_reset", "touchpoint_id": tp})
    assert reset.status_code == 200 and len(_chips(client, biz, tp)["unhappy"]) == 8


def test_the_owner_sets_topic_words_one_per_line(client: Client, biz: Biz) -> None:
    browser, path = _setup(client, biz)
    fields = {
        "action": "business", "name": "Cà Phê Sài Gòn", "owner_emails": "owner@caphe.example", "locale": "vi",
        "timezone": "Asia/Ho_Chi_Minh", "sender_email": "", "allowed_origins": "https://shop.example",
        "voucher_description": "", "voucher_days": "30", "topic_keywords": "bánh flan\r\nsân vườn\r\n",
    }
    saved = browser.post(path, fields)
    assert saved.status_code == 200, saved.body
    got = client.http.get(f"/v1/businesses/{biz.business_id}", headers=biz.auth).json_body
    assert got["topic_keywords"] == ["bánh flan", "sân vườn"]
    shown = browser.get(path).body.decode()
    assert "bánh flan\nsân vườn</textarea>" in shown
