"""Browser tests: Debian's headless Chromium driven by Playwright against the real app on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.stack import SCREENSHOTS, Stack, launch_chromium, running_stack


@pytest.fixture(scope="package")
def stack() -> Iterator[Stack]:
    with running_stack() as running:
        yield running


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    # A phone-sized viewport: the pages are made for a thumb.
    ctx = browser.new_context(viewport={"width": 390, "height": 780}, device_scale_factor=2, locale="vi-VN")
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()
