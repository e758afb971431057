"""Issue #15 in the console's setup page: an owner labels touchpoints (a table card per table) and turns
staff views on or off, through the same services as the owner API."""

from __future__ import annotations

from typing import Any

from chalice.test import Client

from tests.integration.conftest import Biz, table_items
from tests.integration.test_console import Browser, sign_in_by_key


def _setup(client: Client, biz: Biz) -> tuple[Browser, str]:
    browser = Browser(client)
    sign_in_by_key(browser, biz)
    return browser, f"/console/{biz.business_id}/setup"


def _touchpoints(client: Client, biz: Biz) -> dict[str, dict[str, Any]]:
    items = client.http.get(f"/v1/businesses/{biz.business_id}/touchpoints", headers=biz.auth).json_body["items"]
    return {tp["name"]: tp for tp in items}


def test_a_table_touchpoint_is_created_with_its_labels_and_relabelled_from_the_setup_page(
    client: Client, biz: Biz
) -> None:
    browser, path = _setup(client, biz)
    created = browser.post(path, {
        "action": "create", "name": "Bàn 5", "channel": "qr", "metric": "nps",
        "label_name_0": "table", "label_value_0": "5", "label_name_1": "area", "label_value_1": "Sân vườn",
        "label_name_2": "", "label_value_2": "",
    })  # fmt: skip
    assert created.status_code == 200, created.body
    table = _touchpoints(client, biz)["Bàn 5"]
    assert table["labels"] == {"area": "Sân vườn", "table": "5"}
    page = created.body.decode()
    assert "area = Sân vườn · table = 5" in page  # the touchpoint's labels at a glance
    assert f'id="tl-{table["touchpoint_id"]}-lv0" name="label_value_0" value="Sân vườn"' in page

    relabelled = browser.post(path, {
        "action": "labels", "touchpoint_id": table["touchpoint_id"],
        "label_name_0": "table", "label_value_0": "6", "label_name_1": "", "label_value_1": "",
    })  # fmt: skip
    assert relabelled.status_code == 200
    assert _touchpoints(client, biz)["Bàn 5"]["labels"] == {"table": "6"}
    cleared = browser.post(path, {"action": "labels", "touchpoint_id": table["touchpoint_id"]})
    assert cleared.status_code == 200
    assert _touchpoints(client, biz)["Bàn 5"]["labels"] == {}


def test_a_bad_label_is_a_sentence_on_the_page_and_changes_nothing(client: Client, biz: Biz, aws: Any) -> None:
    browser, path = _setup(client, biz)
    table = biz.touchpoints["table"]["touchpoint_id"]
    before = table_items(aws)
    for rows in (
        {"label_name_0": "Bàn", "label_value_0": "5"},
        {"label_name_0": "table", "label_value_0": ""},
        {"label_name_0": "table", "label_value_0": "5", "label_name_1": "table", "label_value_1": "6"},
        {"label_name_0": "table", "label_value_0": "x" * 40},
    ):
        refused = browser.post(path, {"action": "labels", "touchpoint_id": table, **rows})
        assert refused.status_code == 422, rows
        assert 'role="alert"' in refused.body.decode()
    twice = browser.post(path, {"action": "labels", "touchpoint_id": table, "label_name_0": "table",
                                "label_value_0": "5", "label_name_1": "table", "label_value_1": "6"})
    assert "“table”" in twice.body.decode()
    assert table_items(aws) == before


def test_staff_views_are_off_with_the_reason_and_the_owner_turns_them_on_and_off(client: Client, biz: Biz) -> None:
    browser, path = _setup(client, biz)
    page = browser.get(path).body.decode()
    assert "điểm số theo từng người" in page  # why it is off, in the business's language
    assert 'name="staff_views" value="on" style' in page  # unchecked
    on = browser.post(path, {"action": "staff_views", "staff_views": "on"})
    assert on.status_code == 200 and 'name="staff_views" value="on" checked' in on.body.decode()
    assert client.http.get(f"/v1/businesses/{biz.business_id}", headers=biz.auth).json_body["staff_views"] is True
    metrics = client.http.get(f"/v1/businesses/{biz.business_id}/metrics?group_by=label:staff", headers=biz.auth)
    assert metrics.status_code == 200
    off = browser.post(path, {"action": "staff_views"})
    assert off.status_code == 200
    assert client.http.get(f"/v1/businesses/{biz.business_id}", headers=biz.auth).json_body["staff_views"] is False


def test_the_setup_page_after_a_save_shows_the_settings_as_saved_not_as_signed_in(client: Client, biz: Biz) -> None:
    browser, path = _setup(client, biz)
    saved = browser.post(path, {
        "action": "business", "name": "Cà Phê Mới", "owner_emails": "owner@caphe.example", "locale": "vi",
        "timezone": "Asia/Ho_Chi_Minh", "allowed_origins": "https://shop.example",
    })  # fmt: skip
    assert saved.status_code == 200
    assert 'id="b-name" name="name" value="Cà Phê Mới"' in saved.body.decode()
