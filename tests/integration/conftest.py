"""Integration tests: the real chalice handlers, the real DynamoDB adapter, AWS emulated by moto."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib import tables, wiring
from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.adapters.sqs import create_queues
from chalicelib.local.emulator import untrack_dynamodb_models
from chalicelib.settings import get_settings
from tests.clock import FakeClock

# moto would otherwise keep every item it ever made, in every test, until the session ends.
untrack_dynamodb_models()

ADMIN = {"Authorization": "Bearer test-admin-key-0123456789abcdef"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def aws(clock: FakeClock) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(**tables.create_table_kwargs(get_settings().table_name))
        # The stack's queues exist wherever the app runs (infra/ makes them): erasure sweeps the mail
        # dead letters, the report job fans out, owner alerts are flushed.
        settings = get_settings()
        create_queues([settings.reports_queue_name, settings.alert_queue_name, settings.mail_dlq_name])
        wiring.reset()
        wiring.install(wiring.build(get_settings(), DynamoStore(get_settings().table_name), clock))
        yield client
        wiring.reset()


@pytest.fixture
def client(aws: Any) -> Iterator[Client]:
    from app import app

    with Client(app) as test_client:
        yield test_client


@dataclass
class Biz:
    business_id: str
    owner_key: str
    site_key: str
    touchpoints: dict[str, dict[str, str]]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.owner_key}"}


def post_json(client: Client, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return client.http.post(path, body=json.dumps(body), headers={**JSON, **(headers or {})})


def make_business(client: Client, **overrides: Any) -> Biz:
    body = {
        "name": "Cà Phê Sài Gòn",
        "owner_emails": ["owner@caphe.example"],
        "timezone": "Asia/Ho_Chi_Minh",
        "locale": "vi",
        "allowed_origins": ["https://shop.example"],
        **overrides,
    }
    created = post_json(client, "/v1/businesses", body, ADMIN)
    assert created.status_code == 201, created.body
    data = created.json_body
    biz = Biz(data["business_id"], data["owner_key"], data["site_key"], {})
    for name, channel, metric in [("table", "qr", "nps"), ("receipt", "receipt", "csat"), ("web", "web", "ces")]:
        tp = post_json(
            client,
            f"/v1/businesses/{biz.business_id}/touchpoints",
            {"name": name, "channel": channel, "metric": metric},
            biz.auth,
        )
        assert tp.status_code == 201, tp.body
        biz.touchpoints[name] = tp.json_body
    return biz


@pytest.fixture
def biz(client: Client) -> Biz:
    return make_business(client)


def table_items(aws: Any) -> list[dict[str, Any]]:
    """Everything in the table, for asserting that a rejected request changed nothing (tests only)."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": get_settings().table_name}
    while True:
        page = aws.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: (i["PK"]["S"], i["SK"]["S"]))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# ---- #11 item 1: page-view nonces, fetched the way a phone or the widget gets them ----------------------

_NONCE_INPUT = re.compile(r'<input type="hidden" name="nonce" value="([^"]+)">')


def page_nonce(client: Client, token: str) -> str:
    """The nonce of one view of a touchpoint link's survey page (GET /s/{token})."""
    page = client.http.get(f"/s/{token}")
    assert page.status_code == 200, page.body
    found = _NONCE_INPUT.search(page.body.decode())
    assert found, "the survey page carries no nonce"
    return html.unescape(found.group(1))


def site_nonce(client: Client, biz: Biz, origin: str = "https://shop.example") -> str:
    """The nonce of one widget start-up (GET /v1/sites/{site_key})."""
    config = client.http.get(f"/v1/sites/{biz.site_key}", headers={"Origin": origin})
    assert config.status_code == 200, config.body
    return config.json_body["nonce"]


def tap(client: Client, token: str, score: int, headers: dict[str, str] | None = None, **extra: Any) -> Any:
    """A phone scanning a touchpoint's QR code and tapping a score: a new page view, a new nonce."""
    body = {"token": token, "score": score, "nonce": page_nonce(client, token), **extra}
    return post_json(client, "/v1/responses", body, headers)


def with_nonce(body: dict[str, Any], origin: str | None = None) -> dict[str, Any]:
    """``body`` plus the nonce a page view would have been given, issued by the running services (no GET:
    tests that count opens stay exact). Minted links need none and get none."""
    from chalicelib.domain.models import SiteQuery

    if "nonce" in body:
        return body
    services = wiring.services()
    if isinstance(body.get("token"), str):
        try:
            nonce = services.submissions.page_nonce(services.submissions.open_link(body["token"]))
        except Exception:  # a forged or expired token: let the route refuse it as it would
            return body
        return body if nonce is None else {**body, "nonce": nonce}
    if isinstance(body.get("site_key"), str) and origin:
        try:
            return {**body, "nonce": services.sites.check(body["site_key"], origin, SiteQuery()).nonce}
        except Exception:  # an unknown key or origin: let the route refuse it as it would
            return body
    return body


def send_answer(client: Client, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    """POST /v1/responses as a phone or the widget would: with the nonce of a fresh page view."""
    return post_json(client, "/v1/responses", with_nonce(body, (headers or {}).get("Origin")), headers)


def page_form(client: Client, token: str, score: int, query: str = "") -> str:
    """The survey page's form post for one tap: the score and the nonce of a fresh view of the page."""
    return urlencode({"score": score, "nonce": page_nonce(client, token + query)})
