"""Fault injection for DynamoDB: botocore event hooks on the store's own client (moto stays the database).

Faults are injected where botocore hands the call over, so the adapter's real error handling runs:
- ``throttle``: the call is refused before it reaches the table (400 ProvisionedThroughputExceededException,
  or ThrottlingException), nothing written;
- ``txn_throttle``: a transaction cancelled with ``ThrottlingError`` reasons, nothing written;
- ``lost_answer``: the write committed, then the answer was lost (a read timeout), so the caller cannot
  know it succeeded: the hard case for "stored exactly once".

Refusals answer at ``before-call``, which botocore stops at the first answer of. Not at ``before-send``:
botocore calls *every* ``before-send`` handler, moto's among them, so a refusal there would still be
written by moto and only its answer replaced (a lost answer under another name).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from io import BytesIO
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError


class _Raw(BytesIO):
    def stream(self, **_: Any) -> Any:
        yield self.read()


def _error(status: int, body: dict[str, Any]) -> AWSResponse:
    raw = json.dumps(body).encode()
    return AWSResponse("https://dynamodb.local", status, {"x-amzn-requestid": "fault"}, _Raw(raw))


def refusal(code: str, message: str, **extra: Any) -> tuple[AWSResponse, dict[str, Any]]:
    """A ``before-call`` answer: botocore raises it as the ClientError DynamoDB would have sent."""
    parsed = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}, **extra}
    return _error(400, {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}), parsed


def transaction_items(params: dict[str, Any]) -> list[Any]:
    body = params.get("body") or b"{}"
    return list(json.loads(body).get("TransactItems", []))


class DynamoFaults:
    """Attach to a boto3 DynamoDB client; ``rate`` of calls fail, split between the three kinds."""

    def __init__(self, client: Any, rate: float, seed: int = 7) -> None:
        self.rate = rate
        self.enabled = True
        self.random = random.Random(seed)
        self.injected: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self._lose_next_answer = False
        client.meta.events.register_first("before-call.dynamodb.*", self._before_call)
        client.meta.events.register("after-call.dynamodb.*", self._after_call)

    def _before_call(self, model: Any, params: dict[str, Any], **kwargs: Any) -> Any:
        operation = model.name
        self.calls[operation] += 1
        if not self.enabled or self.random.random() >= self.rate:
            return None
        roll = self.random.random()
        if operation == "TransactWriteItems" and roll < 0.25:
            self._lose_next_answer = True  # let it commit; the answer is lost in after-call
            return None
        if operation == "TransactWriteItems" and roll < 0.5:
            self.injected["txn_throttle"] += 1
            items = transaction_items(params)
            return refusal(
                "TransactionCanceledException",
                "Transaction cancelled, please refer cancellation reasons for specific reasons",
                CancellationReasons=[{"Code": "ThrottlingError", "Message": "Throughput exceeds"}]
                + [{"Code": "None"}] * (len(items) - 1),
            )
        self.injected["throttle"] += 1
        kind = "ProvisionedThroughputExceededException" if roll < 0.75 else "ThrottlingException"
        return refusal(kind, "Rate exceeded")

    def _after_call(self, **kwargs: Any) -> None:
        if self._lose_next_answer:
            self._lose_next_answer = False
            self.injected["lost_answer"] += 1
            raise ReadTimeoutError(endpoint_url="https://dynamodb.local")

    @property
    def total_injected(self) -> int:
        return sum(self.injected.values())
