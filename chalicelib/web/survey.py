"""The survey page routes' logic: verify the link, render, record a tap, take the comment form."""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib.domain.models import CommentIn, ResponseIn
from chalicelib.errors import InvalidInput
from chalicelib.services.submissions import RequestMeta, Submissions
from chalicelib.web import http, pages


def _locale(request: Any, default: str) -> str:
    asked = (request.query_params or {}).get("lang")
    return asked if asked in pages.TEXT else default


def show(submissions: Submissions, request: Any, token: str) -> Response:
    params = request.query_params or {}
    if set(params) - {"score", "lang"}:
        raise InvalidInput("Unknown parameter.")
    opened = submissions.open_link(token)
    locale = _locale(request, opened.business.locale)
    chosen = None
    if "score" in params:
        raw = params["score"]
        low, high = pages.SCALE[opened.claims.metric][0], pages.SCALE[opened.claims.metric][-1]
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise InvalidInput(f"The score must be a whole number from {low} to {high}.")
        chosen = int(raw)
    # Counted only once the request is known good: a refused request changes nothing.
    submissions.count_open(opened)
    body = pages.survey_page(
        locale=locale,
        business_name=opened.business.name,
        metric=opened.claims.metric,
        action=f"/s/{token}" + (f"?lang={locale}" if "lang" in params else ""),
        chosen=chosen,
    )
    return http.html(body)


def post(submissions: Submissions, request: Any, token: str, meta: RequestMeta) -> Response:
    form = http.form_body(request)
    opened = submissions.open_link(token)
    locale = _locale(request, opened.business.locale)
    if "edit_token" in form:
        if not form.get("comment") and not form.get("email"):
            return http.html(pages.saved_page(locale=locale))
        data = http.validate(
            CommentIn,
            {
                "edit_token": form.get("edit_token", ""),
                "comment": form.get("comment") or None,
                "email": form.get("email") or None,
                "consent": form.get("consent") == "true",
            },
        )
        submissions.add_comment(form.get("response_id", ""), data)
        return http.html(pages.saved_page(locale=locale))
    raw = form.get("score", "")
    if not raw.isdigit() or len(raw) > 2:
        raise InvalidInput("Choose a score.")
    # Same-origin form post: the page and this route share the token, no Origin or site key involved.
    result = submissions.submit(
        http.validate(ResponseIn, {"token": token, "score": int(raw), "locale": locale}),
        RequestMeta(source_ip=meta.source_ip, user_agent=meta.user_agent, accept_language=meta.accept_language),
    )
    body = pages.thank_you_page(
        locale=locale,
        business_name=opened.business.name,
        action=f"/s/{token}",
        score=int(raw),
        response_id=result.body.response_id,
        edit_token=result.body.edit_token,
    )
    return http.html(body)
