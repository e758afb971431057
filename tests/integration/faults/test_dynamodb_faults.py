"""DynamoDB throttling on ~20% of calls during 1,000 submissions: every 2xx is stored exactly once, every
failure is a 503 with Retry-After and nothing half-written, and retries with the same Idempotency-Key
end with every submission stored exactly once."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from chalice.test import Client
from moto import mock_aws

from chalicelib import tables, wiring
from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.settings import get_settings
from tests.clock import FakeClock
from tests.integration.conftest import make_business, table_items, with_nonce
from tests.integration.faults.dynamo_faults import DynamoFaults

# moto snapshots the whole table for every transaction, so the cost grows with the square of the count:
# `make test` runs 200 submissions, `make fuzz` the full 1,000 (FAULT_SUBMISSIONS).
SUBMISSIONS = int(os.environ.get("FAULT_SUBMISSIONS", "200"))
FAULT_RATE = 0.2


@pytest.fixture
def faulty() -> Iterator[tuple[Client, DynamoFaults, FakeClock, Any]]:
    clock = FakeClock()
    with mock_aws():
        admin = boto3.client("dynamodb")
        admin.create_table(**tables.create_table_kwargs(get_settings().table_name))
        # No SDK retries: every injected fault reaches our code, the hardest case for it.
        client = boto3.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 1}))
        faults = DynamoFaults(client, FAULT_RATE)
        faults.enabled = False
        settings = get_settings().model_copy(update={"rate_limit_per_ip": 100_000, "rate_limit_per_link": 100_000})
        wiring.reset()
        wiring.install(wiring.build(settings, DynamoStore(settings.table_name, client=client), clock))
        from app import app

        with Client(app) as test_client:
            yield test_client, faults, clock, admin
        wiring.reset()


def _submit(client: Client, body: dict[str, Any], i: int) -> Any:
    # One page view per customer: a retry re-sends the same nonce with the same Idempotency-Key.
    return client.http.post(
        "/v1/responses",
        body=json.dumps(body),
        headers={"Content-Type": "application/json", "User-Agent": f"phone-{i}", "Idempotency-Key": f"sub-{i}"},
    )


def test_throttling_on_a_fifth_of_calls_loses_nothing_and_stores_nothing_twice(faulty: Any) -> None:
    client, faults, clock, admin = faulty
    biz = make_business(client)
    token = biz.touchpoints["table"]["token"]
    # Each customer's page view (and so its nonce) came before the faults began.
    bodies = {i: with_nonce({"token": token, "score": i % 11}) for i in range(SUBMISSIONS)}
    faults.enabled = True

    answers: dict[int, str] = {}
    statuses: Counter[int] = Counter()
    pending = list(range(SUBMISSIONS))
    first_pass_failures = 0
    rounds = 0
    while pending and rounds < 20:
        rounds += 1
        retry = []
        for i in pending:
            answer = _submit(client, bodies[i], i)
            statuses[answer.status_code] += 1
            if answer.status_code in (200, 201):
                rid = answer.json_body["response_id"]
                assert answers.setdefault(i, rid) == rid, "a retry answered with another response"
            else:
                assert answer.status_code == 503, answer.body
                assert answer.json_body["error"]["code"] == "temporarily_unavailable"
                assert int(answer.headers["Retry-After"]) >= 1
                retry.append(i)
            clock.advance(seconds=1)
        if rounds == 1:
            first_pass_failures = len(retry)
        pending = retry
    faults.enabled = False

    items = table_items(admin)
    responses = [i for i in items if i["PK"]["S"].startswith("R#")]
    claims = [i for i in items if i["PK"]["S"].startswith("C#")]
    stored_ids = Counter(r["response_id"]["S"] for r in responses)
    print(
        f"\nDynamoDB faults: {sum(faults.calls.values())} calls, {faults.total_injected} faults injected "
        f"({dict(faults.injected)}); {SUBMISSIONS} submissions, {first_pass_failures} answered 503 on the first "
        f"try, {rounds} rounds of client retries; statuses {dict(statuses)}; stored {len(responses)} responses, "
        f"duplicates {sum(n - 1 for n in stored_ids.values())}, lost {SUBMISSIONS - len(answers)}"
    )
    assert pending == []
    assert faults.total_injected >= 0.15 * sum(faults.calls.values())
    assert faults.injected["lost_answer"] > 0 and faults.injected["txn_throttle"] > 0
    assert len(answers) == SUBMISSIONS
    assert len(responses) == SUBMISSIONS and max(stored_ids.values()) == 1
    assert set(stored_ids) == set(answers.values())
    # Nothing half-written: every claim points at a stored response and every response has its claim.
    claimed = {c["response_id"]["S"] for c in claims if "response_id" in c}
    assert claimed == set(stored_ids)


def test_an_injected_refusal_never_reaches_the_table() -> None:
    # The premise of the counts above: a throttled call wrote nothing (moto must not see it at all).
    with mock_aws():
        admin = boto3.client("dynamodb")
        admin.create_table(**tables.create_table_kwargs(get_settings().table_name))
        client = boto3.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 1}))
        faults = DynamoFaults(client, rate=1.0)
        table = get_settings().table_name
        refused = 0
        for i in range(40):
            item = {"PK": {"S": f"probe#{i}"}, "SK": {"S": "x"}}
            try:
                client.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": item}}])
            except Exception as exc:  # every kind of injected failure is looked at below
                stored = admin.get_item(TableName=table, Key=item).get("Item")
                lost_answer = "timeout" in str(exc).lower()
                assert (stored is not None) == lost_answer, f"{type(exc).__name__}: stored={stored is not None}"
                refused += not lost_answer
        assert refused > 10 and faults.injected["txn_throttle"] > 0 and faults.injected["throttle"] > 0
