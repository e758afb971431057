"""GET /openapi.json describes exactly the routes the app serves, from the same pydantic models."""

from __future__ import annotations

from typing import Any

from chalice.test import Client

from chalicelib.web.openapi import OPERATIONS, route_set


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_the_spec_names_every_route_of_the_app_and_no_other(client: Client) -> None:
    from app import app

    spec = client.http.get("/openapi.json").json_body
    described = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    served = route_set(app)
    assert served - described == set(), "routes missing from /openapi.json"
    assert described - served == set(), "/openapi.json names routes the app does not serve"
    assert set(OPERATIONS) == served


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
