"""Requests schemathesis found answered wrongly (tests/fuzz, docs/fuzz.md), kept as plain examples."""

from __future__ import annotations

import pytest
from chalice.test import Client

from tests.integration.conftest import Biz


@pytest.mark.parametrize("route", ["responses", "metrics"])
def test_a_range_starting_at_year_one_is_refused_not_a_server_error(client: Client, biz: Biz, route: str) -> None:
    # Was a 500: listing walked back one day past 0001-01-01 (OverflowError).
    answer = client.http.get(
        f"/v1/businesses/{biz.business_id}/{route}?from=0001-01-01&to=0002-01-01", headers=biz.auth
    )
    assert answer.status_code == 422, answer.body
    assert answer.json_body["error"]["code"] == "invalid_input"
    assert "from" in answer.json_body["error"]["message"]


@pytest.mark.parametrize("value", ["0", "0.0", "1700000000", "2026-1-1", "23/11/2026"])
def test_a_date_parameter_must_be_written_as_yyyy_mm_dd(client: Client, biz: Biz, value: str) -> None:
    # "0.0" used to be read as a Unix timestamp, 1970-01-01.
    answer = client.http.get(f"/v1/businesses/{biz.business_id}/metrics?to={value}", headers=biz.auth)
    assert answer.status_code == 422, answer.body


def test_a_query_parameter_given_twice_is_refused_instead_of_silently_taking_the_last(
    client: Client, biz: Biz
) -> None:
    answer = client.http.get(
        f"/v1/businesses/{biz.business_id}/metrics?to=2026-11-01&to=2026-11-20", headers=biz.auth
    )
    assert answer.status_code == 422, answer.body
    assert answer.json_body["error"] == {"code": "repeated_parameter", "message": "to: may appear only once."}


def test_a_plain_date_range_still_lists(client: Client, biz: Biz) -> None:
    answer = client.http.get(
        f"/v1/businesses/{biz.business_id}/responses?from=2026-11-01&to=2026-11-20", headers=biz.auth
    )
    assert answer.status_code == 200, answer.body
    assert answer.json_body == {"items": [], "next_cursor": None}
