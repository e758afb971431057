"""The bodies of the app's own queue messages: a day's report job and an alert window's flush.

Pure (stdlib only): the SQS adapter writes them, the job handlers' edge (``chalicelib.web.events``) reads
them, and neither has to import the other. A body that is not one of ours reads as None: it is dropped,
never retried.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_BUSINESS_ID = re.compile(r"[0-9a-z]{6,16}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class ReportJob:
    """One business's report of one local day (``YYYY-MM-DD``), computed by its own invocation."""

    business_id: str
    day: str


def encode(job: ReportJob) -> str:
    return json.dumps({"business_id": job.business_id, "day": job.day}, separators=(",", ":"))


def decode(body: str) -> ReportJob | None:
    """The job of a message body, or None when the body is not one of ours."""
    found = _our_message(body, "day")
    if found is None or not (isinstance(found[1], str) and _DAY.fullmatch(found[1])):
        return None
    return ReportJob(business_id=found[0], day=found[1])


def encode_alert_flush(business_id: str, window: int) -> str:
    return json.dumps({"business_id": business_id, "window": window})


def parse_alert_flush(body: str) -> tuple[str, int] | None:
    """(business id, window) of an alert-flush message, or None for a body that is not one of ours."""
    found = _our_message(body, "window")
    if found is None:
        return None
    window = found[1]
    if not (isinstance(window, int) and not isinstance(window, bool) and 0 <= window < 10**8):
        return None
    return found[0], window


def _our_message(body: str, second: str) -> tuple[str, Any] | None:
    """(business id, the other field) of a JSON object body with a well-formed business id, else None."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    business_id = data.get("business_id")
    if not (isinstance(business_id, str) and _BUSINESS_ID.fullmatch(business_id)):
        return None
    return business_id, data.get(second)
