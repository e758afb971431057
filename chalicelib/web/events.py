"""The jobs' edge: Lambda events (DynamoDB stream, SQS, SNS) read into typed data for one service call each.

The services never see an event: a record that cannot be read is reported here (and parked by the
follow-ups service), one that can becomes a ``StoredResponse`` pair or a job.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from chalicelib import tables
from chalicelib.domain.models import StoredResponse
from chalicelib.observability import logger

if TYPE_CHECKING:
    from chalicelib.services.followups import Followups
    from chalicelib.services.webhooks import Webhooks


class MalformedRecord(ValueError):
    """A stream record we cannot read: logged with its key and parked, never retried."""


def stream_batch(event: Any, followups: Followups) -> dict[str, Any]:
    """A DynamoDB-stream event -> ``{"batchItemFailures": [...]}`` (the event source mapping has
    ReportBatchItemFailures): a record that fails never stops the others of the batch."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    # Even a batch whose every record failed answers with the list instead of raising, so Lambda
    # retries exactly those records (from the first failed sequence number).
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list):
        logger.error("stream event without Records")
        return {"batchItemFailures": []}
    if not event["Records"]:
        return {"batchItemFailures": []}  # powertools refuses an empty batch it cannot type
    answer = process_partial_response(
        event=event, record_handler=lambda record: _record(record, followups), processor=processor
    )
    return dict(answer)


def _record(record: Any, followups: Followups) -> None:
    raw = record.raw_event if hasattr(record, "raw_event") else {}
    stream = raw.get("dynamodb") if isinstance(raw, dict) else None
    sequence = stream.get("SequenceNumber") if isinstance(stream, dict) else None
    try:
        if not isinstance(stream, dict) or not isinstance(stream.get("Keys"), dict):
            raise MalformedRecord("record without dynamodb.Keys")
        name = raw.get("eventName")
        if name not in ("INSERT", "MODIFY", "REMOVE"):
            raise MalformedRecord(f"unknown eventName {name!r}")
        keys = record.dynamodb.keys
        if name == "REMOVE" or not str(keys.get("PK", "")).startswith(tables.response_pk.begins()):
            return  # only responses drive emails
        if not isinstance(stream.get("NewImage"), dict):
            raise MalformedRecord("response record without NewImage (stream view must be NEW_AND_OLD_IMAGES)")
        new = _response(record.dynamodb.new_image)
        old = _response(record.dynamodb.old_image) if isinstance(stream.get("OldImage"), dict) else None
    except Exception as exc:
        followups.reject_record(sequence, stream.get("Keys") if isinstance(stream, dict) else None, exc)
        return
    followups.on_change(new, old, sequence)


def _response(image: dict[str, Any]) -> StoredResponse:
    fields = {k: _plain(v) for k, v in image.items() if k in StoredResponse.model_fields}
    try:
        return StoredResponse.model_validate(fields)
    except ValidationError as exc:
        missing = [".".join(str(p) for p in e["loc"]) for e in exc.errors()][:5]
        raise MalformedRecord(f"response image invalid: {missing}") from None


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def queue_messages[T](event: Iterable[Any], parse: Callable[[str], T | None], refusal: str) -> Iterator[T]:
    """What each SQS message of a batch carries, read by ``parse``; a message that is not one of ours is
    logged (``refusal``) and dropped, since reading it again would not change it."""
    for record in event:
        parsed = parse(record.body)
        if parsed is None:
            logger.warning(refusal, extra={"body": record.body[:200]})
            continue
        yield parsed


def json_message(body: str) -> dict[str, Any] | None:
    """An SQS message's JSON object with the fields a webhook delivery needs, or None (issue #16)."""
    data = sns_message(body)
    if data is None or not {"business_id", "webhook_id", "event"} <= set(data) or not isinstance(data["event"], dict):
        return None
    return data


def sns_message(message: str) -> dict[str, Any] | None:
    """An SNS message's JSON object (SES feedback), or None when it is not one."""
    try:
        data = json.loads(message)
    except (TypeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


# ---- issue #16: the table's stream as owner events (webhooks and Slack) -------------------------------------


def webhook_batch(event: Any, webhooks: Webhooks, now: str) -> dict[str, Any]:
    """The second consumer of the table's stream: each record that is an owner event (``events_of``) is
    queued once per endpoint that asked for it. Partial-batch failures, like the follow-ups' consumer: a
    record whose queueing failed is retried alone; one that is no event, or unreadable, is done."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list) or not event["Records"]:
        return {"batchItemFailures": []}
    answer = process_partial_response(
        event=event, record_handler=lambda record: _publish(record, webhooks, now), processor=processor
    )
    return dict(answer)


def _publish(record: Any, webhooks: Webhooks, now: str) -> None:
    from chalicelib.domain.webhooks import events_of

    raw = record.raw_event if hasattr(record, "raw_event") else {}
    stream = raw.get("dynamodb") if isinstance(raw, dict) else None
    if not isinstance(stream, dict):
        logger.warning("webhook stream record without dynamodb: skipped")
        return
    try:
        new = _plain_image(record.dynamodb.new_image) if isinstance(stream.get("NewImage"), dict) else None
        old = _plain_image(record.dynamodb.old_image) if isinstance(stream.get("OldImage"), dict) else None
        found = events_of(str(raw.get("eventName")), new, old, now)
    except Exception:  # an image we cannot read will not become readable: skipped, never retried forever
        logger.exception("webhook stream record unreadable: skipped")
        return
    for change in found:
        if change.business_id:
            webhooks.publish(change.business_id, change.type, change.id, change.created_at, change.data)


def _plain_image(image: dict[str, Any]) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | set | tuple):
            return [plain(v) for v in value]
        return _plain(value)

    return {k: plain(v) for k, v in image.items()}
