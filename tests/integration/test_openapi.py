"""GET /openapi.json describes exactly the routes the app serves, from the same pydantic models, and what
the routes serve matches the schemas it declares."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from chalice.test import Client

from tests.integration.conftest import Biz, page_nonce, post_json, site_nonce
from tests.integration.test_closed_loop import Stream
from tests.integration.test_daily_reports import mailer, rerun  # noqa: F401 (mailer is a fixture)
from tests.integration.test_vouchers import issued_code, redeem, shop  # noqa: F401 (shop is a fixture)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_the_spec_names_every_route_of_the_app_and_no_other(client: Client) -> None:
    from app import app, table

    spec = client.http.get("/openapi.json").json_body
    described = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    served = {(path, method) for path, methods in app.routes.items() for method in methods}
    assert served - described == set(), "routes missing from /openapi.json"
    assert described - served == set(), "/openapi.json names routes the app does not serve"
    assert {(route.path, route.method) for route in table.routes} == served


def test_the_spec_is_openapi_3_1_and_every_reference_resolves(client: Client) -> None:
    answer = client.http.get("/openapi.json")
    assert answer.status_code == 200
    spec = answer.json_body
    assert spec["openapi"].startswith("3.1")
    schemas = spec["components"]["schemas"]
    for ref in _refs(spec):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, f"dangling {ref}"


def test_the_submission_body_schema_is_the_pydantic_model(client: Client) -> None:
    spec = client.http.get("/openapi.json").json_body
    body = spec["components"]["schemas"]["ResponseIn"]
    assert body["additionalProperties"] is False
    assert {"token", "site_key", "metric", "score", "comment", "email", "consent"} <= set(body["properties"])
    assert body["required"] == ["score"]
    operation = spec["paths"]["/v1/responses"]["post"]
    assert set(operation["requestBody"]["content"]) == {"application/json", "text/plain"}
    assert {"201", "400", "401", "403", "409", "410", "413", "422", "429"} <= set(operation["responses"])


def test_owner_routes_declare_the_bearer_key(client: Client) -> None:
    spec = client.http.get("/openapi.json").json_body
    for path, operations in spec["paths"].items():
        if path.startswith("/v1/businesses/{business_id}"):
            for operation in operations.values():
                assert operation.get("security") == [{"ownerKey": []}], path


def _conforms(spec: dict[str, Any], method: str, path: str, answer: Any) -> None:
    """The answer's status is declared for the operation and its JSON body validates against the schema
    declared for that status (with the spec's components, as a client resolves them)."""
    declared = spec["paths"][path][method.lower()]["responses"]
    assert str(answer.status_code) in declared, (method, path, answer.status_code, answer.body)
    schema = declared[str(answer.status_code)]["content"]["application/json"]["schema"]
    jsonschema.validate(
        json.loads(answer.body), {**schema, "components": spec["components"]}, cls=jsonschema.Draft202012Validator
    )


def test_every_json_answer_of_a_session_matches_its_declared_schema(client: Client, biz: Biz) -> None:
    spec = client.http.get("/openapi.json").json_body
    owner = "/v1/businesses/{business_id}"
    base = f"/v1/businesses/{biz.business_id}"
    token = biz.touchpoints["table"]["token"]
    origin = {"Origin": "https://shop.example"}
    created = post_json(client, "/v1/responses", {"token": token, "score": 3, "nonce": page_nonce(client, token)})
    site = {"site_key": biz.site_key, "score": 4, "nonce": site_nonce(client, biz)}
    checks: list[tuple[str, str, Any]] = [
        ("GET", "/healthz", client.http.get("/healthz")),
        ("GET", "/openapi.json", client.http.get("/openapi.json")),
        ("POST", "/v1/responses", created),
        ("POST", "/v1/responses", post_json(client, "/v1/responses", site, origin)),
        ("POST", "/v1/responses/{response_id}/comment", post_json(
            client, f"/v1/responses/{created.json_body['response_id']}/comment",
            {"edit_token": created.json_body["edit_token"], "comment": "Chậm quá"})),
        ("GET", "/v1/sites/{site_key}", client.http.get(f"/v1/sites/{biz.site_key}", headers=origin)),
        ("GET", "/v1/sites/{site_key}", client.http.get(f"/v1/sites/{biz.site_key}")),
        ("POST", f"{owner}/links", post_json(
            client, f"{base}/links", {"touchpoint_id": biz.touchpoints["receipt"]["touchpoint_id"], "count": 2},
            biz.auth)),
        ("GET", f"{owner}/responses", client.http.get(f"{base}/responses", headers=biz.auth)),
        ("GET", f"{owner}/metrics", client.http.get(f"{base}/metrics", headers=biz.auth)),
        ("GET", f"{owner}/metrics", client.http.get(f"{base}/metrics?group_by=touchpoint", headers=biz.auth)),
        ("GET", f"{owner}/metrics", client.http.get(f"{base}/metrics?group_by=sideways", headers=biz.auth)),
        ("GET", f"{owner}/pos-secret", client.http.get(f"{base}/pos-secret", headers=biz.auth)),
        ("POST", f"{owner}/pos-secret", client.http.post(f"{base}/pos-secret", headers=biz.auth)),
        ("DELETE", f"{owner}/respondents", client.http.delete(f"{base}/respondents?email=a@example.com",
                                                               headers=biz.auth)),
        ("GET", f"{owner}/reports/daily/{{day}}", client.http.get(f"{base}/reports/daily/2026-11-19",
                                                                  headers=biz.auth)),
        ("POST", f"{owner}/owner-key", client.http.post(f"{base}/owner-key", headers=biz.auth)),
        ("POST", f"{owner}/owner-key", client.http.post(f"{base}/owner-key", headers=biz.auth)),
    ]  # fmt: skip
    for method, path, answer in checks:
        _conforms(spec, method, path, answer)
    grouped = checks[10][2].json_body
    assert grouped["group_by"] == "touchpoint" and grouped["groups"], grouped
    assert {"group_by", "groups"}.isdisjoint(checks[9][2].json_body)  # ungrouped: neither key, not nulls


def test_a_stored_daily_report_is_served_as_stored_and_matches_its_schema(
    client: Client, biz: Biz, mailer: Any  # noqa: F811
) -> None:
    from chalicelib import wiring

    rerun(client, biz.business_id, "2026-11-19")
    spec = client.http.get("/openapi.json").json_body
    answer = client.http.get(f"/v1/businesses/{biz.business_id}/reports/daily/2026-11-19", headers=biz.auth)
    assert answer.status_code == 200, answer.body
    _conforms(spec, "GET", "/v1/businesses/{business_id}/reports/daily/{day}", answer)
    assert json.loads(answer.body) == wiring.services().reports.stored_report(biz.business_id, "2026-11-19")


def test_a_voucher_redemption_matches_its_schema(client: Client, shop: Biz) -> None:  # noqa: F811
    spec = client.http.get("/openapi.json").json_body
    code = issued_code(client, shop, Stream(), "a")
    path = "/v1/businesses/{business_id}/vouchers/{code}/redeem"
    first = redeem(client, shop, code)
    assert first.status_code == 200 and set(first.json_body) == {"code", "description", "valid_until", "redeemed_at"}
    _conforms(spec, "POST", path, first)
    _conforms(spec, "POST", path, redeem(client, shop, code))
