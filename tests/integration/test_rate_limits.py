"""Abuse: per-address (within a business) and per-link limits, counted in DynamoDB so they hold across
Lambda containers."""

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
from tests.integration.conftest import Biz, page_form, post_json, send_answer, table_items, with_nonce


def _limited(clock: FakeClock, **limits: int) -> wiring.Services:
    settings = get_settings().model_copy(update=limits)
    built = wiring.build(settings, DynamoStore(settings.table_name), clock)
    wiring.install(built)
    return built


def _view(token: str, score: int) -> ResponseIn:
    return ResponseIn.model_validate(with_nonce({"token": token, "score": score}))


def _responses(aws: Any) -> list[dict]:
    return [i for i in table_items(aws) if i["PK"]["S"].startswith("R#")]


def test_one_ip_past_its_limit_gets_429_with_retry_after_and_nothing_stored(
    client: Client, biz: Biz, aws: Any, clock: FakeClock
) -> None:
    _limited(clock, rate_limit_per_ip=3)
    token = biz.touchpoints["table"]["token"]
    codes = [send_answer(client, {"token": token, "score": 9}).status_code for i in range(3)]
    before = table_items(aws)
    refused = send_answer(client, {"token": token, "score": 9})
    assert codes == [201, 201, 201]
    assert refused.status_code == 429
    assert refused.json_body["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert table_items(aws) == before
    clock.advance(seconds=61)
    again = send_answer(client, {"token": token, "score": 9})
    assert again.status_code == 201


def test_a_link_is_limited_across_ips_and_across_containers(biz: Biz, aws: Any, clock: FakeClock) -> None:
    # Two containers: each has its own services and caches, and they share only the table.
    first = _limited(clock, rate_limit_per_link=4, rate_limit_per_ip=2)
    second = _limited(clock, rate_limit_per_link=4, rate_limit_per_ip=2)
    token = biz.touchpoints["table"]["token"]
    accepted = 0
    for i in range(4):
        container = first if i % 2 else second
        container.submissions.submit(_view(token, 8), RequestMeta(source_ip=f"198.51.100.{i}"))
        accepted += 1
    with pytest.raises(RateLimited):
        first.submissions.submit(_view(token, 8), RequestMeta(source_ip="198.51.100.99"))
    assert accepted == 4 and len(_responses(aws)) == 4


def test_re_scoring_the_same_link_counts_against_the_limit_too(biz: Biz, aws: Any, clock: FakeClock) -> None:
    services = _limited(clock, rate_limit_per_link=3, rate_limit_per_ip=1)
    token = biz.touchpoints["table"]["token"]
    same_page = _view(token, 1)
    # One phone moving between wifi and mobile data: a new address each time, the same page view.
    created = [
        services.submissions.submit(same_page.model_copy(update={"score": s}), RequestMeta(source_ip=f"203.0.113.{s}"))
        .created
        for s in (1, 2, 3)
    ]
    assert created == [True, False, False]
    with pytest.raises(RateLimited):
        services.submissions.submit(same_page.model_copy(update={"score": 10}), RequestMeta(source_ip="203.0.113.9"))
    assert [r["score"]["N"] for r in _responses(aws)] == ["3"]


def test_a_retry_with_its_idempotency_key_replays_even_when_the_window_is_full(
    client: Client, biz: Biz, clock: FakeClock
) -> None:
    _limited(clock, rate_limit_per_ip=1)
    token = biz.touchpoints["table"]["token"]
    headers = {"Idempotency-Key": "till-3:42", "User-Agent": "pos"}
    body = with_nonce({"token": token, "score": 7})
    first = post_json(client, "/v1/responses", body, headers)
    retry = post_json(client, "/v1/responses", body, headers)
    assert first.status_code == 201 and retry.status_code == 201
    assert retry.json_body == first.json_body


def test_the_survey_page_form_is_limited_with_a_friendly_page(client: Client, biz: Biz, clock: FakeClock) -> None:
    _limited(clock, rate_limit_per_ip=1)
    url = "/s/" + biz.touchpoints["table"]["token"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    token = biz.touchpoints["table"]["token"]
    assert client.http.post(url, body=page_form(client, token, 9), headers=form).status_code == 200
    refused = client.http.post(url, body=page_form(client, token, 9), headers=form)
    assert refused.status_code == 429
    assert refused.headers["Content-Type"].startswith("text/html")
    assert "Retry-After" in refused.headers
