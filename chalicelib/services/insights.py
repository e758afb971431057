"""What an owner reads: the responses themselves (newest first, paged by a sealed cursor) and the
metrics over a range of the business's own calendar days."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from chalicelib.domain import keys, labels
from chalicelib.domain.answers import MetricsAnswer, MetricsGroup
from chalicelib.domain.calendar import days_newest_first, local_day
from chalicelib.domain.metrics import METRICS, MetricSummary, as_metric, summarize
from chalicelib.domain.models import (
    Business,
    Metric,
    MetricsQuery,
    ResponseItem,
    ResponsesPage,
    ResponsesQuery,
    StoredResponse,
)
from chalicelib.errors import Forbidden, InvalidInput, MalformedRequest
from chalicelib.ports import Clock, DayQuery, ResponseStore
from chalicelib.services.access import Caller
from chalicelib.settings import Settings

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30
_WHOLE_DAY = "~"  # a cursor's sort key that sorts after every timestamp: resume at the top of its day
TODAY_LATEST = 20  # answers listed under "today so far"


@dataclass(frozen=True)
class Today:
    """Today so far, in the business's own day: the console's live figures (issue #14)."""

    day: str
    overall: dict[str, MetricSummary]  # every metric, "too few answers" below min_responses
    touchpoints: list[tuple[str, dict[str, MetricSummary]]]  # per touchpoint id, the metrics it was asked
    latest: list[StoredResponse]  # newest first


class Insights:
    def __init__(self, responses: ResponseStore, clock: Clock, settings: Settings) -> None:
        self._responses, self._clock, self._settings = responses, clock, settings

    def list_responses(self, caller: Caller, query: ResponsesQuery) -> ResponsesPage:
        business = caller.business
        start, end = self._range(business, query.from_, query.to)
        resume_day, resume_after = end, None
        if query.cursor:
            resume_day, resume_after = self._resume(business, query.cursor, start, end)

        items: list[ResponseItem] = []
        next_cursor = None
        for day in days_newest_first(start, resume_day):
            want = query.limit - len(items)
            after = resume_after if day == resume_day else None
            one_day = DayQuery(business.business_id, day.isoformat(), want, after, query.metric, query.touchpoint_id)
            page = self._responses.query_day(one_day)
            items.extend(_item(r, business.staff_views) for r in page.items)
            if len(items) >= query.limit:
                if page.last_sort_key is not None:
                    next_cursor = [day.isoformat(), page.last_sort_key]
                elif day > start:
                    # This day is done; the next page starts with the day before, from its top.
                    next_cursor = [(day - timedelta(days=1)).isoformat(), _WHOLE_DAY]
                break
        token = (
            keys.seal(self._settings.app_secret, "cursor:" + business.business_id, next_cursor) if next_cursor else None
        )
        return ResponsesPage(items=items, next_cursor=token)

    def window(self, business: Business, days: int, cap: int) -> tuple[list[ResponseItem], bool]:
        """The answers of the last ``days`` local days (today included), newest first, as the listing shows
        them, at most ``cap``: one Query per day partition. The flag says whether ``cap`` cut it short."""
        end = local_day(self._clock.now(), business.timezone)
        items: list[ResponseItem] = []
        for day in days_newest_first(end - timedelta(days=days - 1), end):
            page = self._responses.query_day(DayQuery(business.business_id, day.isoformat(), cap - len(items) + 1))
            items.extend(_item(r, business.staff_views) for r in page.items)
            if len(items) > cap:
                return items[:cap], True
        return items, False

    def metrics(self, caller: Caller, query: MetricsQuery) -> MetricsAnswer:
        business = caller.business
        label = _grouped_label(business, query.group_by)
        start, end = self._range(business, query.from_, query.to)
        overall: dict[str, Counter[int]] = {m: Counter() for m in METRICS}
        groups: dict[str, dict[str, Counter[int]]] = defaultdict(lambda: {m: Counter() for m in METRICS})
        for day in days_newest_first(start, end):
            page = self._responses.query_day(DayQuery(business.business_id, day.isoformat()))
            for r in page.items:
                overall[r.metric][r.score] += 1
                if label is not None:
                    groups[r.labels.get(label, labels.NO_LABEL)][r.metric][r.score] += 1
                elif query.group_by:
                    key = {"day": r.local_date, "touchpoint": r.touchpoint_id, "channel": r.channel}[query.group_by]
                    groups[key][r.metric][r.score] += 1
        min_n = self._settings.min_responses

        def summaries(per_metric: dict[str, Counter[int]]) -> dict[Metric, MetricSummary]:
            return {as_metric(m): summarize(m, per_metric[m], min_n) for m in METRICS}

        return MetricsAnswer(
            business_id=business.business_id,
            **{"from": start.isoformat()},
            to=end.isoformat(),
            timezone=business.timezone,
            min_responses=min_n,
            overall=summaries(overall),
            group_by=query.group_by,
            # The answers without the label (key "") come last, after the label's values.
            groups=[MetricsGroup(key=k, metrics=summaries(groups[k])) for k in sorted(groups, key=_no_label_last)]
            if query.group_by
            else None,
        )

    def today(self, business: Business) -> Today:
        """Today's answers so far: one Query of today's partition, newest first, nothing older. A day's
        answers are a few hundred even for a busy shop, so they are counted here rather than stored."""
        day = local_day(self._clock.now(), business.timezone).isoformat()
        page = self._responses.query_day(DayQuery(business.business_id, day))
        overall: dict[str, Counter[int]] = {m: Counter() for m in METRICS}
        per_touchpoint: dict[str, dict[str, Counter[int]]] = defaultdict(dict)
        for r in page.items:
            overall[r.metric][r.score] += 1
            per_touchpoint[r.touchpoint_id].setdefault(r.metric, Counter())[r.score] += 1
        min_n = self._settings.min_responses
        return Today(
            day=day,
            overall={m: summarize(m, overall[m], min_n) for m in METRICS},
            touchpoints=[
                (tp, {m: summarize(m, counts, min_n) for m, counts in sorted(metrics.items())})
                for tp, metrics in sorted(per_touchpoint.items())
            ],
            latest=page.items[:TODAY_LATEST],
        )

    def _range(self, business: Business, start: date | None, end: date | None) -> tuple[date, date]:
        today = local_day(self._clock.now(), business.timezone)
        end = end or today
        start = start or (end - timedelta(days=DEFAULT_RANGE_DAYS - 1))
        if start > end:
            raise InvalidInput("from must not be after to.", code="invalid_range")
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise InvalidInput(f"A range covers at most {MAX_RANGE_DAYS} days.", code="range_too_long")
        return start, end

    def _resume(self, business: Business, sealed: str, start: date, end: date) -> tuple[date, str | None]:
        """Where a cursor resumes: its day and the sort key it follows (None: the day's top). Sealed to the
        business, so a cursor of another business or a tampered one is refused."""
        cursor = keys.unseal(self._settings.app_secret, "cursor:" + business.business_id, sealed)
        if not (isinstance(cursor, list) and len(cursor) == 2 and all(isinstance(c, str) for c in cursor)):
            raise MalformedRequest("The cursor is not valid for this listing.", code="invalid_cursor")
        try:
            resume_day = date.fromisoformat(cursor[0])
        except ValueError:
            raise MalformedRequest("The cursor is not valid for this listing.", code="invalid_cursor") from None
        if not start <= resume_day <= end:
            raise MalformedRequest("The cursor belongs to another range.", code="invalid_cursor")
        return resume_day, cursor[1] if cursor[1] != _WHOLE_DAY else None


def _no_label_last(key: str) -> tuple[bool, str]:
    return key == labels.NO_LABEL, key


def _grouped_label(business: Business, group_by: str | None) -> str | None:
    """The label name of ``group_by=label:<name>``, None for the other groupings. Staff figures are
    refused (403) until the owner turns staff views on."""
    if not group_by or not group_by.startswith("label:"):
        return None
    name = group_by.removeprefix("label:")
    if labels.staff_grouping(name, business.staff_views):
        raise Forbidden(
            "Figures per staff member are off: turn on staff_views (PATCH /v1/businesses/{id} "
            '{"staff_views": true}, or the console\'s setup page) to see them.',
            code="staff_views_off",
        )
    return name


def _item(r: StoredResponse, staff_views: bool) -> ResponseItem:
    return ResponseItem(
        response_id=r.response_id,
        created_at=r.created_at,
        local_date=r.local_date,
        metric=r.metric,
        score=r.score,
        unhappy=r.unhappy,
        touchpoint_id=r.touchpoint_id,
        channel=r.channel,
        locale=r.locale,
        receipt_id=r.receipt_id,
        comment=r.comment,
        email=r.email if r.consent else None,
        phone=r.phone if r.consent else None,
        reasons=r.reasons,
        topics=r.topics,
        labels=labels.visible_labels(r.labels, staff_views),
    )
