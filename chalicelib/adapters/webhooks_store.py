"""DynamoDB implementation of the ``WebhookStore`` port (issue #16): owners' endpoints and their delivery
log. Keys in ``chalicelib/tables.py``; no secret is stored (``domain.webhooks.secret`` derives it)."""

from __future__ import annotations

import secrets
import time
from typing import Any

from chalicelib import tables
from chalicelib.adapters.dynamodb import DynamoTable, _translated, conditional
from chalicelib.domain.webhooks import LOG_TTL_SECONDS, Delivery, StoredWebhook

_FIELDS = tuple(StoredWebhook.model_fields)


class DynamoWebhooks(DynamoTable):
    def put_webhook(self, webhook: StoredWebhook) -> None:
        keys = {"PK": tables.business_pk(webhook.business_id), "SK": tables.webhook_sk(webhook.webhook_id)}
        self._put_new({**keys, "type": "webhook", **webhook.model_dump()})

    def webhooks(self, business_id: str) -> list[StoredWebhook]:
        return [self._webhook(item) for item in self._business_items(business_id, tables.webhook_sk)]

    def get_webhook(self, business_id: str, webhook_id: str) -> StoredWebhook | None:
        plain = self._get(tables.business_pk(business_id), tables.webhook_sk(webhook_id))
        return self._webhook(plain) if plain else None

    def delete_webhook(self, business_id: str, webhook_id: str) -> StoredWebhook | None:
        gone = self._delete_existing(tables.business_pk(business_id), tables.webhook_sk(webhook_id))
        return self._webhook(gone) if gone else None

    def update_webhook(
        self, business_id: str, webhook_id: str, update: str, values: dict[str, Any], *, condition: str = ""
    ) -> StoredWebhook | None:
        """One conditional UpdateItem of an existing endpoint (``update`` over ``values``, plain values);
        the endpoint as it is now, None when it is gone or ``condition`` failed."""
        got = conditional(
            self.client.update_item,
            TableName=self.table,
            Key=self._key(tables.business_pk(business_id), tables.webhook_sk(webhook_id)),
            UpdateExpression=update,
            ConditionExpression="attribute_exists(PK)" + (f" AND ({condition})" if condition else ""),
            **({"ExpressionAttributeNames": {"#status": "status"}} if "#status" in update + condition else {}),
            **({"ExpressionAttributeValues": self._item(values)} if values else {}),
            ReturnValues="ALL_NEW",
        )
        return self._webhook(self._plain(got["Attributes"])) if got and got.get("Attributes") else None

    def record_attempt(self, business_id: str, webhook_id: str, delivery: Delivery) -> None:
        data = {
            "PK": tables.webhook_log_pk(business_id, webhook_id),
            "SK": tables.webhook_log_sk(
                delivery.at, delivery.event_id, f"{delivery.attempt:04d}", secrets.token_hex(4)
            ),
            "type": "webhook_delivery",
            tables.TTL_ATTRIBUTE: int(time.time()) + LOG_TTL_SECONDS,
            **delivery.model_dump(),
        }
        with _translated():
            self.client.put_item(TableName=self.table, Item=self._item(data))

    def deliveries(self, business_id: str, webhook_id: str, limit: int) -> list[Delivery]:
        with _translated():
            got = self.client.query(
                TableName=self.table,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": tables.webhook_log_pk(business_id, webhook_id)}},
                ScanIndexForward=False,
                Limit=limit,
            )
        fields = tuple(Delivery.model_fields)
        return [
            Delivery.model_validate({k: v for k, v in self._plain(item).items() if k in fields})
            for item in got.get("Items", [])
        ]

    @staticmethod
    def _webhook(plain: dict[str, Any]) -> StoredWebhook:
        return StoredWebhook.model_validate({k: plain[k] for k in _FIELDS if k in plain})
