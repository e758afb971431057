"""The owner's morning in the console (issue #14 "Done when"), in Debian's headless Chromium against the live
local stack: sign in through the emailed link taken from the outbox, create and print a table card, watch a
customer's answer appear in Today, reply to the unhappy customer (their .eml holds the reply, threaded with
the apology), resolve the case, redeem the voucher twice, sign out (the old cookie no longer works).

Every console page is photographed at 360 px and 1280 px wide into .local/screenshots/console/ for review,
and at 360 px none scrolls sideways.
"""

from __future__ import annotations

import dataclasses
import email
import re
from collections.abc import Iterator
from email import policy
from pathlib import Path
from typing import Any

import pytest

from tests.browser.stack import SCREENSHOTS, Stack

pytestmark = pytest.mark.browser

SHOTS = SCREENSHOTS / "console"
OWNER = "chu.quan@caphesaigon.example"
CUSTOMER = "lan@example.com"
CODE = re.compile(r"\b[2-9A-HJ-NP-Z]{4}(?:-[2-9A-HJ-NP-Z]{4}){3}\b")


@dataclasses.dataclass
class Morning:
    stack: Stack
    outbox: Path
    poller: Any

    def mail(self, kind: str) -> list[email.message.EmailMessage]:
        found = []
        for path in sorted(self.outbox.glob(f"*-{kind}-*.eml")):
            found.append(email.message_from_bytes(path.read_bytes(), policy=policy.default))
        return found  # type: ignore[return-value]


@pytest.fixture
def morning(stack: Stack, tmp_path: Path) -> Iterator[Morning]:
    """The stack's services, sending through the local run's .eml outbox, with the stream delivered on demand
    (the same Lambda entry point `make run` polls into)."""
    import boto3

    from app import on_response_change
    from chalicelib import wiring
    from chalicelib.adapters.ses import SesMailer
    from chalicelib.adapters.sqs import create_queues
    from chalicelib.local.outbox import OutboxMailer
    from chalicelib.local.stream import StreamPoller

    settings = stack.services.settings
    boto3.client("sesv2").create_email_identity(EmailIdentity=settings.mail_from)
    create_queues([settings.mail_dlq_name, settings.alert_queue_name])
    outbox = tmp_path / "outbox"
    mailer = OutboxMailer(SesMailer(max_send_rate=100), outbox)
    wiring.install(dataclasses.replace(stack.services, mailer=mailer))
    poller = StreamPoller(settings.table_name, on_response_change, start="LATEST")
    poller.poll_once()  # the stream is read from now on
    try:
        yield Morning(stack, outbox, poller)
    finally:
        wiring.install(stack.services)


def _shots(page: Any, name: str) -> None:
    """The page at 360 px (no sideways scroll) and at 1280 px, then back to the phone."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        if width == 360:
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= 360, f"{name} scrolls sideways at 360 px ({wide} px wide)"
    page.set_viewport_size({"width": 360, "height": 800})


def test_an_owner_s_morning_in_the_console(morning: Morning, browser: Any) -> None:
    stack = morning.stack
    base = f"{stack.api}/console/{stack.business_id}"
    owner = browser.new_context(viewport={"width": 360, "height": 800}, locale="vi-VN")
    owner.set_default_timeout(10_000)
    page = owner.new_page()

    # ---- sign in through the emailed link taken from the outbox
    page.goto(base)
    assert page.locator("html").get_attribute("lang") == "vi"
    _shots(page, "signin")
    page.get_by_label("Email").fill(OWNER)
    page.get_by_role("button", name="Gửi liên kết đăng nhập").click()
    page.get_by_text("một liên kết đăng nhập đang được gửi tới").wait_for()
    (signin,) = morning.mail("signin")
    assert signin["To"] == OWNER
    text = signin.get_body(("plain",)).get_content()
    link = re.search(r"http://127\.0\.0\.1:\d+/console/\S+/signin/[A-Za-z0-9_-]+", text)
    assert link
    page.goto(link.group(0))
    _shots(page, "signin-link")
    page.get_by_role("button", name="Đăng nhập ngay").click()
    page.get_by_role("heading", name=re.compile("Hôm nay đến giờ")).wait_for()
    assert page.get_by_text(OWNER).is_visible()

    # ---- create and print a table card
    page.get_by_role("link", name="Thiết lập").click()
    page.get_by_role("heading", name="Cửa hàng", exact=True).wait_for()
    page.locator("#n-name").fill("Bàn 5")
    page.get_by_label("Kênh").select_option("qr")
    page.get_by_label("Thước đo").select_option("nps")
    page.get_by_role("button", name="Tạo", exact=True).click()
    page.get_by_role("status").wait_for()
    assert page.locator('input[value="Bàn 5"]').count() == 1
    _shots(page, "setup")
    page.get_by_role("link", name="In thẻ bàn").click()
    page.get_by_role("heading", name="In thẻ bàn").wait_for()
    page.wait_for_load_state("load")  # the card images too
    cards = page.locator(".card img")
    assert cards.count() == 2  # the café's table and Bàn 5
    for i in range(2):  # each card image loaded (same host, behind the session)
        assert cards.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
    _shots(page, "print")
    page.emulate_media(media="print")
    assert page.locator("header").is_hidden()
    page.emulate_media(media="screen")

    # ---- a customer answers at Bàn 5, unhappy, leaving an address: Today shows it at once
    caller = stack.caller()
    bàn5 = next(tp for tp in stack.services.setup.touchpoints(caller).items if tp.name == "Bàn 5")
    phone = browser.new_context(viewport={"width": 390, "height": 780}, locale="vi-VN").new_page()
    phone.goto(bàn5.url)
    phone.get_by_role("button", name="2", exact=True).click()
    phone.get_by_label("Bạn muốn nói thêm").fill("Chờ 20 phút mới có cà phê.")
    phone.get_by_label("Email để nhận ưu đãi").fill(CUSTOMER)
    phone.get_by_label("Tôi đồng ý").check()
    phone.get_by_role("button", name="Gửi", exact=True).click()
    phone.get_by_role("heading", name="Đã lưu góp ý của bạn. Cảm ơn!").wait_for()
    phone.context.close()
    morning.poller.poll_once()  # the stream Lambda: the apology (with the recovery voucher) and the case
    (apology,) = morning.mail("apology")
    assert apology["To"] == CUSTOMER

    page.get_by_role("link", name="Hôm nay").click()
    page.get_by_text("Chờ 20 phút mới có cà phê.").wait_for()
    _shots(page, "today")

    # ---- issue #15: the Why page, from the newest stored report (the stack's demo history, if any)
    page.get_by_role("link", name="Lý do").click()
    page.get_by_role("heading", name="Điều gì ảnh hưởng đến điểm").wait_for()
    _shots(page, "why")

    # ---- reply to the unhappy customer; resolve the case
    page.get_by_role("link", name="Hộp thư góp ý").click()
    page.get_by_role("heading", name="Hộp thư góp ý").wait_for()
    _shots(page, "inbox")
    page.locator("blockquote a").first.click()
    page.get_by_label("Lời nhắn gửi khách").fill("Xin lỗi bạn, lần sau quán pha ngay cho bạn.")
    page.get_by_role("button", name="Gửi trả lời").click()
    page.get_by_text("Đã gửi trả lời.").wait_for()
    (reply,) = morning.mail("reply")
    assert reply["To"] == CUSTOMER and reply["Reply-To"] == OWNER
    assert apology["Message-ID"] in reply["References"].split()
    assert "Xin lỗi bạn, lần sau quán pha ngay cho bạn." in reply.get_body(("plain",)).get_content()
    page.get_by_label("Ghi chú nội bộ").fill("Đã gọi điện xin lỗi")
    page.get_by_role("button", name="Đánh dấu đã giải quyết").click()
    page.get_by_text("Đã đánh dấu giải quyết.").wait_for()
    assert page.get_by_text(OWNER).first.is_visible()  # the history names who replied and resolved
    _shots(page, "case")

    # ---- redeem the voucher twice at the till
    code = CODE.search(apology.get_body(("plain",)).get_content())
    assert code
    page.goto(f"{base}/till?code={code.group(0)}")
    assert page.get_by_label("Mã ưu đãi").input_value() == code.group(0)
    _shots(page, "till")
    page.get_by_role("button", name="Đổi", exact=True).click()
    page.get_by_role("alert").get_by_text("HỢP LỆ").wait_for()
    _shots(page, "till-valid")
    page.get_by_label("Mã ưu đãi").fill(code.group(0))
    page.get_by_role("button", name="Đổi", exact=True).click()
    page.get_by_role("alert").get_by_text("ĐÃ DÙNG").wait_for()
    _shots(page, "till-used")

    # ---- sign out: a copy of the old cookie opens nothing
    old_cookies = owner.cookies()
    assert any(c["name"] == f"console_{stack.business_id}" for c in old_cookies)
    page.get_by_role("button", name="Đăng xuất").click()
    page.get_by_role("heading", name="Đăng nhập bảng điều khiển").wait_for()
    thief = browser.new_context(viewport={"width": 360, "height": 800})
    thief.add_cookies(old_cookies)
    stolen = thief.new_page()
    answer = stolen.goto(base)
    assert answer is not None and answer.status == 401
    stolen.get_by_role("heading", name="Đăng nhập bảng điều khiển").wait_for()
    thief.close()
    owner.close()
