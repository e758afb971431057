"""The emulator of `make run`, the fault tests and the load bench (chalicelib/local/emulator.py) keeps
DynamoDB's all-or-nothing transactions and its stream while undoing only the items a failed transaction
named: a cancelled answer leaves nothing behind, sends no follow-up, and never blinds the stream consumer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import moto.dynamodb.models as dynamodb_models
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from chalicelib import tables
from chalicelib.local.emulator import patched

TABLE = "surveys-emulator"
COUNTERS = "counters-emulator"  # a hash-key-only table: moto keeps its items unnested


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")  # else the Streams calls miss moto
    shim, transact_write_items = patched()
    monkeypatch.setattr(dynamodb_models, "copy", shim)
    monkeypatch.setattr(dynamodb_models.DynamoDBBackend, "transact_write_items", transact_write_items)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-southeast-1")
        client.create_table(**tables.create_table_kwargs(TABLE))
        client.create_table(
            TableName=COUNTERS,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        client.put_item(TableName=TABLE, Item=_item("BIZ#1", "COUNTER", n="5"))
        client.put_item(TableName=TABLE, Item=_item("BIZ#1", "LINK#a", state="fresh"))
        client.put_item(TableName=TABLE, Item=_item("BIZ#1", "VOUCHER#x", state="issued"))
        client.put_item(TableName=COUNTERS, Item={"id": {"S": "day"}, "n": {"N": "1"}})
        yield client


def _item(pk: str, sk: str, **attrs: str) -> dict[str, Any]:
    item: dict[str, Any] = {"PK": {"S": pk}, "SK": {"S": sk}}
    for name, value in attrs.items():
        item[name] = {"N": value} if value.isdigit() else {"S": value}
    return item


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def everything(client: Any) -> dict[str, list[dict[str, Any]]]:
    return {
        name: sorted(client.scan(TableName=name)["Items"], key=lambda i: repr(sorted(i.items())))
        for name in (TABLE, COUNTERS)
    }


class Reader:
    """A consumer of one table's stream, its iterator opened before anything under test happens."""

    def __init__(self, table: str) -> None:
        self.streams = boto3.client("dynamodbstreams", region_name="ap-southeast-1")
        arn = boto3.client("dynamodb", region_name="ap-southeast-1").describe_table(TableName=table)["Table"][
            "LatestStreamArn"
        ]
        shard = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        self.iterator = self.streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]

    def read(self) -> list[dict[str, Any]]:
        got = self.streams.get_records(ShardIterator=self.iterator, Limit=1000)
        self.iterator = got["NextShardIterator"]
        return list(got["Records"])


def a_submission_that_fails_last(client: Any, failing: dict[str, Any]) -> None:
    """Put a new item, update one, delete one, bump a counter in another table; ``failing`` comes last, so
    every write before it has been applied when the transaction fails."""
    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": _item("BIZ#1", "RESP#new", score="9")}},
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": _key("BIZ#1", "COUNTER"),
                    "UpdateExpression": "SET n = n + :one, touched = :yes",
                    "ExpressionAttributeValues": {":one": {"N": "1"}, ":yes": {"S": "yes"}},
                }
            },
            {"Delete": {"TableName": TABLE, "Key": _key("BIZ#1", "VOUCHER#x")}},
            {
                "Update": {
                    "TableName": COUNTERS,
                    "Key": {"id": {"S": "day"}},
                    "UpdateExpression": "SET n = n + :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {"Put": {"TableName": COUNTERS, "Item": {"id": {"S": "new-day"}, "n": {"N": "1"}}}},
            failing,
        ]
    )


CONDITION_FAILS = {
    "Update": {
        "TableName": TABLE,
        "Key": _key("BIZ#1", "LINK#a"),
        "UpdateExpression": "SET #s = :used",
        "ConditionExpression": "#s = :spent",  # the link is fresh: a reused link cancels the submission
        "ExpressionAttributeNames": {"#s": "state"},
        "ExpressionAttributeValues": {":used": {"S": "used"}, ":spent": {"S": "spent"}},
    }
}
SAME_ITEM_TWICE = {"Put": {"TableName": TABLE, "Item": _item("BIZ#1", "RESP#new", score="1")}}
INVALID_UPDATE = {
    "Update": {"TableName": TABLE, "Key": _key("BIZ#1", "LINK#a"), "UpdateExpression": "SET = nonsense"}
}


@pytest.mark.parametrize(
    ("failing", "code"),
    [
        (CONDITION_FAILS, "TransactionCanceledException"),
        (SAME_ITEM_TWICE, "ValidationException"),
        (INVALID_UPDATE, "ValidationException"),
    ],
    ids=["condition-fails", "same-item-twice", "invalid-update"],
)
def test_a_failed_transaction_leaves_every_item_as_before_and_adds_no_stream_record(
    dynamodb: Any, failing: dict[str, Any], code: str
) -> None:
    responses, counters = Reader(TABLE), Reader(COUNTERS)
    responses.read(), counters.read()
    before = everything(dynamodb)

    with pytest.raises(ClientError) as refused:
        a_submission_that_fails_last(dynamodb, failing)

    assert refused.value.response["Error"]["Code"] == code
    assert everything(dynamodb) == before  # the new items absent, the updated and deleted ones as they were
    assert dynamodb.get_item(TableName=TABLE, Key=_key("BIZ#1", "COUNTER"))["Item"]["n"] == {"N": "5"}
    assert "Item" in dynamodb.get_item(TableName=TABLE, Key=_key("BIZ#1", "VOUCHER#x"))
    assert "Item" not in dynamodb.get_item(TableName=TABLE, Key=_key("BIZ#1", "RESP#new"))
    assert responses.read() == [] and counters.read() == []  # AWS streams nothing of a cancelled transaction


def test_a_successful_transaction_writes_every_item_with_one_stream_record_each(dynamodb: Any) -> None:
    responses = Reader(TABLE)
    responses.read()
    link_is_fresh = {
        "ConditionCheck": {
            "TableName": TABLE,
            "Key": _key("BIZ#1", "LINK#a"),
            "ConditionExpression": "#s = :fresh",
            "ExpressionAttributeNames": {"#s": "state"},
            "ExpressionAttributeValues": {":fresh": {"S": "fresh"}},
        }
    }

    a_submission_that_fails_last(dynamodb, link_is_fresh)

    assert dynamodb.get_item(TableName=TABLE, Key=_key("BIZ#1", "COUNTER"))["Item"]["n"] == {"N": "6"}
    assert "Item" not in dynamodb.get_item(TableName=TABLE, Key=_key("BIZ#1", "VOUCHER#x"))
    assert dynamodb.get_item(TableName=TABLE, Key=_key("BIZ#1", "RESP#new"))["Item"]["score"] == {"N": "9"}
    assert dynamodb.get_item(TableName=COUNTERS, Key={"id": {"S": "new-day"}})["Item"]["n"] == {"N": "1"}
    assert sorted(r["eventName"] for r in responses.read()) == ["INSERT", "MODIFY", "REMOVE"]


def test_a_stream_iterator_opened_before_a_cancelled_transaction_still_sees_later_writes(dynamodb: Any) -> None:
    consumer = Reader(TABLE)
    assert len(consumer.read()) == 3  # the three items of the fixture

    with pytest.raises(ClientError):
        a_submission_that_fails_last(dynamodb, CONDITION_FAILS)
    dynamodb.put_item(TableName=TABLE, Item=_item("BIZ#1", "RESP#next", score="10"))

    later = consumer.read()
    assert [(r["eventName"], r["dynamodb"]["Keys"]["SK"]["S"]) for r in later] == [("INSERT", "RESP#next")]
    assert later[0]["dynamodb"]["NewImage"]["score"] == {"N": "10"}


def test_under_the_local_runs_lock_no_reader_sees_a_cancelled_transactions_writes(dynamodb: Any) -> None:
    # `make run` serves the API and the stream consumer from threads of one process: a read running beside
    # a cancelled transaction must never see its new item, nor the counter it bumped before its undo.
    from chalicelib.local.stream import serialize_emulator_writes

    serialize_emulator_writes()
    seen: list[dict[str, Any]] = []
    done = threading.Event()

    def reader() -> None:
        client = boto3.client("dynamodb", region_name="ap-southeast-1")
        while not done.is_set():
            got = client.get_item(TableName=TABLE, Key=_key("BIZ#1", "RESP#new")).get("Item")
            counter = client.get_item(TableName=TABLE, Key=_key("BIZ#1", "COUNTER"))["Item"]
            if got or counter["n"] != {"N": "5"}:
                seen.append(got or counter)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(60):
            with pytest.raises(ClientError):
                a_submission_that_fails_last(dynamodb, CONDITION_FAILS)
    finally:
        done.set()
        thread.join()

    assert seen == []
    assert dynamodb.get_item(TableName=TABLE, Key=_key("BIZ#1", "COUNTER"))["Item"]["n"] == {"N": "5"}
