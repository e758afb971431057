"""Which requests of the route table may load the X-Ray SDK: those a key authenticates, and no other."""

from __future__ import annotations

from chalice.app import Request

from app import table

# The routes a customer's phone (or anybody) calls: none of them may make a cold start import the SDK.
CUSTOMER_ROUTES = {
    ("POST", "/v1/responses"),
    ("POST", "/v1/responses/{response_id}/comment"),
    ("GET", "/s/{token}"),
    ("POST", "/s/{token}"),
    ("GET", "/widget.js"),
    ("GET", "/v1/sites/{site_key}"),
    ("GET", "/u/{token}"),
    ("POST", "/u/{token}"),
}


def _request(method: str, path: str) -> Request:
    """The request chalice builds from API Gateway's event for a route (only what routing reads)."""
    return Request({
        "multiValueQueryStringParameters": None, "headers": {}, "pathParameters": None, "body": None,
        "requestContext": {"httpMethod": method, "resourcePath": path}, "stageVariables": None,
    })


def test_every_customer_route_is_public_so_its_cold_start_never_imports_the_sdk() -> None:
    declared = {(route.method, route.path) for route in table.routes}
    assert declared >= CUSTOMER_ROUTES
    assert {table.caller(_request(*route)) for route in CUSTOMER_ROUTES} == {"public"}


def test_a_route_is_traced_as_an_owners_exactly_when_it_takes_an_owner_or_admin_key() -> None:
    for route in table.routes:
        expected = "public" if route.auth == "none" else "owner"
        assert table.caller(_request(route.method, route.path)) == expected, route.name
    assert table.caller(_request("GET", "/v1/businesses/{business_id}/metrics")) == "owner"
    assert table.caller(_request("POST", "/v1/businesses")) == "owner"  # the admin's key


def test_a_path_the_table_does_not_know_counts_as_public() -> None:
    assert table.caller(_request("GET", "/nowhere")) == "public"
