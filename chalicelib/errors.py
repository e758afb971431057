"""Domain errors and their single mapping to HTTP.

Services and the domain raise these plain exceptions; only ``to_http`` knows about status codes,
so a rule never has to think about the transport and the contract's error shape lives in one place.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a client may cause; ``code`` is the contract's snake_case code."""

    code = "bad_request"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.headers = headers or {}


class MalformedRequest(DomainError):
    code, status = "malformed_request", 400


class InvalidInput(DomainError):
    code, status = "invalid_input", 422

    def __init__(self, message: str, *, code: str | None = None, details: list[dict] | None = None):
        super().__init__(message, code=code)
        self.details = details or []


class Unauthorized(DomainError):
    code, status = "unauthorized", 401

    def __init__(self, message: str = "A valid key is required.", *, code: str | None = None):
        super().__init__(message, code=code, headers={"WWW-Authenticate": 'Bearer realm="surveys"'})


class InvalidToken(DomainError):
    """A token that does not parse or whose signature does not verify: both look forged to us."""

    code, status = "invalid_token", 401


class Forbidden(DomainError):
    code, status = "forbidden", 403


class NotFound(DomainError):
    code, status = "not_found", 404


class Conflict(DomainError):
    code, status = "conflict", 409


class Expired(DomainError):
    code, status = "expired", 410


class PayloadTooLarge(DomainError):
    code, status = "payload_too_large", 413


class UnsupportedMediaType(DomainError):
    code, status = "unsupported_media_type", 415


class RateLimited(DomainError):
    code, status = "rate_limited", 429


class TemporarilyUnavailable(DomainError):
    """The store throttled or is down: the client should retry, nothing was half-written."""

    code, status = "temporarily_unavailable", 503

    def __init__(self, message: str = "The service is busy; please retry shortly.", retry_after: int = 1):
        super().__init__(message, headers={"Retry-After": str(retry_after)})


def error_body(code: str, message: str, details: list[dict] | None = None) -> dict:
    error: dict = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def to_http(exc: DomainError) -> tuple[int, dict, dict[str, str]]:
    """The one place a domain error becomes (status, JSON body, headers)."""
    details = exc.details if isinstance(exc, InvalidInput) else None
    return exc.status, error_body(exc.code, exc.message, details), dict(exc.headers)
