"""The widget's two bot checks: a tap faster than a person can read, and the hidden honeypot field."""

from __future__ import annotations

from typing import Any

from chalice.test import Client

from tests.integration.conftest import Biz, send_answer, table_items

SHOP = {"Origin": "https://shop.example"}


def _post(client: Client, biz: Biz, who: str, **extra: Any) -> Any:
    body = {"site_key": biz.site_key, "metric": "nps", "score": 9, "respondent_id": who, **extra}
    return send_answer(client, body, SHOP)


def test_a_tap_faster_than_a_person_reads_is_refused_and_nothing_stored(client: Client, biz: Biz, aws: Any) -> None:
    before = table_items(aws)
    refused = _post(client, biz, "bot", elapsed_ms=120)
    assert refused.status_code == 422
    assert refused.json_body["error"]["code"] == "looks_automated"
    assert table_items(aws) == before
    assert _post(client, biz, "person", elapsed_ms=2400).status_code == 201


def test_a_filled_honeypot_is_refused_and_nothing_stored(client: Client, biz: Biz, aws: Any) -> None:
    before = table_items(aws)
    refused = _post(client, biz, "bot", elapsed_ms=5000, website="http://spam.example")
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "looks_automated"
    assert table_items(aws) == before


def test_posts_without_the_widgets_timing_still_work(client: Client, biz: Biz) -> None:
    # POS integrations and the survey page send no elapsed_ms: the check applies only when it is sent.
    assert _post(client, biz, "pos").status_code == 201
    assert send_answer(client, {"token": biz.touchpoints["table"]["token"], "score": 8}).status_code == 201
