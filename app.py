"""The routing table: one declarative ``Route`` per HTTP route (docs/api.md), and the jobs' handlers.

No boto3, no business rules, no HTML here. Heavy modules (pages, CSV, OpenAPI) are imported by the calls
that need them, so a submission's cold start does not pay for them.
"""

from __future__ import annotations

import os

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")  # skips an entry-point scan at first model build

from collections.abc import Callable
from functools import cache
from importlib import import_module
from types import ModuleType
from typing import Any

from chalice import Chalice, ConvertToMiddleware, Rate, Response
from chalice.app import CloudWatchEvent, DynamoDBEvent, Request, SNSEvent, SQSEvent

from chalicelib.domain.models import (
    BusinessCreated,
    BusinessIn,
    CommentIn,
    CommentSaved,
    Erased,
    ErasureQuery,
    LinksCreated,
    LinksIn,
    MetricsQuery,
    OwnerKeyRotated,
    PosKeyRetired,
    PosSecret,
    ResponseCreated,
    ResponseIn,
    ResponsesPage,
    ResponsesQuery,
    SiteConfig,
    SiteQuery,
    TouchpointCreated,
    TouchpointIn,
)
from chalicelib.observability import logger, traced
from chalicelib.services.submissions import RequestMeta
from chalicelib.web import http
from chalicelib.web.routes import Call, Reply, Route, RouteTable, boundary_middleware, link
from chalicelib.wiring import services

# configure_logs=False: powertools' Logger owns logging, or every line would be written twice.
app = Chalice(app_name="surveys", configure_logs=False)
app.api.binary_types.append("image/png")

# On Lambda the configuration (secrets included, chalicelib/secrets.py) is read and checked while the
# function initialises: a missing or malformed value fails the cold start with one message naming it,
# never the first customer's request.
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    from chalicelib.settings import get_settings

    get_settings()


# Every handler (API, stream, schedule, queue): the Lambda context (cold start, request id) in each log
# line, keys of the previous invocation cleared, and an X-Ray subsegment where tracing earns its cost.
app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context(clear_state=True)))


@app.middleware("all")
def trace(event: Any, get_response: Callable[[Any], Any]) -> Any:
    # The X-Ray SDK for the jobs and the owners' keyed routes, never for a customer's request: a first tap
    # on a cold container must not import it (chalicelib/observability.py, docs/deploy.md).
    # Chalice sets app.lambda_context only for HTTP events; a job's event carries its own context.
    http_event = isinstance(event, Request)
    context = getattr(app, "lambda_context", None) if http_event else getattr(event, "context", None)
    name = getattr(context, "function_name", None) or "handler"
    with traced(name, table.caller(event) if http_event else "job"):
        return get_response(event)


@app.middleware("http")
def observe(event: Request, get_response: Callable[[Request], Response]) -> Response:
    # The API Gateway request id is the correlation id: the client sees it as X-Request-Id.
    request_id = (event.context or {}).get("requestId") or http.request_id_header(event) or getattr(
        app.lambda_context, "aws_request_id", None
    )
    logger.set_correlation_id(request_id)
    logger.append_keys(method=event.method, path=(event.context or {}).get("resourcePath"))
    response = boundary_middleware(event, get_response)
    if request_id:
        response.headers["X-Request-Id"] = str(request_id)[:100]
    logger.info("request", extra={"status": response.status_code})
    return response


# ---- the route table (docs/api.md) ------------------------------------------------------------------
# Each route declares what it takes and answers once; chalicelib/web/routes.py parses, authenticates,
# calls and serialises, and /openapi.json is generated from these same entries. Heavy modules (pages,
# QR, CSV, the report, the OpenAPI builder) are imported by the calls that need them, or named as
# "module:Class", so a submission's cold start does not pay for them.

OWNER, PAGES = ("owner",), ("pages",)  # tags; a route is "public" unless it says
AS_OWNER: dict[str, Any] = {"tags": OWNER, "auth": "owner"}
NO_STORE = "no-store"  # a secret or a single-use nonce in the answer: no cache may keep it
# A key rotation: 201 with the new secret, shown once and never cached; 409 when two rotations race.
ROTATION: dict[str, Any] = {**AS_OWNER, "status": 201, "errors": (409, 503), "cache": NO_STORE}
HEALTH = {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}
# HTML pages never refuse a person over ?lang=: anything but vi or en falls back to the link's or the
# browser's language (found by schemathesis: the spec said enum, the pages answered 200).
PAGE_LANG = {"type": "string", "description": "vi or en; any other value falls back to the page's language"}
ANSWER = {"score": 4}  # a valid score on every scale (NPS 0-10, CSAT 1-5, CES 1-7), for the links below
# 410: a retired touchpoint's QR code is not drawn again; 409: the zalo touchpoint has none (issue #16)
TOUCHPOINT_FILE_ERRORS = (409, 410, 503)
MODELS = "chalicelib.domain.models:"  # models named on first use (the owner routes of issue #14)
FEEDS = "chalicelib.domain.feeds:"
HOOKS = "chalicelib.domain.webhooks:"
ZALO = "chalicelib.domain.zalo:"


def web(name: str) -> ModuleType:
    """A web module, imported by the call that renders with it."""
    return import_module(f"chalicelib.web.{name}")


def _meta(request: Any) -> RequestMeta:
    return RequestMeta(
        origin=http.header(request, "origin"),
        source_ip=http.source_ip(request),
        idempotency_key=http.header(request, "idempotency-key"),
    )


def _body_site_origin(request: Any) -> str | None:
    return services().sites.allowed_origin(http.body_site_key(request), http.header(request, "origin"))


def _comment_origin(request: Any) -> str | None:
    response_id = (request.uri_params or {}).get("response_id") or ""
    edit_token = http.body_edit_token(request)
    return services().submissions.comment_origin(response_id, edit_token, http.header(request, "origin"))


def _path_site_origin(request: Any) -> str | None:
    site_key = (request.uri_params or {}).get("site_key")
    return services().sites.allowed_origin(site_key, http.header(request, "origin"))


def _submit(c: Call) -> Reply:
    result = services().submissions.submit(c.body, _meta(c.request))
    return Reply(result.body, 201 if result.created else 200)


def _responses(c: Call) -> Any:
    page = services().insights.list_responses(c.caller, c.query)
    return web("exports").csv_response(page, c.caller.business.business_id) if c.query.format == "csv" else page


# A touchpoint's printable files: (qr module, its link, the query, its id) -> the file, named after it.
_DRAW = {
    "svg": lambda qr, link, q, tp: qr.svg_response(qr.qr_svg(link, q.scale), f"qr-{tp}.svg"),
    "png": lambda qr, link, q, tp: qr.png_response(qr.qr_png(link, q.scale), f"qr-{tp}.png"),
    "card": lambda qr, link, q, tp: qr.svg_response(qr.card_svg(link, q.lang), f"card-{tp}.svg"),
}


def _printable(kind: str) -> Any:
    def call(c: Call) -> Response:
        touchpoint_id = c.params["touchpoint_id"]
        target = services().links.touchpoint_link(c.caller, touchpoint_id)
        drawn: Response = _DRAW[kind](web("qr"), target, c.query, touchpoint_id)
        return drawn

    return call


# The owner console's pages (docs/console.md): their own session cookie, not the Authorization header; no
# session -> the sign-in page (401), another or an unknown business -> 404; a form without its CSRF token 403.
CONSOLE_FORM_ERRORS = (400, 401, 403, 404, 413, 415, 422)
CSRF_FIELD = {"csrf": {"type": "string"}}


def _console(method: str, path: str, name: str, handler: str, summary: str, **extra: Any) -> Route:
    """A console page: ``chalicelib.web.<module>.<handler>(services, request, **path parameters)``, the
    module ``console`` unless the handler names one (``console_cases:inbox``)."""
    defaults: dict[str, Any] = {
        "tags": PAGES, "page": True, "response": "text/html", "params": (("lang", PAGE_LANG),),
        "errors": (401, 404) if method == "GET" else CONSOLE_FORM_ERRORS,
    }
    module, _, handler = handler.rpartition(":")
    module = module or "console"

    def call(c: Call) -> Response:
        answer: Response = getattr(web(module), handler)(services(), c.request, **c.params)
        return answer

    return Route(method, "/console/{business_id}" + path, name, summary, call, **{**defaults, **extra})


@cache
def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = web("openapi").spec(table.routes)
    return spec


table = RouteTable(
    app,
    owner=lambda key, business_id: services().access.authenticate(key, business_id),
    admin=lambda key: services().access.require_admin(key),
)
table.add([
    Route("GET", "/healthz", "healthz", "Liveness", lambda c: {"status": "ok"}, response=HEALTH),
    Route("GET", "/openapi.json", "openapi", "This description", lambda c: _spec(), cache="public, max-age=300"),
    # Site-key answers carry CORS headers for an allowed origin on every status, refusals included.
    Route("POST", "/v1/responses", "submit_response",
          "Record a response (JSON, or text/plain as navigator.sendBeacon sends it); a touchpoint link or a "
          "site key needs the nonce of the page view (survey page, widget site config), a minted link does not",
          _submit, body=ResponseIn, body_types=http.JSON_TYPES, headers=("Idempotency-Key", "Origin"),
          response=ResponseCreated, status=201, also=(200,), errors=(401, 403, 404, 409, 410, 429, 503),
          cors=_body_site_origin, links={"AddComment": link(
              "POST", "/v1/responses/{response_id}/comment", parameters={"response_id": "$response.body#/response_id"},
              requestBody={"edit_token": "$response.body#/edit_token", "comment": "Cà phê ngon, phục vụ nhanh"})}),
    Route("POST", "/v1/responses/{response_id}/comment", "add_comment",
          "Add a comment, the chosen reasons and, with consent, an email address (JSON, or text/plain as the "
          "widget sends it); answers to a page of an allowed origin carry its CORS headers",
          lambda c: services().submissions.add_comment(c.params["response_id"], c.body),
          body=CommentIn, body_types=http.JSON_TYPES, headers=("Origin",), response=CommentSaved,
          errors=(401, 404, 409, 503), cors=_comment_origin),
    Route("GET", "/s/{token}", "survey_page",
          "Survey page of a signed link (HTML); ?score=N preselects without recording",
          lambda c: web("survey").show(services().submissions, c.request, c.params["token"]), tags=PAGES,
          params=(("score", {"type": "integer", "minimum": 0, "maximum": 10}), ("lang", PAGE_LANG)),
          response="text/html", errors=(404, 410, 422), page=True),
    Route("POST", "/s/{token}", "survey_post",
          "One-tap form post of a score (or of the comment form) without JavaScript (HTML)",
          lambda c: web("survey").post(services().submissions, c.request, c.params["token"], _meta(c.request)),
          tags=PAGES, form={name: {"type": "string"} for name in (
              "score", "response_id", "edit_token", "comment", "email", "phone", "consent", "nonce", "reasons")},
          response="text/html", errors=(400, 404, 409, 410, 413, 415, 422, 429), page=True),
    Route("GET", "/widget.js", "widget_js",
          "The embeddable widget (JavaScript); ?v=<version> makes it cacheable for a year",
          lambda c: web("widget").respond(c.request, c.query), query="chalicelib.web.widget:WidgetQuery",
          response="application/javascript", also=(304,)),
    Route("GET", "/v1/sites/{site_key}", "site_check",
          "The widget's start-up check: is the key known and this page's Origin allowed; answers a fresh "
          "single-use nonce for this page view's answer (not cacheable)",
          lambda c: services().sites.check(c.params["site_key"], c.header("origin"), c.query),
          query=SiteQuery, headers=("Origin",), response=SiteConfig, errors=(401, 403, 404, 410),
          cors=_path_site_origin, cache=NO_STORE),
    # ---- owners
    Route("POST", "/v1/businesses", "create_business", "Create a business (admin key); the owner key is shown once",
          lambda c: services().access.create_business(c.body), tags=OWNER, auth="admin", body=BusinessIn,
          response=BusinessCreated, status=201, errors=(503,), links={"CreateTouchpoint": link(
              "POST", "/v1/businesses/{business_id}/touchpoints",
              parameters={"business_id": "$response.body#/business_id"})}),
    # ---- issue #14: the owner's settings (the console's setup pages call these same services)
    Route("GET", "/v1/businesses/{business_id}", "get_business",
          "The business's settings (never a key hash or a secret)",
          lambda c: services().setup.business(c.caller), **AS_OWNER, response=MODELS + "BusinessOut", errors=(503,)),
    Route("PATCH", "/v1/businesses/{business_id}", "update_business",
          "Change settings: a field left out stays; \"voucher\": null removes the policy, \"sender_email\": null "
          "goes back to the deployment's sender; a new time zone moves the daily report to its midnight",
          lambda c: services().setup.update_business(c.caller, c.body), **AS_OWNER, body=MODELS + "BusinessPatch",
          response=MODELS + "BusinessOut", errors=(503,)),
    Route("POST", "/v1/businesses/{business_id}/touchpoints", "create_touchpoint",
          "Create a touchpoint and its static link",
          lambda c: services().links.create_touchpoint(c.caller, c.body), **AS_OWNER,
          body=TouchpointIn, response=TouchpointCreated, status=201, errors=(503,), links={
              "MintLinks": link("POST", "/v1/businesses/{business_id}/links",
                                parameters={"business_id": "$request.path.business_id"},
                                requestBody={"touchpoint_id": "$response.body#/touchpoint_id"}),
              "AnswerTouchpoint": link("POST", "/v1/responses",
                                       requestBody={**ANSWER, "token": "$response.body#/token"})}),
    Route("GET", "/v1/businesses/{business_id}/touchpoints", "list_touchpoints",
          "Every touchpoint with its static link, retired ones included (their answers stay)",
          lambda c: services().setup.touchpoints(c.caller), **AS_OWNER, response=MODELS + "TouchpointList",
          errors=(503,)),
    Route("PATCH", "/v1/businesses/{business_id}/touchpoints/{touchpoint_id}", "update_touchpoint",
          "Rename a touchpoint (its link and printed QR code stay the same)",
          lambda c: services().setup.update_touchpoint(c.caller, c.params["touchpoint_id"], c.body), **AS_OWNER,
          body=MODELS + "TouchpointPatch", response=MODELS + "TouchpointOut", errors=(503,)),
    Route("DELETE", "/v1/businesses/{business_id}/touchpoints/{touchpoint_id}", "retire_touchpoint",
          "Retire a touchpoint: its printed QR code shows \"no longer in use\" (410), its answers stay; "
          "retiring it again changes nothing",
          lambda c: services().setup.retire_touchpoint(c.caller, c.params["touchpoint_id"]), **AS_OWNER,
          response=MODELS + "TouchpointOut", errors=(503,)),
    Route("POST", "/v1/businesses/{business_id}/links", "mint_links",
          "Mint one-response links (receipts, emails), up to 1,000 at once",
          lambda c: services().links.mint(c.caller, c.body), **AS_OWNER, body=LinksIn,
          response=LinksCreated, status=201, errors=(409, 503), links={"AnswerLink": link(
              "POST", "/v1/responses", requestBody={**ANSWER, "token": "$response.body#/links/0/token"})}),
    Route("GET", "/v1/businesses/{business_id}/touchpoints/{touchpoint_id}/qr.svg", "touchpoint_qr_svg",
          "A printable QR code (SVG) of the touchpoint's link, error correction M or better", _printable("svg"),
          **AS_OWNER, query="chalicelib.web.qr:QrQuery", response="image/svg+xml",
          errors=TOUCHPOINT_FILE_ERRORS),
    Route("GET", "/v1/businesses/{business_id}/touchpoints/{touchpoint_id}/qr.png", "touchpoint_qr_png",
          "A printable QR code (PNG) of the touchpoint's link, error correction M or better", _printable("png"),
          **AS_OWNER, query="chalicelib.web.qr:QrQuery", response="image/png",
          errors=TOUCHPOINT_FILE_ERRORS),
    Route("GET", "/v1/businesses/{business_id}/touchpoints/{touchpoint_id}/card.svg", "touchpoint_card",
          "A printable A6 table card (SVG): business name, the question in its language, the QR code",
          _printable("card"), **AS_OWNER, query="chalicelib.web.qr:CardQuery",
          response="image/svg+xml", errors=TOUCHPOINT_FILE_ERRORS),
    # #11 item 7: owner-key rotation. The new key is in this answer only: never cached, never stored in clear.
    Route("POST", "/v1/businesses/{business_id}/owner-key", "rotate_owner_key",
          "Rotate the owner key: the new key is shown once; the old one and every dashboard session end",
          lambda c: services().access.rotate_owner_key(c.caller), response=OwnerKeyRotated, **ROTATION),
    Route("GET", "/v1/businesses/{business_id}/pos-secret", "reveal_pos_secret",
          "Reveal the active till key (ids 128-255) that mints receipt tokens offline", errors=(503,),
          call=lambda c: services().pos_keys.reveal(c.caller), response=PosSecret, cache=NO_STORE,
          **AS_OWNER),
    Route("POST", "/v1/businesses/{business_id}/pos-secret", "rotate_pos_secret",
          "Rotate: a new active signing key; older keys keep verifying until retired",
          lambda c: services().pos_keys.rotate(c.caller), response=PosSecret, **ROTATION),
    Route("DELETE", "/v1/businesses/{business_id}/pos-secret/{key_id}", "retire_pos_key",
          "Retire an old till key: receipts minted with it stop working; printed QR codes do not",
          lambda c: services().pos_keys.retire(c.caller, c.params["key_id"]), errors=(409, 503),
          response=PosKeyRetired, **AS_OWNER),
    Route("GET", "/v1/businesses/{business_id}/responses", "list_responses",
          "Responses, newest first, paginated; ?format=csv for CSV", _responses, **AS_OWNER,
          query=ResponsesQuery, response=ResponsesPage, also_types=("text/csv",), errors=(400, 503)),
    Route("GET", "/v1/businesses/{business_id}/metrics", "metrics",
          "CSAT, CES and NPS over a date range, optionally grouped",
          lambda c: services().insights.metrics(c.caller, c.query), **AS_OWNER,
          query=MetricsQuery, response="chalicelib.domain.answers:MetricsAnswer", errors=(503,)),
    # ---- issue #16: Google Sheets feeds (docs/sheets.md): a signed, revocable CSV link per feed
    Route("POST", "/v1/businesses/{business_id}/feeds", "create_feed",
          "Create a feed: a signed CSV link of the answers of the last `days` local days (default 90) for Google "
          "Sheets' IMPORTDATA; the link is the credential, shown in this answer only",
          lambda c: services().feeds.create(c.caller, c.body), **AS_OWNER, body=FEEDS + "FeedIn",
          response=FEEDS + "FeedCreated", status=201, errors=(409, 503), cache=NO_STORE),
    Route("GET", "/v1/businesses/{business_id}/feeds", "list_feeds",
          "The business's feeds, newest first, with their last read and read count",
          lambda c: services().feeds.list(c.caller), **AS_OWNER, response=FEEDS + "FeedList", errors=(503,)),
    Route("DELETE", "/v1/businesses/{business_id}/feeds/{feed_id}", "revoke_feed",
          "Revoke a feed: its link answers 404 from now on",
          lambda c: services().feeds.revoke(c.caller, c.params["feed_id"]), **AS_OWNER,
          response=FEEDS + "FeedOut", errors=(503,)),
    Route("GET", "/f/{token}", "read_feed",
          "A feed's CSV (text/csv, UTF-8, formula-safe cells like the export), newest first; 404 once revoked, "
          "429 past 60 reads an hour", lambda c: web("exports").feed_response(services().feeds.read(c.params["token"])),
          response="text/csv", errors=(404, 429, 503)),
    Route("DELETE", "/v1/businesses/{business_id}/respondents", "erase_respondent",
          "Erase a respondent (by ?email= or ?phone=): their email, phone, comments and links; their scores "
          "stay, anonymous",
          lambda c: services().privacy.erase_respondent(c.caller, c.query.email, phone=c.query.phone), **AS_OWNER,
          query=ErasureQuery, response=Erased, errors=(503,)),
    Route("POST", "/v1/businesses/{business_id}/vouchers/{code}/redeem", "redeem_voucher",
          "Redeem a voucher at the till: 200 the first time, 409 after, 410 expired, 404 unknown",
          lambda c: services().followups.redeem(c.caller.business, c.params["code"]), tags=OWNER,
          auth="owner", response="chalicelib.domain.answers:Redeemed", errors=(409, 410, 503)),
    # ---- daily reports and the dashboard (docs/reports.md)
    Route("GET", "/v1/businesses/{business_id}/reports/daily/{day}", "daily_report",
          "The stored daily report of one local day (YYYY-MM-DD); 404 before the daily job ran",
          lambda c: services().reports.daily_report(c.caller.business, c.params["day"]), tags=OWNER,
          auth="owner", response="chalicelib.domain.report:DailyReport", errors=(422, 503)),
    # ---- issue #14: the complaint inbox (docs/cases.md)
    Route("GET", "/v1/businesses/{business_id}/cases", "list_cases",
          "The complaint inbox: one case per unhappy answer, newest first, by status, paginated",
          lambda c: services().cases.list(c.caller, c.query), **AS_OWNER,
          query="chalicelib.domain.cases:CasesQuery", response="chalicelib.domain.cases:CasesPage", errors=(503,)),
    Route("POST", "/v1/businesses/{business_id}/cases/{response_id}/reply", "reply_to_case",
          "Email the customer the owner's reply (consented address only; at most 5 a case), threaded with "
          "the apology", lambda c: services().cases.reply(c.caller, c.params["response_id"], c.body), **AS_OWNER,
          body="chalicelib.domain.cases:ReplyIn", response="chalicelib.domain.cases:Case", errors=(409, 503)),
    Route("POST", "/v1/businesses/{business_id}/cases/{response_id}/resolve", "resolve_case",
          "Close the case, with an optional note",
          lambda c: services().cases.resolve(c.caller, c.params["response_id"], c.body), **AS_OWNER,
          body="chalicelib.domain.cases:ResolveIn", response="chalicelib.domain.cases:Case", errors=(409, 503)),
    # ---- issue #16: owners' webhooks and Slack (docs/webhooks.md)
    Route("POST", "/v1/businesses/{business_id}/webhooks", "create_webhook",
          "Register an endpoint for events (response.created, case.opened, case.replied, case.resolved, "
          "report.daily): kind json (signed with Survey-Signature) or slack; the secret is shown once",
          lambda c: services().webhooks.register(c.caller, c.body), **AS_OWNER, body=HOOKS + "WebhookIn",
          response=HOOKS + "WebhookCreated", status=201, errors=(409, 503), cache=NO_STORE),
    Route("GET", "/v1/businesses/{business_id}/webhooks", "list_webhooks",
          "The business's endpoints, their status (active or paused) and last success; never a secret",
          lambda c: services().webhooks.list(c.caller), **AS_OWNER, response=HOOKS + "WebhookList", errors=(503,)),
    Route("DELETE", "/v1/businesses/{business_id}/webhooks/{webhook_id}", "delete_webhook",
          "Delete an endpoint: nothing more is delivered to it",
          lambda c: services().webhooks.delete(c.caller, c.params["webhook_id"]), **AS_OWNER,
          response=HOOKS + "WebhookOut", errors=(503,)),
    Route("POST", "/v1/businesses/{business_id}/webhooks/{webhook_id}/secret", "rotate_webhook_secret",
          "A new signing secret, shown once; deliveries are signed with it from now on",
          lambda c: services().webhooks.rotate_secret(c.caller, c.params["webhook_id"]),
          response=HOOKS + "WebhookCreated", **ROTATION),
    Route("POST", "/v1/businesses/{business_id}/webhooks/{webhook_id}/resume", "resume_webhook",
          "Resume a paused endpoint: events from now on are delivered",
          lambda c: services().webhooks.resume(c.caller, c.params["webhook_id"]), **AS_OWNER,
          response=HOOKS + "WebhookOut", errors=(503,)),
    Route("GET", "/v1/businesses/{business_id}/webhooks/{webhook_id}/deliveries", "webhook_deliveries",
          "The endpoint's last 100 delivery attempts, newest first: event, status, latency, error",
          lambda c: services().webhooks.deliveries(c.caller, c.params["webhook_id"]), **AS_OWNER,
          response=HOOKS + "DeliveryList", errors=(503,)),
    Route("GET", "/dashboard/{business_id}", "dashboard_page",
          "The owner's dashboard (HTML); the key comes from the session cookie or the header",
          lambda c: web("dashboard").show(services(), c.request, c.params["business_id"]), tags=PAGES,
          params=(("lang", PAGE_LANG),), response="text/html", errors=(401, 404), page=True),
    Route("POST", "/dashboard/{business_id}", "dashboard_sign_in",
          "The dashboard's sign-in / sign-out form: sets an HttpOnly, Secure, SameSite=Strict session cookie; "
          "403 without the form's CSRF token (the dcsrf_ cookie's value, sealed)",
          lambda c: web("dashboard").sign_in(services(), c.request, c.params["business_id"]), tags=PAGES,
          form={"owner_key": {"type": "string"}, "action": {"enum": ["signout"]}, "csrf": {"type": "string"}},
          response="text/html", status=303, errors=(400, 401, 403, 404, 413, 415), page=True),
    # ---- issue #16: a business's Zalo Official Account (docs/zalo.md)
    Route("PUT", "/v1/businesses/{business_id}/zalo", "connect_zalo",
          "Connect a Zalo Official Account: app id, app secret, OA refresh token and approved ZNS template ids "
          "(voucher, apology, rating); checked by one token refresh, kept in Secrets Manager, never shown again",
          lambda c: services().zalo.connect(c.caller, c.body), **AS_OWNER, body=ZALO + "ZaloConnectIn",
          response=ZALO + "ZaloConnection", errors=(503,), cache=NO_STORE),
    Route("GET", "/v1/businesses/{business_id}/zalo", "get_zalo",
          "The Zalo connection: templates, token expiry, the last problem told to the owner; never a secret",
          lambda c: services().zalo.connection(c.caller), **AS_OWNER, response=ZALO + "ZaloConnection",
          errors=(503,)),
    Route("DELETE", "/v1/businesses/{business_id}/zalo", "disconnect_zalo",
          "Disconnect Zalo: its secrets are deleted; vouchers and apologies go by email again",
          lambda c: services().zalo.disconnect(c.caller), **AS_OWNER, response=ZALO + "ZaloConnection",
          errors=(503,)),
    # ---- the owner console (docs/console.md): HTML pages behind the console's own session cookie
    _console("GET", "", "console_today", "today",
             "The owner console's Today page (HTML): today's figures so far, latest answers, resolution figures, "
             "the 30-day trend; the sign-in page (401) without a session"),
    _console("GET", "/signin", "console_signin_page", "signin_page",
             "The console's sign-in page (HTML): ask for an emailed link, or use the owner key", also=(303,)),
    _console("POST", "/signin", "console_signin", "signin",
             "Email a one-time sign-in link to an owner address (the same answer for any address; sign-in "
             "emails are capped per business per 15 minutes), or sign in with the owner key (303)",
             form={**CSRF_FIELD, "method": {"enum": ["email", "key"]}, "email": {"type": "string"},
                   "owner_key": {"type": "string"}}, also=(303,)),
    _console("GET", "/signin/{token}", "console_signin_link", "link_page",
             "The page an emailed sign-in link opens: one button; opening it uses nothing (410 when it is "
             "expired or used)", errors=(404, 410)),
    _console("POST", "/signin/{token}", "console_signin_link_use", "use_link",
             "The sign-in link's button: uses the link up (once, within 15 minutes) and signs in (303)",
             form=CSRF_FIELD, status=303, errors=(*CONSOLE_FORM_ERRORS, 410)),
    _console("POST", "/signout", "console_signout", "signout",
             "Sign out of the console: the session ends server-side, copies of the cookie included (303)",
             form=CSRF_FIELD, status=303),
    _console("GET", "/cases", "console_inbox", "console_cases:inbox",
             "The complaint inbox (HTML): cases newest first, ?status= filters, an older-page link",
             params=(("lang", PAGE_LANG), ("status", {"type": "string"}), ("cursor", {"type": "string"})),
             errors=(400, 401, 404, 422)),
    _console("GET", "/cases/{response_id}", "console_case", "console_cases:case_page",
             "A case (HTML): the answer, comment, touchpoint, status and history, with the reply and resolve forms"),
    _console("POST", "/cases/{response_id}", "console_case_action", "console_cases:case_action",
             "Reply to the customer (emailed, threaded) or resolve the case, from its page; a refusal (no contact, "
             "unsubscribed, 5 replies, resolved) is a sentence on the page",
             form={**CSRF_FIELD, "action": {"enum": ["reply", "resolve"]}, "message": {"type": "string"},
                   "note": {"type": "string"}}, errors=(*CONSOLE_FORM_ERRORS, 409, 503)),
    _console("GET", "/setup", "console_setup", "console_setup:setup",
             "Setup (HTML): the business's settings, touchpoints, the widget snippet, POS keys, the owner key"),
    _console("POST", "/setup", "console_setup_action", "console_setup:setup_action",
             "One setup form: save the business, create / rename / retire (after a confirmation) a touchpoint, "
             "reveal or rotate the POS key, rotate the owner key (shown once; every session ends)",
             form={**CSRF_FIELD, "action": {"enum": ["business", "create", "rename", "retire", "pos_reveal",
                                                     "pos_rotate", "owner_key"]},
                   **{name: {"type": "string"} for name in (
                       "name", "owner_emails", "locale", "timezone", "sender_email", "allowed_origins",
                       "voucher_description", "voucher_days", "channel", "metric", "touchpoint_id", "confirm")}},
             errors=(*CONSOLE_FORM_ERRORS, 409, 410, 503)),
    _console("GET", "/print", "console_print", "console_setup:print_cards",
             "Print page (HTML): the A6 card of every active table (QR) touchpoint, one per page under @media print"),
    _console("GET", "/print/{touchpoint_id}", "console_print_card", "console_setup:print_card",
             "One A6 table card (SVG) for the print page, behind the console's session; ?lang= its language",
             response="image/svg+xml", errors=(401, 404, 410, 503)),
    _console("GET", "/why", "console_why", "why",
             "The console's Why page (HTML), from the newest stored report: reasons and topics ranked by effect, "
             "week-over-week share changes, label groups, a weekday x hour heatmap per touchpoint"),
    # ---- issue #16: the console's Zalo page (docs/zalo-ratings.md)
    _console("GET", "/zalo", "console_zalo", "console_zalo:zalo",
             "Zalo (HTML): the connected Official Account's templates, an ask-for-a-rating form, the last ratings "
             "received"),
    _console("POST", "/zalo", "console_zalo_action", "console_zalo:zalo_action",
             "Ask a customer for a rating through Zalo from the console (the POS route's rules and refusals)",
             form={**CSRF_FIELD, "action": {"enum": ["ask"]},
                   **{name: {"type": "string"} for name in ("phone", "receipt_id")}},
             errors=(*CONSOLE_FORM_ERRORS, 409, 429, 503)),
    # ---- issue #16: the console's Channels page (docs/sheets.md)
    _console("GET", "/channels", "console_channels", "console_channels:channels",
             "Channels (HTML): the Google Sheets feeds with their last read; the webhook and Slack endpoints with "
             "their status and latest deliveries"),
    _console("POST", "/channels", "console_channels_action", "console_channels:channels_action",
             "One Channels form: create a Google Sheets feed, or revoke one (the first press asks to confirm); add "
             "a webhook or Slack endpoint (its secret shown once), a new secret, resume, delete (after a confirmation)",
             form={**CSRF_FIELD, "action": {"enum": ["feed_create", "feed_revoke", "hook_add", "hook_rotate",
                                                     "hook_resume", "hook_delete"]},
                   **{name: {"type": "string"} for name in (
                       "name", "days", "feed_id", "confirm", "url", "kind", "webhook_id", "event_response_created",
                       "event_case_opened", "event_case_replied", "event_case_resolved", "event_report_daily")}},
             errors=(*CONSOLE_FORM_ERRORS, 409, 503)),
    _console("GET", "/till", "console_till", "till",
             "The till's redeem screen (HTML); ?code= fills the code in and never redeems",
             params=(("lang", PAGE_LANG), ("code", {"type": "string"}))),
    _console("POST", "/till", "console_redeem", "redeem",
             "Redeem a voucher from the till screen: valid, already used (when), expired or unknown, as a page",
             form={**CSRF_FIELD, "code": {"type": "string"}}),
    # ---- the closed loop by email (docs/email.md)
    Route("GET", "/u/{token}", "unsubscribe_page",
          "Unsubscribe page of an email's List-Unsubscribe link (HTML); changes nothing",
          lambda c: web("unsubscribe").show(services(), c.request, c.params["token"]), tags=PAGES,
          response="text/html", errors=(404,), page=True),
    Route("POST", "/u/{token}", "unsubscribe_now",
          "RFC 8058 one-click unsubscribe (List-Unsubscribe=One-Click); also the page's button",
          lambda c: web("unsubscribe").post(services(), c.request, c.params["token"]), tags=PAGES,
          # RFC 8058 allows both encodings of the one-click body.
          form={"List-Unsubscribe": {"enum": ["One-Click"]}}, form_required=("List-Unsubscribe",),
          form_types=(http.FORM_TYPE, "multipart/form-data"), response="text/html",
          errors=(400, 404, 413, 415, 422), page=True),
    # ---- issue #16: ratings through Zalo (docs/zalo-ratings.md)
    Route("POST", "/v1/businesses/{business_id}/zalo/ratings", "ask_zalo_rating",
          "Ask a customer for a service rating by Zalo (ZNS): one message per receipt (a repeat answers 200 with "
          "the first request), one per phone a day; 422 invalid_phone / phone_not_on_zalo, 409 "
          "zalo_not_connected / zalo_problem / phone_refused, 429 rating_capped, 503 zalo_unavailable (retry)",
          lambda c: _asked(services().zalo_ratings.ask(c.caller, c.body)), **AS_OWNER,
          body="chalicelib.domain.ratings:RatingAskIn", response="chalicelib.domain.ratings:RatingAsked",
          status=201, also=(200,), errors=(409, 429, 503)),
])  # fmt: skip


def _asked(asked: Any) -> Reply:
    return Reply(asked.body, 201 if asked.created else 200)


# ---- jobs: schedule, queues, the stream, SES feedback (parsed at the edge, chalicelib/web/events.py) ----

@app.schedule(Rate(1, unit=Rate.HOURS), name="report_schedule")
def report_schedule(event: CloudWatchEvent) -> None:
    # Only lists who is due and enqueues one message per business: the work is the consumer's.
    services().reports.schedule()


# The queue name is needed when chalice packages the app, before any settings are read.
REPORTS_QUEUE = os.environ.get("REPORTS_QUEUE_NAME") or "surveys-reports"


@app.on_sqs_message(queue=REPORTS_QUEUE, batch_size=1, name="report_worker")
def report_worker(event: SQSEvent) -> None:
    from chalicelib.domain.jobs import decode
    from chalicelib.web.events import queue_messages

    for job in queue_messages(event, decode, "dropping a report message that is not a job"):
        # An exception leaves the message on the queue: SQS retries it, then its dead-letter queue.
        services().reports.run(job)


# ---- the closed loop by email (docs/email.md) -------------------------------------------------------
# Names and ARNs are needed when chalice packages the app, before any settings are read; infra/ sets them.
RESPONSES_STREAM_ARN = (
    os.environ.get("RESPONSES_STREAM_ARN")
    or "arn:aws:dynamodb:ap-southeast-1:000000000000:table/surveys-local/stream/1970-01-01T00:00:00.000"
)
ALERT_QUEUE = os.environ.get("ALERT_QUEUE_NAME") or "surveys-alerts"
SES_EVENTS_TOPIC = os.environ.get("SES_EVENTS_TOPIC") or "surveys-ses-events"


@app.on_dynamodb_record(
    stream_arn=RESPONSES_STREAM_ARN, batch_size=25, starting_position="TRIM_HORIZON", name="followups"
)
def on_response_change(event: DynamoDBEvent) -> dict[str, Any]:
    # Vouchers, apologies, owner alerts, recovery; answers {"batchItemFailures": [...]} (the event source
    # mapping has ReportBatchItemFailures), so one bad record never holds back the others.
    from chalicelib.web.events import stream_batch

    return stream_batch(event.to_dict(), services().followups)


@app.on_sqs_message(queue=ALERT_QUEUE, batch_size=10, name="alert_flusher")
def flush_owner_alerts(event: SQSEvent) -> None:
    from chalicelib.domain.jobs import parse_alert_flush
    from chalicelib.web.events import queue_messages

    refusal = "dropping an alert-flush message that is not one"
    for business_id, window in queue_messages(event, parse_alert_flush, refusal):
        services().followups.flush_alerts(business_id, window)


@app.on_sns_message(topic=SES_EVENTS_TOPIC, name="ses_events")
def ses_events(event: SNSEvent) -> None:
    # Bounces and complaints from SES (configuration set -> SNS) become suppressions.
    from chalicelib.web.events import sns_message

    notification = sns_message(event.message)
    if notification is None:
        logger.warning("SES event is not JSON: ignored")
        return
    services().mail.record_feedback(notification)


# ---- issue #16: ratings through Zalo (docs/zalo-ratings.md) -------------------------------------------------

@app.schedule(Rate(15, unit=Rate.MINUTES), name="zalo_ratings_poll")
def zalo_ratings_poll(event: CloudWatchEvent) -> None:
    # Reads each recent business's ratings from Zalo and stores each once as a CSAT answer.
    services().zalo_ratings.poll()


# ---- issue #16: owners' webhooks and Slack (docs/webhooks.md) ---------------------------------------------
WEBHOOKS_QUEUE = os.environ.get("WEBHOOKS_QUEUE_NAME") or "surveys-webhooks"


@app.on_dynamodb_record(
    stream_arn=RESPONSES_STREAM_ARN, batch_size=25, starting_position="LATEST", name="webhook_events"
)
def webhook_events(event: DynamoDBEvent) -> dict[str, Any]:
    # The table's second stream consumer: owner events, queued once per endpoint; a customer never waits.
    from chalicelib.domain.calendar import iso_utc
    from chalicelib.web.events import webhook_batch

    found = services()
    return webhook_batch(event.to_dict(), found.webhooks, iso_utc(found.clock.now()))


@app.on_sqs_message(queue=WEBHOOKS_QUEUE, batch_size=1, name="webhook_worker")
def webhook_worker(event: SQSEvent) -> None:
    # One delivery per invocation: a slow endpoint (5 s timeout) holds no other delivery behind it.
    from chalicelib.web.events import json_message, queue_messages

    for message in queue_messages(event, json_message, "dropping a webhook message that is not one"):
        services().webhooks.deliver(message)
