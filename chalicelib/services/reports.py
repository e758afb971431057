"""The daily report job: who is due, computing one business's day, storing it, the owner digest.

Hourly (``app.schedule``) :meth:`Reports.schedule` Queries the business index (``BIZREG#{n}``, no Scan)
and enqueues one SQS message per business whose local midnight has passed since its last report;
:meth:`Reports.run` (the SQS consumer, one business per invocation) computes that day in the
business's own time zone, stores it under ``D#{biz}`` / ``{day}``, moves the business's marker and
sends the digest through the one mail layer, deduplicated per business, day and owner address.
Re-running a day overwrites the same report and sends nothing twice. Design and limits: docs/reports.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib import tables
from chalicelib.domain.calendar import iso_utc, local_day, parse_iso_utc
from chalicelib.domain.jobs import ReportJob
from chalicelib.domain.keys import keyed_hash, new_id, same, seal, unseal
from chalicelib.domain.models import Business
from chalicelib.domain.report import (
    RECOVERY_WINDOW_DAYS,
    WINDOWS,
    CommentKeeper,
    DailyReport,
    DayInputs,
    OverdueCase,
    Resolution,
    Row,
    Tally,
    TouchpointInfo,
    build_report,
)
from chalicelib.domain.why import DayCounter, Facets, Why, build_why
from chalicelib.errors import InvalidInput, NotFound
from chalicelib.observability import count, logger
from chalicelib.ports import (
    BusinessRegistry,
    BusinessStore,
    Clock,
    DigestRenderer,
    ReportQueue,
    ReportStore,
    ResponseRow,
)
from chalicelib.settings import Settings

SESSION_SECONDS = 12 * 3600
CATCHUP_DAYS = 7  # a business missed by several runs (outage) gets at most this many days filled in
TREND_DAYS = 30
RESOLUTION_WINDOW_DAYS = 7  # issue #14: the report's resolution figures cover the cases of the last 7 days
OVERDUE_SHOWN = 10  # open cases older than 24 h listed by name in the report (all of them counted)
WHY_DAYS = 7  # issue #15: effects, labels and heatmaps cover the 7 days ending the report's day
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class RunResult:
    report: DailyReport
    digests_sent: int


@dataclass(frozen=True)
class Dashboard:
    business: Business
    today: str
    latest: dict[str, Any] | None
    trend: list[dict[str, Any]]  # oldest first, one entry per day of the last TREND_DAYS with a report


def parse_day(text: str) -> date:
    """A YYYY-MM-DD calendar day, or 422."""
    if not isinstance(text, str) or not _DATE.match(text):
        raise InvalidInput("The date must be a day written YYYY-MM-DD.", code="invalid_date")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("The date must be a real calendar day (YYYY-MM-DD).", code="invalid_date") from None


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


class Reports:
    def __init__(
        self, businesses: BusinessStore, store: ReportStore, registry: BusinessRegistry, clock: Clock,
        settings: Settings, *, queue: ReportQueue | None = None, mail: Callable[[], Any] | None = None,
        render_digest: DigestRenderer | None = None, cases: Callable[[], Any] | None = None,
    ):
        self._businesses, self._store, self._registry = businesses, store, registry
        self._clock, self._settings, self._queue = clock, settings, queue
        # The mail layer is looked up when a digest goes out, so computing a report never loads it.
        self._mail = mail
        self._render_digest = render_digest
        # issue #14: the complaint inbox (``Cases``: figures, overdue_summary), looked up when a report is
        # computed; None leaves the report's resolution block out.
        self._cases = cases

    # ---- who is due --------------------------------------------------------------------------------

    def due_jobs(self, now: datetime | None = None) -> list[ReportJob]:
        """One job per (business, finished local day) not reported yet, oldest day first."""
        now = now or self._clock.now()
        jobs: list[ReportJob] = []
        for entry in self._registry.registered():
            try:
                yesterday = local_day(now, entry.timezone) - timedelta(days=1)
                created = date.fromisoformat(entry.created_day)
                last = date.fromisoformat(entry.last_day) if entry.last_day else None
            except (ValueError, KeyError):
                logger.warning("skipping a malformed business index entry", extra={"business_id": entry.business_id})
                continue
            first = max(created, yesterday - timedelta(days=CATCHUP_DAYS - 1))
            if last is not None:
                first = max(first, last + timedelta(days=1))
            jobs.extend(ReportJob(entry.business_id, d.isoformat()) for d in _days(first, yesterday))
        return jobs

    def schedule(self, now: datetime | None = None) -> int:
        """The hourly run: enqueue every due job (one message each, sent ten per call)."""
        if self._queue is None:
            raise RuntimeError("no report queue configured")
        jobs = self.due_jobs(now)
        sent = self._queue.send(jobs) if jobs else 0
        logger.info("report jobs enqueued", extra={"jobs": sent})
        return sent

    def jobs_for_day(self, day: date) -> list[ReportJob]:
        """Every registered business for one day (``make aggregate DATE=...``: a backfill)."""
        return [
            ReportJob(entry.business_id, day.isoformat())
            for entry in self._registry.registered()
            if entry.created_day <= day.isoformat()
        ]

    # ---- one business, one day ---------------------------------------------------------------------

    def run(self, job: ReportJob, *, send_digest: bool = True, partial: bool = False) -> RunResult | None:
        """Compute, store and send one business's day (the SQS consumer). None for an unknown business
        or a day that is not over where the business is. ``partial`` (the local backfill command only)
        stores today's report so far, without a digest and without moving the business's marker, so the
        schedule still computes and sends the whole day after midnight."""
        business = self._businesses.get_business(job.business_id)
        if business is None:
            logger.warning("report job for an unknown business", extra={"business_id": job.business_id})
            return None
        day = parse_day(job.day)
        today = local_day(self._clock.now(), business.timezone)
        unfinished = day >= today
        if day > today or (unfinished and not partial):
            logger.warning("report job for an unfinished day", extra={"business_id": job.business_id, "day": job.day})
            return None
        report, tally, facets = self.compute_with_facets(business, day)
        self._store.put_report(
            business.business_id, job.day, report.model_dump(mode="json"), tally.to_json(), facets.to_json()
        )
        if unfinished:
            return RunResult(report=report, digests_sent=0)
        self._registry.mark_reported(business.business_id, job.day)
        sent = self.send_digest(business, report) if send_digest else 0
        count("DailyReportsComputed")
        return RunResult(report=report, digests_sent=sent)

    def compute(self, business: Business, day: date) -> tuple[DailyReport, Tally]:
        report, tally, _ = self.compute_with_facets(business, day)
        return report, tally

    def compute_with_facets(self, business: Business, day: date) -> tuple[DailyReport, Tally, Facets]:
        """The report of one day, the day's tally and its issue #15 facets (both stored with it)."""
        biz = business.business_id
        created = local_day(parse_iso_utc(business.created_at), business.timezone)
        keeper, counter = CommentKeeper(), DayCounter(business.timezone, day)
        tally = Tally.of(self._rows(self._store.day_rows(biz, day.isoformat()), keeper, counter))
        facets = counter.facets(business.timezone)

        # Windows: stored tallies of earlier reports (one Query), the missing days from their responses.
        first_needed = max(created, day - timedelta(days=max(w for w, _ in WINDOWS.values())))
        stored: dict[str, Tally] = {}
        stored_facets: dict[str, Facets | None] = {}
        # The why block reads two weeks; the older days of the 28-day windows need only their tallies.
        why_first = (day - timedelta(days=2 * WHY_DAYS - 1)).isoformat()
        if first_needed < day:
            for item in self._store.reports_between(
                biz, first_needed.isoformat(), (day - timedelta(days=1)).isoformat(), with_report=False
            ):
                stored[item.day] = Tally.from_json(item.tally)
                wanted = item.facets is not None and item.day >= why_first
                stored_facets[item.day] = Facets.from_json(item.facets) if wanted else None
        per_day: dict[date, Tally] = {}
        facets_per_day: dict[date, Facets | None] = {day: facets}
        for d in _days(first_needed, day - timedelta(days=1)):
            key = d.isoformat()
            if key in stored:
                per_day[d], facets_per_day[d] = stored[key], stored_facets[key]
            else:
                past = DayCounter(business.timezone, d)
                per_day[d] = Tally.of(self._rows(self._store.day_rows(biz, key), None, past))
                facets_per_day[d] = past.facets(business.timezone)
        windows: dict[str, Tally] = {}
        ranges: dict[str, str] = {}
        for name, (length, gap) in WINDOWS.items():
            last = day - timedelta(days=gap)
            start = last - timedelta(days=length - 1)
            total = Tally()
            for d in _days(max(start, first_needed), last):
                total = total + per_day.get(d, Tally())
            windows[name] = total
            ranges[name] = f"{start.isoformat()}..{last.isoformat()}"

        opened, issued, redeemed = self._store.funnel(biz, day.isoformat())
        apologised = recovered = 0
        for d in _days(max(created, day - timedelta(days=RECOVERY_WINDOW_DAYS - 1)), day):
            sent, back = self._store.apologies(biz, d.isoformat())
            apologised, recovered = apologised + sent, recovered + back
        touchpoints = [
            TouchpointInfo(t.touchpoint_id, t.name, t.channel, t.metric) for t in self._businesses.list_touchpoints(biz)
        ]
        report = build_report(
            business_id=biz, business_name=business.name, day=day.isoformat(), timezone=business.timezone,
            locale=business.locale, computed_at=iso_utc(self._clock.now()),
            inputs=DayInputs(
                tally=tally, windows=windows, window_ranges=ranges, opened=opened,
                vouchers_issued=issued, vouchers_redeemed=redeemed, apologised=apologised, recovered=recovered,
                comments=keeper.newest(), comments_total=keeper.total,
            ),
            touchpoints=touchpoints,
            min_n=self._settings.min_responses,
            resolution=self._resolution(business, day, touchpoints),
            why=self._why(business, day, created, facets_per_day),
        )
        return report, tally, facets

    def _why(self, business: Business, day: date, created: date, per_day: dict[date, Facets | None]) -> Why:
        """Issue #15: the week ending ``day`` against the week before, from each day's facets. A day stored
        before facets were kept counts as empty and is named in the report's notes."""

        def window(last: date) -> tuple[Facets, int, str, str]:
            first = last - timedelta(days=WHY_DAYS - 1)
            total, missing = Facets(), 0
            for d in _days(max(first, created), last):
                got = per_day.get(d)
                if got is None:
                    missing += 1
                else:
                    total = total + got
            return total, missing, first.isoformat(), last.isoformat()

        week, missing, first, last = window(day)
        before, before_missing, previous_first, previous_last = window(day - timedelta(days=WHY_DAYS))
        return build_why(
            week, before, first=first, last=last, previous_first=previous_first, previous_last=previous_last,
            min_n=self._settings.min_responses, staff_views=business.staff_views,
            missing_days=missing, previous_missing_days=before_missing,
        )

    def _resolution(self, business: Business, day: date, touchpoints: list[TouchpointInfo]) -> Resolution | None:
        """Issue #14: the resolution figures over the cases of the 7 days ending ``day`` and the cases open
        for more than 24 hours, both as known now."""
        cases = self._cases() if self._cases is not None else None
        if cases is None:
            return None
        first = day - timedelta(days=RESOLUTION_WINDOW_DAYS - 1)
        figures = cases.figures(business, first, day)
        waiting, shown = cases.overdue_summary(business, limit=OVERDUE_SHOWN)
        names = {t.touchpoint_id: t.name for t in touchpoints}
        return Resolution(
            window_days=RESOLUTION_WINDOW_DAYS,
            first=first.isoformat(),
            last=day.isoformat(),
            figures=figures,
            overdue_count=waiting,
            overdue=[
                OverdueCase(
                    response_id=c.response_id, created_at=c.created_at, touchpoint_id=c.touchpoint_id,
                    touchpoint=names.get(c.touchpoint_id, c.touchpoint_id), metric=c.metric, score=c.score,
                )
                for c in shown
            ],
        )

    @staticmethod
    def _rows(rows: Iterator[ResponseRow], keeper: CommentKeeper | None, counter: DayCounter) -> Iterator[Row]:
        for r in rows:
            counter.add(r.touchpoint_id, r.metric, r.score, r.created_at, r.reasons, r.topics, r.labels)
            commented = bool(r.comment and r.comment.strip())
            if commented and keeper is not None:
                keeper.offer(
                    created_at=r.created_at,
                    touchpoint_id=r.touchpoint_id,
                    metric=r.metric,
                    score=r.score,
                    comment=r.comment,
                )
            yield (r.touchpoint_id, r.channel, r.metric, r.score, commented)

    # ---- the digest ---------------------------------------------------------------------------------

    def console_url(self, business_id: str) -> str:
        """Where the digest sends an owner: the console (issue #14), Today and the inbox."""
        return f"{self._settings.public_base_url}/console/{business_id}"

    def send_digest(self, business: Business, report: DailyReport) -> int:
        """One digest per owner address per business day; the mail layer's dedupe key makes a re-run
        (or a duplicate SQS delivery) send nothing twice. Returns how many were sent now."""
        mailer = self._mail() if self._mail is not None else None
        render_digest = self._render_digest
        if mailer is None or render_digest is None:
            logger.warning("no mail layer configured: digest not sent", extra={"business_id": business.business_id})
            return 0
        unsubscribe = getattr(mailer, "unsubscribe_url", None)
        sent = 0
        for owner in business.owner_emails:
            owner_hash = keyed_hash(self._settings.app_secret, "email", owner.strip().lower())
            email = render_digest(
                report,
                dashboard_url=self.console_url(business.business_id),
                unsubscribe_url=unsubscribe(business.business_id, owner) if unsubscribe else None,
                # issue #14: each overdue case links to its page in the owner's console
                console_url=self.console_url(business.business_id),
            )
            if mailer.send(
                kind="digest",
                dedupe_key=tables.digest_mail(business.business_id, report.date, owner_hash),
                business=business,
                to=owner,
                email=email,
                to_customer=False,
            ):
                sent += 1
        return sent

    # ---- reading -----------------------------------------------------------------------------------

    def daily_report(self, business: Business, date_text: str) -> DailyReport:
        """The stored report of one day: InvalidInput for a malformed date, NotFound for a future day or
        one not computed yet."""
        day = parse_day(date_text)
        if day > local_day(self._clock.now(), business.timezone):
            raise NotFound("There is no report for a day that has not happened yet.", code="report_not_found")
        report = self._store.get_report(business.business_id, day.isoformat())
        if report is None:
            raise NotFound(
                "No report for this day yet: the daily job runs after the business's local midnight.",
                code="report_not_found",
            )
        return DailyReport.model_validate(report)

    def stored_report(self, business_id: str, day: str) -> dict[str, Any] | None:
        """A stored report as is, without the owner checks (jobs and the local backfill command)."""
        return self._store.get_report(business_id, day)

    def dashboard(self, business: Business) -> Dashboard:
        """The last TREND_DAYS stored reports (one Query), newest one in full."""
        today = local_day(self._clock.now(), business.timezone)
        first = today - timedelta(days=TREND_DAYS)
        stored = self._store.reports_between(
            business.business_id, first.isoformat(), today.isoformat(), with_report=True
        )
        reports = [s.report for s in stored if s.report]
        return Dashboard(
            business=business, today=today.isoformat(), latest=reports[-1] if reports else None, trend=reports
        )

    def latest(self, business: Business, days: int = WHY_DAYS) -> dict[str, Any] | None:
        """Issue #15: the newest stored report of the last ``days`` days (one Query), as stored."""
        today = local_day(self._clock.now(), business.timezone)
        stored = self._store.reports_between(
            business.business_id, (today - timedelta(days=days)).isoformat(), today.isoformat(), with_report=True
        )
        reports = [s.report for s in stored if s.report]
        return reports[-1] if reports else None

    # ---- dashboard sessions ------------------------------------------------------------------------

    def open_session(self, business: Business) -> str:
        """A signed session for the dashboard cookie: never the owner key itself. It names a prefix of
        the stored key hash, so a new owner key ends every session opened with the old one, and a random
        id, so signing out ends this one session (#11)."""
        expires = int(self._clock.now().timestamp()) + SESSION_SECONDS
        payload = {"b": business.business_id, "k": business.owner_key_hash[:16], "e": expires, "s": new_id(16)}
        return seal(self._settings.app_secret, "dashboard", payload)

    def session_business(self, business_id: str, session: str | None) -> Business | None:
        """The business a dashboard cookie is valid for, or None (missing, forged, expired, signed out,
        opened with an owner key that has since been rotated, other business)."""
        payload = self._session(business_id, session)
        if payload is None:
            return None
        business = self._businesses.get_business(business_id)
        if business is None or not same(business.owner_key_hash[:16], payload["k"]):
            return None
        if self._store.session_revoked(business_id, payload["s"]):
            return None
        return business

    def end_session(self, business_id: str, session: str | None) -> bool:
        """Sign out: this session stops opening the dashboard at once, in every container (the cookie is
        cleared too, but a copied cookie must not outlive the sign-out). False when there was none."""
        payload = self._session(business_id, session)
        if payload is None:
            return False
        self._store.revoke_session(business_id, payload["s"], payload["e"])
        return True

    def _session(self, business_id: str, session: str | None) -> dict[str, Any] | None:
        if not session:
            return None
        payload = unseal(self._settings.app_secret, "dashboard", session, max_length=512)
        if not isinstance(payload, dict) or payload.get("b") != business_id:
            return None
        expires, fingerprint, sid = payload.get("e"), payload.get("k"), payload.get("s")
        if not isinstance(expires, int) or expires <= self._clock.now().timestamp():
            return None
        if not isinstance(fingerprint, str) or not isinstance(sid, str) or not sid:
            return None  # sessions from before #11 carry no id and cannot be signed out: sign in again
        return payload
