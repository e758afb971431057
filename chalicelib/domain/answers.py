"""The owner API's answers that only owner routes serve: the metrics over a range and a voucher's redemption.

Apart from ``models`` so that a submission's cold start never builds them: the route table names them as
``"chalicelib.domain.answers:Class"`` and the owner services that return them are built on first use.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from chalicelib.domain.metrics import MetricSummary
from chalicelib.domain.models import Metric, Out


class MetricsGroup(Out):
    # A day, a touchpoint id, a channel or a label's value, by the query's group_by; with label:<name>,
    # "" (labels.NO_LABEL) groups the answers without that label.
    key: str
    metrics: dict[Metric, MetricSummary]


class MetricsAnswer(Out):
    """``GET .../metrics``: each metric's summary over a date range, optionally per group."""

    business_id: str
    from_: str = Field(alias="from")
    to: str
    timezone: str
    min_responses: int
    overall: dict[Metric, MetricSummary]
    group_by: str | None = Field(default=None, description="day, touchpoint, channel or label:<name>")
    groups: list[MetricsGroup] | None = None

    @model_serializer(mode="wrap")
    def _ungrouped_without_groups(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # The contract: an ungrouped answer has no group_by or groups keys at all (not nulls).
        data: dict[str, Any] = handler(self)
        if self.group_by is None:
            data.pop("group_by", None)
            data.pop("groups", None)
        return data


class Redeemed(Out):
    """A voucher redeemed at the till, the first time (a second time is a 409)."""

    code: Annotated[str, Field(pattern=r"^[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}$")]
    description: str
    valid_until: str | None
    redeemed_at: str
