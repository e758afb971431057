"""DynamoDB side of the daily reports: the business index, a day's responses (projected), funnel and
voucher counters, apology records and the stored reports. Every read is a GetItem or a Query on one
business's own partitions: the cost of a business's report never depends on any other business.

Shares the client of :class:`chalicelib.adapters.dynamodb.DynamoStore` (one per container).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

from chalicelib import tables
from chalicelib.adapters.dynamodb import DynamoStore, _translated, conditional, query_pages
from chalicelib.ports import RegisteredBusiness, ResponseRow, StoredReport

_ROW_FIELDS = ("touchpoint_id", "channel", "metric", "score", "created_at", "comment", "reasons", "topics", "labels")


class DynamoReports:
    def __init__(self, store: DynamoStore):
        self._store = store

    @property
    def _client(self) -> Any:
        return self._store.client

    @property
    def _table(self) -> str:
        return self._store.table

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        return query_pages(self._client, TableName=self._table, **kwargs)

    # ---- the business index ----------------------------------------------------------------------

    def register(self, business_id: str, timezone: str, created_day: str) -> None:
        self._index(business_id, timezone, created_day, "#c = :d")

    def set_timezone(self, business_id: str, timezone: str, today: str) -> None:
        """The business's new time zone for the hourly job; ``last_day`` (the last day reported) stays, so
        the next report is the day after it, at the new midnight: no day skipped, none repeated. An entry
        that is missing is made again (``today`` its first day)."""
        self._index(business_id, timezone, today, "#c = if_not_exists(#c, :d)")

    def _index(self, business_id: str, timezone: str, day: str, created: str) -> None:
        shard = tables.registry_shard(business_id)
        with _translated():
            self._client.update_item(
                TableName=self._table,
                Key={"PK": {"S": tables.registry_pk(shard)}, "SK": {"S": business_id}},
                # Names for every attribute: DynamoDB's reserved words are many and easy to trip on.
                UpdateExpression=f"SET #b = :b, #tz = :tz, {created}, #type = :type",
                ExpressionAttributeNames={"#b": "business_id", "#tz": "timezone", "#c": "created_day", "#type": "type"},
                ExpressionAttributeValues={
                    ":b": {"S": business_id},
                    ":tz": {"S": timezone},
                    ":d": {"S": day},
                    ":type": {"S": "business_index"},
                },
            )

    def registered(self) -> Iterator[RegisteredBusiness]:
        for shard in range(tables.REGISTRY_SHARDS):
            for item in self._query(
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": tables.registry_pk(shard)}},
                ProjectionExpression="#b, #tz, #c, #l",
                ExpressionAttributeNames={
                    "#b": "business_id",
                    "#tz": "timezone",
                    "#c": "created_day",
                    "#l": "last_day",
                },
            ):
                try:
                    yield RegisteredBusiness(
                        business_id=item["business_id"]["S"],
                        timezone=item["timezone"]["S"],
                        created_day=item["created_day"]["S"],
                        last_day=item.get("last_day", {}).get("S"),
                    )
                except KeyError:
                    continue  # a half-written index item: the business is picked up once it is rewritten

    def mark_reported(self, business_id: str, day: str) -> None:
        shard = tables.registry_shard(business_id)
        conditional(
            self._client.update_item,
            TableName=self._table,
            Key={"PK": {"S": tables.registry_pk(shard)}, "SK": {"S": business_id}},
            UpdateExpression="SET #l = :d",
            # A backfill of an old day must not move the marker back (a failed condition is that case).
            ConditionExpression="attribute_exists(PK) AND (attribute_not_exists(#l) OR #l < :d)",
            ExpressionAttributeNames={"#l": "last_day"},
            ExpressionAttributeValues={":d": {"S": day}},
        )

    # ---- one day's inputs ------------------------------------------------------------------------

    def day_rows(self, business_id: str, day: str) -> Iterator[ResponseRow]:
        names = {f"#f{i}": name for i, name in enumerate(_ROW_FIELDS)}
        # Issue #15: a day's answers repeat few distinct reason, topic and label tuples; handing out one
        # object per distinct tuple lets the report's counters match keys by identity (measured 2-4x
        # faster counting in bench/report_compute.py).
        seen: dict[Any, Any] = {}
        for item in self._query(
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": tables.response_pk(business_id, day)}},
            ProjectionExpression=", ".join(names),
            ExpressionAttributeNames=names,
        ):
            try:
                score = int(item["score"]["N"])
                yield ResponseRow(
                    touchpoint_id=item["touchpoint_id"]["S"],
                    channel=item["channel"]["S"],
                    metric=item["metric"]["S"],
                    score=score,
                    created_at=item["created_at"]["S"],
                    comment=item.get("comment", {}).get("S"),
                    reasons=seen.setdefault(reasons := _strings(item.get("reasons")), reasons),
                    topics=seen.setdefault(topics := _strings(item.get("topics")), topics),
                    labels=seen.setdefault(labels := _labels(item.get("labels")), labels),
                )
            except (KeyError, ValueError):
                continue

    def funnel(self, business_id: str, day: str) -> tuple[dict[str, int], int, int]:
        opened: dict[str, int] = {}
        issued = redeemed = 0
        for item in self._query(
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": tables.funnel_pk(business_id, day)}},
        ):
            sk = item["SK"]["S"]
            touchpoint_id = tables.touchpoint_sk.rest(sk)
            if touchpoint_id is not None:
                opened[touchpoint_id] = _int(item.get("opened"))
            elif sk == tables.VOUCHER_SK:
                issued, redeemed = _int(item.get("issued")), _int(item.get("redeemed"))
        return opened, issued, redeemed

    def apologies(self, business_id: str, day: str) -> tuple[int, int]:
        sent = recovered = 0
        for item in self._query(
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": tables.apology_pk(business_id, day)}},
            ProjectionExpression="#r",
            ExpressionAttributeNames={"#r": "recovered_at"},
        ):
            sent += 1
            recovered += 1 if item.get("recovered_at") else 0
        return sent, recovered

    # ---- stored reports --------------------------------------------------------------------------

    def put_report(
        self, business_id: str, day: str, report: dict[str, Any], tally: list[list[Any]],
        facets: dict[str, Any] | None = None,
    ) -> None:
        # Compressed: a report of a business with many touchpoints would otherwise approach the 400 KB
        # item limit; the JSON of a report compresses about tenfold.
        item = {
            "PK": {"S": tables.report_pk(business_id)},
            "SK": {"S": day},
            "type": {"S": "daily_report"},
            "report_z": {"B": _pack(report)},
            "tally": {"S": json.dumps(tally, separators=(",", ":"), ensure_ascii=False)},
        }
        if facets is not None:  # issue #15: reasons, topics, labels and heatmap counts, compressed likewise
            item["facets_z"] = {"B": _pack(facets)}
        with _translated():
            self._client.put_item(TableName=self._table, Item=item)

    def get_report(self, business_id: str, day: str) -> dict[str, Any] | None:
        with _translated():
            got = self._client.get_item(
                TableName=self._table,
                Key={"PK": {"S": tables.report_pk(business_id)}, "SK": {"S": day}},
                ProjectionExpression="report_z",
            )
        item = got.get("Item")
        return _unpack(item["report_z"]["B"]) if item and "report_z" in item else None

    def reports_between(self, business_id: str, first: str, last: str, *, with_report: bool) -> list[StoredReport]:
        found: list[StoredReport] = []
        for item in self._query(
            KeyConditionExpression="PK = :pk AND SK BETWEEN :a AND :b",
            ExpressionAttributeValues={
                ":pk": {"S": tables.report_pk(business_id)},
                ":a": {"S": first},
                ":b": {"S": last},
            },
            ProjectionExpression="SK, #t, #f" + (", #r" if with_report else ""),
            ExpressionAttributeNames={"#t": "tally", "#f": "facets_z", **({"#r": "report_z"} if with_report else {})},
        ):
            try:
                tally = json.loads(item["tally"]["S"]) if "tally" in item else []
            except ValueError:
                tally = []
            report = _unpack(item["report_z"]["B"]) if with_report and "report_z" in item else {}
            facets = _unpack(item["facets_z"]["B"]) if "facets_z" in item else None
            found.append(StoredReport(day=item["SK"]["S"], report=report or {}, tally=tally, facets=facets))
        return found

    # ---- #11 item 7: erasure in stored reports ---------------------------------------------------

    def erase_report_comments(self, business_id: str, day: str, comments: set[tuple[str, str]]) -> int:
        with _translated():
            got = self._client.get_item(
                TableName=self._table,
                Key={"PK": {"S": tables.report_pk(business_id)}, "SK": {"S": day}},
                ProjectionExpression="report_z",
                ConsistentRead=True,
            )
        item = got.get("Item")
        report = _unpack(item["report_z"]["B"]) if item and "report_z" in item else None
        if report is None:
            return 0
        # Imported here: this module is loaded on every cold start (the business index), the report code is not.
        from chalicelib.domain.report import without_comments

        kept, removed = without_comments(report, comments)
        if not removed:
            return 0
        packed = _pack(kept)
        with _translated():
            self._client.update_item(
                TableName=self._table,
                Key={"PK": {"S": tables.report_pk(business_id)}, "SK": {"S": day}},
                UpdateExpression="SET report_z = :z",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeValues={":z": {"B": packed}},
            )
        return removed

    # ---- #11 item 7: signed-out dashboard sessions ---------------------------------------------------

    def revoke_session(self, business_id: str, session_id: str, until: int) -> None:
        with _translated():
            self._client.put_item(
                TableName=self._table,
                Item={
                    "PK": {"S": tables.revoked_session_pk(business_id, session_id)},
                    "SK": {"S": tables.REVOKED_SESSION_SK},
                    "type": {"S": "revoked_session"},
                    tables.TTL_ATTRIBUTE: {"N": str(until + 3600)},
                },
            )

    def session_revoked(self, business_id: str, session_id: str) -> bool:
        with _translated():
            got = self._client.get_item(
                TableName=self._table,
                Key={
                    "PK": {"S": tables.revoked_session_pk(business_id, session_id)},
                    "SK": {"S": tables.REVOKED_SESSION_SK},
                },
                ProjectionExpression="PK",
                ConsistentRead=True,
            )
        return "Item" in got


def _int(attribute: dict[str, Any] | None) -> int:
    try:
        return max(0, int((attribute or {}).get("N", "0")))
    except ValueError:
        return 0


def _pack(data: dict[str, Any]) -> bytes:
    return zlib.compress(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode(), 6)


def _unpack(blob: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(zlib.decompress(blob).decode())
    except (zlib.error, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _strings(value: Any) -> tuple[str, ...]:
    # A list of strings as stored (L of S); anything else in it is skipped, not fatal to the report.
    if not isinstance(value, dict) or not isinstance(value.get("L"), list):
        return ()
    return tuple(v["S"] for v in value["L"] if isinstance(v, dict) and isinstance(v.get("S"), str))


def _labels(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not isinstance(value.get("M"), dict):
        return ()
    return tuple(
        sorted((k, v["S"]) for k, v in value["M"].items() if isinstance(v, dict) and isinstance(v.get("S"), str))
    )
