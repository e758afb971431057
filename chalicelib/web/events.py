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


def sns_message(message: str) -> dict[str, Any] | None:
    """An SNS message's JSON object (SES feedback), or None when it is not one."""
    try:
        data = json.loads(message)
    except (TypeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None
