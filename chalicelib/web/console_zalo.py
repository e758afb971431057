"""The console's Zalo page (issue #16, docs/zalo-ratings.md): whether the business's Zalo Official Account
is connected and with which templates (through ``services().zalo``), an "ask for a rating" form (the same
service call as the POS's ``POST .../zalo/ratings``) and the last ratings received (answers of the zalo
touchpoint). A refusal is a sentence on the page."""

from __future__ import annotations

from typing import Any

from chalice import Response
from pydantic import ValidationError

from chalicelib.domain.models import ResponsesQuery
from chalicelib.domain.ratings import ZALO_TOUCHPOINT, RatingAskIn
from chalicelib.errors import DomainError
from chalicelib.web import i18n
from chalicelib.web.console import Page, signed_in
from chalicelib.web.console_cases import when
from chalicelib.web.console_setup import exc_status

KINDS = ("voucher", "apology", "rating")
_SHOWN_RATINGS = 20


def _connection(page: Page) -> dict[str, str | None]:
    """The approved template of each message kind, None where the business has none (not connected)."""
    biz = page.business_id
    return {kind: page.services.zalo.template(biz, kind) for kind in KINDS}


def _zalo(page: Page, status: int = 200, refusal: str | None = None, **shown: Any) -> Response:
    assert page.session is not None
    caller, words = page.session.caller, i18n.ZALO_PAGE[page.locale]
    timezone = page.session.business.timezone
    query = ResponsesQuery.model_validate({"touchpoint_id": ZALO_TOUCHPOINT, "limit": _SHOWN_RATINGS})
    received = [
        {"stars": "★" * r.score + "☆" * (5 - r.score), "when": when(r.created_at, timezone), "comment": r.comment,
         "receipt": r.receipt_id}
        for r in page.services.insights.list_responses(caller, query).items
    ]
    values = {"notice": None, "refusal": refusal, **shown}
    return page.render(
        "console/zalo.html.j2", status, current="zalo", title=words["title"], c=words, kinds=KINDS,
        connection=_connection(page), received=received, action=page.url("/zalo"), **values,
    )


def _zalo_action(page: Page) -> Response:
    assert page.session is not None
    form, words = page.form, i18n.ZALO_PAGE[page.locale]
    if form.get("action") != "ask":
        return _zalo(page, 422, refusal=page.t["error"])
    try:
        receipt = form.get("receipt_id", "").strip() or None
        body = RatingAskIn.model_validate({"phone": form.get("phone", ""), "receipt_id": receipt})
        asked = page.services.zalo_ratings.ask(page.session.caller, body)
    except (ValidationError, DomainError) as exc:
        return _zalo(page, *_refusal(exc))
    return _zalo(page, notice=words["asked"] if asked.created else words["asked_before"])


def _refusal(exc: ValidationError | DomainError) -> tuple[int, str]:
    if isinstance(exc, DomainError):
        return exc_status(exc), str(exc)
    problem = exc.errors()[0]
    return 422, f"{problem['loc'][-1] if problem['loc'] else ''}: {problem['msg']}"


zalo = signed_in(_zalo)
zalo_action = signed_in(_zalo_action, post=True)
