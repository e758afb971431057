"""SQS for the email path: the dead-letter queue of emails that still failed after retries (``DeadLetters``)
and the delayed messages that flush a window of batched owner alerts (``AlertFlusher``).

A dead letter carries the whole rendered message (base64 raw MIME, sender, recipients, dedupe key), so
``make redrive`` resends exactly what would have gone out, without re-rendering or re-reading anything.
Clients are made on first use (moto only intercepts clients created after its mock starts).
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

_SQS_MAX_DELAY = 900  # seconds, SQS's limit for DelaySeconds


def _client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("sqs", config=Config(connect_timeout=2, read_timeout=25, retries={"mode": "standard"}))


class _Queue:
    def __init__(self, queue_name: str, client: Any | None = None):
        self.queue_name = queue_name
        self._client = client

    @cached_property
    def client(self) -> Any:
        return self._client or _client()

    @cached_property
    def url(self) -> str:
        return str(self.client.get_queue_url(QueueName=self.queue_name)["QueueUrl"])


class SqsDeadLetters(_Queue):
    def put(self, message: dict[str, Any]) -> None:
        self.client.send_message(QueueUrl=self.url, MessageBody=json.dumps(message, separators=(",", ":")))

    def receive(self, max_messages: int = 10) -> list[tuple[str, dict[str, Any]]]:
        answer = self.client.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=max(1, min(10, max_messages)),
            WaitTimeSeconds=1,
            VisibilityTimeout=60,
        )
        found: list[tuple[str, dict[str, Any]]] = []
        for message in answer.get("Messages", []):
            try:
                body = json.loads(message.get("Body", ""))
            except ValueError:
                body = None
            found.append((message["ReceiptHandle"], body if isinstance(body, dict) else {}))
        return found

    def delete(self, receipt: str) -> None:
        self.client.delete_message(QueueUrl=self.url, ReceiptHandle=receipt)

    def count(self) -> int:
        attrs = self.client.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attrs.get("ApproximateNumberOfMessages", 0)) + int(
            attrs.get("ApproximateNumberOfMessagesNotVisible", 0)
        )


class SqsAlertFlusher(_Queue):
    def schedule(self, business_id: str, window: int, delay_seconds: int) -> None:
        self.client.send_message(
            QueueUrl=self.url,
            MessageBody=json.dumps({"business_id": business_id, "window": window}),
            DelaySeconds=max(0, min(_SQS_MAX_DELAY, delay_seconds)),
        )


def parse_alert_flush(body: str) -> tuple[str, int] | None:
    """(business id, window) of an alert-flush message, or None for a body that is not one of ours."""
    import re

    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    business_id, window = data.get("business_id"), data.get("window")
    if not (isinstance(business_id, str) and re.fullmatch(r"[0-9a-z]{6,16}", business_id)):
        return None
    if not (isinstance(window, int) and not isinstance(window, bool) and 0 <= window < 10**8):
        return None
    return business_id, window


def create_queues(names: list[str], client: Any | None = None) -> None:
    """Local run and tests: the queues infra/ creates in AWS."""
    sqs = client or _client()
    for name in names:
        sqs.create_queue(QueueName=name)
