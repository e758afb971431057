"""Who is due when (time zones, daylight saving, catch-up), the job's idempotence, the digest's words and
escaping, the dashboard session and chart: the reports service on in-memory fakes of its ports."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest

from chalicelib.domain.jobs import ReportJob
from chalicelib.domain.keys import seal
from chalicelib.domain.models import Business, Touchpoint
from chalicelib.domain.report import CommentKeeper, DayInputs, Tally, build_report
from chalicelib.ports import RegisteredBusiness, ResponseRow, StoredReport
from chalicelib.services.reports import CATCHUP_DAYS, Reports, parse_day
from chalicelib.settings import Settings
from chalicelib.web.dashboard import trend_chart
from chalicelib.web.digest import render_digest
from tests.clock import FakeClock

SETTINGS = Settings(
    stage="test", app_secret="unit-test-secret-0123456789abcdef-0123", public_base_url="https://s.example"
)


class FakeBusinesses:
    def __init__(self) -> None:
        self.items: dict[str, Business] = {}

    def get_business(self, business_id: str) -> Business | None:
        return self.items.get(business_id)

    def list_touchpoints(self, business_id: str) -> list[Touchpoint]:
        return []


class FakeReportStore:
    """Registry + report store in memory, counting its reads per business."""

    def __init__(self) -> None:
        self.index: dict[str, RegisteredBusiness] = {}
        self.rows: dict[tuple[str, str], list[ResponseRow]] = {}
        self.reports: dict[tuple[str, str], tuple[dict, list]] = {}
        self.reads: list[tuple[str, str]] = []
        self.revoked: set[tuple[str, str]] = set()
        self.facets: dict[tuple[str, str], dict] = {}  # issue #15: absent for reports stored before it

    def register(self, business_id: str, timezone: str, created_day: str) -> None:
        self.index[business_id] = RegisteredBusiness(business_id, timezone, created_day)

    def registered(self) -> Iterator[RegisteredBusiness]:
        yield from self.index.values()

    def mark_reported(self, business_id: str, day: str) -> None:
        entry = self.index[business_id]
        if entry.last_day is None or entry.last_day < day:
            self.index[business_id] = RegisteredBusiness(entry.business_id, entry.timezone, entry.created_day, day)

    def day_rows(self, business_id: str, day: str) -> Iterator[ResponseRow]:
        self.reads.append((business_id, "rows"))
        yield from self.rows.get((business_id, day), [])

    def funnel(self, business_id: str, day: str) -> tuple[dict[str, int], int, int]:
        self.reads.append((business_id, "funnel"))
        return {}, 0, 0

    def apologies(self, business_id: str, day: str) -> tuple[int, int]:
        self.reads.append((business_id, "apologies"))
        return 0, 0

    def put_report(self, business_id: str, day: str, report: dict, tally: list, facets: dict | None = None) -> None:
        self.reports[(business_id, day)] = (report, tally)
        if facets is not None:
            self.facets[(business_id, day)] = facets

    def get_report(self, business_id: str, day: str) -> dict | None:
        found = self.reports.get((business_id, day))
        return found[0] if found else None

    # #11 item 7: signed-out sessions and erased comments, kept like the DynamoDB adapter keeps them
    def revoke_session(self, business_id: str, session_id: str, until: int) -> None:
        self.revoked.add((business_id, session_id))

    def session_revoked(self, business_id: str, session_id: str) -> bool:
        return (business_id, session_id) in self.revoked

    def erase_report_comments(self, business_id: str, day: str, comments: set[tuple[str, str]]) -> int:
        from chalicelib.domain.report import without_comments

        found = self.reports.get((business_id, day))
        if found is None:
            return 0
        kept, removed = without_comments(found[0], comments)
        self.reports[(business_id, day)] = (kept, found[1])
        return removed

    def reports_between(self, business_id: str, first: str, last: str, *, with_report: bool) -> list[StoredReport]:
        self.reads.append((business_id, "reports"))
        return [
            StoredReport(day=d, report=r if with_report else {}, tally=t, facets=self.facets.get((b, d)))
            for (b, d), (r, t) in sorted(self.reports.items())
            if b == business_id and first <= d <= last
        ]


class FakeQueue:
    def __init__(self) -> None:
        self.jobs: list[ReportJob] = []

    def send(self, jobs: Sequence[ReportJob]) -> int:
        self.jobs.extend(jobs)
        return len(jobs)


class FakeMail:
    """Dedupes on the key like the real mail layer."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.sent: list[dict[str, Any]] = []

    def send(self, **email: Any) -> bool:
        if email["dedupe_key"] in self.keys:
            return False
        self.keys.add(email["dedupe_key"])
        self.sent.append(email)
        return True

    def unsubscribe_url(self, business_id: str, address: str) -> str:
        return f"https://s.example/u/{business_id}-token"


def business(biz: str, zone: str, created: str = "2026-11-01T00:00:00.000000Z", **extra: Any) -> Business:
    return Business(
        business_id=biz,
        name=extra.pop("name", "Quán Phở"),
        owner_emails=extra.pop("owner_emails", ["owner@pho.example"]),
        timezone=zone,
        locale=extra.pop("locale", "vi"),
        owner_key_hash="a" * 64,
        site_key=f"sk_{biz}_0123456789abcdef",
        signing_keys={1: "AAAA"},
        active_key_id=1,
        created_at=created,
    )


@pytest.fixture
def world() -> tuple[Reports, FakeBusinesses, FakeReportStore, FakeQueue, FakeMail, FakeClock]:
    clock = FakeClock(datetime(2026, 11, 20, 3, 0, tzinfo=UTC))
    businesses, store, queue, mail = FakeBusinesses(), FakeReportStore(), FakeQueue(), FakeMail()
    reports = Reports(
        businesses, store, store, clock, SETTINGS, queue=queue, mail=lambda: mail, render_digest=render_digest
    )
    return reports, businesses, store, queue, mail, clock


def add(world: Any, biz: str, zone: str, created_day: str = "2026-11-01") -> None:
    _, businesses, store, *_ = world
    businesses.items[biz] = business(biz, zone, f"{created_day}T12:00:00.000000Z")
    store.register(biz, zone, created_day)


def test_a_business_is_due_once_its_own_midnight_has_passed(world: Any) -> None:
    reports, _, store, *_ = world
    add(world, "saigon01", "Asia/Ho_Chi_Minh")
    add(world, "newyork1", "America/New_York")
    store.mark_reported("saigon01", "2026-11-18")
    store.mark_reported("newyork1", "2026-11-18")
    # 16:30 UTC on the 20th: 23:30 in Saigon, 11:30 in New York: both have finished the 19th only.
    jobs = reports.due_jobs(datetime(2026, 11, 20, 16, 30, tzinfo=UTC))
    assert sorted((j.business_id, j.day) for j in jobs) == [("newyork1", "2026-11-19"), ("saigon01", "2026-11-19")]
    # 17:30 UTC: past midnight in Saigon (UTC+7), so the 20th is due there and not in New York.
    jobs = reports.due_jobs(datetime(2026, 11, 20, 17, 30, tzinfo=UTC))
    assert ("saigon01", "2026-11-20") in {(j.business_id, j.day) for j in jobs}
    assert ("newyork1", "2026-11-20") not in {(j.business_id, j.day) for j in jobs}


@pytest.mark.parametrize(
    ("zone", "before", "after", "day"),
    [
        (
            "America/New_York",
            datetime(2026, 11, 2, 4, 59, tzinfo=UTC),
            datetime(2026, 11, 2, 5, 0, tzinfo=UTC),
            "2026-11-01",
        ),
        (
            "America/New_York",
            datetime(2026, 3, 9, 3, 59, tzinfo=UTC),
            datetime(2026, 3, 9, 4, 0, tzinfo=UTC),
            "2026-03-08",
        ),
        (
            "Europe/Berlin",
            datetime(2026, 3, 29, 21, 59, tzinfo=UTC),
            datetime(2026, 3, 29, 22, 0, tzinfo=UTC),
            "2026-03-29",
        ),
        (
            "Europe/Berlin",
            datetime(2026, 10, 25, 22, 59, tzinfo=UTC),
            datetime(2026, 10, 25, 23, 0, tzinfo=UTC),
            "2026-10-25",
        ),
    ],
)
def test_daylight_saving_days_become_due_at_their_real_local_midnight(
    world: Any, zone: str, before: datetime, after: datetime, day: str
) -> None:
    reports, _, store, *_ = world
    add(world, "dstbiz01", zone, created_day="2026-01-01")
    previous = date.fromisoformat(day).toordinal() - 1
    store.mark_reported("dstbiz01", date.fromordinal(previous).isoformat())
    assert reports.due_jobs(before) == []
    assert reports.due_jobs(after) == [ReportJob("dstbiz01", day)]


def test_missed_days_are_caught_up_oldest_first_but_only_a_week_back(world: Any) -> None:
    reports, *_ = world
    add(world, "late0001", "Asia/Ho_Chi_Minh", created_day="2026-10-01")
    jobs = reports.due_jobs(datetime(2026, 11, 20, 17, 30, tzinfo=UTC))
    assert [j.day for j in jobs] == [f"2026-11-{d}" for d in range(21 - CATCHUP_DAYS, 21)]
    add(world, "new00001", "Asia/Ho_Chi_Minh", created_day="2026-11-21")  # created today: nothing to report
    assert all(j.business_id != "new00001" for j in reports.due_jobs(datetime(2026, 11, 20, 17, 30, tzinfo=UTC)))


def test_running_a_day_twice_stores_the_same_report_and_mails_each_owner_once(world: Any) -> None:
    reports, businesses, store, queue, mail, clock = world
    add(world, "saigon01", "Asia/Ho_Chi_Minh")
    businesses.items["saigon01"] = business("saigon01", "Asia/Ho_Chi_Minh", owner_emails=["a@x.example", "b@x.example"])
    store.mark_reported("saigon01", "2026-11-18")
    store.rows[("saigon01", "2026-11-19")] = [
        ResponseRow("tp", "qr", "nps", s, f"2026-11-19T0{i}:00:00.000000Z", "chậm" if s < 5 else None)
        for i, s in enumerate([10, 9, 9, 3, 0, 10])
    ]
    assert reports.schedule() == 1 and queue.jobs == [ReportJob("saigon01", "2026-11-19")]
    first = reports.run(queue.jobs[0])
    again = reports.run(queue.jobs[0])
    assert first is not None and again is not None
    assert first.digests_sent == 2 and again.digests_sent == 0
    assert first.report.metrics == again.report.metrics
    assert {m["to"] for m in mail.sent} == {"a@x.example", "b@x.example"}
    assert all(m["dedupe_key"].startswith("digest#saigon01#2026-11-19#") and m["kind"] == "digest" for m in mail.sent)
    assert all(not m["to_customer"] for m in mail.sent)
    assert reports.due_jobs() == []  # the marker moved
    clock.moment = datetime(2026, 11, 20, 17, 30, tzinfo=UTC)
    assert reports.due_jobs() == [ReportJob("saigon01", "2026-11-20")]


def test_a_day_that_is_not_over_is_not_reported(world: Any) -> None:
    reports, _, store, *_ = world
    add(world, "saigon01", "Asia/Ho_Chi_Minh")
    assert reports.run(ReportJob("saigon01", "2026-11-20")) is None
    assert reports.run(ReportJob("nobody01", "2026-11-19")) is None
    assert store.reports == {}


def test_one_business_s_job_reads_only_its_own_partitions(world: Any) -> None:
    reports, _, store, *_ = world
    add(world, "quiet001", "Asia/Ho_Chi_Minh")
    add(world, "busy0001", "Asia/Ho_Chi_Minh")
    store.rows[("busy0001", "2026-11-19")] = [
        ResponseRow("tp", "qr", "nps", i % 11, "2026-11-19T01:00:00.000000Z") for i in range(5000)
    ]
    reports.run(ReportJob("quiet001", "2026-11-19"), send_digest=False)
    assert {b for b, _ in store.reads} == {"quiet001"}


@pytest.mark.parametrize("text", ["2026-13-01", "2026-02-29", "19-11-2026", "", "2026-11-19 ", "２０２６-11-19"])
def test_a_malformed_date_is_refused(text: str) -> None:
    from chalicelib.errors import InvalidInput

    with pytest.raises(InvalidInput):
        parse_day(text)


def _report(locale: str, rows: list, name: str = "Phở <Hà Nội> & Co") -> Any:
    keeper = CommentKeeper()
    keeper.offer(
        created_at="2026-11-19T03:00:00.000000Z",
        touchpoint_id="tp",
        metric="nps",
        score=0,
        comment='<img src="https://evil.example/x.png"> "tệ"',
    )
    return build_report(
        business_id="saigon01",
        business_name=name,
        day="2026-11-19",
        timezone="Asia/Ho_Chi_Minh",
        locale=locale,
        computed_at="2026-11-19T17:05:00.000000Z",
        inputs=DayInputs(
            tally=Tally.of(rows), comments=keeper.newest() if rows else [], comments_total=keeper.total if rows else 0
        ),
    )


ROWS = [("tp", "qr", "nps", s, False) for s in [10, 9, 9, 8, 7, 3, 0]] + [("tp", "qr", "csat", 4, False)] * 5


@pytest.mark.parametrize(("locale", "words"), [("vi", "báo cáo ngày"), ("en", "daily report")])
def test_the_digest_is_in_the_business_s_language_with_the_headline_and_its_margin(locale: str, words: str) -> None:
    email = render_digest(
        _report(locale, ROWS),
        dashboard_url="https://s.example/dashboard/saigon01",
        unsubscribe_url="https://s.example/u/t",
    )
    assert words in email.subject and "NPS +14" in email.subject
    assert ("±61,7" if locale == "vi" else "±61.7") in email.subject
    assert f'<html lang="{locale}">' in email.html
    assert "https://s.example/dashboard/saigon01" in email.html and "https://s.example/dashboard/saigon01" in email.text
    assert "https://s.example/u/t" in email.html and "https://s.example/u/t" in email.text
    assert ("100,0%" if locale == "vi" else "100.0%") in email.html  # CSAT, decimal comma in Vietnamese


def test_the_digest_escapes_every_value_in_html_and_loads_nothing_from_outside() -> None:
    email = render_digest(_report("en", ROWS), dashboard_url="https://s.example/dashboard/saigon01")
    assert "Phở &lt;Hà Nội&gt; &amp; Co" in email.html and "<Hà Nội>" not in email.html
    assert "<img" not in email.html and "&lt;img src=" in email.html
    assert not re.search(r"""src=["']?https?:""", email.html)
    assert "\n" not in email.subject and "\r" not in email.subject
    assert "Phở <Hà Nội> & Co" in email.text  # plain text is not HTML: no entities there
    assert 'bgcolor="#1e8449"' in email.html  # the bars are table cells with colours, not images


def test_the_digest_of_a_day_without_responses_says_so() -> None:
    for locale, words in (("vi", "Chưa có phản hồi nào"), ("en", "No responses")):
        email = render_digest(_report(locale, []), dashboard_url="https://s.example/d")
        assert words in email.text and words in email.html
        assert "NPS" not in email.subject


def test_a_name_with_line_breaks_cannot_break_the_subject_header() -> None:
    email = render_digest(_report("en", ROWS, name="Evil\r\nBcc: x@y.example"), dashboard_url="https://s.example/d")
    assert "\r" not in email.subject and "\n" not in email.subject


def test_a_dashboard_session_opens_only_its_business_until_it_expires(world: Any) -> None:
    reports, businesses, _, _, _, clock = world
    add(world, "saigon01", "Asia/Ho_Chi_Minh")
    add(world, "other001", "Asia/Ho_Chi_Minh")
    session = reports.open_session(businesses.items["saigon01"])
    assert reports.session_business("saigon01", session) == businesses.items["saigon01"]
    assert reports.session_business("other001", session) is None
    assert reports.session_business("saigon01", session[:-2] + ("xx" if not session.endswith("xx") else "yy")) is None
    assert reports.session_business("saigon01", seal("wrong" * 8, "dashboard", {"b": "saigon01"})) is None
    assert reports.session_business("saigon01", None) is None
    businesses.items["saigon01"] = businesses.items["saigon01"].model_copy(update={"owner_key_hash": "b" * 64})
    assert reports.session_business("saigon01", session) is None  # a new owner key ends old sessions
    businesses.items["saigon01"] = businesses.items["saigon01"].model_copy(update={"owner_key_hash": "a" * 64})
    clock.advance(hours=13)
    assert reports.session_business("saigon01", session) is None


def test_signing_out_ends_that_dashboard_session_only(world: Any) -> None:
    reports, businesses, _, _, _, _ = world
    add(world, "saigon01", "Asia/Ho_Chi_Minh")
    phone = reports.open_session(businesses.items["saigon01"])
    laptop = reports.open_session(businesses.items["saigon01"])
    assert reports.end_session("saigon01", phone) is True
    assert reports.session_business("saigon01", phone) is None
    assert reports.session_business("saigon01", laptop) == businesses.items["saigon01"]
    assert reports.end_session("saigon01", "garbage") is False and reports.end_session("other001", laptop) is False


def test_the_trend_chart_breaks_the_line_on_days_without_a_headline_and_bands_the_nps_margin() -> None:
    def day(headline: int | None, status: str = "ok") -> dict:
        summary = {"headline": headline, "status": status, "margin_of_error": 20.0, "n": 30}
        return {"metrics": {"nps": {"summary": summary}}}

    days = [f"2026-11-{d:02d}" for d in range(1, 7)]
    by_day = {
        "2026-11-01": day(10),
        "2026-11-02": day(30),
        "2026-11-03": day(None, "too_few_responses"),
        "2026-11-05": day(-90),
        "2026-11-06": day(-100),
    }
    chart = trend_chart("nps", days, by_day, "en")
    assert len(chart["lines"]) == 2 and len(chart["bands"]) == 2 and len(chart["dots"]) == 4
    ys = [dot["y"] for dot in chart["dots"]]
    assert ys[0] > ys[1] and ys[3] == chart["grid"][0]["y"]  # higher NPS is higher up; -100 on the floor
    assert "±20.0" in chart["dots"][0]["label"]
    assert trend_chart("ces", days, {}, "vi")["empty"] is True


@pytest.mark.parametrize(
    "body",
    [
        "",
        "null",
        "[]",
        "{}",
        '{"business_id": "x", "day": "2026-11-19"}',
        '{"business_id": "saigon01"}',
        '{"business_id": "saigon01", "day": "19/11/2026"}',
        '{"business_id": "SAIGON01", "day": "2026-11-19"}',
        "{",
    ],
)
def test_a_queue_message_that_is_not_a_report_job_is_recognised_and_dropped(body: str) -> None:
    from chalicelib.domain.jobs import decode

    assert decode(body) is None


def test_a_report_job_survives_its_trip_through_the_queue() -> None:
    from chalicelib.domain.jobs import decode, encode

    assert decode(encode(ReportJob("saigon01", "2026-11-19"))) == ReportJob("saigon01", "2026-11-19")


@pytest.mark.parametrize(
    "body",
    [
        "",
        "[]",
        '{"business_id": "saigon01"}',
        '{"business_id": "saigon01", "window": true}',
        '{"business_id": "saigon01", "window": -1}',
        '{"business_id": "saigon01", "window": "5"}',
        '{"business_id": "../etc", "window": 5}',
    ],
)
def test_an_alert_flush_message_that_is_not_ours_is_recognised_and_dropped(body: str) -> None:
    from chalicelib.domain.jobs import parse_alert_flush

    assert parse_alert_flush(body) is None
    assert parse_alert_flush('{"business_id": "saigon01", "window": 5}') == ("saigon01", 5)
