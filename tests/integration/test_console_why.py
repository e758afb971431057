"""Issue #15: the console's Why page, from the newest stored daily report: reasons and topics ranked by
effect, the lead sentence, label groups and one heatmap per touchpoint; before any such report, a sentence
saying so. Answers carrying reasons and labels are written through the store, as the other branches'
routes will write them."""

from __future__ import annotations

from html import unescape
from typing import Any

from chalice.test import Client

from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.domain.calendar import iso_utc, local_day
from chalicelib.domain.keys import new_id
from chalicelib.domain.models import StoredResponse
from chalicelib.ports import Claim, WriteGuards
from chalicelib.settings import get_settings
from tests.clock import FakeClock
from tests.integration import test_daily_reports
from tests.integration.conftest import Biz, make_business
from tests.integration.test_console import Browser, sign_in_by_key
from tests.integration.test_daily_reports import run_schedule

mailer = test_daily_reports.mailer


def answer(biz: Biz, clock: FakeClock, score: int, reasons: list[str], labels: dict[str, str]) -> None:
    tp = biz.touchpoints["table"]["touchpoint_id"]
    now = iso_utc(clock.now())
    stored = StoredResponse(
        response_id=new_id(16),
        business_id=biz.business_id,
        touchpoint_id=tp,
        channel="qr",
        metric="nps",
        score=score,
        unhappy=score <= 6,
        created_at=now,
        updated_at=now,
        local_date=local_day(clock.now(), "Asia/Ho_Chi_Minh").isoformat(),
        reasons=reasons,
        labels=labels,
    )
    DynamoStore(get_settings().table_name).record(
        stored, WriteGuards(claims=(Claim(biz.business_id, f"test#{stored.response_id}", 2_000_000_000),))
    )


def test_the_why_page_ranks_what_unhappy_customers_named_with_label_groups_and_a_heatmap(
    client: Client, clock: FakeClock, mailer: Any
) -> None:
    biz = make_business(client)
    browser = Browser(client)
    sign_in_by_key(browser, biz)
    base = f"/console/{biz.business_id}"
    before = browser.get(f"{base}/why?lang=en")
    assert before.status_code == 200
    assert "No daily report with these figures yet" in before.body.decode()
    # 6 promoters at table 1, 6 detractors at table 2 who all chose "wait": NPS 0; without them, 100.
    for _ in range(6):
        answer(biz, clock, 10, [], {"table": "1"})
        answer(biz, clock, 2, ["wait"], {"table": "2", "staff": "An"})
    clock.advance(days=1)
    assert run_schedule(client) >= 1
    sign_in_by_key(browser, biz)  # a day later: the first session has expired
    page = browser.get(f"{base}/why?lang=en")
    assert page.status_code == 200
    body = unescape(page.body.decode())
    assert "“Long wait” was chosen in 6 of 6 unhappy answers this week" in body
    assert "NPS would be 100 points higher" in body
    assert "By label: table" in body and "By label: staff" not in body  # staff views are off by default
    assert body.count("<svg") == 1 and 'role="img"' in body  # the table touchpoint's week
    assert 'aria-current="page"' in body and f'href="{base}/why?lang=en"' in body
    vi = unescape(browser.get(f"{base}/why").body.decode())
    assert '<html lang="vi">' in vi and "“Chờ lâu” được chọn trong 6 trên 6" in vi


def test_the_why_page_needs_a_session_and_is_not_another_business_s(client: Client, mailer: Any) -> None:
    biz, other = make_business(client), make_business(client)
    assert Browser(client).get(f"/console/{biz.business_id}/why").status_code == 401
    browser = Browser(client)
    sign_in_by_key(browser, other)
    assert browser.get(f"/console/{biz.business_id}/why").status_code in (401, 404)
