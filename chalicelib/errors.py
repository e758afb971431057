"""Domain errors: what went wrong, in the contract's words, and nothing about the transport.

Services and the domain raise these; ``chalicelib.web.errors`` alone decides the HTTP status and headers
of each class, so a rule never has to think about HTTP and the error shape lives in one place.
"""

from __future__ import annotations

import re
from typing import Any


class DomainError(Exception):
    """Base of every error a client may cause. ``code`` is the contract's snake_case code (by default the
    class name in snake case: ``NotFound`` -> ``not_found``), ``details`` the per-field problems,
    ``retry_after`` the seconds after which trying again may succeed."""

    code = "bad_request"

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        if "code" not in cls.__dict__:
            cls.code = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
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


class InvalidInput(DomainError):
    """Readable, but a value breaks a rule of the model or of the contract; ``details`` names the
    fields."""


class Unauthorized(DomainError):
    def __init__(self, message: str = "A valid key is required.", *, code: str | None = None):
        super().__init__(message, code=code)


class InvalidToken(DomainError):
    """A token that does not parse or whose signature does not verify: both look forged to us."""


class Forbidden(DomainError):
    """A known caller, not allowed here: an origin a site key does not list, a form without its CSRF
    token."""


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    """Already done, and doing it again would change what was agreed: answered, redeemed, rotated."""


class Expired(DomainError):
    pass


class PayloadTooLarge(DomainError):
    """Over the body limit, refused before it is read."""


class UnsupportedMediaType(DomainError):
    pass


class RateLimited(DomainError):
    """Too many requests of one kind in a window; ``retry_after`` says when the window frees a place."""

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

    def __init__(self, message: str = "The service is busy; please retry shortly.", *, retry_after: int = 1):
        super().__init__(message, retry_after=max(1, retry_after))
