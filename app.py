"""The routing table: each route parses its input into a model, calls one service, answers.

No boto3, no business rules, no HTML here. Heavy modules (pages, CSV, OpenAPI) are imported inside the
routes that need them, so a submission's cold start does not pay for them.
"""

from __future__ import annotations

import os

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")  # skips an entry-point scan at first model build

from chalice import Chalice, ConvertToMiddleware, Rate, Response

from chalicelib.domain.models import (
    BusinessIn,
    CommentIn,
    ErasureQuery,
    LinksIn,
    MetricsQuery,
    ResponseIn,
    ResponsesQuery,
    TouchpointIn,
)
from chalicelib.observability import logger, traced
from chalicelib.services.submissions import RequestMeta
from chalicelib.web import http
from chalicelib.wiring import services

# configure_logs=False: powertools' Logger owns logging, or every line would be written twice.
app = Chalice(app_name="surveys", configure_logs=False)
app.api.binary_types.append("image/png")
routes = http.bind(app)

# On Lambda the configuration (secrets included, chalicelib/secrets.py) is read and checked while the
# function initialises: a missing or malformed value fails the cold start with one message naming it,
# never the first customer's request.
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    from chalicelib.settings import get_settings

    get_settings()


# Every handler (API, stream, schedule, queue): the Lambda context (cold start, request id) in each log
# line, keys of the previous invocation cleared, and an X-Ray subsegment when tracing is on.
app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context(clear_state=True)))


@app.middleware("all")
def trace(event, get_response):  # type: ignore[no-untyped-def]
    # Chalice sets app.lambda_context only for HTTP events: stream, queue and schedule handlers have none.
    with traced(getattr(getattr(app, "lambda_context", None), "function_name", None) or "handler"):
        return get_response(event)


@app.middleware("http")
def observe(event, get_response):  # type: ignore[no-untyped-def]
    # The API Gateway request id is the correlation id: the client sees it as X-Request-Id.
    request_id = (event.context or {}).get("requestId") or http.request_id_header(event) or getattr(
        app.lambda_context, "aws_request_id", None
    )
    logger.set_correlation_id(request_id)
    logger.append_keys(method=event.method, path=(event.context or {}).get("resourcePath"))
    response = http.boundary_middleware(event, get_response)
    if request_id:
        response.headers["X-Request-Id"] = str(request_id)[:100]
    logger.info("request", extra={"status": response.status_code})
    return response


def _meta(request) -> RequestMeta:  # type: ignore[no-untyped-def]
    return RequestMeta(
        origin=http.header(request, "origin"),
        source_ip=http.source_ip(request),
        idempotency_key=http.header(request, "idempotency-key"),
    )


# ---- public -----------------------------------------------------------------------------------------


@routes.json("/healthz", methods=["GET"])
def healthz() -> dict:
    return {"status": "ok"}


@routes.json("/openapi.json", methods=["GET"])
def openapi() -> Response:
    from chalicelib.web.openapi import spec

    return http.respond(spec(app), headers={"Cache-Control": "public, max-age=300"})


def _body_site_origin(request) -> str | None:  # type: ignore[no-untyped-def]
    return services().sites.allowed_origin(http.body_site_key(request), http.header(request, "origin"))


def _path_site_origin(request) -> str | None:  # type: ignore[no-untyped-def]
    site_key = (request.uri_params or {}).get("site_key")
    return services().sites.allowed_origin(site_key, http.header(request, "origin"))


# Site-key answers carry CORS headers for an allowed origin on every status, refusals included.
@routes.json("/v1/responses", methods=["POST"], cors=_body_site_origin)
def submit_response() -> Response:
    request = app.current_request
    data = http.json_body(request, ResponseIn)
    result = services().submissions.submit(data, _meta(request))
    return http.respond(result.body, result.status)


@routes.json("/v1/responses/{response_id}/comment", methods=["POST"])
def add_comment(response_id: str) -> Response:
    data = http.json_body(app.current_request, CommentIn)
    return http.respond(services().submissions.add_comment(response_id, data))


@routes.html("/s/{token}", methods=["GET"])
def survey_page(token: str) -> Response:
    from chalicelib.web import survey

    return survey.show(services().submissions, app.current_request, token)


@routes.html("/s/{token}", methods=["POST"])
def survey_post(token: str) -> Response:
    from chalicelib.web import survey

    return survey.post(services().submissions, app.current_request, token, _meta(app.current_request))


@routes.json("/widget.js", methods=["GET"])
def widget_js() -> Response:
    from chalicelib.web import widget

    return widget.respond(app.current_request, http.query(app.current_request, widget.WidgetQuery))


@routes.json("/v1/sites/{site_key}", methods=["GET"], cors=_path_site_origin)
def site_check(site_key: str) -> Response:
    from chalicelib.domain.models import SiteQuery

    request = app.current_request
    config = services().sites.check(site_key, http.header(request, "origin"), http.query(request, SiteQuery))
    # Each answer carries a fresh single-use nonce: no cache may hand it to a second page view.
    return http.respond(config, 200, {"Cache-Control": "no-store"})


# ---- owners -----------------------------------------------------------------------------------------


def _caller(business_id: str):  # type: ignore[no-untyped-def]
    return services().access.authenticate(http.header(app.current_request, "authorization"), business_id)


@routes.json("/v1/businesses", methods=["POST"])
def create_business() -> Response:
    access = services().access
    access.require_admin(http.header(app.current_request, "authorization"))
    data = http.json_body(app.current_request, BusinessIn)
    return http.respond(access.create_business(data), 201)


@routes.json("/v1/businesses/{business_id}/touchpoints", methods=["POST"])
def create_touchpoint(business_id: str) -> Response:
    caller = _caller(business_id)
    data = http.json_body(app.current_request, TouchpointIn)
    return http.respond(services().links.create_touchpoint(caller, data), 201)


@routes.json("/v1/businesses/{business_id}/links", methods=["POST"])
def mint_links(business_id: str) -> Response:
    caller = _caller(business_id)
    data = http.json_body(app.current_request, LinksIn)
    return http.respond(services().links.mint(caller, data), 201)


@routes.json("/v1/businesses/{business_id}/touchpoints/{touchpoint_id}/qr.svg", methods=["GET"])
def touchpoint_qr_svg(business_id: str, touchpoint_id: str) -> Response:
    from chalicelib.web import qr

    caller = _caller(business_id)
    query = http.query(app.current_request, qr.QrQuery)
    link = services().links.touchpoint_link(caller, touchpoint_id)
    return qr.svg_response(qr.qr_svg(link, query.scale), f"qr-{touchpoint_id}.svg")


@routes.json("/v1/businesses/{business_id}/touchpoints/{touchpoint_id}/qr.png", methods=["GET"])
def touchpoint_qr_png(business_id: str, touchpoint_id: str) -> Response:
    from chalicelib.web import qr

    caller = _caller(business_id)
    query = http.query(app.current_request, qr.QrQuery)
    link = services().links.touchpoint_link(caller, touchpoint_id)
    return qr.png_response(qr.qr_png(link, query.scale), f"qr-{touchpoint_id}.png")


@routes.json("/v1/businesses/{business_id}/touchpoints/{touchpoint_id}/card.svg", methods=["GET"])
def touchpoint_card(business_id: str, touchpoint_id: str) -> Response:
    from chalicelib.web import qr

    caller = _caller(business_id)
    query = http.query(app.current_request, qr.CardQuery)
    link = services().links.touchpoint_link(caller, touchpoint_id)
    return qr.svg_response(qr.card_svg(link, query.lang), f"card-{touchpoint_id}.svg")


# #11 item 7: owner-key rotation. The new key is in this answer only: never cached, never stored in clear.
@routes.json("/v1/businesses/{business_id}/owner-key", methods=["POST"])
def rotate_owner_key(business_id: str) -> Response:
    rotated = services().access.rotate_owner_key(_caller(business_id))
    return http.respond(rotated, 201, {"Cache-Control": "no-store"})


@routes.json("/v1/businesses/{business_id}/pos-secret", methods=["GET"])
def reveal_pos_secret(business_id: str) -> Response:
    secret = services().pos_keys.reveal(_caller(business_id))
    return http.respond(secret, 200, {"Cache-Control": "no-store"})


@routes.json("/v1/businesses/{business_id}/pos-secret", methods=["POST"])
def rotate_pos_secret(business_id: str) -> Response:
    secret = services().pos_keys.rotate(_caller(business_id))
    return http.respond(secret, 201, {"Cache-Control": "no-store"})


@routes.json("/v1/businesses/{business_id}/pos-secret/{key_id}", methods=["DELETE"])
def retire_pos_key(business_id: str, key_id: str) -> Response:
    return http.respond(services().pos_keys.retire(_caller(business_id), key_id))


@routes.json("/v1/businesses/{business_id}/responses", methods=["GET"])
def list_responses(business_id: str) -> Response:
    caller = _caller(business_id)
    query = http.query(app.current_request, ResponsesQuery)
    page = services().insights.list_responses(caller, query)
    if query.format == "csv":
        from chalicelib.web.exports import csv_response

        return csv_response(page, business_id)
    return http.respond(page)


@routes.json("/v1/businesses/{business_id}/metrics", methods=["GET"])
def metrics(business_id: str) -> Response:
    caller = _caller(business_id)
    query = http.query(app.current_request, MetricsQuery)
    return http.respond(services().insights.metrics(caller, query))


@routes.json("/v1/businesses/{business_id}/respondents", methods=["DELETE"])
def erase_respondent(business_id: str) -> Response:
    caller = _caller(business_id)
    query = http.query(app.current_request, ErasureQuery)
    return http.respond(services().privacy.erase_respondent(caller, query.email))


# ---- daily reports and the dashboard (docs/reports.md) ---------------------------------------------


@routes.json("/v1/businesses/{business_id}/reports/daily/{day}", methods=["GET"])
def daily_report(business_id: str, day: str) -> Response:
    caller = _caller(business_id)
    return http.respond(services().reports.daily_report(caller.business, day))


@routes.html("/dashboard/{business_id}", methods=["GET"])
def dashboard_page(business_id: str) -> Response:
    from chalicelib.web import dashboard

    return dashboard.show(services(), app.current_request, business_id)


@routes.html("/dashboard/{business_id}", methods=["POST"])
def dashboard_sign_in(business_id: str) -> Response:
    from chalicelib.web import dashboard

    return dashboard.sign_in(services(), app.current_request, business_id)


@app.schedule(Rate(1, unit=Rate.HOURS), name="report_schedule")
def report_schedule(event) -> None:  # type: ignore[no-untyped-def]
    # Only lists who is due and enqueues one message per business: the work is the consumer's.
    services().reports.schedule()


# The queue name is needed when chalice packages the app, before any settings are read.
REPORTS_QUEUE = os.environ.get("REPORTS_QUEUE_NAME") or "surveys-reports"


@app.on_sqs_message(queue=REPORTS_QUEUE, batch_size=1, name="report_worker")
def report_worker(event) -> None:  # type: ignore[no-untyped-def]
    from chalicelib.adapters.sqs import decode

    for record in event:
        job = decode(record.body)
        if job is None:
            logger.warning("dropping a report message that is not a job", extra={"body": record.body[:200]})
            continue
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
def on_response_change(event) -> dict:  # type: ignore[no-untyped-def]
    # Vouchers, apologies, owner alerts, recovery; answers {"batchItemFailures": [...]} (the event source
    # mapping has ReportBatchItemFailures), so one bad record never holds back the others.
    return services().followups.process_stream(event.to_dict())


@app.on_sqs_message(queue=ALERT_QUEUE, batch_size=10, name="alert_flusher")
def flush_owner_alerts(event) -> None:  # type: ignore[no-untyped-def]
    from chalicelib.adapters.sqs import parse_alert_flush

    for record in event:
        window = parse_alert_flush(record.body)
        if window is None:
            logger.warning("dropping an alert-flush message that is not one", extra={"body": record.body[:200]})
            continue
        services().followups.flush_alerts(*window)


@app.on_sns_message(topic=SES_EVENTS_TOPIC, name="ses_events")
def ses_events(event) -> None:  # type: ignore[no-untyped-def]
    # Bounces and complaints from SES (configuration set -> SNS) become suppressions.
    services().mail.record_feedback(event.message)


@routes.json("/v1/businesses/{business_id}/vouchers/{code}/redeem", methods=["POST"])
def redeem_voucher(business_id: str, code: str) -> Response:
    caller = _caller(business_id)
    return http.respond(services().followups.redeem(caller.business, code))


@routes.html("/u/{token}", methods=["GET"])
def unsubscribe_page(token: str) -> Response:
    from chalicelib.web import unsubscribe

    return unsubscribe.show(services(), app.current_request, token)


@routes.html("/u/{token}", methods=["POST"])
def unsubscribe_now(token: str) -> Response:
    from chalicelib.web import unsubscribe

    return unsubscribe.post(services(), app.current_request, token)
