"""Zalo's adapters (issue #16, docs/zalo.md): its HTTP API (``HttpZaloApi``), the OA's tokens in Secrets
Manager (``SecretsManagerZaloSecrets``), and the connection's non-secret record in the table
(``DynamoZaloConnections``). boto3 and urllib live here only; the rules are ``services/zalo.py``.

The Zalo base URLs come from the settings, so `make run` and the tests point them at the local fake
(``chalicelib/local/fake_zalo.py``); they are the deployment's, never an owner's, so no SSRF check applies.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from chalicelib import tables
from chalicelib.adapters.aws import LazyClient
from chalicelib.adapters.dynamodb import DynamoTable, _translated, conditional
from chalicelib.domain.zalo import (
    RatingsPage,
    ZaloError,
    ZaloTokens,
    ZnsSent,
    parse_ratings,
    parse_sent,
    parse_tokens,
)

_READ_AT_MOST = 256 * 1024


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # Zalo answers where it is asked; a redirect is an answer we do not follow


_OPENER = urllib.request.build_opener(_NoRedirects)


class HttpZaloApi:
    def __init__(self, api_url: str, oauth_url: str, *, timeout: float = 5.0) -> None:
        self._api, self._oauth, self._timeout = api_url.rstrip("/"), oauth_url.rstrip("/"), timeout

    def refresh(self, app_id: str, app_secret: str, refresh_token: str) -> ZaloTokens:
        form = urllib.parse.urlencode({"app_id": app_id, "refresh_token": refresh_token, "grant_type": "refresh_token"})
        answer = self._call(
            "POST", f"{self._oauth}/v4/oa/access_token", form.encode(),
            {"secret_key": app_secret, "Content-Type": "application/x-www-form-urlencoded"},
        )
        return parse_tokens(answer, datetime.now(UTC))

    def send_template(
        self, access_token: str, phone: str, template_id: str, data: Mapping[str, str], tracking_id: str
    ) -> ZnsSent:
        body = {"phone": phone, "template_id": template_id, "template_data": dict(data), "tracking_id": tracking_id}
        answer = self._call(
            "POST", f"{self._api}/message/template", json.dumps(body, ensure_ascii=False).encode(),
            {"access_token": access_token, "Content-Type": "application/json"},
        )
        return parse_sent(answer, datetime.now(UTC))

    def ratings(
        self, access_token: str, template_id: str, since_ms: int, until_ms: int, offset: int, limit: int
    ) -> RatingsPage:
        query = urllib.parse.urlencode(
            {"template_id": template_id, "from_time": since_ms, "to_time": until_ms, "offset": offset, "limit": limit}
        )
        answer = self._call("GET", f"{self._api}/rating/get?{query}", None, {"access_token": access_token})
        return parse_ratings(answer)

    def _call(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> Any:
        request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310 - settings' URL
        try:
            with _OPENER.open(request, timeout=self._timeout) as answer:
                raw = answer.read(_READ_AT_MOST)
        except urllib.error.HTTPError as exc:
            # Zalo answers its errors with 200 and an error code; an HTTP error status is its front door's.
            raise ZaloError(0, f"HTTP {exc.code}", "transient") from None
        except (OSError, ValueError) as exc:
            raise ZaloError(0, type(exc).__name__, "transient") from None
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise ZaloError(0, "answer is not JSON", "transient") from None


class SecretsManagerZaloSecrets(LazyClient):
    """One secret per business, ``{prefix}/zalo/{business_id}``: ``{"app_secret", "refresh_token",
    "access_token", "expires_at"}``. ``name`` is the prefix (the table's name)."""

    def _make(self) -> Any:
        import boto3

        return boto3.client("secretsmanager")

    def _id(self, business_id: str) -> str:
        return f"{self.name}/zalo/{business_id}"

    def get(self, business_id: str) -> dict[str, str] | None:
        try:
            got = self.client.get_secret_value(SecretId=self._id(business_id))
        except self.client.exceptions.ResourceNotFoundException:
            return None
        try:
            value = json.loads(got.get("SecretString") or "")
        except ValueError:
            return None
        return {k: str(v) for k, v in value.items()} if isinstance(value, dict) else None

    def put(self, business_id: str, value: Mapping[str, str]) -> None:
        text = json.dumps(dict(value))
        try:
            self.client.put_secret_value(SecretId=self._id(business_id), SecretString=text)
        except self.client.exceptions.ResourceNotFoundException:
            self.client.create_secret(Name=self._id(business_id), SecretString=text)

    def delete(self, business_id: str) -> None:
        try:
            self.client.delete_secret(SecretId=self._id(business_id), ForceDeleteWithoutRecovery=True)
        except self.client.exceptions.ResourceNotFoundException:
            return


class DynamoZaloConnections(DynamoTable):
    """The connection's record (``B#{biz}`` / ``ZALO``): app id, template ids, the token's expiry, the last
    problem told to the owner, and the refresh lock. No token or secret is ever written here."""

    def get(self, business_id: str) -> dict[str, Any] | None:
        return self._get(tables.business_pk(business_id), tables.ZALO_SK)

    def put(self, business_id: str, record: Mapping[str, Any]) -> None:
        item = {"PK": tables.business_pk(business_id), "SK": tables.ZALO_SK, "type": "zalo_connection", **record}
        with _translated():
            self.client.put_item(TableName=self.table, Item=self._item(item))

    def delete(self, business_id: str) -> bool:
        got = conditional(
            self.client.delete_item, TableName=self.table,
            Key=self._key(tables.business_pk(business_id), tables.ZALO_SK), ConditionExpression="attribute_exists(PK)",
        )
        return got is not None

    def lock(self, business_id: str, now: str, until: str) -> bool:
        """Take the refresh lock until ``until`` (one refresh at a time: Zalo's refresh tokens are single-use,
        so two concurrent refreshes would leave one container holding a dead token)."""
        got = conditional(
            self.client.update_item, TableName=self.table,
            Key=self._key(tables.business_pk(business_id), tables.ZALO_SK),
            UpdateExpression="SET refreshing_until = :until",
            ConditionExpression=(
                "attribute_exists(PK) AND (attribute_not_exists(refreshing_until) OR refreshing_until < :now)"
            ),
            ExpressionAttributeValues={":until": {"S": until}, ":now": {"S": now}},
        )
        return got is not None

    def refreshed(self, business_id: str, expires_at: str) -> None:
        conditional(
            self.client.update_item, TableName=self.table,
            Key=self._key(tables.business_pk(business_id), tables.ZALO_SK),
            UpdateExpression="SET token_expires_at = :e REMOVE refreshing_until",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":e": {"S": expires_at}},
        )

    def note_problem(self, business_id: str, problem: str, day: str) -> bool:
        """Record the owner's problem of the day; True the first time this day (so it is told once)."""
        got = conditional(
            self.client.update_item, TableName=self.table,
            Key=self._key(tables.business_pk(business_id), tables.ZALO_SK),
            UpdateExpression="SET problem = :p, problem_day = :d",
            ConditionExpression="attribute_exists(PK) AND NOT (problem = :p AND problem_day = :d)",
            ExpressionAttributeValues={":p": {"S": problem[:300]}, ":d": {"S": day}},
        )
        return got is not None
