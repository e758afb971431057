"""Requests schemathesis found answered wrongly (tests/fuzz, docs/fuzz.md), kept as plain examples."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.test import Client

from tests.integration.conftest import Biz, table_items

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


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


def test_a_query_parameter_given_twice_is_refused_instead_of_silently_taking_the_last(client: Client, biz: Biz) -> None:
    answer = client.http.get(f"/v1/businesses/{biz.business_id}/metrics?to=2026-11-01&to=2026-11-20", headers=biz.auth)
    assert answer.status_code == 422, answer.body
    assert answer.json_body["error"] == {"code": "repeated_parameter", "message": "to: may appear only once."}


def test_a_plain_date_range_still_lists(client: Client, biz: Biz) -> None:
    answer = client.http.get(
        f"/v1/businesses/{biz.business_id}/responses?from=2026-11-01&to=2026-11-20", headers=biz.auth
    )
    assert answer.status_code == 200, answer.body
    assert answer.json_body == {"items": [], "next_cursor": None}


def _unsubscribe_path(biz: Biz) -> str:
    from chalicelib.services.mail import unsubscribe_token
    from chalicelib.settings import get_settings

    return "/u/" + unsubscribe_token(get_settings().app_secret, biz.business_id, "khach@example.com")


def _suppressed(aws: Any) -> list[dict[str, Any]]:
    return [i for i in table_items(aws) if i["PK"]["S"].startswith("S#")]


@pytest.mark.parametrize("body", ["List-Unsubscribe=false", "", "List-Unsubscribe=", "other=One-Click"])
def test_a_post_that_is_not_the_one_click_body_unsubscribes_no_one_and_offers_the_button(
    client: Client, aws: Any, biz: Biz, body: str
) -> None:
    # Was a 200 that unsubscribed: any body was taken for RFC 8058's List-Unsubscribe=One-Click.
    answer = client.http.post(_unsubscribe_path(biz), body=body, headers=FORM)
    assert answer.status_code == 422
    page = answer.body.decode()
    assert answer.headers["Content-Type"].startswith("text/html")
    assert 'name="List-Unsubscribe" value="One-Click"' in page and "<button>" in page
    assert _suppressed(aws) == []


def test_the_one_click_body_sent_as_multipart_form_data_unsubscribes_as_rfc_8058_allows(
    client: Client, aws: Any, biz: Biz
) -> None:
    body = b'--XyZ\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--XyZ--\r\n'
    answer = client.http.post(
        _unsubscribe_path(biz), body=body, headers={"Content-Type": "multipart/form-data; boundary=XyZ"}
    )
    assert answer.status_code == 200, answer.body
    assert len(_suppressed(aws)) == 1


def test_a_one_click_post_with_another_media_type_is_refused_and_changes_nothing(
    client: Client, aws: Any, biz: Biz
) -> None:
    answer = client.http.post(
        _unsubscribe_path(biz), body='{"List-Unsubscribe": "One-Click"}', headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 415
    assert _suppressed(aws) == []
