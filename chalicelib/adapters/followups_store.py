"""DynamoDB implementation of the email-side ports: the sent-email ledger, suppressions, vouchers, apology
records and owner-alert windows. Keys are documented in ``chalicelib/tables.py``.

Every "only once" rule is a conditional write or a transaction here, never a read followed by a write.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from chalicelib import tables
from chalicelib.adapters.aws import attempts
from chalicelib.adapters.dynamodb import DynamoTable, _translated, conditional
from chalicelib.domain.calendar import parse_iso_utc
from chalicelib.domain.models import StoredResponse
from chalicelib.errors import TemporarilyUnavailable
from chalicelib.ports import AlertRef, Apology, ApologyPointer, EmailCap, LedgerEntry, MailClaim, Voucher

_LEDGER_DAYS = 90
_VOUCHER_KEEP_DAYS = 180
_APOLOGY_KEEP_DAYS = 400


def _epoch(iso: str) -> int:
    return int(parse_iso_utc(iso).timestamp())


class DynamoFollowupStore(DynamoTable):
    # ---- MailLedger -------------------------------------------------------------------------------

    def claim(self, claim: MailClaim) -> bool:
        return conditional(self.client.put_item, **self._ledger_claim(claim)) is not None

    def _ledger_claim(self, claim: MailClaim) -> dict[str, Any]:
        return {
            "TableName": self.table,
            "Item": self._claim_item(
                claim.dedupe_key, kind=claim.kind, business_id=claim.business_id, now=claim.now, status="sending"
            ),
            # Free, or claimed by a sender that died before it finished (never after "sent").
            "ConditionExpression": "attribute_not_exists(PK) OR (#s = :sending AND claimed_at < :stale)",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": self._item({":sending": "sending", ":stale": claim.stale_before}),
        }

    def get(self, dedupe_key: str) -> LedgerEntry | None:
        plain = self._get(tables.ledger_pk(dedupe_key), tables.LEDGER_SK)
        if plain is None:
            return None
        return LedgerEntry(dedupe_key, plain["status"], plain["claimed_at"], plain.get("message_id"))

    def finish(self, dedupe_key: str, *, status: Literal["sent", "queued"], message_id: str | None, now: str) -> None:
        values = {":s": status, ":t": now}
        sets = "#s = :s, finished_at = :t"
        if message_id:
            values[":m"] = message_id
            sets += ", message_id = :m"
        with _translated():
            self.client.update_item(
                TableName=self.table,
                Key=self._key(tables.ledger_pk(dedupe_key), tables.LEDGER_SK),
                UpdateExpression="SET " + sets,
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=self._item(values),
            )

    def release(self, dedupe_key: str, *, caps: Sequence[EmailCap] = ()) -> None:
        released = conditional(
            self.client.delete_item,
            TableName=self.table,
            Key=self._key(tables.ledger_pk(dedupe_key), tables.LEDGER_SK),
            ConditionExpression="#s = :sending",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":sending": {"S": "sending"}},
        )
        if released is None:
            return  # not ours to give back: nor are the counts
        for cap in caps:
            # Nothing went out: the caller's retry must not find the person's cap spent by this attempt.
            with _translated():
                self.client.update_item(
                    TableName=self.table,
                    Key=self._key(tables.cap_pk(cap.key), tables.CAP_SK),
                    UpdateExpression="ADD n :minus",
                    ConditionExpression="n > :zero",
                    ExpressionAttributeValues={":minus": {"N": "-1"}, ":zero": {"N": "0"}},
                )

    # ---- issue #11 item 4: caps counted in the same transaction as the claim ------------------------

    def _claim_item(self, dedupe_key: str, *, kind: str, business_id: str, now: str, status: str) -> dict[str, Any]:
        return self._item(
            {
                "PK": tables.ledger_pk(dedupe_key),
                "SK": tables.LEDGER_SK,
                "type": "mail",
                "kind": kind,
                "business_id": business_id,
                "status": status,
                "claimed_at": now,
                tables.TTL_ATTRIBUTE: _epoch(now) + _LEDGER_DAYS * 86400,
            }
        )

    def claim_within(self, claim: MailClaim, caps: Sequence[EmailCap]) -> str:
        if not caps:
            return "claimed" if self.claim(claim) else "taken"
        items: dict[str, dict[str, Any]] = {"ledger": {"Put": self._ledger_claim(claim)}}
        for number, cap in enumerate(caps):
            items[f"cap:{number}"] = {"Update": self.cap_count(cap, "email_cap")}
        cancelled = self._transact(items)
        if cancelled is None:
            return "claimed"
        if cancelled.failed("ledger"):
            return "taken"
        for number, cap in enumerate(caps):
            if cancelled.failed(f"cap:{number}"):
                return cap.name
        raise TemporarilyUnavailable()

    def cap_count(self, cap: EmailCap, kind: str) -> dict[str, Any]:
        """One daily cap counted inside a transaction (the Update item); its condition fails when full."""
        return {
            "TableName": self.table,
            "Key": self._key(tables.cap_pk(cap.key), tables.CAP_SK),
            # An atomic conditional ADD: two containers can never both take the last slot.
            "UpdateExpression": "ADD n :one SET #type = :type, #ttl = if_not_exists(#ttl, :ttl)",
            "ConditionExpression": "attribute_not_exists(n) OR n < :limit",
            "ExpressionAttributeNames": {"#type": "type", "#ttl": tables.TTL_ATTRIBUTE},
            "ExpressionAttributeValues": self._item(
                {":one": 1, ":type": kind, ":ttl": cap.expires_at, ":limit": cap.limit}
            ),
        }

    def mark_capped(self, dedupe_key: str, *, kind: str, business_id: str, cap: str, now: str) -> bool:
        item = self._claim_item(dedupe_key, kind=kind, business_id=business_id, now=now, status="capped")
        item.update(self._item({"cap": cap}))
        put = conditional(
            self.client.put_item, TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(PK)"
        )
        return put is not None

    def full_cap(self, caps: Sequence[EmailCap]) -> str | None:
        if not caps:
            return None
        keys = [self._key(tables.cap_pk(cap.key), tables.CAP_SK) for cap in caps]
        with _translated():
            found = self.client.batch_get_item(
                RequestItems={
                    self.table: {
                        "Keys": keys,
                        "ConsistentRead": True,
                        "ProjectionExpression": "PK, #n",
                        "ExpressionAttributeNames": {"#n": "n"},
                    }
                }
            )
        stored = found["Responses"].get(self.table, [])
        counts = {item["PK"]["S"]: int(item["n"]["N"]) for item in stored if "n" in item}
        for cap in caps:
            if counts.get(tables.cap_pk(cap.key), 0) >= cap.limit:
                return cap.name
        return None

    # ---- SuppressionStore -------------------------------------------------------------------------

    def suppress(self, email_hash: str, scope: str, *, reason: str, at: str) -> None:
        with _translated():
            self.client.put_item(
                TableName=self.table,
                Item=self._item(
                    {
                        "PK": tables.suppression_pk(email_hash),
                        "SK": scope,
                        "type": "suppression",
                        "reason": reason,
                        "at": at,
                    }
                ),
            )

    def is_suppressed(self, email_hash: str, business_id: str) -> bool:
        with _translated():
            got = self.client.batch_get_item(
                RequestItems={
                    self.table: {
                        "Keys": [
                            self._key(tables.suppression_pk(email_hash), tables.SUPPRESSED_EVERYWHERE),
                            self._key(tables.suppression_pk(email_hash), business_id),
                        ],
                        "ProjectionExpression": "PK",
                        "ConsistentRead": True,
                    }
                }
            )
        if got.get("UnprocessedKeys"):
            raise TemporarilyUnavailable()  # unsure: never send to an address we could not check
        return bool(got.get("Responses", {}).get(self.table))

    # ---- vouchers ---------------------------------------------------------------------------------

    def issue_voucher(
        self, voucher: Voucher, *, email_hash: str, not_before: str | None, day: str, limit_hash: str | None = None
    ) -> Voucher | None:
        marker_pk = tables.voucher_of_response_pk(voucher.business_id, voucher.response_id, voucher.kind)
        marker = self._key(marker_pk, tables.VOUCHER_SK)
        keep = _epoch(voucher.valid_until) + _VOUCHER_KEEP_DAYS * 86400
        items: dict[str, dict[str, Any]] = {
            # One voucher per response and kind, whoever issues it first.
            "marker": {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        **marker,
                        **self._item({"type": "voucher_of_response", "code": voucher.code, tables.TTL_ATTRIBUTE: keep}),
                    },
                    "ConditionExpression": "attribute_not_exists(PK)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            "voucher": {
                "Put": {
                    "TableName": self.table,
                    "Item": self._item(
                        {
                            "PK": tables.voucher_pk(voucher.business_id, voucher.code),
                            "SK": tables.VOUCHER_SK,
                            "type": "voucher",
                            "business_id": voucher.business_id,
                            "code": voucher.code,
                            "description": voucher.description,
                            "issued_at": voucher.issued_at,
                            "valid_until": voucher.valid_until,
                            "response_id": voucher.response_id,
                            "kind": voucher.kind,
                            "email_hash": email_hash,
                            "GSI1PK": tables.email_gsi_pk(voucher.business_id, email_hash),
                            "GSI1SK": tables.voucher_gsi_sk(voucher.code),
                            tables.TTL_ATTRIBUTE: keep,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            "funnel": {"Update": self._funnel_count(voucher.business_id, day, tables.VOUCHER_SK, "issued")},
        }
        if not_before is not None:
            # At most one voucher per person per N days: the window check and the new date are one write.
            items["per_email"] = {
                "Update": {
                    "TableName": self.table,
                    "Key": self._key(
                        tables.voucher_per_email_pk(voucher.business_id, limit_hash or email_hash),
                        tables.VOUCHER_SK,
                    ),
                    "UpdateExpression": "SET last_issued_at = :now, #type = :type, #ttl = :ttl",
                    "ConditionExpression": "attribute_not_exists(last_issued_at) OR last_issued_at < :nb",
                    "ExpressionAttributeNames": {"#type": "type", "#ttl": tables.TTL_ATTRIBUTE},
                    "ExpressionAttributeValues": self._item(
                        {
                            ":now": voucher.issued_at,
                            ":nb": not_before,
                            ":type": "voucher_per_email",
                            ":ttl": _epoch(voucher.issued_at) + 400 * 86400,
                        }
                    ),
                }
            }
        cancelled = self._transact(items)  # throttling, and conflicts past two retries, raise a 503-kind error
        if cancelled is None:
            return voucher
        if cancelled.failed("marker"):
            code = self._plain(cancelled.old("marker") or {}).get("code")
            if code is None:
                code = (self._get(marker_pk, tables.VOUCHER_SK) or {}).get("code")
            return self.get_voucher(voucher.business_id, code) if code else None
        if cancelled.failed("per_email"):
            return None
        raise TemporarilyUnavailable()  # a voucher code collision (2^-80): the record is retried

    def get_voucher(self, business_id: str, code: str) -> Voucher | None:
        p = self._get(tables.voucher_pk(business_id, code), tables.VOUCHER_SK)
        if p is None:
            return None
        return Voucher(
            business_id=p["business_id"],
            code=p["code"],
            description=p["description"],
            issued_at=p["issued_at"],
            valid_until=p["valid_until"],
            response_id=p["response_id"],
            kind=p["kind"],
            redeemed_at=p.get("redeemed_at"),
        )

    def redeem_voucher(
        self, business_id: str, code: str, *, now: str, day: str
    ) -> Literal["redeemed", "already_redeemed", "expired", "unknown"]:
        items = {
            "voucher": {
                "Update": {
                    "TableName": self.table,
                    "Key": self._key(tables.voucher_pk(business_id, code), tables.VOUCHER_SK),
                    "UpdateExpression": "SET redeemed_at = :now",
                    "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(redeemed_at) "
                    "AND valid_until >= :now",
                    "ExpressionAttributeValues": {":now": {"S": now}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            "funnel": {"Update": self._funnel_count(business_id, day, tables.VOUCHER_SK, "redeemed")},
        }
        cancelled = self._transact(items)
        if cancelled is None:
            return "redeemed"
        if not cancelled.failed("voucher"):
            raise TemporarilyUnavailable()
        old = cancelled.old("voucher")
        current = self._plain(old) if old else None
        if current is None:
            found = self.get_voucher(business_id, code)  # moto may omit the old item
            if found is None:
                return "unknown"
            current = {"redeemed_at": found.redeemed_at, "valid_until": found.valid_until}
        if current.get("redeemed_at"):
            return "already_redeemed"
        return "expired"

    # ---- apologies and recovery -------------------------------------------------------------------

    def record_apology(self, apology: Apology) -> None:
        keep = _epoch(apology.sent_at) + _APOLOGY_KEEP_DAYS * 86400
        gsi = tables.email_gsi_pk(apology.business_id, apology.email_hash)
        record = {
            "PK": tables.apology_pk(apology.business_id, apology.day),
            "SK": apology.response_id,
            "type": "apology",
            "email_hash": apology.email_hash,
            "metric": apology.metric,
            "score": apology.score,
            "touchpoint_id": apology.touchpoint_id,
            "sent_at": apology.sent_at,
            "GSI1PK": gsi,
            "GSI1SK": tables.apology_gsi_sk(apology.response_id),
            tables.TTL_ATTRIBUTE: keep,
        }
        pointer = {
            "PK": tables.apology_pointer_pk(apology.business_id, apology.email_hash),
            "SK": tables.APOLOGY_POINTER_SK,
            "type": "apology_pointer",
            "day": apology.day,
            "response_id": apology.response_id,
            "sent_at": apology.sent_at,
            "GSI1PK": gsi,
            "GSI1SK": tables.APOLOGY_POINTER_GSI_SK,
            tables.TTL_ATTRIBUTE: keep,
        }
        items = [
            # A repeated delivery must not wipe a recovered_at set in between.
            {"Item": self._item(record), "ConditionExpression": "attribute_not_exists(PK)"},
            {
                "Item": self._item(pointer),
                "ConditionExpression": "attribute_not_exists(PK) OR sent_at <= :t",
                "ExpressionAttributeValues": {":t": {"S": apology.sent_at}},
            },
        ]
        # Two independent conditional puts, no transaction: each is idempotent on its own, and the pointer
        # only ever moves to a newer apology, whichever order a crash and a redelivery leave them in.
        # A failed condition means already recorded (a redelivered record) or a newer apology is the pointer.
        for entry in items:
            conditional(self.client.put_item, TableName=self.table, **entry)

    def latest_apology(self, business_id: str, email_hash: str) -> ApologyPointer | None:
        p = self._get(tables.apology_pointer_pk(business_id, email_hash), tables.APOLOGY_POINTER_SK)
        if p is None:
            return None
        return ApologyPointer(business_id, p["day"], p["response_id"], p["sent_at"])

    def mark_recovered(self, pointer: ApologyPointer, *, at: str) -> bool:
        recovered = conditional(
            self.client.update_item,
            TableName=self.table,
            Key=self._key(tables.apology_pk(pointer.business_id, pointer.day), pointer.response_id),
            UpdateExpression="SET recovered_at = :t",
            ConditionExpression="attribute_exists(PK) AND attribute_not_exists(recovered_at)",
            ExpressionAttributeValues={":t": {"S": at}},
        )
        return recovered is not None

    # ---- owner-alert windows ----------------------------------------------------------------------

    def count_alert(self, business_id: str, window: int, ref: AlertRef, *, limit: int, batch_cap: int) -> int:
        key = self._key(tables.alert_window_pk(business_id, window), tables.ALERT_WINDOW_SK)
        got = conditional(
            self.client.update_item,
            TableName=self.table,
            Key=key,
            UpdateExpression="ADD alerts :one, rids :rid SET #type = :type, #ttl = :ttl",
            # Counted once per response, however often the stream delivers it.
            ConditionExpression="attribute_not_exists(rids) OR NOT contains(rids, :r)",
            ExpressionAttributeNames={"#type": "type", "#ttl": tables.TTL_ATTRIBUTE},
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":rid": {"SS": [ref.response_id]},
                ":r": {"S": ref.response_id},
                ":type": {"S": "alert_window"},
                ":ttl": {"N": str((window + 1) * 300 + 7 * 86400)},
            },
            ReturnValues="UPDATED_NEW",
        )
        if got is None:
            refs, _ = self.alert_batch(business_id, window, limit=limit)
            ids = [r.response_id for r in refs]
            if ref.response_id not in ids:
                return 1  # counted and sent on its own before (or its batch entry never landed: send it alone)
            return limit + 1 if ids[0] == ref.response_id else limit + 2  # the first one (re)schedules the flush
        position = int(got["Attributes"]["alerts"]["N"])
        if limit < position <= limit + batch_cap:
            # Ids and the response's key only (~60 bytes): the item stays small whatever the comments hold,
            # and erasing a person leaves nothing of theirs here.
            with _translated():
                self.client.update_item(
                    TableName=self.table,
                    Key=key,
                    UpdateExpression="SET #batch = list_append(if_not_exists(#batch, :empty), :one)",
                    ExpressionAttributeNames={"#batch": "batch"},
                    ExpressionAttributeValues=self._item(
                        {":empty": [], ":one": [[ref.response_id, ref.day, ref.sort_key]]}
                    ),
                )
        return position

    def alert_batch(self, business_id: str, window: int, *, limit: int) -> tuple[list[AlertRef], int]:
        plain = self._get(tables.alert_window_pk(business_id, window), tables.ALERT_WINDOW_SK)
        if plain is None:
            return [], 0
        refs = [
            AlertRef(str(entry[0]), str(entry[1]), str(entry[2]))
            for entry in plain.get("batch", [])
            if isinstance(entry, list) and len(entry) == 3  # an entry of the old shape (a summary) is skipped
        ]
        return refs, max(len(refs), int(plain.get("alerts", 0)) - limit)

    def responses(self, business_id: str, refs: Sequence[AlertRef]) -> list[StoredResponse]:
        wanted = {(tables.response_pk(business_id, r.day), r.sort_key): r.response_id for r in refs}
        found: dict[str, StoredResponse] = {}
        keys = [self._key(pk, sk) for pk, sk in wanted]
        for start in range(0, len(keys), 100):
            pending: dict[str, Any] = {self.table: {"Keys": keys[start : start + 100], "ConsistentRead": True}}
            # Unprocessed keys are throttled reads: back off before asking again (5 tries, then what was read).
            for _attempt in attempts(5, base=0.05, cap=1.0):
                with _translated():
                    got = self.client.batch_get_item(RequestItems=pending)
                for item in got.get("Responses", {}).get(self.table, []):
                    plain = self._plain(item)
                    fields = {k: plain[k] for k in StoredResponse.model_fields if k in plain}
                    try:
                        response = StoredResponse.model_validate(fields)
                    except ValueError:
                        continue
                    found[response.response_id] = response
                pending = got.get("UnprocessedKeys") or {}
                if not pending:
                    break
        return [found[r.response_id] for r in refs if r.response_id in found]
