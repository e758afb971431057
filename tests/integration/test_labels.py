"""Issue #15: an owner's labels of where and when (table, area, staff, shift, till) travel from a table's
touchpoint or a till's offline-minted token onto every answer, and the listing, the CSV and the metrics
show them; staff figures stay off until the owner turns them on."""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import re
import shutil
import subprocess
import textwrap
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.domain import tokens
from tests.clock import FakeClock
from tests.integration.conftest import JSON, Biz, post_json, send_answer, table_items

NODE = shutil.which("node")


def _recipe(language: str) -> str:
    match = re.search(rf"--- {language} recipe ---\n(.*?)\n\s*(?://|#) --- end ---", tokens.__doc__ or "", re.S)
    assert match, f"the token module lost its {language} recipe"
    return textwrap.dedent(match.group(1))


def _pos_mint(client: Client, biz: Biz, now: int, receipt: str, labels: dict[str, str], kind: str = "python") -> str:
    """A receipt link minted as a till would, offline, with the documented recipe and the POS secret."""
    secret = client.http.get(f"/v1/businesses/{biz.business_id}/pos-secret", headers=biz.auth).json_body
    raw = base64.urlsafe_b64decode(secret["secret"] + "=" * (-len(secret["secret"]) % 4))
    touchpoint = biz.touchpoints["receipt"]["touchpoint_id"]
    if kind == "python":
        namespace: dict[str, Any] = {}
        exec(_recipe("python"), namespace)  # noqa: S102 - our own docstring
        token: str = namespace["mint"](
            raw, secret["key_id"], biz.business_id, touchpoint, "receipt", "csat", link_id=receipt,
            issued_at=now, expires_at=now + 30 * 86400, labels=labels,
        )  # fmt: skip
        return token
    args = {"keyId": secret["key_id"], "businessId": biz.business_id, "touchpointId": touchpoint,
            "channel": "receipt", "metric": "csat", "linkId": receipt, "issuedAt": now,
            "expiresAt": now + 30 * 86400, "labels": labels}  # fmt: skip
    script = _recipe("javascript") + (
        f"\nconsole.log(mint(Buffer.from({json.dumps(raw.hex())}, 'hex'), {json.dumps(args)}));\n"
    )
    done = subprocess.run([NODE or "node", "-e", script], capture_output=True, text=True, timeout=30, check=True)
    return done.stdout.strip()


def _listing(client: Client, biz: Biz) -> list[dict[str, Any]]:
    answer = client.http.get(f"/v1/businesses/{biz.business_id}/responses", headers=biz.auth)
    assert answer.status_code == 200, answer.body
    items: list[dict[str, Any]] = answer.json_body["items"]
    return items


def _csv_labels(client: Client, biz: Biz) -> list[str]:
    answer = client.http.get(f"/v1/businesses/{biz.business_id}/responses?format=csv", headers=biz.auth)
    assert answer.status_code == 200
    rows = list(csv.DictReader(io.StringIO(answer.body.decode("utf-8-sig"))))
    return [row["labels"] for row in rows]


def _metrics(client: Client, biz: Biz, group_by: str) -> Any:
    return client.http.get(f"/v1/businesses/{biz.business_id}/metrics?group_by={group_by}", headers=biz.auth)


def _touchpoint(client: Client, biz: Biz, name: str, labels: dict[str, str], metric: str = "nps") -> dict[str, Any]:
    made = post_json(
        client, f"/v1/businesses/{biz.business_id}/touchpoints",
        {"name": name, "channel": "qr", "metric": metric, "labels": labels}, biz.auth,
    )  # fmt: skip
    assert made.status_code == 201, made.body
    body: dict[str, Any] = made.json_body
    return body


def _patch(client: Client, path: str, body: Any, biz: Biz) -> Any:
    return client.http.request("PATCH", path, body=json.dumps(body), headers={**JSON, **biz.auth})


# ---- a till's offline token carries its labels ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["python", "javascript"])
def test_labels_minted_offline_by_a_till_reach_the_listing_the_csv_and_the_metrics(
    client: Client, biz: Biz, clock: FakeClock, kind: str
) -> None:
    if kind == "javascript" and NODE is None:
        pytest.fail("node is needed to run the JavaScript recipe")
    now = int(clock.now().timestamp())
    token = _pos_mint(client, biz, now, "HD-9001", {"till": "Quầy 2", "shift": "tối", "staff": "Lan"}, kind)
    assert tokens.peek(token).labels == {"shift": "tối", "staff": "Lan", "till": "Quầy 2"}

    answered = post_json(client, "/v1/responses", {"token": token, "score": 2})
    assert answered.status_code == 201, answered.body

    # Staff views are off by default: the team labels show, the person's name does not.
    [item] = _listing(client, biz)
    assert item["labels"] == {"shift": "tối", "till": "Quầy 2"}
    assert _csv_labels(client, biz) == ["shift=tối; till=Quầy 2"]
    grouped = _metrics(client, biz, "label:till")
    assert grouped.status_code == 200, grouped.body
    [group] = grouped.json_body["groups"]
    assert grouped.json_body["group_by"] == "label:till"
    assert group["key"] == "Quầy 2" and group["metrics"]["csat"]["n"] == 1
    assert group["metrics"]["csat"]["status"] == "too_few_responses"


def test_a_till_token_with_labels_that_break_the_rules_is_refused_as_forged(
    client: Client, biz: Biz, clock: FakeClock
) -> None:
    now = int(clock.now().timestamp())
    token = _pos_mint(client, biz, now, "HD-9002", {"Table": "5"})  # the recipe does not validate
    refused = post_json(client, "/v1/responses", {"token": token, "score": 4})
    assert refused.status_code == 401 and refused.json_body["error"]["code"] == "invalid_token"
    assert _listing(client, biz) == []


# ---- a table card: the touchpoint's labels ----------------------------------------------------------------


def test_every_answer_to_a_table_card_carries_the_table_s_labels(client: Client, biz: Biz) -> None:
    table = _touchpoint(client, biz, "Bàn 5", {"table": "5", "area": "Sân vườn"})
    # The printed QR code carries no labels: they are read from the touchpoint when it is answered.
    assert tokens.peek(table["token"]).labels == {}
    assert send_answer(client, {"token": table["token"], "score": 9}).status_code == 201
    [item] = _listing(client, biz)
    assert item["labels"] == {"area": "Sân vườn", "table": "5"}
    assert _csv_labels(client, biz) == ["area=Sân vườn; table=5"]


def test_a_website_answer_naming_a_touchpoint_gets_its_labels(client: Client, biz: Biz) -> None:
    path = f"/v1/businesses/{biz.business_id}/touchpoints/{biz.touchpoints['web']['touchpoint_id']}"
    assert _patch(client, path, {"labels": {"area": "Website"}}, biz).status_code == 200
    web = biz.touchpoints["web"]["touchpoint_id"]
    body = {"site_key": biz.site_key, "metric": "ces", "score": 6, "touchpoint_id": web}
    answered = send_answer(client, body, {"Origin": "https://shop.example"})
    assert answered.status_code == 201, answered.body
    assert _listing(client, biz)[0]["labels"] == {"area": "Website"}


def test_a_minted_link_s_label_wins_over_the_touchpoint_s_of_the_same_name(client: Client, biz: Biz) -> None:
    table = _touchpoint(client, biz, "Bàn 5", {"table": "5", "area": "Sân vườn"})
    minted = post_json(
        client, f"/v1/businesses/{biz.business_id}/links",
        {"touchpoint_id": table["touchpoint_id"], "labels": {"table": "7", "shift": "tối"}}, biz.auth,
    )  # fmt: skip
    assert minted.status_code == 201, minted.body
    token = minted.json_body["links"][0]["token"]
    assert tokens.peek(token).labels == {"shift": "tối", "table": "7"}
    assert post_json(client, "/v1/responses", {"token": token, "score": 10}).status_code == 201
    assert _listing(client, biz)[0]["labels"] == {"area": "Sân vườn", "shift": "tối", "table": "7"}


def test_relabelling_a_table_keeps_its_printed_qr_code_and_applies_to_later_answers(
    client: Client, biz: Biz, clock: FakeClock
) -> None:
    table = _touchpoint(client, biz, "Bàn 5", {"table": "5"})
    path = f"/v1/businesses/{biz.business_id}/touchpoints/{table['touchpoint_id']}"
    changed = _patch(client, path, {"labels": {"table": "6", "area": "Tầng 2"}}, biz)
    assert changed.status_code == 200, changed.body
    assert changed.json_body["labels"] == {"area": "Tầng 2", "table": "6"}
    assert changed.json_body["url"] == table["url"]  # the card on the table stays valid
    listed = client.http.get(f"/v1/businesses/{biz.business_id}/touchpoints", headers=biz.auth).json_body["items"]
    assert {t["touchpoint_id"]: t["labels"] for t in listed}[table["touchpoint_id"]] == {"area": "Tầng 2", "table": "6"}
    assert send_answer(client, {"token": table["token"], "score": 8}).status_code == 201

    clock.advance(seconds=60)
    cleared = _patch(client, path, {"labels": {}}, biz)
    assert cleared.status_code == 200 and cleared.json_body["labels"] == {}
    assert send_answer(client, {"token": table["token"], "score": 7}).status_code == 201
    assert [item["labels"] for item in _listing(client, biz)] == [{}, {"area": "Tầng 2", "table": "6"}]


@pytest.mark.parametrize(
    "labels",
    [
        {"Table": "5"},
        {"table": ""},
        {"table": "   "},
        {"table": "5\n6"},
        {"table": "x" * 33},
        {"table": 5},
        {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"},
        {"1table": "5"},
        ["table", "5"],
    ],
)
def test_labels_that_break_the_rules_are_refused_422_and_nothing_changes(
    client: Client, biz: Biz, aws: Any, labels: Any
) -> None:
    before = table_items(aws)
    tp_path = f"/v1/businesses/{biz.business_id}/touchpoints"
    made = post_json(client, tp_path, {"name": "Bàn 9", "channel": "qr", "metric": "nps", "labels": labels}, biz.auth)
    patched = _patch(client, f"{tp_path}/{biz.touchpoints['table']['touchpoint_id']}", {"labels": labels}, biz)
    minted = post_json(
        client, f"/v1/businesses/{biz.business_id}/links",
        {"touchpoint_id": biz.touchpoints["receipt"]["touchpoint_id"], "labels": labels}, biz.auth,
    )  # fmt: skip
    assert [made.status_code, patched.status_code, minted.status_code] == [422, 422, 422]
    assert table_items(aws) == before


def test_labels_too_long_for_a_link_are_refused_422_before_any_link_is_made(client: Client, biz: Biz, aws: Any) -> None:
    before = table_items(aws)
    long = {name: "ệ" * 32 for name in ("area", "shift", "table", "till")}  # 4 x 96 bytes: over a 256-char token
    minted = post_json(
        client, f"/v1/businesses/{biz.business_id}/links",
        {"touchpoint_id": biz.touchpoints["receipt"]["touchpoint_id"], "labels": long, "count": 3}, biz.auth,
    )  # fmt: skip
    assert minted.status_code == 422 and minted.json_body["error"]["code"] == "labels_too_long"
    assert table_items(aws) == before


def test_a_null_label_set_is_refused_rather_than_read_as_clear(client: Client, biz: Biz) -> None:
    path = f"/v1/businesses/{biz.business_id}/touchpoints/{biz.touchpoints['table']['touchpoint_id']}"
    refused = _patch(client, path, {"labels": None}, biz)
    assert refused.status_code == 422


# ---- figures by label ---------------------------------------------------------------------------------------


def test_metrics_by_table_give_each_table_its_n_status_and_margin_and_the_unlabelled_their_own_group(
    client: Client, biz: Biz
) -> None:
    five = _touchpoint(client, biz, "Bàn 5", {"table": "5"})
    seven = _touchpoint(client, biz, "Bàn 7", {"table": "7"})
    for score in (10, 10, 9, 7, 3):
        assert send_answer(client, {"token": five["token"], "score": score}).status_code == 201
    for score in (2, 9):
        assert send_answer(client, {"token": seven["token"], "score": score}).status_code == 201
    assert send_answer(client, {"token": biz.touchpoints["table"]["token"], "score": 6}).status_code == 201

    answer = _metrics(client, biz, "label:table")
    assert answer.status_code == 200, answer.body
    groups = {g["key"]: g["metrics"]["nps"] for g in answer.json_body["groups"]}
    assert list(groups) == ["5", "7", ""]  # the answers without a table come last, keyed ""
    # Table 5: 3 promoters, 1 passive, 1 detractor of 5 -> NPS 40 +- 1.96*100*sqrt((0.8 - 0.6**2 + ...) / 5).
    p, d, n = 3 / 5, 1 / 5, 5
    assert groups["5"]["status"] == "ok" and groups["5"]["n"] == 5 and groups["5"]["headline"] == 40
    assert groups["5"]["margin_of_error"] == round(1.96 * 100 * math.sqrt((p + d - (p - d) ** 2) / n), 1) == 70.1
    assert groups["7"] == {**groups["7"], "n": 2, "status": "too_few_responses", "headline": None}
    assert groups[""]["n"] == 1 and groups[""]["status"] == "too_few_responses"
    assert answer.json_body["overall"]["nps"]["n"] == 8


@pytest.mark.parametrize("group_by", ["label:", "label:Table", "label:1x", "labels:table", "label:" + "x" * 17])
def test_a_malformed_label_grouping_is_refused_422(client: Client, biz: Biz, group_by: str) -> None:
    answer = _metrics(client, biz, group_by)
    assert answer.status_code == 422 and "error" in answer.json_body


# ---- staff views ------------------------------------------------------------------------------------------


def test_staff_figures_are_off_until_the_owner_turns_them_on(client: Client, biz: Biz) -> None:
    minted = post_json(
        client, f"/v1/businesses/{biz.business_id}/links",
        {"touchpoint_id": biz.touchpoints["receipt"]["touchpoint_id"], "labels": {"staff": "Lan", "shift": "sáng"}},
        biz.auth,
    )  # fmt: skip
    token = minted.json_body["links"][0]["token"]
    assert post_json(client, "/v1/responses", {"token": token, "score": 1}).status_code == 201
    assert client.http.get(f"/v1/businesses/{biz.business_id}", headers=biz.auth).json_body["staff_views"] is False

    refused = _metrics(client, biz, "label:staff")
    assert refused.status_code == 403
    assert refused.json_body["error"]["code"] == "staff_views_off"
    assert "staff_views" in refused.json_body["error"]["message"]
    assert _listing(client, biz)[0]["labels"] == {"shift": "sáng"}
    assert _csv_labels(client, biz) == ["shift=sáng"]
    assert "Lan" not in client.http.get(
        f"/v1/businesses/{biz.business_id}/responses?format=csv", headers=biz.auth
    ).body.decode("utf-8-sig")
    assert _metrics(client, biz, "label:shift").status_code == 200  # team views stay

    turned_on = _patch(client, f"/v1/businesses/{biz.business_id}", {"staff_views": True}, biz)
    assert turned_on.status_code == 200 and turned_on.json_body["staff_views"] is True
    allowed = _metrics(client, biz, "label:staff")
    assert allowed.status_code == 200
    assert [g["key"] for g in allowed.json_body["groups"]] == ["Lan"]
    assert _listing(client, biz)[0]["labels"] == {"shift": "sáng", "staff": "Lan"}
    assert _csv_labels(client, biz) == ["shift=sáng; staff=Lan"]

    assert _patch(client, f"/v1/businesses/{biz.business_id}", {"staff_views": False}, biz).status_code == 200
    assert _metrics(client, biz, "label:staff").status_code == 403


@pytest.mark.parametrize("value", [None, "yes", 1])
def test_staff_views_takes_only_true_or_false(client: Client, biz: Biz, aws: Any, value: Any) -> None:
    before = table_items(aws)
    assert _patch(client, f"/v1/businesses/{biz.business_id}", {"staff_views": value}, biz).status_code == 422
    assert table_items(aws) == before
