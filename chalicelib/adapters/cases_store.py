"""DynamoDB implementation of the ``CaseStore`` port: the complaint inbox (issue #14). Keys in
``chalicelib/tables.py``; the items hold no copy of the customer's address or comment.

Every move of a case is one conditional update on the case item, so concurrent owners (two phones, the
console and a script) can never make a sixth reply nor resolve a case twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chalicelib import tables
from chalicelib.adapters.dynamodb import DynamoTable, _translated, conditional, query_pages
from chalicelib.domain.cases import Case, CaseEvent, CaseTimes
from chalicelib.ports import StoredCase

_ERASE_TRIES = 3
_PAGE = 100  # items read per Query page when a status filter may skip most of them
_MAX_PAGES = 10  # Query pages one listing request reads at most


def _event(event: CaseEvent) -> dict[str, Any]:
    return event.model_dump(exclude_none=True)


class DynamoCaseStore(DynamoTable):
    # ---- reading ----------------------------------------------------------------------------------

    def _where(self, business_id: str, response_id: str) -> tuple[str, str, str] | None:
        """(PK, SK, local day) of a response's case, from its pointer; None when it has none."""
        ref = self._get(tables.case_ref_pk(business_id, response_id), tables.CASE_REF_SK)
        if ref is None:
            return None
        return tables.case_pk(business_id), str(ref["sk"]), str(ref["local_date"])

    def _stored(self, plain: dict[str, Any]) -> StoredCase:
        case = Case(
            response_id=plain["response_id"],
            status=plain["status"],
            score=plain["score"],
            metric=plain["metric"],
            created_at=plain["created_at"],
            history=[CaseEvent.model_validate(e) for e in plain.get("history", [])],
            touchpoint_id=plain["touchpoint_id"],
            channel=plain["channel"],
            locale=plain.get("locale"),
            has_contact=bool(plain.get("has_contact")),
            replies=int(plain.get("replies", 0)),
            first_reply_at=plain.get("first_reply_at"),
            resolved_at=plain.get("resolved_at"),
        )
        return StoredCase(case, str(plain["local_date"]))

    def get_case(self, business_id: str, response_id: str) -> StoredCase | None:
        where = self._where(business_id, response_id)
        if where is None:
            return None
        plain = self._get(where[0], where[1])
        return self._stored(plain) if plain is not None else None

    def list_cases(
        self, business_id: str, *, status: str | None, after: str | None, limit: int
    ) -> tuple[list[StoredCase], str | None]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": tables.case_pk(business_id)}},
            "ScanIndexForward": False,
            "Limit": _PAGE if status else limit,
        }
        if status:
            kwargs["FilterExpression"] = "#status = :status"
            kwargs["ExpressionAttributeNames"] = {"#status": "status"}
            kwargs["ExpressionAttributeValues"][":status"] = {"S": status}
        if after:
            kwargs["ExclusiveStartKey"] = self._key(tables.case_pk(business_id), after)
        found: list[StoredCase] = []
        for _ in range(_MAX_PAGES):
            with _translated():
                page = self.client.query(**kwargs)
            for item in page.get("Items", []):
                found.append(self._stored(self._plain(item)))
                if len(found) == limit:
                    # Resume after the last case shown, wherever the Query page itself stopped.
                    return found, found[-1].sort_key
            last = page.get("LastEvaluatedKey")
            if not last:
                return found, None
            kwargs["ExclusiveStartKey"] = last
        # A status the last pages hardly held: answer what was found and where to go on, so one request
        # never reads a business's whole history (the next page may hold fewer than ``limit`` too).
        return found, str(kwargs["ExclusiveStartKey"]["SK"]["S"])

    def case_times(self, business_id: str, first: str, last: str) -> Iterator[CaseTimes]:
        # Four attributes, not the histories: Today reads a month of cases on every visit.
        values = {":pk": {"S": tables.case_pk(business_id)}, ":a": {"S": first}, ":b": {"S": last}}
        for item in query_pages(
            self.client,
            TableName=self.table,
            KeyConditionExpression="PK = :pk AND SK BETWEEN :a AND :b",
            ExpressionAttributeValues=values,
            ProjectionExpression="created_at, first_reply_at, resolved_at, has_contact",
        ):
            yield CaseTimes(
                item["created_at"]["S"],
                item["first_reply_at"]["S"] if "first_reply_at" in item else None,
                item["resolved_at"]["S"] if "resolved_at" in item else None,
                bool(item.get("has_contact", {}).get("BOOL")),
            )

    def open_cases(self, business_id: str, *, since: str, before: str) -> Iterator[StoredCase]:
        items = query_pages(
            self.client,
            TableName=self.table,
            # A sort key is ``{created_at}#{id}``: ``before#...`` sorts after ``before``, so the end is exclusive.
            KeyConditionExpression="PK = :pk AND SK BETWEEN :a AND :b",
            FilterExpression="#status = :open",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":pk": {"S": tables.case_pk(business_id)}, ":a": {"S": since}, ":b": {"S": before},
                ":open": {"S": "open"},
            },
            ScanIndexForward=False,  # newest first
        )
        for item in items:
            yield self._stored(self._plain(item))

    # ---- writing ----------------------------------------------------------------------------------

    def open_case(self, business_id: str, stored: StoredCase, email_hash: str | None) -> bool:
        case = stored.case
        pointer = {
            "PK": tables.case_ref_pk(business_id, case.response_id),
            "SK": tables.CASE_REF_SK,
            "type": "case_ref",
            "sk": stored.sort_key,
            "local_date": stored.local_date,
        }
        item: dict[str, Any] = {
            "PK": tables.case_pk(business_id),
            "SK": stored.sort_key,
            "type": "case",
            "business_id": business_id,
            "local_date": stored.local_date,
            **case.model_dump(exclude={"comment", "history"}, exclude_none=True),
            "history": [_event(e) for e in case.history],
        }
        if email_hash:
            item.update(self._contact_keys(business_id, case.response_id, email_hash))
        # The pointer first: a case that exists is always findable. Each put is idempotent on its own, so a
        # crash between them is mended by the stream redelivering the record.
        for entry in (pointer, item):
            created = conditional(
                self.client.put_item, TableName=self.table, Item=self._item(entry),
                ConditionExpression="attribute_not_exists(PK)",
            )
        return created is not None

    @staticmethod
    def _contact_keys(business_id: str, response_id: str, email_hash: str) -> dict[str, str]:
        return {
            "email_hash": email_hash,
            "GSI1PK": tables.email_gsi_pk(business_id, email_hash),
            "GSI1SK": tables.case_gsi_sk(response_id),
        }

    def _update(
        self, business_id: str, response_id: str, *, sets: str, condition: str, values: dict[str, Any]
    ) -> dict[str, Any] | None:
        """One conditional update of a response's case: its new image, or None (no case, or the condition
        failed)."""
        where = self._where(business_id, response_id)
        if where is None:
            return None
        # DynamoDB refuses a name the expressions do not use.
        names = {"ExpressionAttributeNames": {"#status": "status"}} if "#status" in sets + condition else {}
        got = conditional(
            self.client.update_item,
            TableName=self.table,
            Key=self._key(where[0], where[1]),
            UpdateExpression=sets,
            ConditionExpression="attribute_exists(PK) AND " + condition,
            ExpressionAttributeValues=self._item(values),
            ReturnValues="ALL_NEW",
            **names,
        )
        return self._plain(got["Attributes"]) if got else None

    def add_contact(self, business_id: str, response_id: str, email_hash: str, event: CaseEvent) -> bool:
        keys = self._contact_keys(business_id, response_id, email_hash)
        return self._update(
            business_id, response_id,
            sets="SET #status = :open, has_contact = :yes, email_hash = :h, GSI1PK = :g, GSI1SK = :gs, "
            "history = list_append(history, :ev)",
            condition="#status = :was",
            values={":open": "open", ":yes": True, ":h": keys["email_hash"], ":g": keys["GSI1PK"],
                    ":gs": keys["GSI1SK"], ":ev": [_event(event)], ":was": "no_contact"},
        ) is not None

    def change_score(self, business_id: str, response_id: str, score: int, event: CaseEvent) -> bool:
        return self._update(
            business_id, response_id,
            sets="SET score = :s, history = list_append(history, :ev)",
            condition="score <> :s",
            values={":s": score, ":ev": [_event(event)]},
        ) is not None

    def begin_reply(self, business_id: str, response_id: str, *, replies: int, history: int, event: CaseEvent) -> bool:
        return self._update(
            business_id, response_id,
            sets="SET replies = :next, #status = :replied, first_reply_at = if_not_exists(first_reply_at, :at), "
            "history = list_append(history, :ev)",
            # The history's length too: the caller writes the outcome on entry ``history`` afterwards.
            condition="#status IN (:open, :replied) AND replies = :n AND has_contact = :yes AND size(history) = :len",
            values={":next": replies + 1, ":n": replies, ":len": history, ":replied": "replied", ":open": "open",
                    ":yes": True, ":at": event.at, ":ev": [_event(event)]},
        ) is not None

    def finish_reply(self, business_id: str, response_id: str, *, index: int, outcome: str) -> Case | None:
        got = self._update(
            business_id, response_id,
            sets=f"SET history[{int(index)}].outcome = :o",
            condition="size(history) > :i",
            values={":o": outcome, ":i": int(index)},
        )
        return self._stored(got).case if got else None

    def resolve(self, business_id: str, response_id: str, event: CaseEvent) -> Case | None:
        got = self._update(
            business_id, response_id,
            sets="SET #status = :resolved, resolved_at = :at, history = list_append(history, :ev)",
            condition="#status <> :resolved",
            values={":resolved": "resolved", ":at": event.at, ":ev": [_event(event)]},
        )
        return self._stored(got).case if got else None

    def erase_case(self, pk: str, sk: str, at: str) -> bool:
        for _ in range(_ERASE_TRIES):
            plain = self._get(pk, sk)
            if plain is None:
                return False
            history = [{k: v for k, v in e.items() if k != "message"} for e in plain.get("history", [])]
            history.append(_event(CaseEvent(at=at, by="erasure", action="erased")))
            status = "no_contact" if plain.get("status") == "open" else plain.get("status")
            # Conditioned on the history it read: a reply recorded meanwhile is erased by the next try.
            done = conditional(
                self.client.update_item,
                TableName=self.table,
                Key=self._key(pk, sk),
                UpdateExpression="SET history = :h, has_contact = :no, #status = :st, erased_at = :at "
                "REMOVE email_hash, GSI1PK, GSI1SK",
                ConditionExpression="attribute_exists(PK) AND size(history) = :len",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=self._item(
                    {":h": history, ":no": False, ":st": status, ":at": at, ":len": len(history) - 1}
                ),
            )
            if done is not None:
                return True
        from chalicelib.errors import TemporarilyUnavailable

        raise TemporarilyUnavailable()
