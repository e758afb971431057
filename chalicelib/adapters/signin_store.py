"""DynamoDB side of the console's sign-in (``chalicelib.ports.SigninStore``): one-time links kept as keyed
hashes, the per-business cap on sign-in emails, and the signed-out sessions, which are the dashboard's
revoked-session items (inherited), so one sign-out list serves both pages."""

from __future__ import annotations

from typing import Any

from chalicelib import tables
from chalicelib.adapters.dynamodb import _translated, conditional
from chalicelib.adapters.reports_store import DynamoReports


class DynamoSignins(DynamoReports):
    def _link_key(self, business_id: str, token_hash: str) -> dict[str, Any]:
        return {"PK": {"S": tables.signin_link_pk(business_id, token_hash)}, "SK": {"S": tables.SIGNIN_LINK_SK}}

    def put_link(self, business_id: str, token_hash: str, email: str, expires: int) -> None:
        with _translated():
            self._client.put_item(
                TableName=self._table,
                Item={
                    **self._link_key(business_id, token_hash),
                    "type": {"S": "signin_link"},
                    "email": {"S": email},
                    tables.TTL_ATTRIBUTE: {"N": str(expires)},
                },
            )

    def link_email(self, business_id: str, token_hash: str, now: int) -> str | None:
        with _translated():
            got = self._client.get_item(
                TableName=self._table, Key=self._link_key(business_id, token_hash), ConsistentRead=True
            )
        return _live_email(got.get("Item"), now)

    def consume_link(self, business_id: str, token_hash: str, now: int) -> str | None:
        # TTL deletes late (up to days): the expiry is part of the condition, not left to TTL.
        gone = conditional(
            self._client.delete_item,
            TableName=self._table,
            Key=self._link_key(business_id, token_hash),
            ConditionExpression="attribute_exists(PK) AND #exp > :now",
            ExpressionAttributeNames={"#exp": tables.TTL_ATTRIBUTE},
            ExpressionAttributeValues={":now": {"N": str(now)}},
            ReturnValues="ALL_OLD",
        )
        return _live_email((gone or {}).get("Attributes"), now)

    def count_signin_email(self, business_id: str, window: int, limit: int, expires: int) -> bool:
        counted = conditional(
            self._client.update_item,
            TableName=self._table,
            Key={
                "PK": {"S": tables.signin_count_pk(business_id, str(window))},
                "SK": {"S": tables.SIGNIN_COUNT_SK},
            },
            UpdateExpression="ADD n :one SET #type = :type, #exp = :exp",
            ConditionExpression="attribute_not_exists(n) OR n < :limit",
            ExpressionAttributeNames={"#type": "type", "#exp": tables.TTL_ATTRIBUTE},
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":limit": {"N": str(limit)},
                ":type": {"S": "signin_count"},
                ":exp": {"N": str(expires)},
            },
        )
        return counted is not None


def _live_email(item: dict[str, Any] | None, now: int) -> str | None:
    if not item:
        return None
    try:
        expires = int(item[tables.TTL_ATTRIBUTE]["N"])
    except (KeyError, ValueError):
        return None
    email = item.get("email", {}).get("S")
    return email if expires > now and email else None
