"""The survey page routes' logic: verify the link, render, record a tap, take the comment form.

Form actions are relative (``<token>?lang=..``) so the pages work under any path prefix, such as an API
Gateway stage. Mistakes in the comment form come back as the same form with the person's text kept
and one sentence saying what to fix, in their language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib.domain import reasons
from chalicelib.domain.metrics import SCALES, is_unhappy, score_in_range
from chalicelib.domain.models import MAX_COMMENT_CHARS, CommentIn, Locale, ResponseIn
from chalicelib.errors import DomainError, InvalidInput
from chalicelib.services.directory import in_use
from chalicelib.services.submissions import OpenedLink, RequestMeta, Submissions
from chalicelib.web import http, i18n, pages


def _asked_locale(request: Any) -> Locale | None:
    asked = (request.query_params or {}).get("lang")
    return i18n.supported(asked) if asked in i18n.LOCALES else None


def _fallback_locale(request: Any) -> Locale:
    """Before the link is known good: ?lang=, else the browser's first language we speak, else Vietnamese."""
    asked = _asked_locale(request)
    if asked:
        return asked
    for part in (request.headers.get("accept-language") or "")[:200].split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in i18n.LOCALES:
            return i18n.supported(tag)
    return i18n.DEFAULT_LOCALE


def _friendly[T](request: Any, run: Callable[[], T]) -> T:
    # Error pages speak the person's language: the link's when it is known, else their browser's.
    try:
        return run()
    except DomainError as exc:
        pages.localize(exc, _fallback_locale(request), keep=True)
        raise


def _open(submissions: Submissions, request: Any, token: str) -> tuple[OpenedLink, Locale]:
    opened = submissions.verify_link(token)
    locale = _asked_locale(request) or opened.business.locale
    try:
        in_use(opened.touchpoint)
    except DomainError as exc:
        # A retired table's QR code: "no longer in use", in the link's language, not the browser's.
        raise pages.localize(exc, locale) from None
    return opened, locale


def show(submissions: Submissions, request: Any, token: str) -> Response:
    return _friendly(request, lambda: _show(submissions, request, token))


def _show(submissions: Submissions, request: Any, token: str) -> Response:
    # Other parameters are ignored, not refused: mail and analytics tools append utm_* to every link.
    params = request.query_params or {}
    opened, locale = _open(submissions, request, token)
    metric = opened.claims.metric
    chosen = None
    if "score" in params:
        raw = params["score"]
        low, high = SCALES[metric]
        if not raw.isdigit() or len(raw) > 2 or not low <= int(raw) <= high:
            raise pages.localize(InvalidInput(f"The score must be a whole number from {low} to {high}."), locale)
        chosen = int(raw)
    # Counted only once the request is known good: a refused request changes nothing.
    submissions.count_open(opened)
    other = "en" if locale == "vi" else "vi"
    body = pages.survey_page(
        locale=locale,
        business_name=opened.business.name,
        metric=metric,
        action=token + (f"?lang={locale}" if "lang" in params else ""),
        chosen=chosen,
        other_lang_url=f"{token}?lang={other}",
        nonce=submissions.page_nonce(opened),
    )
    # private, no-cache: a reload or a new scan fetches a new page (a new nonce: a new answer), while the
    # back button may show this very page again, so a changed mind re-taps the same answer.
    return http.html(body, headers={"Cache-Control": "private, no-cache"})


def post(submissions: Submissions, request: Any, token: str, meta: RequestMeta) -> Response:
    return _friendly(request, lambda: _post(submissions, request, token, meta))


def _post(submissions: Submissions, request: Any, token: str, meta: RequestMeta) -> Response:
    pairs = http.form_pairs(request)
    form = dict(pairs)
    opened, locale = _open(submissions, request, token)
    action = token + (f"?lang={locale}" if _asked_locale(request) else "")
    if "edit_token" in form:
        chosen = [value for name, value in pairs if name == "reasons"]
        return _comment(submissions, form, chosen, opened, locale, action)
    raw = form.get("score", "")
    if not raw.isdigit() or len(raw) > 2:
        raise pages.localize(InvalidInput("Choose a score."), locale)
    # Same-origin form post: the page and this route share the token, no Origin or site key involved.
    # The page's nonce makes this tap this page view's answer (a second tap on it changes that answer).
    answer = {"token": token, "score": int(raw), "locale": locale}
    if form.get("nonce"):
        answer["nonce"] = form["nonce"][:300]
    try:
        result = submissions.submit(http.validate(ResponseIn, answer), RequestMeta(source_ip=meta.source_ip))
    except DomainError as exc:
        raise pages.localize(exc, locale) from None
    body = pages.thank_you_page(
        locale=locale,
        business_name=opened.business.name,
        action=action,
        score=int(raw),
        response_id=result.body.response_id,
        edit_token=result.body.edit_token,
        voucher=opened.business.voucher.description if opened.business.voucher else None,
        chips=_chips(opened, result.body.unhappy, locale),
        ask_phone=opened.business.zalo,
    )
    return http.html(body)


def _chips(opened: OpenedLink, unhappy: bool, locale: Locale) -> list[tuple[str, str]]:
    # The touchpoint as cached for this request: the chips it offers now, as the comment route checks.
    offered = reasons.chips(opened.claims.metric, opened.touchpoint.reasons, reasons.mood(unhappy), locale)
    return [(chip.key, chip.label) for chip in offered]


def _comment(
    submissions: Submissions,
    form: dict[str, str],
    chosen: list[str],
    opened: OpenedLink,
    locale: Locale,
    action: str,
) -> Response:
    if form.get("website"):  # the hidden field: only a bot fills it in
        return http.html(pages.saved_page(locale=locale))
    comment = form.get("comment", "").strip()
    email = form.get("email", "").strip()
    phone = form.get("phone", "").strip() if opened.business.zalo else ""
    consent = form.get("consent") == "true"
    if not comment and not email and not phone and not chosen:
        return http.html(pages.saved_page(locale=locale))
    text = i18n.SURVEY[locale]
    shown = form.get("score_shown", "")
    score = int(shown) if shown.isdigit() and len(shown) <= 2 else 0

    def again(problem: str) -> Response:
        # The chips of the score the page showed (the stored answer's mood decides what is accepted).
        metric = opened.claims.metric
        unhappy = score_in_range(metric, score) and is_unhappy(metric, score)
        page = pages.thank_you_page(
            locale=locale,
            business_name=opened.business.name,
            action=action,
            score=score,
            response_id=form.get("response_id", "")[:64],
            edit_token=form.get("edit_token", "")[:256],
            voucher=opened.business.voucher.description if opened.business.voucher else None,
            comment=comment[: MAX_COMMENT_CHARS * 2],
            email=email[:254],
            consent=consent,
            error=problem,
            chips=_chips(opened, unhappy, locale),
            chosen_reasons=[key[:40] for key in chosen],
            ask_phone=opened.business.zalo,
            phone=phone[:32],
        )
        return http.html(page, 422)

    if len(comment) > MAX_COMMENT_CHARS:
        return again(text["too_long"].format(max=MAX_COMMENT_CHARS))
    if (email or phone) and not consent:
        return again(text["consent_required"])
    try:
        data = http.validate(
            CommentIn,
            {
                "edit_token": form.get("edit_token", ""),
                "comment": comment or None,
                "email": email or None,
                "phone": phone or None,
                "consent": consent,
                # Only when chosen: a comment alone leaves chips saved before as they are.
                **({"reasons": chosen} if chosen else {}),
            },
        )
    except InvalidInput as exc:
        if any(d.get("field") == "email" for d in exc.details):
            return again(text["bad_email"])
        if any(d.get("field") == "phone" for d in exc.details):
            return again(text["bad_phone"])
        if any(str(d.get("field", "")).startswith("reasons") for d in exc.details):
            return again(text["bad_reason"])
        raise pages.localize(exc, locale) from None
    try:
        submissions.add_comment(form.get("response_id", ""), data)
    except InvalidInput as exc:
        if exc.code == "unknown_reason":
            return again(text["bad_reason"])
        raise pages.localize(exc, locale) from None
    except DomainError as exc:
        raise pages.localize(exc, locale) from None
    return http.html(pages.saved_page(locale=locale))
