"""Owners: businesses, touchpoints, links, listing, CSV, metrics, erasure, and who may see what."""

from __future__ import annotations

import csv
import io

import pytest
from chalice.test import Client

from tests.clock import FakeClock
from tests.integration.conftest import ADMIN, Biz, make_business, post_json, send_answer, table_items


def _score(client: Client, token: str, score: int, agent: str) -> dict:
    answer = send_answer(client, {"token": token, "score": score}, {"User-Agent": agent})
    assert answer.status_code == 201, answer.body
    return answer.json_body


def test_creating_a_business_shows_the_owner_key_once_and_stores_only_its_hash(client: Client, aws) -> None:
    created = post_json(
        client,
        "/v1/businesses",
        {"name": "Quán Phở", "owner_emails": ["a@pho.example"], "timezone": "Asia/Ho_Chi_Minh", "locale": "vi"},
        ADMIN,
    )
    assert created.status_code == 201
    key = created.json_body["owner_key"]
    assert key.startswith(f"ok_{created.json_body['business_id']}_")
    dump = str(table_items(aws))
    assert key not in dump and key.split("_")[-1] not in dump


def test_creating_a_business_needs_the_admin_key(client: Client) -> None:
    body = {"name": "X", "owner_emails": ["a@b.example"], "timezone": "Asia/Ho_Chi_Minh", "locale": "vi"}
    assert post_json(client, "/v1/businesses", body).status_code == 401
    assert post_json(client, "/v1/businesses", body, {"Authorization": "Bearer nope"}).status_code == 401


def test_an_unknown_time_zone_is_refused_when_the_business_is_created(client: Client) -> None:
    body = {"name": "X", "owner_emails": ["a@b.example"], "timezone": "Mars/Olympus", "locale": "vi"}
    answer = post_json(client, "/v1/businesses", body, ADMIN)
    assert answer.status_code == 422
    assert answer.json_body["error"]["details"][0]["field"] == "timezone"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/touchpoints"),
        ("POST", "/links"),
        ("GET", "/responses"),
        ("GET", "/metrics"),
        ("DELETE", "/respondents?email=a@b.example"),
        ("POST", "/owner-key"),  # #11 item 7
    ],
)
def test_no_key_is_401_and_another_business_key_is_404_on_every_owner_path(
    client: Client, biz: Biz, method: str, path: str
) -> None:
    other = make_business(client, name="Another shop")
    url = f"/v1/businesses/{biz.business_id}{path}"
    body = b"{}"
    none = client.http.request(method, url, body=body, headers={"Content-Type": "application/json"})
    assert none.status_code == 401
    wrong = client.http.request(
        method, url, body=body, headers={"Content-Type": "application/json", "Authorization": "Bearer ok_x_y"}
    )
    assert wrong.status_code == 401
    forged_same_business = "Bearer " + biz.owner_key[:-4] + "zzzz"
    assert (
        client.http.request(method, url, body=body, headers={"Authorization": forged_same_business}).status_code == 401
    )
    foreign = client.http.request(method, url, body=body, headers={"Content-Type": "application/json", **other.auth})
    assert foreign.status_code == 404
    assert foreign.json_body["error"]["code"] == "not_found"


def test_minting_a_batch_of_links_gives_distinct_tokens_that_each_work(client: Client, biz: Biz) -> None:
    tp = biz.touchpoints["receipt"]["touchpoint_id"]
    minted = post_json(client, f"/v1/businesses/{biz.business_id}/links", {"touchpoint_id": tp, "count": 60}, biz.auth)
    assert minted.status_code == 201
    tokens = [link["token"] for link in minted.json_body["links"]]
    assert len(set(tokens)) == 60
    for token in tokens[:3]:
        assert send_answer(client, {"token": token, "score": 4}).status_code == 201


def test_minting_more_than_1000_links_at_once_is_refused(client: Client, biz: Biz) -> None:
    tp = biz.touchpoints["receipt"]["touchpoint_id"]
    answer = post_json(
        client, f"/v1/businesses/{biz.business_id}/links", {"touchpoint_id": tp, "count": 1001}, biz.auth
    )
    assert answer.status_code == 422


def test_responses_are_listed_newest_first_across_days_with_a_cursor(
    client: Client, biz: Biz, clock: FakeClock
) -> None:
    token = biz.touchpoints["table"]["token"]
    ids = []
    for i in range(7):
        ids.append(_score(client, token, i % 11, f"agent-{i}")["response_id"])
        clock.advance(hours=9)  # spreads them over three local days
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        url = f"/v1/businesses/{biz.business_id}/responses?limit=3&from=2026-11-19&to=2026-11-25"
        if cursor:
            url += f"&cursor={cursor}"
        page = client.http.get(url, headers=biz.auth)
        assert page.status_code == 200, page.body
        seen += [item["response_id"] for item in page.json_body["items"]]
        pages += 1
        cursor = page.json_body["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    assert pages == 3


def test_a_tampered_cursor_is_refused(client: Client, biz: Biz) -> None:
    answer = client.http.get(f"/v1/businesses/{biz.business_id}/responses?cursor=abc.def", headers=biz.auth)
    assert answer.status_code == 400
    assert answer.json_body["error"]["code"] == "invalid_cursor"


def test_responses_filter_by_metric_and_touchpoint(client: Client, biz: Biz) -> None:
    _score(client, biz.touchpoints["table"]["token"], 9, "a")
    send_answer(client, {"site_key": biz.site_key, "metric": "csat", "score": 2}, {"Origin": "https://shop.example"})
    only_csat = client.http.get(f"/v1/businesses/{biz.business_id}/responses?metric=csat", headers=biz.auth)
    assert [i["metric"] for i in only_csat.json_body["items"]] == ["csat"]
    tp = biz.touchpoints["table"]["touchpoint_id"]
    only_table = client.http.get(f"/v1/businesses/{biz.business_id}/responses?touchpoint_id={tp}", headers=biz.auth)
    assert [i["touchpoint_id"] for i in only_table.json_body["items"]] == [tp]


def test_csv_export_has_a_header_row_and_neutralises_formulas(client: Client, biz: Biz) -> None:
    created = _score(client, biz.touchpoints["table"]["token"], 3, "a")
    post_json(
        client,
        f"/v1/responses/{created['response_id']}/comment",
        {"edit_token": created["edit_token"], "comment": '=HYPERLINK("http://evil")'},
    )
    answer = client.http.get(f"/v1/businesses/{biz.business_id}/responses?format=csv", headers=biz.auth)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.body.decode("utf-8-sig"))))
    assert len(rows) == 1
    assert rows[0]["score"] == "3"
    assert rows[0]["comment"].startswith("'=")


def test_metrics_follow_the_product_definitions_and_group_by_touchpoint(client: Client, biz: Biz) -> None:
    token = biz.touchpoints["table"]["token"]
    for i, score in enumerate([10, 9, 9, 8, 3, 0]):
        _score(client, token, score, f"agent-{i}")
    answer = client.http.get(f"/v1/businesses/{biz.business_id}/metrics?group_by=touchpoint", headers=biz.auth)
    assert answer.status_code == 200
    nps = answer.json_body["overall"]["nps"]
    # 3 promoters, 1 passive, 2 detractors of 6: 50% - 33.3% = 16.7 -> 17
    assert nps["n"] == 6 and nps["status"] == "ok" and nps["headline"] == 17
    assert nps["stats"]["promoters"] == 3 and nps["stats"]["detractors"] == 2
    assert nps["margin_of_error"] is not None
    assert answer.json_body["overall"]["csat"]["headline"] is None
    assert answer.json_body["overall"]["csat"]["status"] == "no_responses"
    groups = answer.json_body["groups"]
    assert [g["key"] for g in groups] == [biz.touchpoints["table"]["touchpoint_id"]]


def test_metrics_below_the_minimum_say_too_few_responses(client: Client, biz: Biz) -> None:
    _score(client, biz.touchpoints["table"]["token"], 10, "a")
    answer = client.http.get(f"/v1/businesses/{biz.business_id}/metrics", headers=biz.auth)
    nps = answer.json_body["overall"]["nps"]
    assert nps["n"] == 1 and nps["status"] == "too_few_responses" and nps["headline"] is None


def test_a_range_longer_than_a_year_or_backwards_is_refused(client: Client, biz: Biz) -> None:
    base = f"/v1/businesses/{biz.business_id}/metrics"
    assert client.http.get(base + "?from=2024-01-01&to=2025-06-01", headers=biz.auth).status_code == 422
    assert client.http.get(base + "?from=2026-11-20&to=2026-11-01", headers=biz.auth).status_code == 422
    assert client.http.get(base + "?from=2026-02-30", headers=biz.auth).status_code == 422


def test_erasing_a_respondent_removes_email_and_comment_but_keeps_the_score(client: Client, biz: Biz, aws) -> None:
    created = _score(client, biz.touchpoints["table"]["token"], 2, "a")
    post_json(
        client,
        f"/v1/responses/{created['response_id']}/comment",
        {"edit_token": created["edit_token"], "comment": "slow", "email": "Lan@Example.com", "consent": True},
    )
    erased = client.http.delete(f"/v1/businesses/{biz.business_id}/respondents?email=lan@example.com", headers=biz.auth)
    assert erased.status_code == 200
    assert erased.json_body["responses_erased"] == 1
    stored = next(i for i in table_items(aws) if i["PK"]["S"].startswith("R#"))
    assert stored["score"] == {"N": "2"}
    assert not {"email", "comment", "email_hash", "GSI1PK"} & set(stored)
    listed = client.http.get(f"/v1/businesses/{biz.business_id}/responses", headers=biz.auth).json_body["items"]
    assert listed[0]["email"] is None and listed[0]["comment"] is None


def test_a_business_with_a_voucher_policy_reads_back_and_takes_touchpoints(client: Client) -> None:
    biz = make_business(
        client, voucher={"description": "Giảm 10% lần sau", "valid_days": 30, "per_email_days": 14, "recovery": True}
    )
    assert set(biz.touchpoints) == {"table", "receipt", "web"}
    links = post_json(
        client,
        f"/v1/businesses/{biz.business_id}/links",
        {"touchpoint_id": biz.touchpoints["receipt"]["touchpoint_id"]},
        biz.auth,
    )
    assert links.status_code == 201
