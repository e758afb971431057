"""The one place a domain error becomes HTTP: its status, its headers and the contract's JSON error shape.

Services raise ``chalicelib.errors`` classes that know nothing of HTTP; the route table
(``chalicelib.web.routes``) answers them through ``to_http`` (JSON routes) or ``page_status`` (HTML pages).
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import (
    Conflict,
    DomainError,
    Expired,
    Forbidden,
    InvalidInput,
    InvalidToken,
    MalformedRequest,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    TemporarilyUnavailable,
    Unauthorized,
    UnsupportedMediaType,
)

# Looked up along the class's MRO, so a subclass a service adds answers as its parent does.
STATUS: dict[type[DomainError], int] = {
    DomainError: 400, MalformedRequest: 400, InvalidInput: 422, Unauthorized: 401, InvalidToken: 401,
    Forbidden: 403, NotFound: 404, Conflict: 409, Expired: 410, PayloadTooLarge: 413,
    UnsupportedMediaType: 415, RateLimited: 429, TemporarilyUnavailable: 503,
}  # fmt: skip
CHALLENGE = 'Bearer realm="surveys"'


def status_of(exc: DomainError) -> int:
    return next(STATUS[kind] for kind in type(exc).__mro__ if kind in STATUS)


def headers_of(exc: DomainError) -> dict[str, str]:
    headers: dict[str, str] = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = CHALLENGE
    return headers


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def to_http(exc: DomainError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, JSON body, headers) of a JSON route's refusal."""
    return status_of(exc), error_body(exc.code, exc.message, exc.details), headers_of(exc)


def page_status(exc: DomainError) -> tuple[int, dict[str, str]]:
    """(status, headers) of an HTML page's refusal: a forged or unknown link is simply "not found" to a
    person holding a phone, and a page never asks a browser for credentials."""
    status = status_of(exc)
    headers = headers_of(exc)
    headers.pop("WWW-Authenticate", None)
    return (404 if status == 401 else status), headers
