"""Issue #14, setup without curl: the owner reads and edits the business, lists, renames and retires
touchpoints; a retired table's printed QR code tells customers it is no longer in use, and its answers
stay. The real handlers and DynamoDB adapter, AWS emulated by moto."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from chalice.test import Client

from chalicelib import tables, wiring
from chalicelib.domain.calendar import local_day
from chalicelib.domain.models import BusinessPatch
from chalicelib.settings import get_settings
from tests.clock import FakeClock
from tests.integration.conftest import (
    JSON,
    Biz,
    make_business,
    page_form,
    post_json,
    send_answer,
    table_items,
    tap,
)

SHOWN = {
    "business_id", "name", "owner_emails", "timezone", "locale", "sender_email", "allowed_origins", "voucher",
    "site_key", "created_at", "staff_views", "topic_keywords",
}  # fmt: skip
VOUCHER = {"description": "Giảm 10% lần sau", "valid_days": 30, "per_email_days": 30, "recovery": False}


def patch_json(client: Client, path: str, body: Any, headers: dict[str, str]) -> Any:
    return client.http.request("PATCH", path, body=json.dumps(body), headers={**JSON, **headers})


def stored_business(aws: Any, business_id: str) -> dict[str, Any]:
    item = aws.get_item(
        TableName=get_settings().table_name,
        Key={"PK": {"S": tables.business_pk(business_id)}, "SK": {"S": tables.BUSINESS_SK}},
    )["Item"]
    return dict(item)


# ---- the business -----------------------------------------------------------------------------------


def test_the_owner_reads_the_business_settings_without_any_key_hash_or_secret(client: Client, biz: Biz, aws) -> None:
    answer = client.http.get(f"/v1/businesses/{biz.business_id}", headers=biz.auth)
    assert answer.status_code == 200, answer.body
    body = answer.json_body
    assert set(body) == SHOWN
    assert body["name"] == "Cà Phê Sài Gòn" and body["site_key"] == biz.site_key and body["sender_email"] is None
    stored = stored_business(aws, biz.business_id)
    secrets = [stored["owner_key_hash"]["S"], *(v["S"] for v in stored["signing_keys"]["M"].values())]
    text = answer.body.decode()
    assert not [secret for secret in secrets if secret in text]
    assert biz.owner_key not in text


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("name", "  Cà Phê Hà Nội ", "Cà Phê Hà Nội"),
        ("owner_emails", ["chu@caphe.example", "Quan.Ly@CAPHE.example"],
         ["chu@caphe.example", "Quan.Ly@caphe.example"]),
        ("timezone", "Europe/Paris", "Europe/Paris"),
        ("locale", "en", "en"),
        ("sender_email", "xin-chao@caphe.example", "xin-chao@caphe.example"),
        ("allowed_origins", ["https://caphe.example", "HTTPS://Menu.Caphe.Example"],
         ["https://caphe.example", "https://menu.caphe.example"]),
        ("voucher", VOUCHER, VOUCHER),
    ],
)  # fmt: skip
def test_a_patch_changes_the_one_setting_it_names_and_leaves_the_others(
    client: Client, biz: Biz, aws, field: str, value: Any, expected: Any
) -> None:
    before = client.http.get(f"/v1/businesses/{biz.business_id}", headers=biz.auth).json_body
    answer = patch_json(client, f"/v1/businesses/{biz.business_id}", {field: value}, biz.auth)
    assert answer.status_code == 200, answer.body
    assert answer.json_body == {**before, field: expected}
    assert client.http.get(f"/v1/businesses/{biz.business_id}", headers=biz.auth).json_body == answer.json_body


def test_null_removes_the_voucher_policy_and_the_own_sender_and_nothing_else(client: Client, aws) -> None:
    biz = make_business(client, voucher=VOUCHER, sender_email="hello@caphe.example")
    answer = patch_json(client, f"/v1/businesses/{biz.business_id}", {"voucher": None, "sender_email": None}, biz.auth)
    assert answer.status_code == 200, answer.body
    assert answer.json_body["voucher"] is None and answer.json_body["sender_email"] is None
    assert answer.json_body["name"] == "Cà Phê Sài Gòn"
    stored = stored_business(aws, biz.business_id)
    assert "voucher" not in stored and "sender_email" not in stored
    # The hot path of this container sees it at once: no voucher promised on the thank-you page.
    assert wiring.services().directory.business(biz.business_id).voucher is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"name": None}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "a\nb"}, "name"),
        ({"owner_emails": []}, "owner_emails"),
        ({"owner_emails": ["not an address"]}, "owner_emails.0"),
        ({"owner_emails": None}, "owner_emails"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"locale": "fr"}, "locale"),
        ({"sender_email": "x@"}, "sender_email"),
        ({"allowed_origins": ["ftp://shop.example"]}, "allowed_origins.0"),
        ({"voucher": {"description": "", "valid_days": 30}}, "voucher.description"),
        ({"voucher": {"description": "ok", "valid_days": 0}}, "voucher.valid_days"),
        ({"owner_key_hash": "x"}, "owner_key_hash"),
        ({"name": "Ok", "site_key": "sk_x"}, "site_key"),
    ],
)
def test_an_invalid_patch_is_refused_422_naming_the_field_and_changes_nothing(
    client: Client, biz: Biz, aws, body: dict[str, Any], field: str
) -> None:
    before = table_items(aws)
    answer = patch_json(client, f"/v1/businesses/{biz.business_id}", body, biz.auth)
    assert answer.status_code == 422, answer.body
    assert answer.json_body["error"]["details"][0]["field"] == field
    assert table_items(aws) == before


def test_an_empty_patch_says_which_settings_can_change(client: Client, biz: Biz) -> None:
    answer = patch_json(client, f"/v1/businesses/{biz.business_id}", {}, biz.auth)
    assert answer.status_code == 422
    message = answer.json_body["error"]["message"]
    assert "at least one setting" in message and "timezone" in message and "voucher" in message


def test_a_settings_change_does_not_undo_an_owner_key_rotation_written_at_the_same_moment(
    client: Client, biz: Biz, aws
) -> None:
    services = wiring.services()
    # The PATCH's request authenticated (and read the business) before the rotation committed...
    caller = services.access.authenticate(f"Bearer {biz.owner_key}", biz.business_id)
    rotated = services.access.rotate_owner_key(caller)
    till = services.pos_keys.rotate(services.access.authenticate(f"Bearer {rotated.owner_key}", biz.business_id))
    # ...and writes its change after it.
    services.setup.update_business(caller, BusinessPatch(name="Tên mới"))
    stored = stored_business(aws, biz.business_id)
    assert stored["name"]["S"] == "Tên mới"
    assert str(till.key_id) in stored["signing_keys"]["M"] and stored["active_key_id"]["N"] == str(till.key_id)
    new_auth = {"Authorization": f"Bearer {rotated.owner_key}"}
    assert client.http.get(f"/v1/businesses/{biz.business_id}", headers=new_auth).status_code == 200
    assert client.http.get(f"/v1/businesses/{biz.business_id}", headers=biz.auth).status_code == 401


# ---- the time zone moves the daily report ----------------------------------------------------------------


def _hourly(clock: FakeClock, hours: int, reported: list[tuple[str, str]]) -> None:
    """The hourly schedule and its worker, ``hours`` times: which (day, UTC hour it ran) were reported."""
    reports = wiring.services().reports
    for _ in range(hours):
        for job in reports.due_jobs():
            if reports.run(job, send_digest=False) is not None:
                reported.append((job.day, clock.now().isoformat()))
        clock.advance(hours=1)


@pytest.mark.parametrize(
    ("first", "then", "at_hour"),
    [
        # West, across midnight: the new zone's "today" is a day already reported; it is not reported twice.
        ("Asia/Ho_Chi_Minh", "America/Los_Angeles", 20),
        # East, across midnight: the day the old zone had not finished is over in the new one: reported once.
        ("America/Los_Angeles", "Asia/Tokyo", 4),
    ],
)
def test_a_new_time_zone_moves_the_daily_report_to_its_midnight_without_a_skipped_or_repeated_day(
    client: Client, clock: FakeClock, first: str, then: str, at_hour: int
) -> None:
    biz = make_business(client, timezone=first)
    created = local_day(clock.now(), first)
    reported: list[tuple[str, str]] = []
    _hourly(clock, 48, reported)
    while clock.now().hour != at_hour:
        _hourly(clock, 1, reported)
    changed_at = clock.now()
    answer = patch_json(client, f"/v1/businesses/{biz.business_id}", {"timezone": then}, biz.auth)
    assert answer.status_code == 200, answer.body
    _hourly(clock, 72, reported)

    days = [day for day, _ in reported]
    assert len(days) == len(set(days)), f"a day was reported twice: {reported}"
    assert days == [(created + timedelta(days=n)).isoformat() for n in range(len(days))], f"a gap: {reported}"
    assert len(days) >= 5
    # After the change, each report runs in the first hour after the new zone's midnight, or at once
    # when that midnight had already passed when the zone changed.
    after = [datetime.fromisoformat(ran) for _, ran in reported if datetime.fromisoformat(ran) >= changed_at]
    assert len(after) >= 2
    for ran in after:
        assert ran.astimezone(ZoneInfo(then)).hour == 0 or ran - changed_at < timedelta(hours=1), reported


def test_a_business_missing_from_the_report_index_is_put_back_by_a_time_zone_change(
    client: Client, biz: Biz, aws, clock: FakeClock
) -> None:
    key = {"PK": {"S": tables.registry_pk(tables.registry_shard(biz.business_id))}, "SK": {"S": biz.business_id}}
    aws.delete_item(TableName=get_settings().table_name, Key=key)
    moved = patch_json(client, f"/v1/businesses/{biz.business_id}", {"timezone": "Asia/Tokyo"}, biz.auth)
    assert moved.status_code == 200
    entry = aws.get_item(TableName=get_settings().table_name, Key=key)["Item"]
    assert entry["timezone"]["S"] == "Asia/Tokyo"
    assert entry["created_day"]["S"] == local_day(clock.now(), "Asia/Tokyo").isoformat()
    assert "last_day" not in entry


# ---- touchpoints ------------------------------------------------------------------------------------


def test_the_touchpoint_list_shows_each_with_its_static_link_oldest_first(client: Client, biz: Biz) -> None:
    answer = client.http.get(f"/v1/businesses/{biz.business_id}/touchpoints", headers=biz.auth)
    assert answer.status_code == 200, answer.body
    items = answer.json_body["items"]
    assert sorted(item["name"] for item in items) == ["receipt", "table", "web"]
    assert [item["created_at"] for item in items] == sorted(item["created_at"] for item in items)
    for item in items:
        created = biz.touchpoints[item["name"]]
        assert item["touchpoint_id"] == created["touchpoint_id"] and item["url"] == created["url"]
        assert item["retired_at"] is None


def test_a_renamed_touchpoint_keeps_its_link_and_shows_its_new_name(client: Client, biz: Biz) -> None:
    table = biz.touchpoints["table"]
    path = f"/v1/businesses/{biz.business_id}/touchpoints/{table['touchpoint_id']}"
    answer = patch_json(client, path, {"name": "Bàn 1 (sân vườn)"}, biz.auth)
    assert answer.status_code == 200, answer.body
    assert answer.json_body["name"] == "Bàn 1 (sân vườn)" and answer.json_body["url"] == table["url"]
    listed = client.http.get(f"/v1/businesses/{biz.business_id}/touchpoints", headers=biz.auth).json_body["items"]
    assert {t["touchpoint_id"]: t["name"] for t in listed}[table["touchpoint_id"]] == "Bàn 1 (sân vườn)"
    card = client.http.get(f"{path}/card.svg", headers=biz.auth)
    assert "Bàn 1 (sân vườn)" in card.body.decode()


@pytest.mark.parametrize(
    "body", [{}, {"name": ""}, {"name": None}, {"name": "ok", "labels": {"Area": "x"}}, {"reasons": []}]
)
def test_a_touchpoint_patch_takes_a_name_only_and_refuses_the_rest_422(
    client: Client, biz: Biz, aws, body: dict[str, Any]
) -> None:
    before = table_items(aws)
    path = f"/v1/businesses/{biz.business_id}/touchpoints/{biz.touchpoints['table']['touchpoint_id']}"
    assert patch_json(client, path, body, biz.auth).status_code == 422
    assert table_items(aws) == before


@pytest.mark.parametrize("touchpoint_id", ["zzzzzzzz", "UPPER123", "x" * 300, "a%2Fb"])
def test_renaming_or_retiring_an_unknown_touchpoint_is_404_and_writes_nothing(
    client: Client, biz: Biz, aws, touchpoint_id: str
) -> None:
    before = table_items(aws)
    path = f"/v1/businesses/{biz.business_id}/touchpoints/{touchpoint_id}"
    renamed = patch_json(client, path, {"name": "x"}, biz.auth)
    retired = client.http.delete(path, headers=biz.auth)
    assert (renamed.status_code, retired.status_code) == (404, 404)
    assert retired.json_body["error"]["code"] == "touchpoint_not_found"
    assert table_items(aws) == before


def test_another_business_cannot_rename_or_retire_my_touchpoint(client: Client, biz: Biz, aws) -> None:
    other = make_business(client, name="Quán Khác")
    before = table_items(aws)
    mine = f"/v1/businesses/{other.business_id}/touchpoints/{biz.touchpoints['table']['touchpoint_id']}"
    assert patch_json(client, mine, {"name": "x"}, other.auth).status_code == 404
    assert client.http.delete(mine, headers=other.auth).status_code == 404
    assert table_items(aws) == before


# ---- a retired touchpoint ----------------------------------------------------------------------------


def _retire(client: Client, biz: Biz, name: str = "table") -> Any:
    path = f"/v1/businesses/{biz.business_id}/touchpoints/{biz.touchpoints[name]['touchpoint_id']}"
    return client.http.delete(path, headers=biz.auth)


def test_retiring_twice_answers_the_same_touchpoint_and_changes_nothing(
    client: Client, biz: Biz, aws, clock: FakeClock
) -> None:
    first = _retire(client, biz)
    assert first.status_code == 200, first.body
    assert first.json_body["retired_at"] is not None
    items = table_items(aws)
    clock.advance(hours=1)
    again = _retire(client, biz)
    assert again.status_code == 200 and again.json_body == first.json_body
    assert table_items(aws) == items


@pytest.mark.parametrize(
    ("locale", "accept", "words"),
    [("vi", "en-US,en", "không còn được sử dụng"), ("en", "vi-VN,vi", "no longer in use")],
)
def test_a_retired_tables_printed_qr_shows_a_friendly_410_page_in_the_links_language(
    client: Client, locale: str, accept: str, words: str
) -> None:
    biz = make_business(client, locale=locale)
    token = biz.touchpoints["table"]["token"]
    form = page_form(client, token, 9)  # a page opened before the retirement, tapped after it
    assert _retire(client, biz).status_code == 200
    shown = client.http.get(f"/s/{token}", headers={"Accept-Language": accept})
    form_headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": accept}
    tapped = client.http.post(f"/s/{token}", body=form, headers=form_headers)
    for page in (shown, tapped):
        assert page.status_code == 410
        assert page.headers["Content-Type"].startswith("text/html")
        text = page.body.decode()
        assert f'<html lang="{locale}"' in text and words in text
        assert "touchpoint_retired" not in text and "Traceback" not in text


def test_a_retired_touchpoint_takes_no_answer_by_api_widget_or_new_link_and_keeps_its_answers(
    client: Client, biz: Biz, aws
) -> None:
    table, web = biz.touchpoints["table"], biz.touchpoints["web"]
    assert tap(client, table["token"], 9).status_code == 201
    origin = {"Origin": "https://shop.example"}
    widget = {"site_key": biz.site_key, "touchpoint_id": web["touchpoint_id"], "metric": "ces", "score": 6}
    assert send_answer(client, widget, origin).status_code == 201
    late_body = {"token": table["token"], "score": 3}
    late = send_answer(client, late_body)  # the nonce of a page view from before the retirement
    assert late.status_code == 201
    assert _retire(client, biz).status_code == 200 and _retire(client, biz, "web").status_code == 200
    before = table_items(aws)

    refused = post_json(client, "/v1/responses", {**late_body, "nonce": "x"})
    assert refused.status_code == 410 and refused.json_body["error"]["code"] == "touchpoint_retired"
    from_widget = send_answer(client, {**widget, "nonce": "x"}, origin)
    assert from_widget.status_code == 410 and from_widget.json_body["error"]["code"] == "touchpoint_retired"
    assert from_widget.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    check = client.http.get(f"/v1/sites/{biz.site_key}?touchpoint_id={web['touchpoint_id']}", headers=origin)
    assert check.status_code == 410
    minted = post_json(client, f"/v1/businesses/{biz.business_id}/links", {"touchpoint_id": table["touchpoint_id"]},
                       biz.auth)  # fmt: skip
    assert minted.status_code == 409 and minted.json_body["error"]["code"] == "touchpoint_retired"
    qr = f"/v1/businesses/{biz.business_id}/touchpoints/{table['touchpoint_id']}"
    for file in ("qr.svg", "qr.png", "card.svg"):
        assert client.http.get(f"{qr}/{file}", headers=biz.auth).status_code == 410, file
    assert table_items(aws) == before

    listed = client.http.get(f"/v1/businesses/{biz.business_id}/responses", headers=biz.auth).json_body["items"]
    assert sorted((r["touchpoint_id"], r["score"]) for r in listed) == sorted(
        [(table["touchpoint_id"], 9), (table["touchpoint_id"], 3), (web["touchpoint_id"], 6)]
    )
    metrics = client.http.get(
        f"/v1/businesses/{biz.business_id}/metrics?group_by=touchpoint", headers=biz.auth
    ).json_body
    assert metrics["overall"]["nps"]["n"] == 2 and metrics["overall"]["ces"]["n"] == 1
    tps = client.http.get(f"/v1/businesses/{biz.business_id}/touchpoints", headers=biz.auth).json_body["items"]
    assert {t["name"]: t["retired_at"] is not None for t in tps} == {"table": True, "receipt": False, "web": True}


def test_a_retired_touchpoints_answers_keep_its_name_in_the_daily_report(
    client: Client, biz: Biz, clock: FakeClock
) -> None:
    table = biz.touchpoints["table"]
    assert tap(client, table["token"], 10).status_code == 201
    assert _retire(client, biz).status_code == 200
    day = local_day(clock.now(), "Asia/Ho_Chi_Minh").isoformat()
    clock.advance(days=1)
    from chalicelib.domain.jobs import ReportJob

    result = wiring.services().reports.run(ReportJob(biz.business_id, day), send_digest=False)
    assert result is not None
    rows = {row.key: row for row in result.report.touchpoints}
    assert rows[table["touchpoint_id"]].name == "table"


def test_the_spec_declares_410_where_a_retired_touchpoint_can_answer_it(client: Client) -> None:
    spec = client.http.get("/openapi.json").json_body["paths"]
    gone = {
        ("/v1/responses", "post"), ("/s/{token}", "get"), ("/s/{token}", "post"), ("/v1/sites/{site_key}", "get"),
        ("/v1/businesses/{business_id}/touchpoints/{touchpoint_id}/qr.svg", "get"),
        ("/v1/businesses/{business_id}/touchpoints/{touchpoint_id}/qr.png", "get"),
        ("/v1/businesses/{business_id}/touchpoints/{touchpoint_id}/card.svg", "get"),
    }  # fmt: skip
    for path, method in gone:
        assert "410" in spec[path][method]["responses"], (path, method)
    assert "409" in spec["/v1/businesses/{business_id}/links"]["post"]["responses"]
    business = spec["/v1/businesses/{business_id}"]
    assert {"get", "patch"} <= set(business)
    touchpoint = spec["/v1/businesses/{business_id}/touchpoints/{touchpoint_id}"]
    assert {"patch", "delete"} <= set(touchpoint)
    assert "get" in spec["/v1/businesses/{business_id}/touchpoints"]
