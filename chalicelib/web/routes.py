"""The declarative route table: each route says once what it takes, who may call it and what it answers.

A ``Route`` names its method and path, its OpenAPI words (summary, tags), its auth (none, owner, admin),
its body and query models, its response (a pydantic model, a raw schema or a media type), its success and
error statuses, its CORS policy and its cache header, and the ONE service call it makes. ``RouteTable``
registers it with chalice and, for every request: authenticates, parses (size -> 413, media type -> 415,
JSON -> 400, model -> 422), calls, serialises, and turns a domain error into the contract's JSON error
(or a friendly page on HTML routes) through ``chalicelib.web.errors``. ``chalicelib.web.openapi`` builds
/openapi.json from the same table, so the description cannot drift from the code (docs/api.md).

Models may be named as ``"module:Class"``: a route whose models live in a heavy module (the daily report,
QR codes) does not make every cold start import it; the name is resolved when a request or the spec
first needs it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from chalice import Chalice, Response
from pydantic import BaseModel

from chalicelib.errors import DomainError
from chalicelib.observability import Caller, logger, request_rejected
from chalicelib.web import http
from chalicelib.web.errors import error_body, page_status, to_http

Auth = Literal["none", "owner", "admin"]
ModelRef = type[BaseModel] | str  # a model, or "module:Class" of one imported on first use
CorsOrigin = Callable[[Any], "str | None"]
# What the auth of a route calls: the owners service's authenticate(authorization, business_id) -> caller,
# and require_admin(authorization) (both raise Unauthorized / NotFound).
OwnerCheck = Callable[[str | None, str], Any]
AdminCheck = Callable[[str | None], None]

# What each part of a route adds to its error statuses, so a route lists only the ones its service adds.
BODY_ERRORS = (400, 413, 415, 422)
QUERY_ERRORS = (422,)
AUTH_ERRORS: dict[str, tuple[int, ...]] = {"none": (), "owner": (401, 404), "admin": (401,)}


@dataclass(frozen=True)
class Call:
    """What a route's service call gets: the request, its path parameters and whatever the route parsed."""

    request: Any
    params: dict[str, str]
    body: Any = None
    query: Any = None
    caller: Any = None

    def header(self, name: str) -> str | None:
        return http.header(self.request, name)


@dataclass(frozen=True)
class Reply:
    """A JSON answer whose status the call decides among the route's declared ones (201 new, 200 again)."""

    body: BaseModel | dict[str, Any]
    status: int


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    name: str  # the chalice view's name and the OpenAPI operationId
    summary: str
    call: Callable[[Call], Any]
    tags: tuple[str, ...] = ("public",)
    auth: Auth = "none"
    body: ModelRef | None = None
    body_types: tuple[str, ...] = ("application/json",)
    query: ModelRef | None = None
    # OpenAPI only: query parameters a page reads leniently itself, form fields an HTML form posts.
    params: tuple[tuple[str, dict[str, Any]], ...] = ()
    form: dict[str, Any] | None = None
    form_required: tuple[str, ...] = ()
    form_types: tuple[str, ...] = (http.FORM_TYPE,)
    headers: tuple[str, ...] = ()  # request headers the route reads, as OpenAPI header parameters
    # A model, a raw JSON schema (by default any object) or a media type (text/html, image/png, ...).
    response: ModelRef | dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    also_types: tuple[str, ...] = ()  # other media types of the success answer (?format=csv)
    status: int = 200
    also: tuple[int, ...] = ()  # other success statuses (200 on a replay, 304)
    errors: tuple[int, ...] = ()  # statuses the service adds to those of the body, query and auth
    page: bool = False  # HTML: refusals are friendly pages, a 401 a 404
    cors: CorsOrigin | None = None
    cache: str | None = None  # Cache-Control of a successful JSON answer
    links: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def error_statuses(self) -> list[int]:
        found = set(self.errors) | set(AUTH_ERRORS[self.auth])
        if self.body is not None:
            found |= set(BODY_ERRORS)
        if self.query is not None:
            found |= set(QUERY_ERRORS)
        return sorted(found)


def link(method: str, path: str, **values: Any) -> dict[str, Any]:
    """An OpenAPI link to the operation a client calls next with this answer (parameters, requestBody)."""
    return {"operationRef": "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method.lower(), **values}


@cache
def model(ref: ModelRef) -> type[BaseModel]:
    if isinstance(ref, str):
        module, _, name = ref.partition(":")
        found = getattr(importlib.import_module(module), name)
        assert isinstance(found, type) and issubclass(found, BaseModel), ref
        return found
    return ref


class RouteTable:
    def __init__(self, app: Chalice, *, owner: OwnerCheck, admin: AdminCheck):
        self.app = app
        self.routes: list[Route] = []
        self._owner = owner
        self._admin = admin
        self._auth: dict[tuple[str, str], Auth] = {}
        http.bind(app)

    def add(self, routes: Iterable[Route]) -> None:
        for route in routes:
            self.routes.append(route)
            self._auth[(route.method, route.path)] = route.auth
            # Every content type reaches the view, which refuses it in the contract's shape (chalice's own
            # 415 would not have it).
            self.app.route(route.path, methods=[route.method], name=route.name, content_types=["*/*"])(
                self._view(route)
            )

    def caller(self, request: Any) -> Caller:
        """Who a request serves, by its route's auth: "owner" when the route takes an owner's or the admin's
        key, "public" for everything a customer (or anybody) may call."""
        path = str((getattr(request, "context", None) or {}).get("resourcePath"))
        return "public" if self._auth.get((str(request.method), path), "none") == "none" else "owner"

    def _view(self, route: Route) -> Callable[..., Response]:
        def view(**params: str) -> Response:
            request = self.app.current_request
            try:
                response = self._answer(route, request, params)
            except DomainError as exc:
                request_rejected(exc.code)
                response = _page_error(exc) if route.page else _json_error(exc)
            if route.cors is not None:
                _with_cors(response, route.cors, request)
            return response

        view.__name__ = route.name
        return view

    def _answer(self, route: Route, request: Any, params: dict[str, str]) -> Response:
        authorization = http.header(request, "authorization")
        caller = None
        if route.auth == "owner":
            caller = self._owner(authorization, params["business_id"])
        elif route.auth == "admin":
            self._admin(authorization)
        body = http.json_body(request, model(route.body)) if route.body is not None else None
        query = http.query(request, model(route.query)) if route.query is not None else None
        result = route.call(Call(request, params, body, query, caller))
        if isinstance(result, Response):
            return result  # a page, an image, a CSV file: the web module built it whole
        reply = result if isinstance(result, Reply) else Reply(result, route.status)
        headers = {"Cache-Control": route.cache} if route.cache else None
        return http.respond(_typed(route, reply.body), reply.status, headers)


def _typed(route: Route, result: BaseModel | dict[str, Any]) -> BaseModel | dict[str, Any]:
    """A dict a service answers is read into the route's response model, so what is served is what the
    spec says; a raw schema's answer is served as it is."""
    declared = route.response
    if isinstance(result, dict) and (isinstance(declared, type) or (isinstance(declared, str) and ":" in declared)):
        return model(declared).model_validate(result)
    return result


def _json_error(exc: DomainError) -> Response:
    status, body, headers = to_http(exc)
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json", **headers})


def _page_error(exc: DomainError) -> Response:
    from chalicelib.web import pages  # HTML only when a page is asked for

    status, headers = page_status(exc)
    return http.html(pages.error_page(exc, http.current_locale()), status, headers)


def _with_cors(response: Response, cors: CorsOrigin, request: Any) -> None:
    """Every answer to a site-key request, refusals included, carries the CORS headers of an allowed
    origin: a browser shows the widget a response without them as a network failure, and the widget must
    tell a refusal or a 429 from being offline (#11 item 5)."""
    response.headers["Vary"] = "Origin"  # the answer differs by Origin: no cache may mix them up
    try:
        origin = cors(request)
    except Exception:  # the store may be down (the answer is then a 503): CORS stays best effort
        logger.warning("could not decide the CORS origin", exc_info=True)
        origin = None
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        # Without this the widget cannot read how long to wait after a 429 or a 503.
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"


# ---- the last line, as HTTP middleware -----------------------------------------------------------------

_CHALICE_CODES = {
    400: "malformed_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
}


def boundary_middleware(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice's own errors (405, 415, 500) get the contract's shape; a bug is logged with the correlation
    id and answered 500 in that shape, never as a traceback."""
    try:
        response: Response = get_response(event)
    except Exception:
        logger.exception("unhandled error")
        return Response(body=error_body("internal_error", "Something went wrong on our side."), status_code=500)
    body = response.body
    if isinstance(body, dict) and set(body) == {"Code", "Message"}:
        status = response.status_code
        code = _CHALICE_CODES.get(status, "error")
        message = "Something went wrong on our side." if status >= 500 else str(body["Message"])
        if status >= 500:
            logger.error("chalice error response", extra={"chalice_code": body["Code"]})
        request_rejected(code)
        response.body = error_body(code, message)
        response.headers["Content-Type"] = "application/json"
    return response
