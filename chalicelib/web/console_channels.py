"""The console's Channels page (issue #16): the Google Sheets feeds of the business, listed with their last
read, created (the ``=IMPORTDATA(...)`` formula shown to copy) and revoked after a confirmation; and the
owners' webhooks and Slack endpoints: added (the secret shown once), deleted after a confirmation, a new
secret, resumed when paused, with each endpoint's recent deliveries. Through ``services().feeds`` and
``services().webhooks`` with the signed-in owner as the ``Caller``. A refusal is a sentence on the page."""

from __future__ import annotations

from typing import Any

from chalice import Response
from pydantic import ValidationError

from chalicelib.domain.feeds import DEFAULT_DAYS, MAX_DAYS, FeedIn
from chalicelib.domain.webhooks import EVENTS, WebhookIn
from chalicelib.errors import DomainError
from chalicelib.web import i18n
from chalicelib.web.console import Page, signed_in
from chalicelib.web.console_cases import when
from chalicelib.web.console_setup import exc_status

LOG_SHOWN = 5  # the API lists the last 100; the page shows the latest few of each endpoint


def _channels(page: Page, status: int = 200, **shown: Any) -> Response:
    assert page.session is not None
    feeds = page.services.feeds.list(page.session.caller).feeds
    words = i18n.REACH[page.locale]
    timezone = page.session.business.timezone
    rows = [
        {
            "id": f.feed_id,
            "name": f.name or words["unnamed"],
            "days": words["feed_days"].format(days=f.days),
            "read": words["last_read"].format(when=when(f.last_read_at, timezone), reads=f.reads)
            if f.last_read_at
            else words["never_read"],
        }
        for f in feeds
    ]
    hooks = []
    for hook in page.services.webhooks.list(page.session.caller).webhooks:
        log = page.services.webhooks.deliveries(page.session.caller, hook.webhook_id).deliveries[:LOG_SHOWN]
        hooks.append({
            "id": hook.webhook_id, "url": hook.url, "kind": words["kind_" + hook.kind],
            "events": ", ".join(hook.events), "status": hook.status, "log": [
                {"at": when(d.at, timezone), "type": d.type, "ok": d.ok, "result": str(d.status or d.error or ""),
                 "ms": d.latency_ms} for d in log
            ],
        })
    values = {"notice": None, "refusal": None, "created": None, "confirm": None, "secret": None,
              "confirm_hook": None, **shown}
    return page.render(
        "console/channels.html.j2", status, current="setup", title=words["title"], c=words, feeds=rows,
        action=page.url("/channels"), default_days=DEFAULT_DAYS, max_days=MAX_DAYS, hooks=hooks, events=EVENTS,
        **values,
    )


def _channels_action(page: Page) -> Response:
    assert page.session is not None
    form, caller, words = page.form, page.session.caller, i18n.REACH[page.locale]
    action = form.get("action", "")
    try:
        if action == "feed_create":
            days = form.get("days", "").strip()
            body = FeedIn.model_validate(
                {"name": form.get("name", "").strip() or None, "days": int(days) if days.isdigit() else days}
            )
            return _channels(page, created=page.services.feeds.create(caller, body).formula)
        feed_id = form.get("feed_id", "")[:40]
        if action == "feed_revoke" and form.get("confirm") != "yes":
            # The first press only asks: a sheet that reads the link stops updating for good.
            names = {f.feed_id: f.name for f in page.services.feeds.list(caller).feeds}
            if feed_id in names:
                return _channels(page, confirm={"id": feed_id, "name": names[feed_id] or words["unnamed"]})
        if action == "feed_revoke":
            page.services.feeds.revoke(caller, feed_id)
            return _channels(page, notice=words["revoked"])
        if action.startswith("hook_"):
            return _hook_action(page, action)
        return _channels(page, 422, refusal=page.t["error"])
    except ValidationError as exc:
        problem = exc.errors()[0]
        return _channels(page, 422, refusal=f"{problem['loc'][-1] if problem['loc'] else ''}: {problem['msg']}")
    except DomainError as exc:
        return _channels(page, exc_status(exc), refusal=str(exc))


def _hook_action(page: Page, action: str) -> Response:
    assert page.session is not None
    form, caller, words, hooks = page.form, page.session.caller, i18n.REACH[page.locale], page.services.webhooks
    if action == "hook_add":
        body = WebhookIn.model_validate({
            "url": form.get("url", "").strip(), "kind": form.get("kind", "json"),
            "events": [e for e in EVENTS if form.get("event_" + e.replace(".", "_")) == "on"],
        })
        return _channels(page, secret=hooks.register(caller, body).secret)
    hook_id = form.get("webhook_id", "")[:40]
    if action == "hook_rotate":
        return _channels(page, secret=hooks.rotate_secret(caller, hook_id).secret)
    if action == "hook_resume":
        hooks.resume(caller, hook_id)
        return _channels(page, notice=words["resumed"])
    if action == "hook_delete" and form.get("confirm") != "yes":
        urls = {h.webhook_id: h.url for h in hooks.list(caller).webhooks}
        if hook_id in urls:
            return _channels(page, confirm_hook={"id": hook_id, "url": urls[hook_id]})
    if action == "hook_delete":
        hooks.delete(caller, hook_id)
        return _channels(page, notice=words["deleted"])
    return _channels(page, 422, refusal=page.t["error"])


channels = signed_in(_channels)
channels_action = signed_in(_channels_action, post=True)
