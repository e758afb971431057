"""A till mints receipt links offline with the business's POS secret; the server accepts exactly those.

Both examples under examples/ are run as a till would run them (python, node) and their links are
checked with the server's own verifier and through the API.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.domain import tokens
from tests.clock import FakeClock
from tests.integration.conftest import Biz, make_business, post_json, send_answer

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")


def _mint(kind: str, secret: dict[str, Any], biz: Biz, receipt: str, now: int, extra: list[str] | None = None) -> str:
    args = [*(extra or []),
        "--base-url", "https://surveys.example", "--key-id", str(secret["key_id"]),
        "--business", biz.business_id, "--touchpoint", biz.touchpoints["receipt"]["touchpoint_id"],
        "--metric", "csat", "--receipt", receipt, "--now", str(now),
    ]  # fmt: skip
    command = [sys.executable, str(ROOT / "examples/pos_mint.py")] if kind == "python" else [
        NODE or "node", str(ROOT / "examples/pos_mint.js")
    ]
    done = subprocess.run(
        command + args,
        env={"SURVEYS_POS_SECRET": secret["secret"], "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    url = done.stdout.strip()
    assert url.startswith("https://surveys.example/s/"), url
    return url.rsplit("/", 1)[1]


def _keys(secret: dict[str, Any]) -> dict[int, bytes]:
    raw = secret["secret"]
    return {secret["key_id"]: base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))}


@pytest.mark.parametrize("kind", ["python", "javascript"])
def test_a_receipt_link_minted_offline_by_the_example_is_accepted_once(
    client: Client, biz: Biz, clock: FakeClock, kind: str
) -> None:
    if kind == "javascript" and NODE is None:
        pytest.fail("node is needed to run examples/pos_mint.js")
    revealed = client.http.get(f"/v1/businesses/{biz.business_id}/pos-secret", headers=biz.auth)
    assert revealed.status_code == 200
    assert revealed.headers["Cache-Control"] == "no-store"
    secret = revealed.json_body
    now = int(clock.now().timestamp())

    token = _mint(kind, secret, biz, "HD-2026-000123", now)

    claims = tokens.verify(token, _keys(secret), now)
    assert (claims.business_id, claims.link_id, claims.channel, claims.metric, claims.minted) == (
        biz.business_id, "HD-2026-000123", "receipt", "csat", True,
    )  # fmt: skip
    assert claims.expires_at == now + 90 * 86400  # #11: the recipes' default is 90 days
    first = send_answer(client, {"token": token, "score": 4})
    again = send_answer(client, {"token": token, "score": 5})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json_body["response_id"] == first.json_body["response_id"]
    page = client.http.get(f"/s/{token}")
    assert page.status_code == 200 and "Cà Phê Sài Gòn" in page.body.decode()


def test_both_examples_mint_the_same_token_for_the_same_receipt(client: Client, biz: Biz) -> None:
    secret = client.http.get(f"/v1/businesses/{biz.business_id}/pos-secret", headers=biz.auth).json_body
    moment = 1_800_000_000
    assert _mint("python", secret, biz, "HD-7", moment) == _mint("javascript", secret, biz, "HD-7", moment)


def test_a_rotated_secret_signs_new_receipts_while_old_receipts_keep_working_until_retired(
    client: Client, biz: Biz, clock: FakeClock
) -> None:
    path = f"/v1/businesses/{biz.business_id}/pos-secret"
    now = int(clock.now().timestamp())
    old = client.http.get(path, headers=biz.auth).json_body
    old_token = _mint("python", old, biz, "HD-OLD", now)

    rotated = client.http.post(path, headers=biz.auth)
    assert rotated.status_code == 201
    new = rotated.json_body
    assert new["key_id"] != old["key_id"] and new["secret"] != old["secret"]
    # Key 1 is the server's own (printed QR codes): it verifies throughout and is never revealed.
    assert new["verifying_key_ids"] == sorted([1, old["key_id"], new["key_id"]])
    assert client.http.get(path, headers=biz.auth).json_body["key_id"] == new["key_id"]
    new_token = _mint("javascript", new, biz, "HD-NEW", now)

    assert send_answer(client, {"token": old_token, "score": 3}).status_code == 201
    assert send_answer(client, {"token": new_token, "score": 5}).status_code == 201
    # The printed table QR code, signed before the rotation, also keeps working.
    table = biz.touchpoints["table"]["token"]
    assert send_answer(client, {"token": table, "score": 9}).status_code == 201

    refused = client.http.delete(f"{path}/{new['key_id']}", headers=biz.auth)
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "active_key"
    retired = client.http.delete(f"{path}/{old['key_id']}", headers=biz.auth)
    assert retired.status_code == 200 and retired.json_body["verifying_key_ids"] == [1, new["key_id"]]

    late = _mint("python", old, biz, "HD-OLD-2", now)
    assert send_answer(client, {"token": late, "score": 3}).status_code == 401
    assert client.http.get(f"/s/{late}").status_code == 404
    assert send_answer(client, {"token": _mint("python", new, biz, "HD-NEW-2", now), "score": 2}).status_code == 201
    unknown = client.http.delete(f"{path}/{old['key_id']}", headers=biz.auth)
    assert unknown.status_code == 404


def test_the_pos_secret_is_only_for_the_business_owner(client: Client, biz: Biz) -> None:
    other = make_business(client, name="Quán Khác")
    path = f"/v1/businesses/{biz.business_id}/pos-secret"
    assert client.http.get(path).status_code == 401
    assert client.http.get(path, headers=other.auth).status_code == 404
    assert client.http.post(path, headers=other.auth).status_code == 404
    assert client.http.delete(f"{path}/1", headers=other.auth).status_code == 404
    assert client.http.delete(f"{path}/abc", headers=biz.auth).status_code == 404


def test_rotation_stops_at_a_bounded_number_of_live_keys(client: Client, biz: Biz) -> None:
    path = f"/v1/businesses/{biz.business_id}/pos-secret"
    statuses = [client.http.post(path, headers=biz.auth).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 409]


# ---- #11 item 7: a stolen till is cut off without reprinting a table card; receipt links expire ------------


def _mint_raw(secret: dict[str, Any], biz: Biz, receipt: str, *, issued_at: int, expires_at: int | None) -> str:
    claims = tokens.LinkClaims(
        business_id=biz.business_id, touchpoint_id=biz.touchpoints["receipt"]["touchpoint_id"], channel="receipt",
        metric="csat", link_id=receipt, minted=True, issued_at=issued_at, expires_at=expires_at,
        key_id=secret["key_id"],
    )  # fmt: skip
    return tokens.sign(claims, _keys(secret)[secret["key_id"]])


def test_a_stolen_till_is_cut_off_while_every_printed_table_qr_keeps_working(
    client: Client, biz: Biz, clock: FakeClock
) -> None:
    path = f"/v1/businesses/{biz.business_id}/pos-secret"
    now = int(clock.now().timestamp())
    stolen = client.http.get(path, headers=biz.auth).json_body
    assert stolen["key_id"] >= 128  # a till's key, never the key of the printed QR codes
    table = biz.touchpoints["table"]["token"]
    assert tokens.peek(table).key_id != stolen["key_id"]
    before = _mint("python", stolen, biz, "HD-BEFORE", now)
    assert post_json(client, "/v1/responses", {"token": before, "score": 4}).status_code == 201

    # The owner rotates (the honest tills take the new key) and retires the stolen one.
    fresh = client.http.post(path, headers=biz.auth).json_body
    assert client.http.delete(f"{path}/{stolen['key_id']}", headers=biz.auth).status_code == 200

    forged = _mint("javascript", stolen, biz, "HD-THIEF", now)
    refused = post_json(client, "/v1/responses", {"token": forged, "score": 1})
    assert refused.status_code == 401 and refused.json_body["error"]["code"] == "invalid_token"
    assert client.http.get(f"/s/{forged}").status_code == 404  # a friendly page, not a survey
    # The table card printed before any of this still works: nothing to reprint.
    assert send_answer(client, {"token": table, "score": 9}).status_code == 201
    assert client.http.get(f"/s/{table}").status_code == 200
    honest = _mint("python", fresh, biz, "HD-HONEST", now)
    assert post_json(client, "/v1/responses", {"token": honest, "score": 5}).status_code == 201


def test_the_key_of_the_printed_qr_codes_cannot_be_revealed_or_retired_through_the_pos_route(
    client: Client, biz: Biz
) -> None:
    path = f"/v1/businesses/{biz.business_id}/pos-secret"
    revealed = client.http.get(path, headers=biz.auth).json_body
    qr_key = tokens.peek(biz.touchpoints["table"]["token"]).key_id
    assert revealed["key_id"] != qr_key
    client.http.post(path, headers=biz.auth)
    refused = client.http.delete(f"{path}/{qr_key}", headers=biz.auth)
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "qr_key"


def test_a_till_key_cannot_print_a_many_answer_table_link(client: Client, biz: Biz, clock: FakeClock) -> None:
    secret = client.http.get(f"/v1/businesses/{biz.business_id}/pos-secret", headers=biz.auth).json_body
    claims = tokens.LinkClaims(
        business_id=biz.business_id, touchpoint_id=biz.touchpoints["table"]["touchpoint_id"], channel="qr",
        metric="nps", minted=False, issued_at=int(clock.now().timestamp()), key_id=secret["key_id"],
    )  # fmt: skip
    token = tokens.sign(claims, _keys(secret)[secret["key_id"]])
    refused = post_json(client, "/v1/responses", {"token": token, "score": 10})
    assert refused.status_code == 401 and refused.json_body["error"]["code"] == "pos_key_not_allowed"


@pytest.mark.parametrize(
    ("expires_in_days", "code"), [(None, "token_expiry_required"), (400, "token_expiry_too_far")]
)
def test_a_receipt_link_without_an_expiry_or_past_a_year_is_refused_so_it_cannot_be_answered_forever(
    client: Client, biz: Biz, clock: FakeClock, expires_in_days: int | None, code: str
) -> None:
    secret = client.http.get(f"/v1/businesses/{biz.business_id}/pos-secret", headers=biz.auth).json_body
    now = int(clock.now().timestamp())
    expires = None if expires_in_days is None else now + expires_in_days * 86400
    token = _mint_raw(secret, biz, "HD-FOREVER", issued_at=now, expires_at=expires)
    refused = post_json(client, "/v1/responses", {"token": token, "score": 5})
    assert refused.status_code == 401
    assert refused.json_body["error"]["code"] == code and "365" in refused.json_body["error"]["message"]
    page = client.http.get(f"/s/{token}")
    assert page.status_code == 404 and "text/html" in page.headers["Content-Type"]
    assert "Traceback" not in page.body.decode()


def test_a_receipt_answered_once_keeps_its_claim_until_the_link_expires_plus_the_edit_window(
    client: Client, aws: Any, biz: Biz, clock: FakeClock
) -> None:
    from chalicelib import tables
    from chalicelib.settings import get_settings

    secret = client.http.get(f"/v1/businesses/{biz.business_id}/pos-secret", headers=biz.auth).json_body
    now = int(clock.now().timestamp())
    token = _mint("python", secret, biz, "HD-ONCE", now)
    assert post_json(client, "/v1/responses", {"token": token, "score": 2}).status_code == 201
    key = tables.claim_pk(biz.business_id, f"L#{biz.touchpoints['receipt']['touchpoint_id']}#HD-ONCE")
    claim = aws.get_item(TableName=get_settings().table_name, Key={"PK": {"S": key}, "SK": {"S": "C"}})["Item"]
    window = get_settings().edit_window_hours * 3600
    expires_at = tokens.peek(token).expires_at
    assert expires_at is not None
    # DynamoDB may drop the claim only once nobody can open the link or edit its answer any more.
    assert int(claim[tables.TTL_ATTRIBUTE]["N"]) >= expires_at + window
    assert int(claim[tables.TTL_ATTRIBUTE]["N"]) >= tokens.claim_expires_at(tokens.peek(token), now, window)
    clock.advance(seconds=window + 60)
    again = post_json(client, "/v1/responses", {"token": token, "score": 5})
    assert again.status_code == 409


# ---- issue #15: a till prints where and when (till, shift, staff) into the receipt's link ------------------


@pytest.mark.parametrize("kind", ["python", "javascript"])
def test_a_receipt_link_minted_offline_with_labels_carries_them_onto_the_answer(
    client: Client, biz: Biz, clock: FakeClock, kind: str
) -> None:
    if kind == "javascript" and NODE is None:
        pytest.fail("node is needed to run examples/pos_mint.js")
    secret = client.http.get(f"/v1/businesses/{biz.business_id}/pos-secret", headers=biz.auth).json_body
    now = int(clock.now().timestamp())
    labels = ["--label", "till=Quầy 2", "--label", "shift=tối"]
    token = _mint(kind, secret, biz, "HD-LBL-1", now, labels)
    assert tokens.verify(token, _keys(secret), now).labels == {"shift": "tối", "till": "Quầy 2"}
    assert send_answer(client, {"token": token, "score": 5}).status_code == 201
    listed = client.http.get(f"/v1/businesses/{biz.business_id}/responses", headers=biz.auth).json_body["items"]
    assert listed[0]["labels"] == {"shift": "tối", "till": "Quầy 2"}
    # Both examples print the same link for the same receipt and labels.
    other = "javascript" if kind == "python" and NODE else "python"
    assert _mint(other, secret, biz, "HD-LBL-1", now, labels) == token
