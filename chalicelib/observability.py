"""The only Logger, Metrics and Tracer of the service (aws-lambda-powertools).

Nobody else creates them, so every log line carries the same correlation id and every metric lands in
the same namespace.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

SERVICE = "surveys"
NAMESPACE = "SurveyCollection"

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", SERVICE)

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def tracing_enabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() not in ("1", "true") and bool(
        os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
    )


@lru_cache(maxsize=1)
def get_tracer() -> Tracer:
    """Built on first use: the X-Ray SDK costs ~0.2 s to import, which a cold start with tracing off
    should not pay. In Lambda with tracing on, it patches boto3 so every AWS call is a subsegment."""
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


@contextmanager
def traced(name: str) -> Iterator[None]:
    """Run one invocation inside an X-Ray subsegment named after its handler (Lambda opens the segment).

    The tracer, which patches boto3 so every AWS call becomes a subsegment of this one, is built on the
    first traced invocation only, so a cold start with tracing off never imports the X-Ray SDK."""
    if not tracing_enabled():
        yield
        return
    with get_tracer().provider.in_subsegment(f"## {name}") as subsegment:
        subsegment.put_annotation("handler", name[:200])
        yield


def count(name: str, **dimensions: str) -> None:
    """One EMF metric with its own dimensions (powertools' shared dimensions apply to every metric)."""
    # single_metric ignores POWERTOOLS_METRICS_DISABLED, which tests and benches set to keep stdout clean.
    if is_metrics_disabled():
        return
    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="service", value=SERVICE)
        for key, value in dimensions.items():
            metric.add_dimension(name=key, value=value)


def response_recorded(channel: str, metric: str, unhappy: bool) -> None:
    count("ResponsesRecorded", channel=channel, metric=metric)
    if unhappy:
        count("UnhappyResponses", channel=channel, metric=metric)


def request_rejected(reason: str) -> None:
    count("RequestsRejected", reason=reason)
