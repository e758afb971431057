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
from tests.integration.conftest import Biz, make_business, send_answer

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")


def _mint(kind: str, secret: dict[str, Any], biz: Biz, receipt: str, now: int) -> str:
    args = [
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
    assert claims.expires_at == now + 30 * 86400
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
    assert new["verifying_key_ids"] == sorted([old["key_id"], new["key_id"]])
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
    assert retired.status_code == 200 and retired.json_body["verifying_key_ids"] == [new["key_id"]]

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
