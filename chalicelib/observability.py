"""The only Logger, Metrics and Tracer of the service (aws-lambda-powertools).

Nobody else creates them, so every log line carries the same correlation id and every metric lands in
the same namespace.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

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


# Who an invocation serves decides whether it may load the X-Ray SDK (docs/deploy.md#logs-metrics-and-traces):
# a job (stream, queues, schedule, SES feedback) or a request an owner's or the admin's key authenticates
# may; a public route (a customer's tap, a survey page, the widget) never does, so its cold start does not
# pay the SDK's ~0.2 s. Lambda's active tracing still records every invocation, init included, without it.
Caller = Literal["job", "owner", "public"]
SDK_CALLERS: frozenset[str] = frozenset({"job", "owner"})


def sampled() -> bool:
    """Whether X-Ray sampled this invocation: Lambda sets the trace header for each one it hands over."""
    return "Sampled=1" in os.environ.get("_X_AMZN_TRACE_ID", "").split(";")


def uses_sdk(caller: Caller) -> bool:
    """Whether this invocation is traced with the SDK: tracing on for the function, X-Ray sampled it (an
    unsampled one would load the SDK to record nothing), and it serves a caller worth the SDK's cost."""
    return caller in SDK_CALLERS and tracing_enabled() and sampled()


@lru_cache(maxsize=1)
def get_tracer() -> Tracer:
    """Built on first use: the X-Ray SDK costs ~0.2 s to import, which a cold start that does not trace
    should not pay. In Lambda with tracing on, it patches boto3 so every AWS call is a subsegment (from
    then on in this container, whatever the caller)."""
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


@contextmanager
def traced(name: str, caller: Caller) -> Iterator[None]:
    """Run one invocation inside an X-Ray subsegment named after its function (Lambda opens the segment),
    when ``uses_sdk(caller)``; otherwise run it as it is, without importing the SDK."""
    if not uses_sdk(caller):
        yield
        return
    with get_tracer().provider.in_subsegment(f"## {name}") as subsegment:
        subsegment.put_annotation("handler", name[:200])
        subsegment.put_annotation("caller", caller)
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
