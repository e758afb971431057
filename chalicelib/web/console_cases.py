"""The console's complaint inbox (issue #14): the list of cases by status with an "older" link, and a case's
page with its answer, history, and the reply and resolve forms, through ``services().cases`` with the
signed-in owner as the ``Caller`` (its ``actor`` is who a case's history names).

A refusal of the cases service (no contact, unsubscribed, 5 replies, resolved, changed meanwhile) or a
message the model refuses is a sentence on the case's page in the owner's language, never a 5xx.
"""

from __future__ import annotations

from typing import Any

from chalice import Response
from pydantic import ValidationError

from chalicelib.domain.calendar import parse_iso_utc, zone
from chalicelib.domain.cases import STATUSES, Case, CasesQuery, ReplyIn, ResolveIn
from chalicelib.errors import Conflict
from chalicelib.web import i18n
from chalicelib.web.console import Page, signed_in

_RESPONSE_ID = 40  # longer ids are no response id of ours: the cases service answers 404 for them


def when(created_at: str | None, timezone: str) -> str:
    """YYYY-MM-DD HH:MM in the business's zone."""
    if not created_at:
        return ""
    try:
        return parse_iso_utc(created_at).astimezone(zone(timezone)).strftime("%Y-%m-%d %H:%M")
    except (ValueError, KeyError):
        return ""


def _inbox(page: Page) -> Response:
    assert page.session is not None
    asked = page.request.query_params or {}
    status = asked.get("status") if asked.get("status") in STATUSES else None
    cursor = (asked.get("cursor") or "")[:1024] or None
    found = page.services.cases.list(page.session.caller, CasesQuery(status=status, cursor=cursor))
    tz = page.session.business.timezone
    filters = [(None, page.t["all"], page.url("/cases"))] + [
        (s, page.t[f"status_{s}"], page.url("/cases", status=s)) for s in STATUSES
    ]
    older = None
    if found.next_cursor:
        older = page.url("/cases", **({"status": status} if status else {}), cursor=found.next_cursor)
    items = [
        {"case": c, "when": when(c.created_at, tz), "href": page.url(f"/cases/{c.response_id}")} for c in found.items
    ]
    return page.render(
        "console/inbox.html.j2", current="inbox", title=page.t["inbox"], items=items, filters=filters, chosen=status,
        older=older, d=i18n.DIGEST[page.locale],
    )


def _case(page: Page, case: Case | None = None, *, status: int = 200, **shown: Any) -> Response:
    assert page.session is not None
    response_id = str((page.request.uri_params or {}).get("response_id", ""))[:_RESPONSE_ID]
    case = case or page.services.cases.get(page.session.caller, response_id)
    tz = page.session.business.timezone
    touchpoint = page.services.directory.touchpoint(page.business_id, case.touchpoint_id)
    history = [
        {"event": e, "when": when(e.at, tz), "by": page.t["by_customer"] if e.by == "customer" else e.by}
        for e in case.history
    ]
    values = {"notice": None, "refusal": None, "message": "", "note": "", **shown}
    return page.render(
        "console/case.html.j2", status, current="inbox", title=page.t["case"], case=case, history=history,
        when=when(case.created_at, tz), touchpoint=touchpoint.name if touchpoint else case.touchpoint_id,
        action=page.url(f"/cases/{case.response_id}"), d=i18n.DIGEST[page.locale],
        channels=i18n.CHANNELS[page.locale], **values,
    )


def _act(page: Page) -> Response:
    """POST: reply (emailed to the customer) or resolve (optional note), then the case again."""
    assert page.session is not None
    response_id = str((page.request.uri_params or {}).get("response_id", ""))[:_RESPONSE_ID]
    cases, caller = page.services.cases, page.session.caller
    message, note = page.form.get("message") or "", page.form.get("note") or ""
    try:
        if page.form.get("action") == "resolve":
            done = cases.resolve(caller, response_id, ResolveIn(note=note or None))
            return _case(page, done, notice=page.t["resolved_ok"])
        done = cases.reply(caller, response_id, ReplyIn(message=message))
        return _case(page, done, notice=page.t["replied_ok"])
    except ValidationError:
        return _case(page, status=422, refusal=page.t["refused_invalid"], message=message[:2000], note=note[:2000])
    except Conflict as refused:
        sentence = page.t.get(f"refused_{refused.code}", str(refused))
        return _case(page, status=409, refusal=sentence, message=message[:2000], note=note[:2000])


inbox = signed_in(_inbox)
case_page = signed_in(_case)
case_action = signed_in(_act, post=True)
