"""Owners' webhooks and Slack (issue #16, docs/webhooks.md): endpoints registered through the owner API,
events fanned out from the table's stream to one queue message per endpoint, delivered signed, retried
with backoff for a day, then dead-lettered; an endpoint with no success for a day is paused and its owner
told once. A customer's answer never waits on any of it: the stream consumer only enqueues.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from chalicelib import tables
from chalicelib.domain import keys
from chalicelib.domain import webhooks as hooks
from chalicelib.domain.calendar import iso_utc, parse_iso_utc
from chalicelib.domain.models import Business
from chalicelib.domain.webhooks import (
    Delivery,
    DeliveryList,
    HostileUrl,
    StoredWebhook,
    WebhookCreated,
    WebhookIn,
    WebhookList,
    WebhookOut,
)
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.observability import count, logger
from chalicelib.ports import Clock, DeadLetters, HttpSender, RenderedEmail, WebhookQueue, WebhookStore
from chalicelib.services.access import Caller
from chalicelib.services.directory import Directory
from chalicelib.settings import Settings

# (business, event type, data) -> Slack's {"text": ...} body, in the business's language (web/slack.py).
SlackRenderer = Callable[[Business, str, Mapping[str, Any]], dict[str, Any]]
# (business, locale, url of the endpoint, console URL, unsubscribe URL) -> the "endpoint paused" email.
PausedRenderer = Callable[..., RenderedEmail]
MailLayer = Callable[[], Any]  # the mail layer, built when a pause is first told

_USER_AGENT = "survey-webhooks/1 (+docs/webhooks.md)"


class Webhooks:
    def __init__(
        self,
        store: WebhookStore,
        queue: WebhookQueue,
        sender: HttpSender,
        directory: Directory,
        clock: Clock,
        settings: Settings,
        *,
        dead_letters: DeadLetters,
        render_slack: SlackRenderer,
        render_paused: PausedRenderer,
        mail: MailLayer,
    ) -> None:
        self._store, self._queue, self._sender, self._directory = store, queue, sender, directory
        self._clock, self._settings, self._dead_letters = clock, settings, dead_letters
        self._render_slack, self._render_paused, self._mail = render_slack, render_paused, mail

    # ---- the owner API ---------------------------------------------------------------------------------

    def register(self, caller: Caller, body: WebhookIn) -> WebhookCreated:
        business_id = caller.business.business_id
        self._checked(body.url)
        if len(self._store.webhooks(business_id)) >= hooks.MAX_WEBHOOKS:
            raise Conflict(
                f"A business has at most {hooks.MAX_WEBHOOKS} endpoints: delete one first.", code="too_many_webhooks"
            )
        webhook = StoredWebhook(
            business_id=business_id,
            webhook_id=keys.new_id(),
            url=body.url,
            events=body.events,
            kind=body.kind,
            created_at=iso_utc(self._clock.now()),
        )
        self._store.put_webhook(webhook)
        return self._with_secret(webhook)

    def list(self, caller: Caller) -> WebhookList:
        found = sorted(self._store.webhooks(caller.business.business_id), key=lambda w: w.created_at)
        return WebhookList(webhooks=[w.out() for w in found])

    def delete(self, caller: Caller, webhook_id: str) -> WebhookOut:
        gone = self._store.delete_webhook(caller.business.business_id, webhook_id)
        if gone is None:
            raise NotFound("Unknown webhook.", code="webhook_not_found")
        return gone.out()

    def rotate_secret(self, caller: Caller, webhook_id: str) -> WebhookCreated:
        """A new secret, shown once: deliveries are signed with it from now on, the old one stops."""
        rotated = self._store.update_webhook(
            caller.business.business_id, webhook_id, "ADD secret_version :one", {":one": 1}
        )
        if rotated is None:
            raise NotFound("Unknown webhook.", code="webhook_not_found")
        return self._with_secret(rotated)

    def resume(self, caller: Caller, webhook_id: str) -> WebhookOut:
        """A paused endpoint takes deliveries again (of events from now on) and gets a new day to succeed."""
        resumed = self._store.update_webhook(
            caller.business.business_id, webhook_id, "SET #status = :active REMOVE paused_at, failing_since",
            {":active": "active"},
        )
        if resumed is None:
            raise NotFound("Unknown webhook.", code="webhook_not_found")
        return resumed.out()

    def deliveries(self, caller: Caller, webhook_id: str) -> DeliveryList:
        business_id = caller.business.business_id
        if self._store.get_webhook(business_id, webhook_id) is None:
            raise NotFound("Unknown webhook.", code="webhook_not_found")
        return DeliveryList(
            webhook_id=webhook_id, deliveries=self._store.deliveries(business_id, webhook_id, hooks.LOG_KEPT)
        )

    def _checked(self, url: str) -> None:
        try:
            self._sender.checked_address(url)
        except HostileUrl as exc:
            raise InvalidInput(f"This URL cannot receive webhooks: it {exc}.", code="url_not_allowed") from None

    def _with_secret(self, webhook: StoredWebhook) -> WebhookCreated:
        return WebhookCreated(**webhook.out().model_dump(), secret=self._secret(webhook))

    def _secret(self, webhook: StoredWebhook) -> str:
        return hooks.secret(self._settings.app_secret, webhook.business_id, webhook.webhook_id, webhook.secret_version)

    # ---- fan-out (the stream consumer) -----------------------------------------------------------------

    def publish(self, business_id: str, event_type: str, event_id: str, created_at: str, data: dict[str, Any]) -> int:
        """One queue message per active endpoint of the business that asked for this event; 0 without any
        (the common case: one Query of the business's partition, nothing sent)."""
        targets = [
            w for w in self._store.webhooks(business_id) if w.status == "active" and event_type in w.events
        ]
        if not targets:
            return 0
        touchpoint_id = data.get("touchpoint_id")
        if isinstance(touchpoint_id, str) and "touchpoint_name" not in data:
            touchpoint = self._directory.touchpoint(business_id, touchpoint_id)
            data = {**data, "touchpoint_name": touchpoint.name} if touchpoint is not None else data
        now = iso_utc(self._clock.now())
        event = {"id": event_id, "type": event_type, "created_at": created_at, "data": data}
        self._queue.send_all([
            {"business_id": business_id, "webhook_id": w.webhook_id, "event": event, "attempt": 1, "first_at": now}
            for w in targets
        ])
        count("WebhookEventsQueued", kind=event_type)
        return len(targets)

    # ---- delivery (the queue consumer) -----------------------------------------------------------------

    def deliver(self, message: Mapping[str, Any]) -> str:
        """One attempt of one delivery; the outcome, for logs and tests: ``delivered``, ``retrying``,
        ``dead_lettered``, ``gone`` (endpoint deleted) or ``paused`` (endpoint paused meanwhile)."""
        business_id, webhook_id = str(message["business_id"]), str(message["webhook_id"])
        event: Mapping[str, Any] = message["event"]
        attempt = int(message.get("attempt", 1))
        webhook = self._store.get_webhook(business_id, webhook_id)
        if webhook is None:
            return "gone"
        if webhook.status == "paused":
            return "paused"
        business = self._directory.business(business_id)
        if business is None:
            return "gone"
        body, headers = self._request(webhook, business, event)
        result = self._sender.post(webhook.url, body, headers)
        now = self._clock.now()
        self._store.record_attempt(
            business_id,
            webhook_id,
            Delivery(
                event_id=str(event["id"]), type=str(event["type"]), attempt=attempt, at=iso_utc(now),
                status=result.status, error=result.error, latency_ms=result.latency_ms, ok=result.ok,
            ),
        )
        if result.ok:
            self._store.update_webhook(business_id, webhook_id, "SET last_success_at = :t REMOVE failing_since",
                                       {":t": iso_utc(now)})
            count("WebhooksDelivered", kind=webhook.kind)
            return "delivered"
        count("WebhookAttemptsFailed", kind=webhook.kind)
        self._failed(business, webhook, now)
        first_at = parse_iso_utc(str(message.get("first_at") or iso_utc(now)))
        if now - first_at >= timedelta(seconds=hooks.RETRY_FOR_SECONDS):
            self._dead_letters.put({"kind": "webhook", **dict(message)})
            logger.warning("webhook delivery dead-lettered after a day of retries",
                           extra={"business_id": business_id, "webhook_id": webhook_id, "event_id": event["id"]})
            return "dead_lettered"
        self._queue.send({**dict(message), "attempt": attempt + 1}, delay_seconds=hooks.backoff_seconds(attempt))
        return "retrying"

    def _request(
        self, webhook: StoredWebhook, business: Business, event: Mapping[str, Any]
    ) -> tuple[bytes, dict[str, str]]:
        headers = {"Content-Type": "application/json", "User-Agent": _USER_AGENT}
        if webhook.kind == "slack":
            # Slack's incoming webhooks take {"text": ...} and no signature: the URL is the secret there.
            slack = self._render_slack(business, str(event["type"]), event.get("data") or {})
            return json.dumps(slack, ensure_ascii=False).encode(), headers
        body = hooks.envelope(str(event["id"]), str(event["type"]), str(event["created_at"]), event.get("data") or {})
        secret = self._secret(webhook)
        stamp = int(self._clock.now().timestamp())
        headers[hooks.SIGNATURE_HEADER] = hooks.signature(secret, stamp, body)
        headers["Survey-Event-Id"] = str(event["id"])
        return body, headers

    def _failed(self, business: Business, webhook: StoredWebhook, now: Any) -> None:
        """Remember when the failures began; after a day without a success, pause once and tell the owner."""
        failing = self._store.update_webhook(
            business.business_id, webhook.webhook_id, "SET failing_since = if_not_exists(failing_since, :t)",
            {":t": iso_utc(now)},
        )
        if failing is None or failing.failing_since is None or failing.status != "active":
            return
        if now - parse_iso_utc(failing.failing_since) < timedelta(seconds=hooks.PAUSE_AFTER_SECONDS):
            return
        paused = self._store.update_webhook(
            business.business_id, webhook.webhook_id, "SET #status = :paused, paused_at = :t",
            {":paused": "paused", ":t": iso_utc(now), ":active": "active"}, condition="#status = :active",
        )
        if paused is None:
            return  # another attempt paused it a moment ago, and told the owner
        count("WebhooksPaused")
        logger.warning("webhook endpoint paused after a day of failures",
                       extra={"business_id": business.business_id, "webhook_id": webhook.webhook_id})
        self._tell_owners(business, paused)

    def _tell_owners(self, business: Business, webhook: StoredWebhook) -> None:
        mail = self._mail()
        console = f"{self._settings.public_base_url.rstrip('/')}/console/{business.business_id}/channels"
        for number, owner in enumerate(business.owner_emails):
            rendered = self._render_paused(
                business, business.locale, url=webhook.url, console_url=console,
                unsubscribe_url=mail.unsubscribe_url(business.business_id, owner),
            )
            mail.deliver(
                kind="webhook_paused",
                dedupe_key=tables.owner_notice_mail(
                    business.business_id, f"webhook-paused-{webhook.webhook_id}-{webhook.paused_at}-{number}"
                ),
                business=business,
                to=owner,
                email=rendered,
                to_customer=False,
            )
