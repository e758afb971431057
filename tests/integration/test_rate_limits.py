"""Abuse: per-IP and per-link limits, counted in DynamoDB so they hold across Lambda containers."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.domain.models import ResponseIn
from chalicelib.errors import RateLimited
from chalicelib.services.submissions import RequestMeta
from chalicelib.settings import get_settings
from tests.clock import FakeClock
from tests.integration.conftest import Biz, post_json, table_items


def _limited(clock: FakeClock, **limits: int) -> wiring.Services:
    settings = get_settings().model_copy(update=limits)
    built = wiring.build(settings, DynamoStore(settings.table_name), clock)
    wiring.install(built)
    return built


def _responses(aws: Any) -> list[dict]:
    return [i for i in table_items(aws) if i["PK"]["S"].startswith("R#")]


def test_one_ip_past_its_limit_gets_429_with_retry_after_and_nothing_stored(
    client: Client, biz: Biz, aws: Any, clock: FakeClock
) -> None:
    _limited(clock, rate_limit_per_ip=3)
    token = biz.touchpoints["table"]["token"]
    codes = [
        post_json(client, "/v1/responses", {"token": token, "score": 9}, {"User-Agent": f"phone-{i}"}).status_code
        for i in range(3)
    ]
    before = table_items(aws)
    refused = post_json(client, "/v1/responses", {"token": token, "score": 9}, {"User-Agent": "phone-4"})
    assert codes == [201, 201, 201]
    assert refused.status_code == 429
    assert refused.json_body["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert table_items(aws) == before
    clock.advance(seconds=61)
    again = post_json(client, "/v1/responses", {"token": token, "score": 9}, {"User-Agent": "phone-4"})
    assert again.status_code == 201


def test_a_link_is_limited_across_ips_and_across_containers(biz: Biz, aws: Any, clock: FakeClock) -> None:
    # Two containers: each has its own services and caches, and they share only the table.
    first = _limited(clock, rate_limit_per_link=4, rate_limit_per_ip=1000)
    second = _limited(clock, rate_limit_per_link=4, rate_limit_per_ip=1000)
    token = biz.touchpoints["table"]["token"]
    accepted = 0
    for i in range(4):
        container = first if i % 2 else second
        container.submissions.submit(ResponseIn(token=token, score=8), RequestMeta(source_ip=f"198.51.100.{i}"))
        accepted += 1
    with pytest.raises(RateLimited):
        first.submissions.submit(ResponseIn(token=token, score=8), RequestMeta(source_ip="198.51.100.99"))
    assert accepted == 4 and len(_responses(aws)) == 4


def test_re_scoring_the_same_link_counts_against_the_limit_too(biz: Biz, aws: Any, clock: FakeClock) -> None:
    services = _limited(clock, rate_limit_per_link=3, rate_limit_per_ip=1000)
    token = biz.touchpoints["table"]["token"]
    same_browser = RequestMeta(source_ip="203.0.113.5", user_agent="phone")
    statuses = [services.submissions.submit(ResponseIn(token=token, score=s), same_browser).status for s in (1, 2, 3)]
    assert statuses == [201, 200, 200]
    with pytest.raises(RateLimited):
        services.submissions.submit(ResponseIn(token=token, score=10), same_browser)
    assert [r["score"]["N"] for r in _responses(aws)] == ["3"]


def test_a_retry_with_its_idempotency_key_replays_even_when_the_window_is_full(
    client: Client, biz: Biz, clock: FakeClock
) -> None:
    _limited(clock, rate_limit_per_ip=1)
    token = biz.touchpoints["table"]["token"]
    headers = {"Idempotency-Key": "till-3:42", "User-Agent": "pos"}
    first = post_json(client, "/v1/responses", {"token": token, "score": 7}, headers)
    retry = post_json(client, "/v1/responses", {"token": token, "score": 7}, headers)
    assert first.status_code == 201 and retry.status_code == 201
    assert retry.json_body == first.json_body


def test_the_survey_page_form_is_limited_with_a_friendly_page(client: Client, biz: Biz, clock: FakeClock) -> None:
    _limited(clock, rate_limit_per_ip=1)
    url = "/s/" + biz.touchpoints["table"]["token"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert client.http.post(url, body="score=9", headers={**form, "User-Agent": "a"}).status_code == 200
    refused = client.http.post(url, body="score=9", headers={**form, "User-Agent": "b"})
    assert refused.status_code == 429
    assert refused.headers["Content-Type"].startswith("text/html")
    assert "Retry-After" in refused.headers
