"""Local run only: the hourly daily-report schedule AWS would fire by itself (EventBridge -> Lambda).

A thread calls the SAME Lambda entry points as AWS, with the events Lambda builds: ``app.report_schedule``
(a scheduled event) enqueues one message per due business on the emulator's SQS queue, then this thread
drains that queue into ``app.report_worker`` (an SQS event per message), as the event source mapping
would. A message whose handler raises stays on the queue and is retried on the next pass.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from chalicelib.local import stream
from chalicelib.observability import logger

FIRST_RUN_DELAY = 5.0  # let the API start before the first pass


def lambda_context(name: str) -> Any:
    # The schedule and the report worker get Lambda's longest timeout, 15 minutes.
    return stream.lambda_context(name, remaining_ms=900_000)


def scheduled_event(rule: str = "report_schedule") -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": os.environ.get("AWS_DEFAULT_REGION", "ap-southeast-1"),
        "resources": [f"arn:aws:events:local:000000000000:rule/{rule}"],
        "detail": {},
    }


def sqs_event(
    body: str, queue_name: str, receipt_handle: str = "local", message_id: str | None = None
) -> dict[str, Any]:
    region = os.environ.get("AWS_DEFAULT_REGION", "ap-southeast-1")
    return {
        "Records": [
            {
                "messageId": message_id or str(uuid.uuid4()),
                "receiptHandle": receipt_handle,
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{region}:000000000000:{queue_name}",
                "awsRegion": region,
            }
        ]
    }


def ensure_queue(queue_name: str) -> str:
    import boto3

    return str(boto3.client("sqs").create_queue(QueueName=queue_name)["QueueUrl"])


def run_once(queue_name: str) -> int:
    """One scheduled pass: enqueue who is due, then run every queued job. Returns the jobs run."""
    import boto3

    import app as application

    application.report_schedule(scheduled_event(), lambda_context("report_schedule"))
    sqs = boto3.client("sqs")
    url = ensure_queue(queue_name)
    done = 0
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300).get("Messages", [])
        if not messages:
            return done
        for message in messages:
            event = sqs_event(message["Body"], queue_name, message["ReceiptHandle"], message["MessageId"])
            try:
                application.report_worker(event, lambda_context("report_worker"))
            except Exception:  # the message stays on the queue, as in Lambda
                logger.exception("local report job failed; it stays on the queue")
                continue
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            done += 1


class LocalSchedule:
    """Runs :func:`run_once` shortly after start, then at the top of every hour, until stopped."""

    def __init__(self, queue_name: str):
        self.queue_name = queue_name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="report-schedule", daemon=True)
        self._zalo_thread = threading.Thread(target=self._zalo_loop, name="zalo-ratings-poll", daemon=True)

    def start(self) -> LocalSchedule:
        ensure_queue(self.queue_name)
        self._thread.start()
        self._zalo_thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        delay = FIRST_RUN_DELAY
        while not self._stop.wait(delay):
            try:
                jobs = run_once(self.queue_name)
                if jobs:
                    print(f"daily reports: {jobs} computed (see .local/outbox for the digests)", flush=True)
            except Exception:  # a failed pass must not stop the next one
                logger.exception("local report schedule failed")
            now = time.time()
            delay = 3600 - now % 3600 + 1  # the next top of the hour, as EventBridge's rate(1 hour) roughly does


    def _zalo_loop(self) -> None:
        # Issue #16: Zalo's ratings every minute locally (every 15 in AWS), so a rating given to the fake
        # Zalo shows as an answer while someone watches.
        while not self._stop.wait(ZALO_POLL_SECONDS):
            try:
                poll_zalo_ratings()
            except Exception:  # a failed pass must not stop the next one
                logger.exception("local zalo ratings poll failed")


ZALO_POLL_SECONDS = 60.0


def poll_zalo_ratings() -> None:
    """One pass of the ``zalo_ratings_poll`` Lambda, called as EventBridge would."""
    import app as application

    application.zalo_ratings_poll(scheduled_event("zalo_ratings_poll"), lambda_context("zalo_ratings_poll"))


def start_local_schedule() -> LocalSchedule:
    """What server.py calls: the hourly report schedule against the emulator, in this process."""
    from chalicelib.settings import get_settings

    return LocalSchedule(get_settings().reports_queue_name).start()
