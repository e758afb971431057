"""Request parsing and response building, for the route table (``chalicelib.web.routes``) and the pages.

Parsing refuses in a fixed order, the same on every route: size (413), media type (415), JSON syntax
(400), then the model (422).
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from chalice import Chalice, Response
from pydantic import BaseModel, ValidationError

from chalicelib.errors import InvalidInput, MalformedRequest, PayloadTooLarge, UnsupportedMediaType
from chalicelib.settings import MAX_BODY_BYTES

M = TypeVar("M", bound=BaseModel)
JSON_TYPES = ("application/json", "text/plain")  # text/plain is what navigator.sendBeacon sends
FORM_TYPE = "application/x-www-form-urlencoded"


def current_locale() -> str:
    request = _request()
    accept = (request.headers.get("accept-language") or "") if request else ""
    return "en" if accept.lower().startswith("en") else "vi"


_APP: Chalice | None = None


def bind(app: Chalice) -> None:
    """The app whose current request ``current_locale`` reads (pages rendered outside a route's view)."""
    global _APP
    _APP = app


def _request() -> Any:
    return _APP.current_request if _APP is not None else None


# ---- requests ---------------------------------------------------------------------------------------


def raw_body(request: Any) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body may be at most {MAX_BODY_BYTES} bytes.")
    body = request.raw_body or b""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body may be at most {MAX_BODY_BYTES} bytes.")
    return body


_SITE_KEY_FIELD = re.compile(rb'"site_key"\s*:\s*"(sk_[0-9a-z]{6,16}_[0-9a-z]{16})"')


def body_edit_token(request: Any) -> str | None:
    """The edit token a JSON comment body names, only to decide the CORS headers of its answer."""
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        return None
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    found = data.get("edit_token") if isinstance(data, dict) else None
    return found if isinstance(found, str) and len(found) <= 256 else None


def body_site_key(request: Any) -> str | None:
    """The site key a JSON body names, even when the body was refused (too large, not JSON, failed the
    model): only to decide the CORS headers of the refusal, never trusted for anything else."""
    raw = request.raw_body or b""
    if len(raw) <= MAX_BODY_BYTES:
        try:
            data = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
        except (UnicodeDecodeError, ValueError, RecursionError):
            data = None
        if isinstance(data, dict):
            found = data.get("site_key")
            return found if isinstance(found, str) and len(found) <= 128 else None
    # Too large or not JSON: look for the field at the start only, so a huge body costs little.
    match = _SITE_KEY_FIELD.search(raw[: 4 * MAX_BODY_BYTES])
    return match.group(1).decode() if match else None


def media_type(request: Any) -> str:
    return (request.headers.get("content-type") or "").split(";")[0].strip().lower()


def json_body[M: BaseModel](request: Any, model: type[M]) -> M:
    """Size first, then the media type, then JSON syntax (400), then the model (422)."""
    raw = raw_body(request)
    kind = media_type(request)
    if kind and kind not in JSON_TYPES:
        raise UnsupportedMediaType("Send JSON (application/json or text/plain).")
    return validate(model, decode_json(raw))


def decode_json(raw: bytes) -> Any:
    if not raw.strip():
        raise MalformedRequest("The body is empty; send a JSON object.")
    try:
        text = raw.decode("utf-8")
        return json.loads(text, parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedRequest("The body is not valid JSON.") from None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def form_body(request: Any) -> dict[str, str]:
    return dict(form_pairs(request))


def form_pairs(request: Any) -> list[tuple[str, str]]:
    """Every field in order, a repeated name (checkboxes) once per value."""
    raw = raw_body(request)
    kind = media_type(request)
    if kind not in (FORM_TYPE, ""):
        raise UnsupportedMediaType("Send the form as application/x-www-form-urlencoded.")
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=20, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise MalformedRequest("The form could not be read.") from None
    return pairs


def validate[M: BaseModel](model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise InvalidInput("Send a JSON object.", code="invalid_input")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc) from None
    except RecursionError:
        raise MalformedRequest("The body is nested too deeply.") from None


def query[M: BaseModel](request: Any, model: type[M]) -> M:
    params = request.query_params or {}
    # ?to=a&to=b would silently mean the last one: refuse instead (found by schemathesis).
    getlist = getattr(params, "getlist", None)
    repeated = sorted(name for name in params if getlist is not None and len(getlist(name)) > 1)
    if repeated:
        raise InvalidInput(f"{repeated[0][:40]}: may appear only once.", code="repeated_parameter")
    return validate(model, dict(params))


def invalid(exc: ValidationError) -> InvalidInput:
    details = [
        {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)[:20]
    ]
    first = details[0] if details else {"field": "body", "message": "is invalid"}
    return InvalidInput(f"{first['field']}: {first['message']}", details=details)


def header(request: Any, name: str) -> str | None:
    value = request.headers.get(name)
    return value if value is None else value[:512]


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


def request_id_header(request: Any) -> str | None:
    """A caller's own X-Request-Id, kept only when it is a plain id (it ends up in logs and headers)."""
    value = request.headers.get("x-request-id")
    return value if value and _REQUEST_ID.match(value) else None


def source_ip(request: Any) -> str:
    return str((request.context or {}).get("identity", {}).get("sourceIp") or "")


# ---- responses --------------------------------------------------------------------------------------


def respond(body: BaseModel | dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    payload = body.model_dump(mode="json", by_alias=True) if isinstance(body, BaseModel) else body
    return Response(body=payload, status_code=status, headers={"Content-Type": "application/json", **(headers or {})})


def html(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    base = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
        "form-action 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
    }
    return Response(body=body, status_code=status, headers={**base, **(headers or {})})
