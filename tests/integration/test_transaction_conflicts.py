"""Two submissions through one busy QR at the same moment touch the same rate-limit counter item, and
DynamoDB cancels one transaction with ``TransactionConflict``. Nothing was written, so the store retries it
itself (twice, with jitter) before a customer ever sees a 503.

The conflict is injected where botocore hands the call over (``tests/integration/faults/dynamo_faults.py``
says why ``before-call``), on a client whose table is moto's, so the adapter's real error handling runs and
the table says what was stored.
"""

from __future__ import annotations

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
from tests.integration.conftest import make_business, send_answer, table_items
from tests.integration.faults.dynamo_faults import refusal, transaction_items


class Conflicts:
    """The next ``pending`` TransactWriteItems calls are cancelled with a TransactionConflict reason."""

    def __init__(self, client: Any) -> None:
        self.pending = 0
        self.transactions = 0
        client.meta.events.register_first("before-call.dynamodb.TransactWriteItems", self._before_call)

    def _before_call(self, params: dict[str, Any], **kwargs: Any) -> Any:
        self.transactions += 1
        if self.pending <= 0:
            return None
        self.pending -= 1
        items = transaction_items(params)
        return refusal(
            "TransactionCanceledException",
            "Transaction cancelled, please refer cancellation reasons for specific reasons",
            CancellationReasons=[{"Code": "None"}] * (len(items) - 1)
            + [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}],
        )


@pytest.fixture
def busy() -> Iterator[tuple[Client, Conflicts, Any]]:
    with mock_aws():
        admin = boto3.client("dynamodb")
        admin.create_table(**tables.create_table_kwargs(get_settings().table_name))
        client = boto3.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 1}))
        conflicts = Conflicts(client)
        settings = get_settings()
        wiring.reset()
        wiring.install(wiring.build(settings, DynamoStore(settings.table_name, client=client), FakeClock()))
        from app import app

        with Client(app) as test_client:
            yield test_client, conflicts, admin
        wiring.reset()


def _answer(client: Client, token: str) -> Any:
    return send_answer(client, {"token": token, "score": 9}, {"User-Agent": "phone-1"})


def _responses(admin: Any) -> list[dict[str, Any]]:
    return [i for i in table_items(admin) if i["PK"]["S"].startswith("R#")]


@pytest.mark.parametrize("conflicts_in_a_row", [1, 2])
def test_a_transaction_conflict_on_a_busy_qr_is_retried_and_the_customer_gets_a_201(
    busy: Any, conflicts_in_a_row: int
) -> None:
    client, conflicts, admin = busy
    token = make_business(client).touchpoints["table"]["token"]
    before = conflicts.transactions
    conflicts.pending = conflicts_in_a_row
    answer = _answer(client, token)
    assert answer.status_code == 201, answer.body
    assert conflicts.transactions - before == conflicts_in_a_row + 1
    assert [r["response_id"]["S"] for r in _responses(admin)] == [answer.json_body["response_id"]]


def test_conflicts_that_outlast_the_retries_answer_503_with_retry_after_and_store_nothing(busy: Any) -> None:
    client, conflicts, admin = busy
    token = make_business(client).touchpoints["table"]["token"]
    before = conflicts.transactions
    conflicts.pending = 3
    answer = _answer(client, token)
    assert answer.status_code == 503
    assert answer.json_body["error"]["code"] == "temporarily_unavailable"
    assert int(answer.headers["Retry-After"]) >= 1
    assert conflicts.transactions - before == 3
    assert _responses(admin) == []
    again = _answer(client, token)  # the conflict has passed: the retry is stored, once
    assert again.status_code == 201
    assert len(_responses(admin)) == 1
