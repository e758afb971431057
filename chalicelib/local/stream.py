"""Local run only: what AWS would trigger by itself for the email path.

* ``StreamPoller`` reads the emulator's DynamoDB stream (every ~200 ms while it is idle, at once again
  while it has records: a crowd's follow-ups never wait out a poll interval per batch) and calls the SAME
  Lambda entry point as AWS (``app.on_response_change``, with its middleware), with the event built the way Lambda
  builds it. A record the handler reports in ``batchItemFailures`` (or every record of a batch whose
  invocation raised) is delivered again on its own after a pause, up to ``MAX_RETRIES`` times, while
  the records behind it go on: one failing record never holds up anyone else's email (issue #11 item 6;
  before, the poller slept in its only thread and re-read the shard from the failed record). Lambda
  itself retries from the failed record, bounded by the event source mapping's MaximumRetryAttempts; the
  handler only reports passing failures (throttling), anything else it parks on the dead-letter queue.
* ``TimerAlertFlusher`` stands in for SQS delayed messages: the batched owner alert of a window is sent
  by a timer thread once the window has closed.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from chalicelib.observability import logger

POLL_SECONDS = 0.2
MAX_RETRIES = 3
READ_LIMIT = 1000  # GetRecords' maximum: one read per poll whatever the backlog
BATCH_SIZE = 100  # records per handler invocation, as before (the deployed mapping's is smaller)


def lambda_context(name: str, remaining_ms: int = 60_000) -> Any:
    """What a handler reads of Lambda's context, for the handlers `make run` invokes in-process."""
    return SimpleNamespace(
        function_name=name,
        function_version="$LATEST",
        invoked_function_arn=f"arn:aws:lambda:local:000000000000:function:{name}",
        memory_limit_in_mb=512,
        aws_request_id=str(uuid.uuid4()),
        log_group_name=f"/aws/lambda/{name}",
        log_stream_name="local",
        get_remaining_time_in_millis=lambda: remaining_ms,
    )


def to_lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A record as ``dynamodbstreams.get_records`` returns it -> as Lambda delivers it: moto leaves out
    ``eventSourceARN``, and boto3 turns ``ApproximateCreationDateTime`` into a datetime (Lambda: epoch)."""
    data = dict(record)
    stream = dict(data.get("dynamodb") or {})
    created = stream.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        stream["ApproximateCreationDateTime"] = int(created.timestamp())
    data["dynamodb"] = stream
    data.setdefault("eventSource", "aws:dynamodb")
    data.setdefault("awsRegion", region)
    data["eventSourceARN"] = stream_arn
    return data


class StreamPoller:
    def __init__(
        self,
        table_name: str,
        handler: Any,
        *,
        poll_seconds: float = POLL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        start: str = "TRIM_HORIZON",
    ):
        import boto3

        # With botocore's account-id endpoints on, DynamoDB Streams calls would miss the emulator.
        os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
        self._dynamodb = boto3.client("dynamodb")
        self._streams = boto3.client("dynamodbstreams")
        self._table = table_name
        self._handler = handler
        self._poll = poll_seconds
        self._monotonic = monotonic
        self._start = start  # where a shard is first read: TRIM_HORIZON (all it holds) or LATEST
        self._region = self._streams.meta.region_name
        self._iterators: dict[str, str | None] = {}
        # (monotonic time due, tries so far, records): failed records waiting for their retry
        self.pending: list[tuple[float, int, list[dict[str, Any]]]] = []
        self.stop_event = threading.Event()
        self.stream_arn = self._dynamodb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        self.delivered = 0

    def start(self) -> threading.Thread:
        if self._start == "LATEST":
            self.poll_once()  # the iterators open now, before the caller goes on to write anything
        thread = threading.Thread(target=self.run, name="stream-poller", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        while not self.stop_event.is_set():
            started = time.monotonic()
            try:
                if self.poll_once():
                    continue  # a backlog: read on without waiting
            except Exception:
                logger.exception("stream poll failed")
            self.stop_event.wait(max(0.0, self._poll - (time.monotonic() - started)))

    def poll_once(self) -> int:
        handled = self._retry_due()
        shards = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"].get("Shards", [])
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self._streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=self._start
                )["ShardIterator"]
            iterator = self._iterators[shard_id]
            if iterator is None:
                continue
            got = self._streams.get_records(ShardIterator=iterator, Limit=READ_LIMIT)
            records = [to_lambda_record(r, self.stream_arn, self._region) for r in got.get("Records", [])]
            self._iterators[shard_id] = got.get("NextShardIterator")
            for start in range(0, len(records), BATCH_SIZE):
                handled += self._deliver(records[start : start + BATCH_SIZE])
        return handled

    def _deliver(self, records: list[dict[str, Any]], tries: int = 0) -> int:
        """Hand ``records`` to the handler; the ones that failed wait in ``pending`` for their retry,
        never in front of the records read after them."""
        try:
            answer = self._handler({"Records": records}, lambda_context("followups")) or {}
            failed = {f.get("itemIdentifier") for f in answer.get("batchItemFailures", []) if isinstance(f, dict)}
        except Exception:
            logger.exception("stream handler raised: its records will be retried", extra={"records": len(records)})
            failed = {_sequence(r) for r in records}
        self.delivered += len(records)
        again = [r for r in records if _sequence(r) in failed]
        if not again:
            return len(records)
        tries += 1
        if tries > MAX_RETRIES:
            logger.error(
                "stream records still failing after retries: skipped, as Lambda does after MaximumRetryAttempts",
                extra={"sequences": [_sequence(r) for r in again][:10]},
            )
            return len(records)
        due = self._monotonic() + min(2.0, 0.2 * 2**tries)
        self.pending.append((due, tries, again))
        logger.warning("stream records failed: retried shortly", extra={"records": len(again), "tries": tries})
        return len(records)

    def _retry_due(self) -> int:
        now = self._monotonic()
        due = [entry for entry in self.pending if entry[0] <= now]
        if not due:
            return 0
        self.pending = [entry for entry in self.pending if entry[0] > now]
        return sum(self._deliver(records, tries) for _, tries, records in due)


def _sequence(record: dict[str, Any]) -> str | None:
    stream = record.get("dynamodb") if isinstance(record, dict) else None
    return stream.get("SequenceNumber") if isinstance(stream, dict) else None


class TimerAlertFlusher:
    """Locally, the batched owner alert of a window is sent by a timer once the window has closed."""

    def schedule(self, business_id: str, window: int, delay_seconds: int) -> None:
        def flush() -> None:
            try:
                from chalicelib.wiring import services

                services().followups.flush_alerts(business_id, window)
            except Exception:
                logger.exception("alert flush failed", extra={"business_id": business_id})

        timer = threading.Timer(max(0, delay_seconds), flush)
        timer.daemon = True
        timer.start()


def serialize_emulator_writes() -> None:
    """moto's DynamoDB is not thread-safe: a query iterates the table while another thread (the API's
    submission, this poller's voucher) changes it and fails with "dictionary changed size during
    iteration", and a read must not see a transaction half applied or half undone. AWS has no such
    problem, so the local run serializes the emulator's reads and writes (same process: moto runs in a
    thread of `make run`) with the lock a transaction and its undo already hold (emulator.EMULATOR_LOCK),
    whichever of the two patches came first."""
    import functools

    from moto.dynamodb.models import DynamoDBBackend

    from chalicelib.local.emulator import EMULATOR_LOCK

    if getattr(DynamoDBBackend, "_serialized_by_local_run", False):
        return
    lock = EMULATOR_LOCK
    for name in ("transact_write_items", "put_item", "update_item", "delete_item", "get_item", "query", "scan"):
        original = getattr(DynamoDBBackend, name, None)
        if original is None:
            continue

        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return __original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, functools.wraps(original)(locked))
    setattr(DynamoDBBackend, "_serialized_by_local_run", True)  # noqa: B010 - a mark on moto's class


def start_local_followups(table_name: str, *, start: str = "TRIM_HORIZON") -> StreamPoller:
    """Called by ``chalicelib/local/server.py``: verify the default sender, create the email queues in the
    emulator and start polling the stream into the same handler Lambda runs."""
    import boto3

    from chalicelib.adapters.sqs import create_queues
    from chalicelib.settings import get_settings

    serialize_emulator_writes()
    settings = get_settings()
    boto3.client("sesv2").create_email_identity(EmailIdentity=settings.mail_from)
    create_queues([settings.mail_dlq_name, settings.alert_queue_name])
    from app import on_response_change

    poller = StreamPoller(table_name, on_response_change, start=start)
    poller.start()
    return poller
