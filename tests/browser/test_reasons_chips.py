"""Reason chips in a real Chromium at 360 px (#15): the widget shows them after a tap and sends the ones
chosen; the survey page's thank-you offers them as tappable checkboxes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.stack import SCREENSHOTS, Stack
from tests.browser.test_widget import _wait_for

pytestmark = pytest.mark.browser


def test_the_widget_shows_the_chips_of_the_mood_after_a_tap_and_a_chip_and_send_store_the_reason(
    stack: Stack, page: Any
) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    url = stack.widget_page(
        stack.shop, "/chips.html", f'data-site-key="{stack.site_key}" data-metric="csat" data-target="#fb"',
        body='<div id="fb"></div>',
    )
    before = len(stack.responses())
    page.goto(url)
    two = page.get_by_role("button", name="2 – Không hài lòng")
    two.wait_for()
    assert page.locator("[data-surveys-widget] .c button").count() == 0  # nothing before the score
    page.wait_for_timeout(700)  # a person reads the question first
    two.click()
    wait = page.get_by_role("button", name="Chờ lâu")
    wait.wait_for()
    assert page.get_by_role("group", name="Điều gì nổi bật?").is_visible()
    assert page.get_by_role("button", name="Nhanh").count() == 0  # the happy words are not offered
    _wait_for(lambda: len(stack.responses()) == before + 1)
    wait.click()
    assert wait.get_attribute("aria-pressed") == "true"
    box = wait.bounding_box()
    assert box is not None and box["height"] >= 44  # a thumb-sized target
    page.locator("#fb").screenshot(path=str(SCREENSHOTS / "widget-chips-360.png"))
    page.get_by_role("button", name="Gửi").click()
    _wait_for(lambda: stack.responses()[0].reasons == ["wait"])
    assert page.locator("[data-surveys-widget] .c button").count() == 0
    page.get_by_text("Cảm ơn bạn!").wait_for()


def test_the_thank_you_page_offers_chips_a_thumb_can_tap_and_sends_them_with_the_comment(
    stack: Stack, page: Any
) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    token = stack.touchpoints["table"].token
    page.goto(f"{stack.api}/s/{token}")
    page.get_by_role("button", name="3", exact=True).click()
    chip = page.get_by_text("Chờ lâu", exact=True)
    chip.wait_for()
    box = chip.bounding_box()
    assert box is not None and box["height"] >= 44
    chip.click()
    page.get_by_text("Giá cao", exact=True).click()
    assert page.get_by_role("checkbox", name="Chờ lâu").is_checked()
    page.screenshot(path=str(SCREENSHOTS / "thank-you-chips-360.png"), full_page=True)
    page.locator("textarea").fill("Đợi món 20 phút")
    page.locator("button.send").click()
    page.get_by_text("Đã lưu góp ý").wait_for()
    newest = stack.responses()[0]
    assert newest.reasons == ["wait", "price"] and newest.topics == ["wait"]


def test_the_console_edits_a_touchpoints_chips_at_360_px_without_sideways_scroll(stack: Stack, page: Any) -> None:
    page.set_viewport_size({"width": 360, "height": 800})
    base = f"{stack.api}/console/{stack.business_id}"
    page.goto(base + "/signin")
    page.locator("#owner_key").fill(stack.owner_key)
    page.locator("#owner_key").press("Enter")
    page.wait_for_url(base)
    page.goto(base + "/setup")
    page.get_by_role("link", name="Nhãn · Lý do để khách chọn").first.click()  # the first touchpoint's editors
    form = page.locator("details:has(summary:text('Lý do để khách chọn')) form").first
    form.get_by_label("Chờ lâu").uncheck()
    form.locator("textarea").fill("ice | Nhiều đá | Too much ice")
    page.screenshot(path=str(SCREENSHOTS / "console-setup-chips-360.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    form.get_by_role("button", name="Lưu").click()
    page.get_by_text("Đã lưu.").wait_for()
    tp = stack.services.setup.touchpoints(stack.caller()).items[0]
    keys = [chip.key for chip in tp.reasons.unhappy]
    assert "wait" not in keys and keys[-1] == "custom:ice"
