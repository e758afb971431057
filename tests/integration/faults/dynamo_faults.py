"""Fault injection for DynamoDB: a botocore event hook on the store's own client (moto stays the database).

Faults are injected at the HTTP layer botocore sees, so the adapter's real error handling runs:
- ``throttle``: the call is refused before it reaches the table (400 ProvisionedThroughputExceededException,
  or ThrottlingException), nothing written;
- ``txn_throttle``: a transaction cancelled with ``ThrottlingError`` reasons, nothing written;
- ``lost_answer``: the write committed, then the answer was lost (a read timeout), so the caller cannot
  know it succeeded: the hard case for "stored exactly once".
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


class DynamoFaults:
    """Attach to a boto3 DynamoDB client; ``rate`` of calls fail, split between the three kinds."""

    def __init__(self, client: Any, rate: float, seed: int = 7) -> None:
        self.rate = rate
        self.enabled = True
        self.random = random.Random(seed)
        self.injected: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self._lose_next_answer = False
        client.meta.events.register_first("before-send.dynamodb.*", self._before_send)
        client.meta.events.register("after-call.dynamodb.*", self._after_call)

    def _before_send(self, request: Any, **kwargs: Any) -> AWSResponse | None:
        operation = request.headers.get("X-Amz-Target", b"")
        operation = (operation.decode() if isinstance(operation, bytes) else operation).rpartition(".")[2]
        self.calls[operation] += 1
        if not self.enabled or self.random.random() >= self.rate:
            return None
        roll = self.random.random()
        if operation == "TransactWriteItems" and roll < 0.25:
            self._lose_next_answer = True  # let it commit; the answer is lost in after-call
            return None
        if operation == "TransactWriteItems" and roll < 0.5:
            self.injected["txn_throttle"] += 1
            items = json.loads(request.body)["TransactItems"]
            return _error(
                400,
                {
                    "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                    "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons",
                    "CancellationReasons": [{"Code": "ThrottlingError", "Message": "Throughput exceeds"}]
                    + [{"Code": "None"}] * (len(items) - 1),
                },
            )
        self.injected["throttle"] += 1
        kind = "ProvisionedThroughputExceededException" if roll < 0.75 else "ThrottlingException"
        return _error(400, {"__type": f"com.amazonaws.dynamodb.v20120810#{kind}", "message": "Rate exceeded"})

    def _after_call(self, **kwargs: Any) -> None:
        if self._lose_next_answer:
            self._lose_next_answer = False
            self.injected["lost_answer"] += 1
            raise ReadTimeoutError(endpoint_url="https://dynamodb.local")

    @property
    def total_injected(self) -> int:
        return sum(self.injected.values())
