"""`make run`'s demo café with a past (issue #13): written through the real services with a clock in the
past, every finished day's report stored by the daily job, no email sent while seeding, and the first
aggregate of yesterday sending its digest once. Moto, the real handlers."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.domain.calendar import local_day
from chalicelib.local import emulator
from chalicelib.local.history import Written, write_history
from chalicelib.local.seed import Demo, _create
from chalicelib.settings import get_settings
from tests.clock import FakeClock
from tests.integration.conftest import post_json
from tests.integration.test_daily_reports import CapturingMailer, rerun

DAYS = 14
ENV = {"PUBLIC_BASE_URL": "https://surveys.example", "ADMIN_KEY": "test-admin-key-0123456789abcdef"}


def _seed(clock: FakeClock, days: int) -> tuple[Demo, Written, CapturingMailer]:
    emulator.install()  # as `make run` has it
    mailer = CapturingMailer()
    built = wiring.build(get_settings(), DynamoStore(get_settings().table_name), clock)
    wiring.install(dataclasses.replace(built, mailer=mailer))
    demo, written = write_history(ENV, days, _create, now=clock.now())
    return demo, written, mailer


@pytest.fixture
def seeded(client: Client, clock: FakeClock) -> tuple[Demo, Written, CapturingMailer]:
    return _seed(clock, DAYS)


@pytest.fixture
def short_past(client: Client, clock: FakeClock) -> tuple[Demo, Written, CapturingMailer]:
    return _seed(clock, 2)


def _report(client: Client, demo: Demo, day: str) -> Any:
    answer = client.http.get(
        f"/v1/businesses/{demo.business_id}/reports/daily/{day}", headers={"Authorization": f"Bearer {demo.owner_key}"}
    )
    return answer


def _past_days(clock: FakeClock) -> list[str]:
    today = local_day(clock.now(), "Asia/Ho_Chi_Minh")
    return [(today - timedelta(days=ago)).isoformat() for ago in range(DAYS, 0, -1)]


def test_the_first_run_shows_every_past_day_reported_with_vouchers_recovery_and_a_trend_and_sends_nothing(
    client: Client, clock: FakeClock, seeded: tuple[Demo, Written, CapturingMailer]
) -> None:
    demo, written, mailer = seeded
    reports = [_report(client, demo, day) for day in _past_days(clock)]
    assert [r.status_code for r in reports] == [200] * DAYS  # stored by the daily job, one per finished day
    bodies = [r.json_body for r in reports]
    # Several hundred answers a week (the seeded plan's quiet first days included), every touchpoint.
    assert sum(b["responses"] for b in bodies) >= 180 * DAYS / 7
    assert all(len(b["funnel"]) == 5 for b in bodies)  # the counter, two table QR codes, email, website
    assert any(c["comment"] for b in bodies for c in b["comments"])
    # Vouchers issued and some brought to the till (today's redemptions are in no finished day yet).
    assert sum(b["vouchers"]["issued"] for b in bodies) > 0
    assert 0 < sum(b["vouchers"]["redeemed"] for b in bodies) <= written.counts["vouchers_redeemed"]
    # Unhappy customers apologised to, some of whom came back happier.
    recovery = bodies[-1]["unhappy"]["recovery"]
    assert recovery["apologised"] > 0 and recovery["recovered"] > 0
    # The dashboard's trend has the past on the first run.
    business = wiring.services().directory.business(demo.business_id)
    assert business is not None
    dashboard = wiring.services().reports.dashboard(business)
    assert len(dashboard.trend) == DAYS and dashboard.latest is not None
    assert dashboard.latest["date"] == _past_days(clock)[-1]
    # Seeding sent nothing: the past's vouchers, apologies, alerts and replies were recorded, none went out.
    assert written.emails_not_sent > 0 and mailer.sent == []
    assert written.counts["reports"] == DAYS and not written.refused


def test_the_first_run_shows_a_complaint_inbox_with_replied_resolved_and_waiting_cases(
    client: Client, clock: FakeClock, seeded: tuple[Demo, Written, CapturingMailer]
) -> None:
    demo, written, mailer = seeded
    owner = {"Authorization": f"Bearer {demo.owner_key}"}
    cases: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = client.http.get(f"/v1/businesses/{demo.business_id}/cases?limit=100"
                               + (f"&cursor={cursor}" if cursor else ""), headers=owner).json_body
        cases += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    statuses = {case["status"] for case in cases}
    assert {"open", "replied", "resolved", "no_contact"} <= statuses
    assert written.counts["cases_replied"] > 0 and written.counts["cases_resolved"] > 0
    # The owner's replies are in each case's history, by her, delivered (to the past's inboxes, not sent).
    replies = [e for case in cases for e in case["history"] if e["action"] == "reply"]
    assert len(replies) == written.counts["cases_replied"]
    assert {e["by"] for e in replies} == {"chu.quan@caphesaigon.example"}
    assert {e["outcome"] for e in replies} == {"sent"} and mailer.sent == []
    # Yesterday's report has the resolution figures, each with its n.
    resolution = _report(client, demo, _past_days(clock)[-1]).json_body["resolution"]["figures"]
    assert resolution["median_hours_to_reply"]["n"] > 0 and resolution["median_hours_to_reply"]["value"] > 0


def test_the_first_run_shows_reasons_topics_and_labels_by_area_and_shift(
    client: Client, clock: FakeClock, seeded: tuple[Demo, Written, CapturingMailer]
) -> None:
    demo, written, _ = seeded
    auth = {"Authorization": f"Bearer {demo.owner_key}"}
    today = local_day(clock.now(), "Asia/Ho_Chi_Minh")
    span = f"from={(today - timedelta(days=DAYS)).isoformat()}&to={today.isoformat()}"
    items = client.http.get(f"/v1/businesses/{demo.business_id}/responses?{span}&limit=1000", headers=auth).json_body
    items = items["items"]
    assert written.counts["reasons"] > len(items) / 4
    assert sum(bool(i["reasons"]) for i in items) > len(items) / 4
    assert any("wait" in i["topics"] for i in items) and any("custom:wifi" in i["topics"] for i in items)
    receipts = [i for i in items if i["channel"] == "receipt"]
    # Signed into each receipt by the till; the staff label stays hidden until the owner turns staff views on.
    assert receipts and all({"shift", "till", "area"} <= set(i["labels"]) for i in receipts)
    assert not any("staff" in i["labels"] for i in items)
    by_area = client.http.get(f"/v1/businesses/{demo.business_id}/metrics?{span}&group_by=label:area", headers=auth)
    assert {g["key"] for g in by_area.json_body["groups"]} == {"Quầy", "Trong nhà", "Sân vườn", ""}


def test_the_first_aggregate_of_yesterday_sends_its_digest_once(
    client: Client, clock: FakeClock, short_past: tuple[Demo, Written, CapturingMailer]
) -> None:
    demo, _, mailer = short_past
    yesterday = _past_days(clock)[-1]
    rerun(client, demo.business_id, yesterday)
    digests = [m for m in mailer.messages() if m["X-Survey-Kind"] == "digest"]
    assert len(digests) == 1 and digests[0]["To"] == "chu.quan@caphesaigon.example"
    rerun(client, demo.business_id, yesterday)
    assert len(mailer.sent) == 1


def test_the_stream_consumer_started_after_seeding_handles_new_answers_only(
    client: Client, clock: FakeClock, short_past: tuple[Demo, Written, CapturingMailer]
) -> None:
    from app import on_response_change
    from chalicelib.local.stream import StreamPoller

    demo, _, mailer = short_past
    poller = StreamPoller(get_settings().table_name, on_response_change, start="LATEST")
    assert poller.poll_once() == 0  # the past's records were handled while it was written
    page = client.http.get(f"/s/{demo.touchpoints['table']['token']}")
    nonce = page.body.decode().split('name="nonce" value="', 1)[1].split('"', 1)[0]
    answer = post_json(client, "/v1/responses", {"token": demo.touchpoints["table"]["token"], "score": 2,
                                                 "nonce": nonce})
    assert answer.status_code == 201
    assert poller.poll_once() >= 1
    assert [m["X-Survey-Kind"] for m in mailer.messages()] == ["alert"]  # the owner hears of the new one
