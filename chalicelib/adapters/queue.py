"""SQS fan-out of the daily report job: one message per (business, day), sent in batches of ten.

The hourly schedule only lists who is due and enqueues; each message is computed by its own Lambda
invocation (``app.on_sqs_message``), so 10,000 businesses never share one function's 15 minutes.
The client is made on first use (moto only intercepts clients created after its mock starts).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import Any

from chalicelib.ports import ReportJob

BATCH = 10  # SQS's limit per SendMessageBatch
_ATTEMPTS = 6


class SqsReportQueue:
    def __init__(self, queue_name: str, client: Any | None = None):
        self.queue_name = queue_name
        self._client = client

    @cached_property
    def client(self) -> Any:
        if self._client is not None:
            return self._client
        import boto3
        from botocore.config import Config

        return boto3.client("sqs", config=Config(retries={"mode": "standard", "max_attempts": 5}))

    @cached_property
    def url(self) -> str:
        return str(self.client.get_queue_url(QueueName=self.queue_name)["QueueUrl"])

    def send(self, jobs: Sequence[ReportJob]) -> int:
        """Enqueue every job; entries SQS refuses for a passing reason are retried with backoff."""
        sent = 0
        for start in range(0, len(jobs), BATCH):
            pending = {
                str(i): {"Id": str(i), "MessageBody": encode(job)} for i, job in enumerate(jobs[start : start + BATCH])
            }
            for attempt in range(_ATTEMPTS):
                answer = self.client.send_message_batch(QueueUrl=self.url, Entries=list(pending.values()))
                for ok in answer.get("Successful", []):
                    pending.pop(ok["Id"], None)
                    sent += 1
                failed = answer.get("Failed", [])
                if not pending:
                    break
                if any(f.get("SenderFault") for f in failed):
                    raise RuntimeError(f"SQS refused report jobs: {failed[:3]}")
                time.sleep(min(2.0, 0.05 * 2**attempt) * random.random())
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


def encode(job: ReportJob) -> str:
    return json.dumps({"business_id": job.business_id, "day": job.day}, separators=(",", ":"))


def decode(body: str) -> ReportJob | None:
    """The job of a message body, or None when the body is not one of ours (it is then dropped)."""
    import re

    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    business_id, day = data.get("business_id"), data.get("day")
    if not (isinstance(business_id, str) and re.fullmatch(r"[0-9a-z]{6,16}", business_id)):
        return None
    if not (isinstance(day, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", day)):
        return None
    return ReportJob(business_id=business_id, day=day)
