"""SQS, every queue the app uses:

- the daily report fan-out (``ReportQueue``): one message per (business, day), sent in batches of ten. The
  hourly schedule only lists who is due and enqueues; each message is computed by its own Lambda invocation
  (``app.on_sqs_message``), so 10,000 businesses never share one function's 15 minutes;
- the dead-letter queue of emails that still failed after retries (``DeadLetters``);
- the delayed messages that flush a window of batched owner alerts (``AlertFlusher``).

A dead letter carries the whole rendered message (base64 raw MIME, sender, recipients, dedupe key), so
``make redrive`` resends exactly what would have gone out, without re-rendering or re-reading anything,
and ``about``: the email hashes of the people it concerns, so an erasure finds and deletes it
(``MailService.forget``). A stream record that failed for good is a letter of kind ``stream_record``
holding the response's key only.
Clients are made on first use (moto only intercepts clients created after its mock starts).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import Any

from chalicelib.adapters.aws import LazyClient, attempts
from chalicelib.domain.jobs import ReportJob, decode, encode, encode_alert_flush

_SQS_MAX_DELAY = 900  # seconds, SQS's limit for DelaySeconds
BATCH = 10  # SQS's limit per SendMessageBatch and per ReceiveMessage
_ATTEMPTS = 6


def _client() -> Any:
    import boto3
    from botocore.config import Config

    # read_timeout above the 20 s long poll; standard retries absorb SQS's own throttling.
    return boto3.client(
        "sqs", config=Config(connect_timeout=2, read_timeout=25, retries={"mode": "standard", "max_attempts": 5})
    )


class _Queue(LazyClient):
    def _make(self) -> Any:
        return _client()

    @cached_property
    def url(self) -> str:
        return str(self.client.get_queue_url(QueueName=self.name)["QueueUrl"])


class SqsReportQueue(_Queue):
    def send(self, jobs: Sequence[ReportJob]) -> int:
        """Enqueue every job; entries SQS refuses for a passing reason are retried with backoff."""
        sent = 0
        for start in range(0, len(jobs), BATCH):
            pending = {
                str(i): {"Id": str(i), "MessageBody": encode(job)} for i, job in enumerate(jobs[start : start + BATCH])
            }
            for _attempt in attempts(_ATTEMPTS, base=0.025, cap=2.0):
                answer = self.client.send_message_batch(QueueUrl=self.url, Entries=list(pending.values()))
                for ok in answer.get("Successful", []):
                    pending.pop(ok["Id"], None)
                    sent += 1
                failed = answer.get("Failed", [])
                if not pending:
                    break
                if any(f.get("SenderFault") for f in failed):
                    raise RuntimeError(f"SQS refused report jobs: {failed[:3]}")
            if pending:
                raise RuntimeError(f"{len(pending)} report jobs could not be enqueued")
        return sent

    def receive(self, wait_seconds: int = 0) -> Iterator[tuple[ReportJob | None, str]]:
        """(job, receipt handle) of up to ten waiting messages; job is None for a malformed body."""
        answer = self.client.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=BATCH, WaitTimeSeconds=wait_seconds, VisibilityTimeout=120
        )
        for message in answer.get("Messages", []):
            yield decode(message.get("Body", "")), message["ReceiptHandle"]

    def delete(self, receipt_handle: str) -> None:
        self.client.delete_message(QueueUrl=self.url, ReceiptHandle=receipt_handle)


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

    def release(self, receipt: str) -> None:
        # issue #11 erasure: a letter seen by ``MailService.forget`` but not erased is visible again at once.
        self.client.change_message_visibility(QueueUrl=self.url, ReceiptHandle=receipt, VisibilityTimeout=0)

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
            MessageBody=encode_alert_flush(business_id, window),
            DelaySeconds=max(0, min(_SQS_MAX_DELAY, delay_seconds)),
        )


def create_queues(names: list[str], client: Any | None = None) -> None:
    """Local run and tests: the queues infra/ creates in AWS."""
    sqs = client or _client()
    for name in names:
        sqs.create_queue(QueueName=name)


class SqsWebhookQueue(_Queue):
    """Issue #16: one message per (endpoint, event) delivery attempt; a retry is a new message with a delay
    (SQS allows at most 900 s), so a slow or failing endpoint never holds a Lambda waiting."""

    def send(self, message: dict[str, Any], delay_seconds: int = 0) -> None:
        self.client.send_message(
            QueueUrl=self.url,
            MessageBody=json.dumps(message, separators=(",", ":"), ensure_ascii=False),
            DelaySeconds=max(0, min(900, delay_seconds)),
        )

    def send_all(self, messages: Sequence[dict[str, Any]]) -> None:
        """One event's messages, ten to a call (SQS's batch); an entry refused for a passing reason is sent
        again, one refused for our fault raises (the stream record is then retried)."""
        for start in range(0, len(messages), BATCH):
            pending = {
                str(i): {"Id": str(i), "MessageBody": json.dumps(m, separators=(",", ":"), ensure_ascii=False)}
                for i, m in enumerate(messages[start : start + BATCH])
            }
            for _attempt in attempts(_ATTEMPTS, base=0.025, cap=2.0):
                answer = self.client.send_message_batch(QueueUrl=self.url, Entries=list(pending.values()))
                for ok in answer.get("Successful", []):
                    pending.pop(ok["Id"], None)
                if not pending or any(f.get("SenderFault") for f in answer.get("Failed", [])):
                    break
            if pending:
                raise RuntimeError(f"{len(pending)} webhook messages could not be enqueued")
