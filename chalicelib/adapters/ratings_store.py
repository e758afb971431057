"""DynamoDB implementation of the ``RatingsStore`` port (issue #16, ratings through Zalo): rating requests,
the day index of businesses the poll reads, its watermark. Keys in ``chalicelib/tables.py``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib import tables
from chalicelib.adapters.dynamodb import _translated, query_pages
from chalicelib.adapters.followups_store import DynamoFollowupStore
from chalicelib.domain.ratings import RatingRequest
from chalicelib.errors import TemporarilyUnavailable
from chalicelib.ports import EmailCap

_FIELDS = tuple(RatingRequest.model_fields)
_KEEP_DAYS = 30  # a request item outlives the poll's look-back, so a late rating still finds its receipt


class DynamoRatings(DynamoFollowupStore):
    def ask(self, request: RatingRequest, caps: Sequence[EmailCap]) -> tuple[str, RatingRequest | None]:
        expires = _epoch_day(request.day) + _KEEP_DAYS * 86400
        item = {
            "PK": tables.zalo_request_pk(request.business_id), "SK": request.request_id, "type": "zalo_rating",
            **request.model_dump(), tables.TTL_ATTRIBUTE: expires,
        }
        items: dict[str, dict[str, Any]] = {
            "request": {"Put": {
                "TableName": self.table, "Item": self._item(item), "ConditionExpression": "attribute_not_exists(PK)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }},
            # Overwritten by every request of the day: the poll needs only to know the business asked.
            "day": {"Put": {"TableName": self.table, "Item": self._item({
                "PK": tables.zalo_day_pk(request.day), "SK": request.business_id, "type": "zalo_day",
                tables.TTL_ATTRIBUTE: expires,
            })}},
        }
        for number, cap in enumerate(caps):
            items[f"cap:{number}"] = {"Update": self.cap_count(cap, "zalo_cap")}  # the mail caps' counter
        cancelled = self._transact(items)
        if cancelled is None:
            return "stored", None
        if cancelled.failed("request"):
            old = cancelled.old("request")
            found = self._request(self._plain(old)) if old else self.get_request(
                request.business_id, request.request_id)
            return "exists", found
        for number, cap in enumerate(caps):
            if cancelled.failed(f"cap:{number}"):
                return cap.name, None
        raise TemporarilyUnavailable()

    def get_request(self, business_id: str, request_id: str) -> RatingRequest | None:
        item = self._get(tables.zalo_request_pk(business_id), request_id)
        return self._request(item) if item else None

    def update_request(self, business_id: str, request_id: str, changes: Mapping[str, str | None]) -> None:
        names = {f"#f{i}": name for i, name in enumerate(changes)}
        values = {f":v{i}": value for i, value in enumerate(changes.values())}
        with _translated():
            self.client.update_item(
                TableName=self.table,
                Key=self._key(tables.zalo_request_pk(business_id), request_id),
                UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(changes))),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={k: self._ser.serialize(v) for k, v in values.items()},
            )

    def businesses_on(self, day: str) -> list[str]:
        items = query_pages(
            self.client, TableName=self.table, KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": tables.zalo_day_pk(day)}}, ProjectionExpression="SK",
        )
        return [item["SK"]["S"] for item in items]

    def watermark(self, business_id: str) -> int | None:
        item = self._get(tables.zalo_watermark_pk(business_id), tables.ZALO_WATERMARK_SK)
        return int(item["until_ms"]) if item and "until_ms" in item else None

    def set_watermark(self, business_id: str, until_ms: int) -> None:
        with _translated():
            self.client.put_item(TableName=self.table, Item=self._item({
                "PK": tables.zalo_watermark_pk(business_id), "SK": tables.ZALO_WATERMARK_SK,
                "type": "zalo_watermark", "until_ms": until_ms,
            }))

    def mark_erased(self, business_id: str, identity: str, at: str) -> None:
        with _translated():
            self.client.put_item(TableName=self.table, Item=self._item({
                "PK": tables.zalo_erased_pk(business_id, identity), "SK": tables.ZALO_ERASED_SK,
                "type": "zalo_erased", "at": at,
            }))

    def is_erased(self, business_id: str, identity: str) -> bool:
        return self._get(tables.zalo_erased_pk(business_id, identity), tables.ZALO_ERASED_SK) is not None

    @staticmethod
    def _request(plain: dict[str, Any]) -> RatingRequest:
        return RatingRequest.model_validate({k: plain[k] for k in _FIELDS if k in plain})


def _epoch_day(day: str) -> int:
    from datetime import UTC, datetime

    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp())
