"""Domain errors: what went wrong, in the contract's words, and nothing about the transport.

Services and the domain raise these; ``chalicelib.web.errors`` alone decides the HTTP status and headers
of each class, so a rule never has to think about HTTP and the error shape lives in one place.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a client may cause; ``code`` is the contract's snake_case code, ``details``
    the per-field problems, ``retry_after`` the seconds after which trying again may succeed."""

    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[dict] | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or []
        self.retry_after = retry_after


class MalformedRequest(DomainError):
    """The request cannot be read at all: not JSON, an empty body, a form that does not parse."""

    code = "malformed_request"


class InvalidInput(DomainError):
    """Readable, but a value breaks a rule of the model or of the contract."""

    code = "invalid_input"


class Unauthorized(DomainError):
    code = "unauthorized"

    def __init__(self, message: str = "A valid key is required.", *, code: str | None = None):
        super().__init__(message, code=code)


class InvalidToken(DomainError):
    """A token that does not parse or whose signature does not verify: both look forged to us."""

    code = "invalid_token"


class Forbidden(DomainError):
    """Known caller, not allowed here (an origin a site key does not list, a missing CSRF token)."""

    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """Already done, and doing it again would change what was agreed (answered, redeemed, rotated)."""

    code = "conflict"


class Expired(DomainError):
    code = "expired"


class PayloadTooLarge(DomainError):
    """Over the body limit: refused before reading it."""

    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"


class RateLimited(DomainError):
    """Too many requests of one kind in a window; ``retry_after`` says when the window frees a place."""

    code = "rate_limited"

    def __init__(
        self,
        message: str = "Too many requests in a short time; please try again in a minute.",
        *,
        code: str | None = None,
        retry_after: int = 60,
    ):
        super().__init__(message, code=code, retry_after=max(1, retry_after))


class TemporarilyUnavailable(DomainError):
    """The store throttled or is down: the client should retry, nothing was half-written."""

    code = "temporarily_unavailable"

    def __init__(self, message: str = "The service is busy; please retry shortly.", *, retry_after: int = 1):
        super().__init__(message, retry_after=max(1, retry_after))
