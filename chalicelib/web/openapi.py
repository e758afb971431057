"""OpenAPI 3.1 description of every route, generated from the route table and its pydantic models.

Nothing here names a route: paths, methods, auth, parameters, bodies, responses and statuses all come
from the ``Route`` entries app.py registers (``chalicelib.web.routes``), so the description is the code.
What JSON Schema of one model cannot say lives here, once: the error shape, the one-of of token and
site key, and how request headers are checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeGuard

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.web.routes import ModelRef, Route, model

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "pattern": "^[a-z0-9_]+$"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {"type": "object"}},
            },
        }
    },
}
# Request headers as the app checks them. Origin has no length rule: it is only compared with a site
# key's allowed origins (403 when it is not one), and ignored with a token (found by schemathesis).
HEADERS: dict[str, dict[str, Any]] = {
    "Origin": {"type": "string"},
    "Idempotency-Key": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,100}$"},
}
# POST /v1/responses takes exactly one of token and site_key (null counts as absent), which pydantic's
# schema of ResponseIn alone cannot say; without it a schema-valid body gets 422 token_or_site_key.
TOKEN_XOR_SITE_KEY = [
    {"required": ["token"], "properties": {"token": {"type": "string"}, "site_key": {"type": "null"}}},
    {"required": ["site_key"], "properties": {"site_key": {"type": "string"}, "token": {"type": "null"}}},
]
_REASONS = {
    400: "Malformed request",
    401: "Missing or invalid key or token",
    403: "Origin not allowed",
    404: "Not found",
    409: "Already answered, edit window closed",
    410: "Expired link",
    413: "Body over 16 KiB",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Rate limited",
    503: "Busy, retry after Retry-After seconds",
}
_SECURITY: dict[str, list[dict[str, list[str]]]] = {"owner": [{"ownerKey": []}], "admin": [{"adminKey": []}]}


def _is_model(ref: object) -> TypeGuard[ModelRef]:
    return isinstance(ref, type) or (isinstance(ref, str) and ":" in ref)


def _ref(ref: Any) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model(ref).__name__}"}


def _content(route: Route) -> dict[str, Any]:
    declared = route.response
    if _is_model(declared):
        content = {"application/json": {"schema": _ref(declared)}}
    elif isinstance(declared, dict):
        content = {"application/json": {"schema": declared}}
    else:
        content = {str(declared): {"schema": {"type": "string"}}}
    return content | {kind: {"schema": {"type": "string"}} for kind in route.also_types}


def _parameters(route: Route) -> list[dict[str, Any]]:
    params = [
        {"name": p.strip("{}"), "in": "path", "required": True, "schema": {"type": "string", "maxLength": 256}}
        for p in route.path.split("/")
        if p.startswith("{")
    ]
    if route.query is not None:
        schema = model(route.query).model_json_schema(by_alias=True)
        required = set(schema.get("required", []))
        params += [
            {"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema["properties"].items()
        ]
    params += [{"name": name, "in": "query", "required": False, "schema": schema} for name, schema in route.params]
    params += [
        {"name": name, "in": "header", "required": False, "schema": HEADERS.get(name, {"type": "string"})}
        for name in route.headers
    ]
    return params


def _request_body(route: Route) -> dict[str, Any] | None:
    if route.body is not None:
        return {"required": True, "content": {kind: {"schema": _ref(route.body)} for kind in route.body_types}}
    if route.form is not None:
        form: dict[str, Any] = {"type": "object", "properties": route.form}
        if route.form_required:
            form["required"] = list(route.form_required)
        return {"required": True, "content": {kind: {"schema": form} for kind in route.form_types}}
    return None


def _responses(route: Route) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if 300 <= route.status < 400:
        # A redirect has no body to describe, only where it sends the browser.
        responses[str(route.status)] = {
            "description": "Redirect",
            "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
        }
    else:
        responses[str(route.status)] = {"description": "Success", "content": _content(route)}
        if route.links:
            responses[str(route.status)]["links"] = route.links
    for extra in route.also:
        responses[str(extra)] = {"description": "The same response again", "content": _content(route)}
    refusal = {"text/html": {"schema": {"type": "string"}}} if route.page else {"application/json": {"schema": ERROR}}
    for code in route.error_statuses:
        responses[str(code)] = {"description": _REASONS.get(code, "Error"), "content": refusal}
    return responses


def operation(route: Route) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": route.name, "summary": route.summary, "tags": list(route.tags)}
    if params := _parameters(route):
        op["parameters"] = params
    if (body := _request_body(route)) is not None:
        op["requestBody"] = body
    op["responses"] = _responses(route)
    if route.auth != "none":
        op["security"] = _SECURITY[route.auth]
    if route.auth == "owner":
        op["description"] = "An owner key of this business (or the admin key); another business's key gets 404."
    return op


def _models(routes: Sequence[Route]) -> list[type[BaseModel]]:
    refs = [r.body for r in routes] + [r.response for r in routes]
    found: dict[str, type[BaseModel]] = {}
    for ref in refs:
        if _is_model(ref):
            found.setdefault(model(ref).__name__, model(ref))
    return list(found.values())


def spec(routes: Sequence[Route]) -> dict[str, Any]:
    _, defs = models_json_schema(
        [(m, "validation") for m in _models(routes)], ref_template="#/components/schemas/{model}"
    )
    schemas = defs.get("$defs", {})
    if "ResponseIn" in schemas:
        schemas["ResponseIn"]["oneOf"] = TOKEN_XOR_SITE_KEY
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Survey collection API",
            "version": "1.0.0",
            "description": "One-tap CSAT, CES and NPS from QR codes, receipts, emails and a website widget.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "ownerKey": {"type": "http", "scheme": "bearer", "description": "ok_<business>_<secret>"},
                "adminKey": {"type": "http", "scheme": "bearer", "description": "The deployment's ADMIN_KEY"},
            },
        },
    }
