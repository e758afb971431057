"""OpenAPI 3.1 description of every route, built from the pydantic models.

``OPERATIONS`` names each (path, method) the app serves; a test fails when a chalice route is missing
here or this names a route that does not exist, so the description cannot drift from the code.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalice import Chalice
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.domain import models as m
from chalicelib.domain.models import OwnerKeyRotated, PosKeyRetired, PosSecret, SiteConfig, SiteQuery
from chalicelib.web.http import FORM_TYPE

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
HEALTH = {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}
OPEN = {"type": "object"}
# HTML pages never refuse a person over ?lang=: anything but vi or en falls back to the link's or the
# browser's language (found by schemathesis: the spec said enum, the pages answered 200).
PAGE_LANG = {"type": "string", "description": "vi or en; any other value falls back to the page's language"}
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

# (path, method) -> summary, tags, auth ("none" | "owner" | "admin"), request model, query model,
# success status and schema (a model, a raw schema, or a media type), error statuses.
OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("/healthz", "GET"): {"summary": "Liveness", "tags": ["public"], "ok": (200, HEALTH), "errors": []},
    ("/openapi.json", "GET"): {"summary": "This description", "tags": ["public"], "ok": (200, OPEN), "errors": []},
    ("/v1/responses", "POST"): {
        "summary": "Record a response (JSON, or text/plain as navigator.sendBeacon sends it); a touchpoint "
        "link or a site key needs the nonce of the page view (survey page, widget site config), a minted "
        "link does not",
        "tags": ["public"],
        "body": m.ResponseIn,
        "body_types": ["application/json", "text/plain"],
        "headers": ["Idempotency-Key", "Origin"],
        "ok": (201, m.ResponseCreated),
        "also_ok": [200],
        "errors": [400, 401, 403, 404, 409, 410, 413, 415, 422, 429, 503],
    },
    ("/v1/responses/{response_id}/comment", "POST"): {
        "summary": "Add a comment and, with consent, an email address",
        "tags": ["public"],
        "body": m.CommentIn,
        "ok": (200, m.CommentSaved),
        "errors": [400, 401, 404, 409, 413, 415, 422, 503],
    },
    ("/s/{token}", "GET"): {
        "summary": "Survey page of a signed link (HTML); ?score=N preselects without recording",
        "tags": ["pages"],
        "params": [("score", {"type": "integer", "minimum": 0, "maximum": 10}), ("lang", PAGE_LANG)],
        "ok": (200, "text/html"),
        "errors": [404, 410, 422],
        "error_type": "text/html",
    },
    ("/s/{token}", "POST"): {
        "summary": "One-tap form post of a score (or of the comment form) without JavaScript (HTML)",
        "tags": ["pages"],
        "body_form": {
            "score": {"type": "string"},
            "response_id": {"type": "string"},
            "edit_token": {"type": "string"},
            "comment": {"type": "string"},
            "email": {"type": "string"},
            "consent": {"type": "string"},
            "nonce": {"type": "string"},
        },
        "ok": (200, "text/html"),
        "errors": [400, 404, 409, 410, 413, 415, 422, 429],
        "error_type": "text/html",
    },
    ("/widget.js", "GET"): {
        "summary": "The embeddable widget (JavaScript); ?v=<version> makes it cacheable for a year",
        "tags": ["public"],
        "params": [("v", {"type": "string", "maxLength": 20})],
        "ok": (200, "application/javascript"),
        "also_ok": [304],
        "errors": [422],
    },
    ("/v1/sites/{site_key}", "GET"): {
        "summary": "The widget's start-up check: is the key known and this page's Origin allowed; answers "
        "a fresh single-use nonce for this page view's answer (not cacheable)",
        "tags": ["public"],
        "headers": ["Origin"],
        "query": SiteQuery,
        "ok": (200, SiteConfig),
        "errors": [401, 403, 404, 422],
    },
    ("/v1/businesses/{business_id}/touchpoints/{touchpoint_id}/qr.svg", "GET"): {
        "summary": "A printable QR code (SVG) of the touchpoint's link, error correction M or better",
        "tags": ["owner"],
        "auth": "owner",
        "params": [("scale", {"type": "integer", "minimum": 1, "maximum": 40})],
        "ok": (200, "image/svg+xml"),
        "errors": [401, 404, 422, 503],
    },
    ("/v1/businesses/{business_id}/touchpoints/{touchpoint_id}/qr.png", "GET"): {
        "summary": "A printable QR code (PNG) of the touchpoint's link, error correction M or better",
        "tags": ["owner"],
        "auth": "owner",
        "params": [("scale", {"type": "integer", "minimum": 1, "maximum": 40})],
        "ok": (200, "image/png"),
        "errors": [401, 404, 422, 503],
    },
    ("/v1/businesses/{business_id}/touchpoints/{touchpoint_id}/card.svg", "GET"): {
        "summary": "A printable A6 table card (SVG): business name, the question in its language, the QR code",
        "tags": ["owner"],
        "auth": "owner",
        "params": [("lang", {"enum": ["vi", "en"]})],
        "ok": (200, "image/svg+xml"),
        "errors": [401, 404, 422, 503],
    },
    ("/v1/businesses/{business_id}/pos-secret", "GET"): {
        "summary": "Reveal the active till key (ids 128-255) that mints receipt tokens offline",
        "tags": ["owner"],
        "auth": "owner",
        "ok": (200, PosSecret),
        "errors": [401, 404, 503],
    },
    ("/v1/businesses/{business_id}/pos-secret", "POST"): {
        "summary": "Rotate: a new active signing key; older keys keep verifying until retired",
        "tags": ["owner"],
        "auth": "owner",
        "ok": (201, PosSecret),
        "errors": [401, 404, 409, 503],
    },
    # #11 item 7: owner-key rotation
    ("/v1/businesses/{business_id}/owner-key", "POST"): {
        "summary": "Rotate the owner key: the new key is shown once; the old one and every dashboard session end",
        "tags": ["owner"],
        "auth": "owner",
        "ok": (201, OwnerKeyRotated),
        "errors": [401, 404, 409, 503],
    },
    ("/v1/businesses/{business_id}/pos-secret/{key_id}", "DELETE"): {
        "summary": "Retire an old till key: receipts minted with it stop working; printed QR codes do not",
        "tags": ["owner"],
        "auth": "owner",
        "ok": (200, PosKeyRetired),
        "errors": [401, 404, 409, 503],
    },
    ("/v1/businesses", "POST"): {
        "summary": "Create a business (admin key); the owner key is shown once",
        "tags": ["owner"],
        "auth": "admin",
        "body": m.BusinessIn,
        "ok": (201, m.BusinessCreated),
        "errors": [400, 401, 413, 415, 422, 503],
    },
    ("/v1/businesses/{business_id}/touchpoints", "POST"): {
        "summary": "Create a touchpoint and its static link",
        "tags": ["owner"],
        "auth": "owner",
        "body": m.TouchpointIn,
        "ok": (201, m.TouchpointCreated),
        "errors": [400, 401, 404, 413, 415, 422, 503],
    },
    ("/v1/businesses/{business_id}/links", "POST"): {
        "summary": "Mint one-response links (receipts, emails), up to 1,000 at once",
        "tags": ["owner"],
        "auth": "owner",
        "body": m.LinksIn,
        "ok": (201, m.LinksCreated),
        "errors": [400, 401, 404, 413, 415, 422, 503],
    },
    ("/v1/businesses/{business_id}/responses", "GET"): {
        "summary": "Responses, newest first, paginated; ?format=csv for CSV",
        "tags": ["owner"],
        "auth": "owner",
        "query": m.ResponsesQuery,
        "ok": (200, m.ResponsesPage),
        "ok_csv": True,
        "errors": [400, 401, 404, 422, 503],
    },
    ("/v1/businesses/{business_id}/metrics", "GET"): {
        "summary": "CSAT, CES and NPS over a date range, optionally grouped",
        "tags": ["owner"],
        "auth": "owner",
        "query": m.MetricsQuery,
        "ok": (200, OPEN),
        "errors": [401, 404, 422, 503],
    },
    ("/v1/businesses/{business_id}/reports/daily/{day}", "GET"): {
        "summary": "The stored daily report of one local day (YYYY-MM-DD); 404 before the daily job ran",
        "tags": ["owner"],
        "auth": "owner",
        "ok": (200, OPEN),
        "errors": [401, 404, 422, 503],
    },
    ("/dashboard/{business_id}", "GET"): {
        "summary": "The owner's dashboard (HTML); the key comes from the session cookie or the header",
        "tags": ["pages"],
        "params": [("lang", PAGE_LANG)],
        "ok": (200, "text/html"),
        "errors": [401, 404],
        "error_type": "text/html",
    },
    ("/dashboard/{business_id}", "POST"): {
        "summary": "The dashboard's sign-in / sign-out form: sets an HttpOnly, Secure, SameSite=Strict session "
        "cookie; 403 without the form's CSRF token (the dcsrf_ cookie's value, sealed)",
        "tags": ["pages"],
        "body_form": {
            "owner_key": {"type": "string"},
            "action": {"enum": ["signout"]},
            "csrf": {"type": "string"},
        },
        "ok": (303, "text/html"),
        "errors": [400, 401, 403, 404, 413, 415],
        "error_type": "text/html",
    },
    ("/v1/businesses/{business_id}/respondents", "DELETE"): {
        "summary": "Erase a respondent's email, comments and links; their scores stay, anonymous",
        "tags": ["owner"],
        "auth": "owner",
        "query": m.ErasureQuery,
        "ok": (200, m.Erased),
        "errors": [401, 404, 422, 503],
    },
    ("/v1/businesses/{business_id}/vouchers/{code}/redeem", "POST"): {
        "summary": "Redeem a voucher at the till: 200 the first time, 409 after, 410 expired, 404 unknown",
        "tags": ["owner"],
        "auth": "owner",
        "ok": (
            200,
            {
                "type": "object",
                "required": ["code", "description", "redeemed_at"],
                "properties": {
                    "code": {"type": "string", "pattern": "^[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}$"},
                    "description": {"type": "string"},
                    "valid_until": {"type": ["string", "null"]},
                    "redeemed_at": {"type": "string"},
                },
            },
        ),
        "errors": [401, 404, 409, 410, 503],
    },
    ("/u/{token}", "GET"): {
        "summary": "Unsubscribe page of an email's List-Unsubscribe link (HTML); changes nothing",
        "tags": ["pages"],
        "ok": (200, "text/html"),
        "errors": [404],
        "error_type": "text/html",
    },
    ("/u/{token}", "POST"): {
        "summary": "RFC 8058 one-click unsubscribe (List-Unsubscribe=One-Click); also the page's button",
        "tags": ["pages"],
        "body_form": {"List-Unsubscribe": {"enum": ["One-Click"]}},
        "form_required": ["List-Unsubscribe"],
        # RFC 8058 allows both encodings of the one-click body.
        "form_types": ["application/x-www-form-urlencoded", "multipart/form-data"],
        "ok": (200, "text/html"),
        "errors": [400, 404, 413, 415, 422],
        "error_type": "text/html",
    },
}


def _op_ref(path: str, method: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


# 4 is a valid score on every scale (NPS 0-10, CSAT 1-5, CES 1-7).
_ANSWER = {"score": 4}

# OpenAPI links: what a client does next with an answer. They document the one flow every
# integration follows (business -> touchpoint -> link -> response -> comment), and schemathesis's
# stateful tests walk them (tests/fuzz/test_schemathesis.py, docs/fuzz.md).
LINKS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("/v1/businesses", "POST"): {
        "CreateTouchpoint": {
            "operationRef": _op_ref("/v1/businesses/{business_id}/touchpoints", "post"),
            "parameters": {"business_id": "$response.body#/business_id"},
        },
    },
    ("/v1/businesses/{business_id}/touchpoints", "POST"): {
        "MintLinks": {
            "operationRef": _op_ref("/v1/businesses/{business_id}/links", "post"),
            "parameters": {"business_id": "$request.path.business_id"},
            "requestBody": {"touchpoint_id": "$response.body#/touchpoint_id"},
        },
        "AnswerTouchpoint": {
            "operationRef": _op_ref("/v1/responses", "post"),
            "requestBody": {**_ANSWER, "token": "$response.body#/token"},
        },
    },
    ("/v1/businesses/{business_id}/links", "POST"): {
        "AnswerLink": {
            "operationRef": _op_ref("/v1/responses", "post"),
            "requestBody": {**_ANSWER, "token": "$response.body#/links/0/token"},
        },
    },
    ("/v1/responses", "POST"): {
        "AddComment": {
            "operationRef": _op_ref("/v1/responses/{response_id}/comment", "post"),
            "parameters": {"response_id": "$response.body#/response_id"},
            "requestBody": {"edit_token": "$response.body#/edit_token", "comment": "Cà phê ngon, phục vụ nhanh"},
        },
    },
}

_MODELS = [
    m.ResponseIn,
    m.ResponseCreated,
    m.CommentIn,
    m.CommentSaved,
    m.BusinessIn,
    m.BusinessCreated,
    m.TouchpointIn,
    m.TouchpointCreated,
    m.LinksIn,
    m.LinksCreated,
    m.ResponsesPage,
    m.Erased,
    PosSecret,
    PosKeyRetired,
    OwnerKeyRotated,  # #11 item 7
    SiteConfig,
]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _content(schema: Any) -> dict[str, Any]:
    if isinstance(schema, str):
        return {schema: {"schema": {"type": "string"}}}
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return {"application/json": {"schema": _ref(schema)}}
    return {"application/json": {"schema": schema}}


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema["properties"].items()
    ]


def _operation(path: str, method: str, info: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": info["summary"], "tags": info["tags"], "responses": {}}
    params = [
        {"name": p.strip("{}"), "in": "path", "required": True, "schema": {"type": "string", "maxLength": 256}}
        for p in path.split("/")
        if p.startswith("{")
    ]
    if "query" in info:
        params += _query_params(info["query"])
    for name, schema in info.get("params", []):
        params.append({"name": name, "in": "query", "required": False, "schema": schema})
    for name in info.get("headers", []):
        schema = HEADERS.get(name, {"type": "string", "maxLength": 100})
        params.append({"name": name, "in": "header", "required": False, "schema": schema})
    if params:
        op["parameters"] = params
    if "body" in info:
        ref = _ref(info["body"])
        op["requestBody"] = {
            "required": True,
            "content": {t: {"schema": ref} for t in info.get("body_types", ["application/json"])},
        }
    if "body_form" in info:
        form: dict[str, Any] = {"type": "object", "properties": info["body_form"]}
        if info.get("form_required"):
            form["required"] = info["form_required"]
        op["requestBody"] = {
            "required": True,
            "content": {kind: {"schema": form} for kind in info.get("form_types", [FORM_TYPE])},
        }
    status, schema = info["ok"]
    content = _content(schema)
    if info.get("ok_csv"):
        content["text/csv"] = {"schema": {"type": "string"}}
    if 300 <= status < 400:
        # A redirect has no body to describe, only where it sends the browser.
        op["responses"][str(status)] = {
            "description": "Redirect",
            "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
        }
    else:
        op["responses"][str(status)] = {"description": "Success", "content": content}
        if links := LINKS.get((path, method)):
            op["responses"][str(status)]["links"] = links
    for extra in info.get("also_ok", []):
        op["responses"][str(extra)] = {"description": "The same response again", "content": content}
    error_type = info.get("error_type")
    for code in info["errors"]:
        body = {error_type: {"schema": {"type": "string"}}} if error_type else {"application/json": {"schema": ERROR}}
        op["responses"][str(code)] = {"description": _REASONS.get(code, "Error"), "content": body}
    auth = info.get("auth", "none")
    if auth != "none":
        op["security"] = [{"ownerKey": []}] if auth == "owner" else [{"adminKey": []}]
        if auth == "owner":
            op["description"] = "An owner key of this business (or the admin key); another business's key gets 404."
    return op


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


def route_set(app: Chalice) -> set[tuple[str, str]]:
    return {(path, method) for path, methods in app.routes.items() for method in methods}


@lru_cache(maxsize=1)
def _build() -> dict[str, Any]:
    _, defs = models_json_schema(
        [(model, "validation") for model in _MODELS], ref_template="#/components/schemas/{model}"
    )
    schemas = defs.get("$defs", {})
    if "ResponseIn" in schemas:
        schemas["ResponseIn"]["oneOf"] = TOKEN_XOR_SITE_KEY
    paths: dict[str, dict[str, Any]] = {}
    for (path, method), info in OPERATIONS.items():
        paths.setdefault(path, {})[method.lower()] = _operation(path, method, info)
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


def spec(app: Chalice) -> dict[str, Any]:
    return _build()
