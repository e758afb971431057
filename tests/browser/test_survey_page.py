"""The survey page in a real phone-sized Chromium: one tap, with JavaScript and without."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.stack import SCREENSHOTS, Stack

pytestmark = pytest.mark.browser


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_with_javascript_a_tap_records_in_place_and_the_comment_form_saves(stack: Stack, page: Any) -> None:
    (token,) = stack.mint("table")
    before = len(stack.responses())
    page.goto(f"{stack.api}/s/{token}")
    assert page.locator("html").get_attribute("lang") == "vi"
    _shot(page, "survey-nps-vi")
    page.evaluate("window.stillHere = true")  # survives only if the page is not reloaded

    page.get_by_role("button", name="9", exact=True).click()
    page.get_by_role("heading", name="Cảm ơn bạn!").wait_for()
    assert page.evaluate("window.stillHere") is True
    assert page.evaluate("document.activeElement.tagName") == "H1"
    assert [r.score for r in stack.responses()][: len(stack.responses()) - before] == [9]

    page.get_by_label("Bạn muốn nói thêm").fill("Cà phê rất ngon, nhân viên thân thiện.")
    page.get_by_label("Email để nhận ưu đãi").fill("lan@example.com")
    page.get_by_label("Tôi đồng ý").check()
    _shot(page, "survey-thanks-vi")
    page.get_by_role("button", name="Gửi").click()
    page.get_by_role("heading", name="Đã lưu góp ý của bạn. Cảm ơn!").wait_for()
    newest = stack.responses()[0]
    assert newest.comment == "Cà phê rất ngon, nhân viên thân thiện." and newest.email == "lan@example.com"


def test_without_javascript_the_form_posts_and_the_thank_you_page_follows(stack: Stack, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 780})
    try:
        page = context.new_page()
        (token,) = stack.mint("receipt")
        page.goto(f"{stack.api}/s/{token}?lang=en")
        assert page.locator("html").get_attribute("lang") == "en"
        _shot(page, "survey-csat-en-nojs")
        page.get_by_role("button", name="4 Satisfied").click()
        page.get_by_role("heading", name="Thank you!").wait_for()
        assert page.get_by_text("We recorded your score of 4.").is_visible()
        assert stack.responses()[0].score == 4 and stack.responses()[0].metric == "csat"
        _shot(page, "survey-thanks-en-nojs")
    finally:
        context.close()


def test_an_email_one_tap_link_records_its_score_once_by_the_page_itself(stack: Stack, page: Any) -> None:
    (token,) = stack.mint("web")
    before = len(stack.responses())
    page.goto(f"{stack.api}/s/{token}?score=6")
    page.get_by_role("heading", name="Cảm ơn bạn!").wait_for()
    responses = stack.responses()
    assert len(responses) == before + 1 and responses[0].score == 6 and responses[0].metric == "ces"


def test_a_one_tap_link_without_javascript_waits_for_the_confirm_button(stack: Stack, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        (token,) = stack.mint("table")
        before = len(stack.responses())
        page.goto(f"{stack.api}/s/{token}?score=10&lang=en")
        assert len(stack.responses()) == before
        page.get_by_role("button", name="Send score 10").click()
        page.get_by_role("heading", name="Thank you!").wait_for()
        assert len(stack.responses()) == before + 1 and stack.responses()[0].score == 10
    finally:
        context.close()


def test_score_buttons_are_big_enough_and_work_from_the_keyboard(stack: Stack, page: Any) -> None:
    (token,) = stack.mint("receipt")
    page.goto(f"{stack.api}/s/{token}")
    buttons = page.locator("button[name=score]")
    assert buttons.count() == 5
    for i in range(5):
        box = buttons.nth(i).bounding_box()
        assert box is not None and box["width"] >= 44 and box["height"] >= 44
    page.keyboard.press("Tab")  # the language link
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.value") == "2"
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Cảm ơn bạn!").wait_for()
    assert stack.responses()[0].score == 2


def test_a_comment_cannot_grow_past_the_limit_and_the_page_says_so(stack: Stack, page: Any) -> None:
    (token,) = stack.mint("receipt")
    page.goto(f"{stack.api}/s/{token}?lang=en")
    page.get_by_role("button", name="1 Very unsatisfied").click()
    box = page.get_by_label("Anything else")
    box.fill("x" * 1990)
    box.press("End")
    page.keyboard.type("y" * 30)
    assert len(box.input_value()) == 2000
    counter = page.locator("#n")
    assert counter.inner_text().startswith("2000/2000") and "err" in (counter.get_attribute("class") or "")
    _shot(page, "survey-comment-limit-en")


def test_a_tampered_link_shows_a_friendly_page(stack: Stack, page: Any) -> None:
    (token,) = stack.mint("table")
    answer = page.goto(f"{stack.api}/s/{token[:-3]}xyz")
    assert answer is not None and answer.status == 404
    assert page.get_by_role("heading", name="Liên kết khảo sát này không hợp lệ.").is_visible()
    _shot(page, "survey-tampered-vi")


def test_the_printed_card_scans_to_the_touchpoint_link(stack: Stack, browser: Any) -> None:
    import io

    import zxingcpp
    from PIL import Image

    context = browser.new_context(
        viewport={"width": 420, "height": 600}, extra_http_headers={"Authorization": f"Bearer {stack.owner_key}"}
    )
    try:
        page = context.new_page()
        tp = stack.touchpoints["table"]
        page.goto(f"{stack.api}/v1/businesses/{stack.business_id}/touchpoints/{tp.touchpoint_id}/card.svg")
        shot = page.screenshot(path=str(SCREENSHOTS / "card-a6-vi.png"))
        (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
        assert found.text == tp.url
    finally:
        context.close()
