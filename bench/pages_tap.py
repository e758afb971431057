"""Figures for docs/customer.md: widget size gzipped, survey page bytes, and the time from a tap to the
thank-you view in headless Chromium on loopback (median of 20 taps, each on its own receipt link).

    .venv/bin/python bench/pages_tap.py
"""

from __future__ import annotations

import gzip
import statistics
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tests.conftest  # noqa: E402, F401 - the test environment: never a real AWS account
from tests.browser.stack import launch_chromium, running_stack  # noqa: E402

TAPS = 20
WIDGET_BUDGET, PAGE_BUDGET = 5 * 1024, 15 * 1024


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - loopback only
        return answer.read()


def main() -> None:
    from playwright.sync_api import sync_playwright

    with running_stack() as stack, sync_playwright() as playwright:
        widget = _get(f"{stack.api}/widget.js")
        widget_gz = len(gzip.compress(widget, 9))
        pages = {}
        for name in ("table", "receipt", "web"):
            (token,) = stack.mint(name)
            pages[name] = _get(f"{stack.api}/s/{token}?score=1")  # the largest variant: with the one-tap extras
        tokens = stack.mint("receipt", TAPS)
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport={"width": 390, "height": 780})
        page = context.new_page()
        timings_js = []
        for token in tokens:
            page.goto(f"{stack.api}/s/{token}")
            button = page.get_by_role("button", name="4", exact=False).first
            button.wait_for()
            start = time.perf_counter()
            button.click()
            page.get_by_role("heading", name="Cảm ơn bạn!").wait_for()
            timings_js.append((time.perf_counter() - start) * 1000)
        no_js = browser.new_context(viewport={"width": 390, "height": 780}, java_script_enabled=False).new_page()
        timings_nojs = []
        for token in stack.mint("receipt", TAPS):
            no_js.goto(f"{stack.api}/s/{token}")
            start = time.perf_counter()
            no_js.get_by_role("button", name="4", exact=False).first.click()
            no_js.get_by_role("heading", name="Cảm ơn bạn!").wait_for()
            timings_nojs.append((time.perf_counter() - start) * 1000)
        browser.close()

    print(f"widget.js: {len(widget)} bytes, {widget_gz} bytes gzipped "
          f"({widget_gz / WIDGET_BUDGET:.0%} of the 5 KB budget)")
    for name, body in pages.items():
        print(f"survey page ({name}): {len(body)} bytes, {len(gzip.compress(body, 9))} gzipped, no other requests "
              f"({len(body) / PAGE_BUDGET:.0%} of the 15 KB budget)")
    for label, timings in (("with JavaScript (fetch)", timings_js), ("without JavaScript (form post)", timings_nojs)):
        print(f"tap -> thank-you view, {label}: median {statistics.median(timings):.1f} ms, "
              f"min {min(timings):.1f} ms, max {max(timings):.1f} ms (n={len(timings)}, headless Chromium, loopback)")


if __name__ == "__main__":
    main()
