"""DynamoDB implementation of the BusinessStore and ResponseStore ports. boto3 lives here (and in the
other adapters) only; the client is made on first use and reused by the warm container."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any, Literal

from chalicelib import tables
from chalicelib.adapters.aws import LazyClient, attempts
from chalicelib.domain.limits import RateLimit
from chalicelib.domain.models import Business, StoredResponse, Touchpoint
from chalicelib.errors import RateLimited, TemporarilyUnavailable
from chalicelib.ports import (
    Addition,
    Claim,
    DayPage,
    DayQuery,
    IdempotencyRecord,
    LinkRecord,
    RecordOutcome,
    ResponseLocator,
    WriteGuards,
)

_RETRYABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
}
# Per-item reasons of a cancelled transaction that say "try again", not "your condition failed".
_RETRYABLE_REASONS = {"ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict"}
# A conflict is another transaction on the same item at the same moment (a busy QR's rate counter); a
# cancelled transaction wrote nothing, so it is retried here before the customer ever sees a 503.
_CONFLICT_RETRIES = 2
_CONDITION_FAILED = "ConditionalCheckFailed"
_PERSONAL = ("email", "email_hash", "phone", "phone_hash", "comment", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK")
# Attributes the owner listing and metrics need; keys and hashes stay in the table.
_RESPONSE_FIELDS = tuple(StoredResponse.model_fields)
_OPTIONAL_EMPTY = ("reasons", "topics", "labels")


def make_client() -> Any:
    import boto3
    from botocore.config import Config

    # Short timeouts: a submission is a person waiting on a phone; botocore's standard retry mode adds
    # jittered backoff for throttling before we give up with a 503.
    config = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
    return boto3.client("dynamodb", config=config)


@contextmanager
def _translated() -> Iterator[None]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _RETRYABLE:
            raise TemporarilyUnavailable() from exc
        raise
    except BotoCoreError as exc:  # timeouts and connection failures
        raise TemporarilyUnavailable() from exc


def conditional(call: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any] | None:
    """One conditional write (``put_item``, ``update_item``, ``delete_item``): its answer, or None when its
    condition failed. The one place a ``ConditionalCheckFailedException`` is told from other errors."""
    from botocore.exceptions import ClientError

    try:
        with _translated():
            return call(**kwargs)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != _CONDITION_FAILED + "Exception":
            raise
        return None


def query_pages(client: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item a Query finds, across its pages (boto3's paginator)."""
    pages = client.get_paginator("query").paginate(**kwargs)
    with _translated():
        for page in pages:
            yield from page.get("Items", [])


@dataclass(frozen=True)
class Cancelled:
    """Why a transaction was cancelled, by the names its items were given (``DynamoTable._transact``)."""

    reasons: Mapping[str, Mapping[str, Any]]

    def failed(self, name: str) -> bool:
        """The named item's condition failed (not a conflict, not throttling)."""
        return self.reasons.get(name, {}).get("Code") == _CONDITION_FAILED

    def old(self, name: str) -> dict[str, Any] | None:
        """The item as it was when the named item's condition failed (``ReturnValuesOnConditionCheckFailure``);
        moto may leave it out."""
        return self.reasons.get(name, {}).get("Item") if self.failed(name) else None


class DynamoTable(LazyClient):
    """The table, its lazily made client and the item (de)serialisation every DynamoDB adapter shares."""

    @property
    def table(self) -> str:
        return self.name

    def _make(self) -> Any:
        return make_client()

    @cached_property
    def _ser(self) -> Any:
        from boto3.dynamodb.types import TypeSerializer

        return TypeSerializer()

    @cached_property
    def _de(self) -> Any:
        from boto3.dynamodb.types import TypeDeserializer

        return TypeDeserializer()

    def _item(self, data: dict[str, Any]) -> dict[str, Any]:
        return {k: self._ser.serialize(v) for k, v in data.items() if v is not None}

    def _plain(self, item: dict[str, Any]) -> dict[str, Any]:
        return {k: _native(self._de.deserialize(v)) for k, v in item.items()}

    @staticmethod
    def _key(pk: str, sk: str) -> dict[str, Any]:
        return {"PK": {"S": pk}, "SK": {"S": sk}}

    def _get(self, pk: str, sk: str, *, consistent: bool = True) -> dict[str, Any] | None:
        """One item as plain values, or None. Strongly consistent unless said otherwise: the "only once"
        rules read what a write a moment ago decided."""
        with _translated():
            item = self.client.get_item(TableName=self.table, Key=self._key(pk, sk), ConsistentRead=consistent)
        found = item.get("Item")
        return self._plain(found) if found else None

    def _business_items(self, business_id: str, kind: tables.KeyFormat) -> list[dict[str, Any]]:
        """Every item of one kind under a business's partition (touchpoints, #16 feeds and webhooks), as plain
        values: one Query of ``begins_with(SK, …)``."""
        items = query_pages(
            self.client,
            TableName=self.table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)",
            ExpressionAttributeValues={
                ":pk": {"S": tables.business_pk(business_id)},
                ":sk": {"S": kind.begins()},
            },
        )
        return [self._plain(item) for item in items]

    def _put_new(self, item: dict[str, Any]) -> None:
        """Put an item that must not exist yet (a new id: a collision is a bug, never an overwrite)."""
        with _translated():
            self.client.put_item(
                TableName=self.table, Item=self._item(item), ConditionExpression="attribute_not_exists(PK)"
            )

    def _delete_existing(self, pk: str, sk: str) -> dict[str, Any] | None:
        """Delete an item; it as it was (plain values), None when there was none."""
        got = conditional(
            self.client.delete_item,
            TableName=self.table,
            Key=self._key(pk, sk),
            ConditionExpression="attribute_exists(PK)",
            ReturnValues="ALL_OLD",
        )
        return self._plain(got["Attributes"]) if got and got.get("Attributes") else None

    def _funnel_count(self, business_id: str, day: str, sk: str, counter: str) -> dict[str, Any]:
        """Add one to a day's funnel counter (``opened`` per touchpoint, vouchers ``issued``/``redeemed``)."""
        return {
            "TableName": self.table,
            "Key": self._key(tables.funnel_pk(business_id, day), sk),
            "UpdateExpression": f"ADD {counter} :one SET #type = :type",
            "ExpressionAttributeNames": {"#type": "type"},
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":type": {"S": "funnel"}},
        }

    def _transact(self, items: dict[str, dict[str, Any]]) -> Cancelled | None:
        """Run a transaction of named items: None when it committed, else why it was cancelled, by name.
        DynamoDB answers one reason per item, in the order sent; the names are that order's only reader."""
        from botocore.exceptions import ClientError

        for attempt in attempts(_CONFLICT_RETRIES + 1, base=0.0125, cap=0.05):
            try:
                with _translated():
                    self.client.transact_write_items(TransactItems=list(items.values()))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                reasons = exc.response.get("CancellationReasons") or []
                codes = {r.get("Code") for r in reasons}
                conflict = "TransactionConflict" in codes and _CONDITION_FAILED not in codes
                if conflict and attempt < _CONFLICT_RETRIES:
                    continue
                if codes & (_RETRYABLE | _RETRYABLE_REASONS):
                    raise TemporarilyUnavailable() from exc
                return Cancelled(dict(zip(items, reasons, strict=False)))
            return None
        raise AssertionError("unreachable: the last attempt returns or raises")


class DynamoStore(DynamoTable):
    # ---- businesses and touchpoints ---------------------------------------------------------------

    def put_business(self, business: Business) -> None:
        data = business.model_dump(mode="json")
        data.update(PK=tables.business_pk(business.business_id), SK=tables.BUSINESS_SK, type="business")
        with _translated():
            self.client.put_item(
                TableName=self.table, Item=self._item(data), ConditionExpression="attribute_not_exists(PK)"
            )

    def set_signing_keys(
        self, business_id: str, signing_keys: dict[int, str], active_key_id: int, expected_active_key_id: int
    ) -> bool:
        """Replace a business's signing keys, unless someone else rotated since they were read (False)."""
        values = {
            ":keys": self._ser.serialize({str(k): v for k, v in signing_keys.items()}),
            ":active": {"N": str(active_key_id)},
            ":expected": {"N": str(expected_active_key_id)},
        }
        return self._update_business(
            business_id, "SET signing_keys = :keys, active_key_id = :active", "active_key_id = :expected", values
        )

    def set_owner_key_hash(self, business_id: str, owner_key_hash: str, expected_hash: str) -> bool:
        """Replace the owner key's hash, unless it changed since it was read (False)."""
        values = {":new": {"S": owner_key_hash}, ":old": {"S": expected_hash}}
        return self._update_business(business_id, "SET owner_key_hash = :new", "owner_key_hash = :old", values)

    def _update_business(self, business_id: str, update: str, unchanged: str, values: dict[str, Any]) -> bool:
        """Update the business's item if it exists and ``unchanged`` still holds (False otherwise)."""
        answer = conditional(
            self.client.update_item,
            TableName=self.table,
            Key=self._key(tables.business_pk(business_id), tables.BUSINESS_SK),
            UpdateExpression=update,
            ConditionExpression=f"attribute_exists(PK) AND {unchanged}",
            ExpressionAttributeValues=values,
        )
        return answer is not None

    def get_business(self, business_id: str) -> Business | None:
        # Strongly consistent (#11): owner authentication reads here, and a key rotated a moment ago must
        # not verify from a replica that has not seen the rotation. The hot path reads it once a minute.
        item = self._get(tables.business_pk(business_id), tables.BUSINESS_SK)
        return Business.model_validate(item) if item else None

    def put_touchpoint(self, touchpoint: Touchpoint) -> None:
        data = touchpoint.model_dump(mode="json")
        data.update(
            PK=tables.business_pk(touchpoint.business_id),
            SK=tables.touchpoint_sk(touchpoint.touchpoint_id),
            type="touchpoint",
        )
        with _translated():
            self.client.put_item(
                TableName=self.table, Item=self._item(data), ConditionExpression="attribute_not_exists(PK)"
            )

    def get_touchpoint(self, business_id: str, touchpoint_id: str) -> Touchpoint | None:
        item = self._get(tables.business_pk(business_id), tables.touchpoint_sk(touchpoint_id), consistent=False)
        return Touchpoint.model_validate(item) if item else None

    def list_touchpoints(self, business_id: str) -> list[Touchpoint]:
        return [Touchpoint.model_validate(item) for item in self._business_items(business_id, tables.touchpoint_sk)]

    # ---- issue #14: an owner's settings, each write only the attributes it changes ------------------

    def update_business_settings(
        self, business_id: str, changes: dict[str, Any], removed: Sequence[str]
    ) -> Business | None:
        """Set ``changes`` and remove ``removed`` on the business's item, leaving its keys alone (an
        UpdateItem, never a whole put: a key rotation written at the same moment must not be undone)."""
        update, names, values = self._set_and_remove(changes, removed)
        item = self._update_returning(tables.business_pk(business_id), tables.BUSINESS_SK, update, names, values)
        return Business.model_validate(item) if item else None

    def update_touchpoint(self, business_id: str, touchpoint_id: str, changes: dict[str, Any]) -> Touchpoint | None:
        update, names, values = self._set_and_remove(changes, ())
        item = self._update_returning(
            tables.business_pk(business_id), tables.touchpoint_sk(touchpoint_id), update, names, values
        )
        return Touchpoint.model_validate(item) if item else None

    def retire_touchpoint(self, business_id: str, touchpoint_id: str, retired_at: str) -> Touchpoint | None:
        pk, sk = tables.business_pk(business_id), tables.touchpoint_sk(touchpoint_id)
        item = self._update_returning(
            pk, sk, "SET #r = :r", {"#r": "retired_at"}, {":r": {"S": retired_at}}, also="attribute_not_exists(#r)"
        )
        # Retired before (or never there): the stored one answers, unchanged.
        item = item or self._get(pk, sk)
        return Touchpoint.model_validate(item) if item else None

    def _set_and_remove(
        self, changes: dict[str, Any], removed: Sequence[str]
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        """An UpdateExpression setting ``changes`` (plain values) and removing ``removed``, every name aliased
        (settings such as ``name`` and ``timezone`` are reserved words), with its names and values."""
        names = {f"#s{i}": name for i, name in enumerate(changes)}
        names.update({f"#r{i}": name for i, name in enumerate(removed)})
        clauses = []
        if changes:
            clauses.append("SET " + ", ".join(f"#s{i} = :s{i}" for i in range(len(changes))))
        if removed:
            clauses.append("REMOVE " + ", ".join(f"#r{i}" for i in range(len(removed))))
        values = {f":s{i}": self._ser.serialize(value) for i, value in enumerate(changes.values())}
        return " ".join(clauses), names, values

    def _update_returning(
        self, pk: str, sk: str, update: str, names: dict[str, str], values: dict[str, Any], *, also: str = ""
    ) -> dict[str, Any] | None:
        """Update an existing item (and ``also`` holds): the item after, as plain values, or None."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Key": self._key(pk, sk),
            "UpdateExpression": update,
            "ConditionExpression": "attribute_exists(PK)" + (f" AND {also}" if also else ""),
            "ExpressionAttributeNames": names,
            "ReturnValues": "ALL_NEW",
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        answer = conditional(self.client.update_item, **kwargs)
        return self._plain(answer["Attributes"]) if answer and answer.get("Attributes") else None

    # ---- responses --------------------------------------------------------------------------------

    def record(self, response: StoredResponse, guards: WriteGuards) -> RecordOutcome:
        claims, idempotency, limits = guards.claims, guards.idempotency, guards.limits
        pk = tables.response_pk(response.business_id, response.local_date)
        sk = tables.response_sk(response.created_at, response.response_id)
        # Most answers name no reason, topic or label: an empty list or map is not worth its bytes.
        data = response.model_dump(mode="json", exclude={k for k in _OPTIONAL_EMPTY if not getattr(response, k)})
        data.update(PK=pk, SK=sk, type="response")
        if response.email_hash:
            data.update(GSI1PK=tables.email_gsi_pk(response.business_id, response.email_hash), GSI1SK=sk)
        if response.phone_hash:
            data.update(GSI2PK=tables.phone_gsi_pk(response.business_id, response.phone_hash), GSI2SK=sk)
        # The order DynamoDB gets them in (its reasons come back in it): the first claim, the response, the
        # idempotency record, the other claims, the rate counters.
        items: dict[str, dict[str, Any]] = {
            "claim:0": self._claim_update(claims[0], response, sk),
            "response": {
                "Put": {
                    "TableName": self.table,
                    "Item": self._item(data),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
        }
        if idempotency is not None:
            items["idempotency"] = {
                "Put": {
                    "TableName": self.table,
                    "Item": self._item(self._idempotency_item(idempotency)),
                    "ConditionExpression": "attribute_not_exists(PK)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        for number, claim in enumerate(claims[1:], start=1):
            items[f"claim:{number}"] = self._claim_update(claim, response, sk)
        items.update(self._limit_updates(limits))
        cancelled = self._transact(items)
        if cancelled is None:
            return RecordOutcome("created")
        return self._cancelled(cancelled, response.business_id, limits, len(claims))

    def _claim_update(self, claim: Claim, response: StoredResponse, sk: str) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table,
                "Key": self._key(tables.claim_pk(claim.business_id, claim.key), tables.CLAIM_SK),
                # Creates the claim, or fills a minted link's record; never overwrites a claim.
                "UpdateExpression": "SET response_id = :rid, response_sk = :sk, response_date = :d, "
                "claimed_at = :at, #type = if_not_exists(#type, :type), #ttl = if_not_exists(#ttl, :ttl)",
                "ConditionExpression": "attribute_not_exists(response_id)",
                "ExpressionAttributeNames": {"#type": "type", "#ttl": tables.TTL_ATTRIBUTE},
                "ExpressionAttributeValues": self._item(
                    {
                        ":rid": response.response_id,
                        ":sk": sk,
                        ":d": response.local_date,
                        ":at": response.created_at,
                        ":type": "claim",
                        ":ttl": claim.expires_at,
                    }
                ),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _limit_updates(self, limits: Sequence[RateLimit]) -> dict[str, dict[str, Any]]:
        # Counts one write in each window, on condition the window is not full: all or nothing with the write.
        return {
            f"limit:{number}": {
                "Update": {
                    "TableName": self.table,
                    "Key": self._key(tables.rate_limit_pk(limit.key), tables.RATE_LIMIT_SK),
                    "UpdateExpression": "ADD n :one SET #ttl = if_not_exists(#ttl, :ttl)",
                    "ConditionExpression": "attribute_not_exists(n) OR n < :limit",
                    "ExpressionAttributeNames": {"#ttl": tables.TTL_ATTRIBUTE},
                    "ExpressionAttributeValues": self._item(
                        {":one": 1, ":ttl": limit.expires_at, ":limit": limit.limit}
                    ),
                }
            }
            for number, limit in enumerate(limits)
        }

    @staticmethod
    def _limited(cancelled: Cancelled, limits: Sequence[RateLimit]) -> RateLimited | None:
        for number, limit in enumerate(limits):
            if cancelled.failed(f"limit:{number}"):
                return RateLimited(
                    "Too many responses in a short time; please try again in a minute.",
                    retry_after=max(1, limit.retry_after),
                )
        return None

    def _cancelled(
        self, cancelled: Cancelled, business_id: str, limits: Sequence[RateLimit], claims: int
    ) -> RecordOutcome:
        # A retry of an accepted request replays its answer, even when the window has filled since.
        replayed = cancelled.old("idempotency")
        if replayed:
            old = self._plain(replayed)
            return RecordOutcome(
                "replay",
                replay=IdempotencyRecord(
                    scope=old["scope"],
                    key=old["key"],
                    fingerprint=old["fingerprint"],
                    status=int(old["status"]),
                    body=old["body"],
                    expires_at=int(old[tables.TTL_ATTRIBUTE]),
                ),
            )
        limited = self._limited(cancelled, limits)
        if limited is not None:
            raise limited
        # The first taken claim names the response to change: the page view's own before the respondent's.
        for number in range(claims):
            taken = cancelled.old(f"claim:{number}")
            if not taken:
                continue
            old = self._plain(taken)
            if "response_id" not in old:
                continue
            return RecordOutcome(
                "already_claimed",
                existing=ResponseLocator(
                    business_id=business_id,
                    local_date=old["response_date"],
                    sort_key=old["response_sk"],
                    response_id=old["response_id"],
                    created_at=old["claimed_at"],
                ),
            )
        # A fresh response id collided (practically impossible) or an unknown reason: let the client retry.
        raise TemporarilyUnavailable()

    def _idempotency_item(self, record: IdempotencyRecord) -> dict[str, Any]:
        return {
            "PK": tables.idempotency_pk(record.scope, record.key),
            "SK": tables.IDEMPOTENCY_SK,
            "type": "idempotency",
            "scope": record.scope,
            "key": record.key,
            "fingerprint": record.fingerprint,
            "status": record.status,
            "body": record.body,
            tables.TTL_ATTRIBUTE: record.expires_at,
        }

    def save_idempotency(self, record: IdempotencyRecord) -> None:
        # The first answer stays: a second save of the same key is a no-op, not an error.
        conditional(
            self.client.put_item,
            TableName=self.table,
            Item=self._item(self._idempotency_item(record)),
            ConditionExpression="attribute_not_exists(PK)",
        )

    def update_score(
        self, locator: ResponseLocator, score: int, unhappy: bool, updated_at: str, limits: Sequence[RateLimit] = ()
    ) -> None:
        update = {
            "TableName": self.table,
            "Key": self._key(tables.response_pk(locator.business_id, locator.local_date), locator.sort_key),
            "UpdateExpression": "SET score = :s, unhappy = :u, updated_at = :t",
            "ConditionExpression": "attribute_exists(PK)",
            "ExpressionAttributeValues": self._item({":s": score, ":u": unhappy, ":t": updated_at}),
        }
        if not limits:
            with _translated():
                self.client.update_item(**update)
            return
        # A repeat counts against the limits too, or re-scoring one link would be a free way to flood.
        cancelled = self._transact({"response": {"Update": update}, **self._limit_updates(limits)})
        if cancelled is None:
            return
        limited = self._limited(cancelled, limits)
        if limited is not None:
            raise limited
        raise TemporarilyUnavailable()

    def add_comment(self, locator: ResponseLocator, added: Addition) -> bool:
        sets = ["updated_at = :t"]
        values: dict[str, Any] = {":t": added.updated_at}
        comment = added.comment
        if comment is not None:
            sets.append("#comment = :c")
            values[":c"] = comment
        # An address and a phone (#16) are each kept with the consent they came with, and indexed for erasure.
        contacts = [
            ("email", "GSI1", added.email, added.email_hash, tables.email_gsi_pk),
            ("phone", "GSI2", added.phone, added.phone_hash, tables.phone_gsi_pk),
        ]
        for field, index, clear, hashed, index_pk in contacts:
            if clear is None or hashed is None:
                continue
            sets += [f"{field} = :{field}", f"{field}_hash = :{field}_h", f"{index}PK = :{index}", f"{index}SK = :gs"]
            values.update(
                {
                    f":{field}": clear,
                    f":{field}_h": hashed,
                    f":{index}": index_pk(locator.business_id, hashed),
                    ":gs": locator.sort_key,
                }
            )
            if ":yes" not in values:
                sets.append("consent = :yes")
                values[":yes"] = True
        names: dict[str, str] = {"#comment": "comment"} if comment is not None else {}  # a reserved word
        removes: list[str] = []
        condition = "attribute_exists(PK) AND response_id = :rid"
        # Lists are stored only when not empty, as the first write stores them.
        lists = {"reasons": added.reasons, "topics": added.topics if comment is not None else None}
        for name, value in lists.items():
            if value is None:
                continue
            if value:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = list(value)
            else:
                removes.append(name)
        if comment is not None and added.polarity is not None:
            sets.append("polarity = :pol")
            values[":pol"] = added.polarity
        if added.mood_unhappy is not None:
            condition += " AND unhappy = :mood"
            values[":mood"] = added.mood_unhappy
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Key": self._key(tables.response_pk(locator.business_id, locator.local_date), locator.sort_key),
            "UpdateExpression": "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
            "ConditionExpression": condition,
            "ExpressionAttributeValues": self._item({**values, ":rid": locator.response_id}),
        }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        return conditional(self.client.update_item, **kwargs) is not None

    def find_response(self, locator: ResponseLocator) -> StoredResponse | None:
        plain = self._get(tables.response_pk(locator.business_id, locator.local_date), locator.sort_key)
        if plain is None or plain.get("response_id") != locator.response_id:
            return None
        return StoredResponse.model_validate({k: plain[k] for k in _RESPONSE_FIELDS if k in plain})

    def query_day(self, query: DayQuery) -> DayPage:
        limit, metric, touchpoint_id = query.limit, query.metric, query.touchpoint_id
        pk = tables.response_pk(query.business_id, query.day)
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ScanIndexForward": False,  # newest first
        }
        filters = []
        if metric:
            filters.append("metric = :m")
            kwargs["ExpressionAttributeValues"][":m"] = {"S": metric}
        if touchpoint_id:
            filters.append("touchpoint_id = :tp")
            kwargs["ExpressionAttributeValues"][":tp"] = {"S": touchpoint_id}
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
        if query.start_after:
            kwargs["ExclusiveStartKey"] = self._key(pk, query.start_after)
        page = DayPage()
        while True:
            if limit is not None:
                kwargs["Limit"] = max(1, limit - len(page.items))
            with _translated():
                got = self.client.query(**kwargs)
            for raw in got.get("Items", []):
                plain = self._plain(raw)
                page.items.append(StoredResponse.model_validate({k: plain[k] for k in _RESPONSE_FIELDS if k in plain}))
                page.last_sort_key = plain["SK"]
            last = got.get("LastEvaluatedKey")
            if not last:
                page.last_sort_key = None if limit is None or len(page.items) < limit else page.last_sort_key
                return page
            if limit is not None and len(page.items) >= limit:
                return page
            kwargs["ExclusiveStartKey"] = last

    # ---- links, funnel, erasure -------------------------------------------------------------------

    def put_links(self, links: Sequence[LinkRecord]) -> None:
        if len(links) == 1:
            # A receipt reprinted with the same number must not wipe the claim of its first response.
            link = links[0]
            data = {k: v for k, v in self._link_data(link).items() if v is not None}
            key = {k: data.pop(k) for k in ("PK", "SK")}
            names = {f"#{i}": k for i, k in enumerate(data)}
            with _translated():
                self.client.update_item(
                    TableName=self.table,
                    Key=self._item(key),
                    UpdateExpression="SET " + ", ".join(f"{n} = :{n[1:]}" for n in names),
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=self._item({f":{n[1:]}": data[k] for n, k in names.items()}),
                )
            return
        for start in range(0, len(links), 25):
            requests = [
                {"PutRequest": {"Item": self._item(self._link_data(link))}} for link in links[start : start + 25]
            ]
            pending: dict[str, Any] = {self.table: requests}
            for _attempt in attempts(8, base=0.05, cap=1.0):
                with _translated():
                    got = self.client.batch_write_item(RequestItems=pending)
                pending = got.get("UnprocessedItems") or {}
                if not pending:
                    break
            else:
                raise TemporarilyUnavailable()

    def _link_data(self, link: LinkRecord) -> dict[str, Any]:
        data: dict[str, Any] = {
            "PK": tables.claim_pk(link.business_id, tables.link_claim(link.touchpoint_id, link.link_id)),
            "SK": tables.CLAIM_SK,
            "type": "link",
            "business_id": link.business_id,
            "touchpoint_id": link.touchpoint_id,
            "link_id": link.link_id,
            "created_at": link.created_at,
            "link_expires_at": link.link_expires_at,
            # Kept 90 days past expiry so a late repeat still finds its claim, then DynamoDB drops it.
            tables.TTL_ATTRIBUTE: link.link_expires_at + 90 * 86400,
            "receipt_id": link.receipt_id,
        }
        if link.email and link.email_hash:
            data.update(
                email=link.email,
                email_hash=link.email_hash,
                GSI1PK=tables.email_gsi_pk(link.business_id, link.email_hash),
                GSI1SK=tables.link_gsi_sk(link.link_id),
            )
        return data

    def count_open(self, business_id: str, day: str, touchpoint_id: str) -> None:
        with _translated():
            self.client.update_item(
                **self._funnel_count(business_id, day, tables.touchpoint_sk(touchpoint_id), "opened")
            )

    def find_personal_data(
        self, business_id: str, person_hash: str, by: Literal["email", "phone"] = "email"
    ) -> list[tuple[str, str]]:
        index, pk = (
            ("GSI2", tables.phone_gsi_pk(business_id, person_hash))
            if by == "phone"
            else ("GSI1", tables.email_gsi_pk(business_id, person_hash))
        )
        items = query_pages(
            self.client,
            TableName=self.table,
            IndexName=index,
            KeyConditionExpression=f"{index}PK = :g",
            ExpressionAttributeValues={":g": {"S": pk}},
        )
        return [(item["PK"]["S"], item["SK"]["S"]) for item in items]

    def erase_personal_data(self, pk: str, sk: str, erased_at: str) -> str | None:
        """Remove the address, its hash and the comment from one item; returns the comment it held (so
        its copies in stored reports can be found), None when it held none or was gone."""
        got = conditional(
            self.client.update_item,
            TableName=self.table,
            Key=self._key(pk, sk),
            UpdateExpression="REMOVE "
            + ", ".join(f"#p{i}" for i in range(len(_PERSONAL)))
            + " SET erased_at = :t, consent = :no",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeNames={f"#p{i}": name for i, name in enumerate(_PERSONAL)},
            ExpressionAttributeValues={":t": {"S": erased_at}, ":no": {"BOOL": False}},
            ReturnValues="UPDATED_OLD",
        )
        comment = ((got or {}).get("Attributes") or {}).get("comment", {}).get("S")
        return comment if isinstance(comment, str) else None


def _native(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the models hold ints (strictly), so whole numbers become int."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _native(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_native(v) for v in value]
    return value


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
