"""The emulator as `make run` patches it (chalicelib/local/emulator.py: a Query reads only its partition,
an UpdateExpression is parsed and statically checked once) answers as DynamoDB does: the owner's listing
pages, counters and refusals are the same as without the patches, only cheaper."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from chalicelib import tables
from chalicelib.local import emulator

TABLE = "surveys-emulator-reads"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    emulator.install()  # as `make run`, the fault tests and the load bench have it
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-southeast-1")
        client.create_table(**tables.create_table_kwargs(TABLE))
        for business in ("BIZ#1", "BIZ#2", "BIZ#3"):
            for n in range(25):
                client.put_item(
                    TableName=TABLE,
                    Item={"PK": {"S": business}, "SK": {"S": f"RESP#{n:03d}"}, "score": {"N": str(n % 11)}},
                )
            client.put_item(TableName=TABLE, Item={"PK": {"S": business}, "SK": {"S": "TP#table"}})
        yield client


def every_page(client: Any, **query: Any) -> list[list[str]]:
    pages, start = [], None
    while True:
        got = client.query(TableName=TABLE, **query, **({"ExclusiveStartKey": start} if start else {}))
        pages.append([item["SK"]["S"] for item in got["Items"]])
        start = got.get("LastEvaluatedKey")
        if not start:
            return pages


def test_an_owners_listing_reads_its_own_partition_page_by_page_in_key_order(dynamodb: Any) -> None:
    newest_first = every_page(
        dynamodb,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :resp)",
        ExpressionAttributeValues={":pk": {"S": "BIZ#2"}, ":resp": {"S": "RESP#"}},
        ScanIndexForward=False,
        Limit=10,
    )
    assert newest_first == [
        [f"RESP#{n:03d}" for n in range(24, 14, -1)],
        [f"RESP#{n:03d}" for n in range(14, 4, -1)],
        [f"RESP#{n:03d}" for n in range(4, -1, -1)],
    ]
    whole = every_page(dynamodb, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": "BIZ#3"}})
    assert whole == [[f"RESP#{n:03d}" for n in range(25)] + ["TP#table"]]
    assert every_page(
        dynamodb, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": "BIZ#none"}}
    ) == [[]]
    high = dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="PK = :pk AND SK BETWEEN :a AND :b",
        FilterExpression="score >= :nine",
        ExpressionAttributeValues={
            ":pk": {"S": "BIZ#1"},
            ":a": {"S": "RESP#000"},
            ":b": {"S": "RESP#999"},
            ":nine": {"N": "9"},
        },
    )
    assert [item["SK"]["S"] for item in high["Items"]] == ["RESP#009", "RESP#010", "RESP#020", "RESP#021"]


def bump(client: Any, names: dict[str, str]) -> None:
    client.update_item(
        TableName=TABLE,
        Key={"PK": {"S": "BIZ#1"}, "SK": {"S": "COUNTERS"}},
        UpdateExpression="ADD #a :one, #b :one",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={":one": {"N": "1"}},
    )


def test_a_counter_update_sent_again_and_again_counts_every_time(dynamodb: Any) -> None:
    for _ in range(3):
        bump(dynamodb, {"#a": "opened", "#b": "answered"})
    counters = dynamodb.get_item(TableName=TABLE, Key={"PK": {"S": "BIZ#1"}, "SK": {"S": "COUNTERS"}})["Item"]
    assert counters["opened"] == {"N": "3"} and counters["answered"] == {"N": "3"}


def test_an_update_dynamodb_refuses_is_refused_every_time_even_after_the_same_expression_was_accepted(
    dynamodb: Any,
) -> None:
    bump(dynamodb, {"#a": "opened", "#b": "answered"})  # accepted: the expression is now parsed and checked
    for _ in range(2):
        with pytest.raises(ClientError) as twice:
            bump(dynamodb, {"#a": "opened", "#b": "opened"})  # one attribute twice: DynamoDB refuses it
        assert twice.value.response["Error"]["Code"] == "ValidationException"
        with pytest.raises(ClientError) as key:
            bump(dynamodb, {"#a": "opened", "#b": "SK"})  # the sort key: never updatable
        assert key.value.response["Error"]["Code"] == "ValidationException"
    counters = dynamodb.get_item(TableName=TABLE, Key={"PK": {"S": "BIZ#1"}, "SK": {"S": "COUNTERS"}})["Item"]
    assert counters["opened"] == {"N": "1"} and counters["answered"] == {"N": "1"}


def test_a_stream_consumer_reads_the_same_records_as_through_motos_own_serializer(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")  # else the Streams calls miss moto
    dynamodb.update_item(
        TableName=TABLE,
        Key={"PK": {"S": "BIZ#1"}, "SK": {"S": "RESP#003"}},
        UpdateExpression="SET #c = :c, tags = :tags, flags = :flags REMOVE score",
        ExpressionAttributeNames={"#c": "comment"},
        ExpressionAttributeValues={
            ":c": {"S": "Chờ lâu quá"},
            ":tags": {"SS": ["slow", "noisy"]},
            ":flags": {"M": {"seen": {"BOOL": True}, "n": {"N": "2.5"}, "none": {"NULL": True}}},
        },
    )
    dynamodb.delete_item(TableName=TABLE, Key={"PK": {"S": "BIZ#2"}, "SK": {"S": "RESP#004"}})
    streams = boto3.client("dynamodbstreams", region_name="ap-southeast-1")
    arn = dynamodb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]

    def read_all() -> list[dict[str, Any]]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        got = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)
        return [{key: value for key, value in record.items() if key != "eventID"} for record in got["Records"]]

    ours = read_all()
    monkeypatch.setattr(DynamoDBStreamsHandler, "get_records", DynamoDBStreamsHandler.get_records.__wrapped__)
    assert ours == read_all()
    assert [r["eventName"] for r in ours[-2:]] == ["MODIFY", "REMOVE"] and len(ours) == 80
    assert ours[-2]["dynamodb"]["NewImage"]["flags"]["M"]["n"] == {"N": "2.5"}
    assert ours[-2]["dynamodb"]["ApproximateCreationDateTime"].tzinfo is not None


def test_one_expression_written_to_many_new_items_gives_each_its_own_values(dynamodb: Any) -> None:
    # The validator rewrites its copy of the parsed tree with each request's values: copies must not share.
    for n in range(4):
        dynamodb.update_item(
            TableName=TABLE, Key={"PK": {"S": "BIZ#9"}, "SK": {"S": f"CLAIM#{n}"}},
            UpdateExpression="SET response_id = :rid, #type = if_not_exists(#type, :type) ADD n :one",
            ExpressionAttributeNames={"#type": "type"},
            ExpressionAttributeValues={":rid": {"S": f"r{n}"}, ":type": {"S": f"claim{n}"}, ":one": {"N": str(n)}},
        )
    items = dynamodb.query(
        TableName=TABLE, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": "BIZ#9"}}
    )["Items"]
    assert [(i["response_id"]["S"], i["type"]["S"], i["n"]["N"]) for i in items] == [
        (f"r{n}", f"claim{n}", str(n)) for n in range(4)
    ]


def test_reads_answer_the_same_as_through_motos_own_serializer(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.responses import DynamoHandler

    rich = {
        "PK": {"S": "BIZ#1"},
        "SK": {"S": "RESP#rich"},
        "photo": {"B": b"\x00\xffbytes"},
        "tags": {"SS": ["slow", "noisy"]},
        "scores": {"NS": ["1", "2.5"]},
        "flags": {"M": {"seen": {"BOOL": True}, "none": {"NULL": True}, "list": {"L": [{"S": "ạ"}, {"N": "-3"}]}}},
    }
    dynamodb.put_item(TableName=TABLE, Item=rich)

    def reads() -> list[Any]:
        keys = [{"PK": {"S": "BIZ#1"}, "SK": {"S": sk}} for sk in ("RESP#rich", "RESP#001", "RESP#none")]
        answers = [
            dynamodb.get_item(TableName=TABLE, Key=keys[0], ReturnConsumedCapacity="TOTAL"),
            dynamodb.get_item(TableName=TABLE, Key=keys[2]),
            dynamodb.batch_get_item(RequestItems={TABLE: {"Keys": keys}}),
            dynamodb.query(
                TableName=TABLE,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": "BIZ#1"}},
                Limit=7,
                ReturnConsumedCapacity="INDEXES",
            ),
            dynamodb.query(
                TableName=TABLE,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": "BIZ#2"}},
                Select="COUNT",
            ),
            dynamodb.scan(TableName=TABLE, Limit=30),
        ]
        for answer in answers:
            answer.pop("ResponseMetadata")
        return answers

    ours = reads()
    for name in ("get_item", "batch_get_item", "query", "scan"):
        monkeypatch.setattr(DynamoHandler, name, getattr(DynamoHandler, name).__wrapped__)
    assert ours == reads()
    assert ours[0]["Item"]["photo"] == {"B": b"\x00\xffbytes"} and ours[0]["ConsumedCapacity"]["TableName"] == TABLE
    assert "Item" not in ours[1] and len(ours[2]["Responses"][TABLE]) == 2
    assert len(ours[3]["Items"]) == 7 and ours[3]["LastEvaluatedKey"]["SK"] == {"S": "RESP#006"}
    assert ours[4]["Count"] == 26 and "Items" not in ours[4]
