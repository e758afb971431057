"""What becomes of an answer the widget sends, in a real Chromium: stored, refused, rate limited, offline.

Two kinds of test. Against the real API (nothing stubbed): a refusal is readable (CORS on errors), a page
view's nonce makes two customers on one network two answers, and a second tap edits the first. With
Playwright answering ``POST /v1/responses`` itself (``page.route``): the widget's behaviour for each status
the API may send, pinned independently of the server (refused -> dropped, 429/5xx -> retried after
``Retry-After``, no network -> queued until ``online``), which the server cannot easily be made to answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.browser.stack import SCREENSHOTS, Stack

pytestmark = pytest.mark.browser

QUEUE = "JSON.parse(localStorage.getItem('svw:q') || '[]')"
UNHIDE = "Object.keys(localStorage).filter(k => k.startsWith('svw:h:')).forEach(k => localStorage.removeItem(k))"


def _pump(page: Any, condition: Callable[[], bool], seconds: float = 8.0) -> None:
    """Wait for ``condition`` while Playwright keeps dispatching (route handlers run only inside its calls)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError("timed out waiting")


class ScriptedApi:
    """Answers the widget's ``POST /v1/responses`` as scripted, one step per call, then lets the real API
    answer. A step is a status (answered here, with the CORS headers the API sends on every answer to an
    allowed origin) or ``"abort"`` (the network failed)."""

    def __init__(self, page: Any, stack: Stack, *script: int | str) -> None:
        self.script = list(script)
        self.calls: list[tuple[float, dict[str, Any]]] = []
        self.origin = stack.shop.origin
        page.route(lambda url: url.endswith("/v1/responses"), self._answer)

    def _answer(self, route: Any) -> None:
        self.calls.append((time.monotonic(), json.loads(route.request.post_data or "{}")))
        step = self.script.pop(0) if self.script else "real"
        if step == "real":
            route.continue_()
        elif step == "abort":
            route.abort("internetdisconnected")
        else:
            assert isinstance(step, int)
            route.fulfill(
                status=step,
                headers={
                    "Access-Control-Allow-Origin": self.origin,
                    "Access-Control-Expose-Headers": "Retry-After",
                    "Vary": "Origin",
                    "Retry-After": "1",
                },
                content_type="application/json",
                body=json.dumps(
                    {"response_id": "r" * 16, "edit_token": "e" * 20, "unhappy": False}
                    if step < 300
                    else {"error": {"code": f"status_{step}", "message": "Scripted by the test."}}
                ),
            )


def _open(stack: Stack, page: Any, path: str, metric: str = "nps", extra: str = "") -> str | None:
    """Open a shop page with the widget inline; the nonce its site config carried (None before it had one)."""
    url = stack.widget_page(
        stack.shop,
        path,
        f'data-site-key="{stack.site_key}" data-metric="{metric}" data-target="#fb" {extra}',
        body='<div id="fb"></div>',
    )
    with page.expect_response(lambda r: "/v1/sites/" in r.url) as config:
        page.goto(url)
    _buttons(page).first.wait_for()
    page.wait_for_timeout(700)  # a person reads the question first; a faster tap is refused as automated
    nonce = config.value.json().get("nonce")
    return str(nonce) if nonce is not None else None


def _buttons(page: Any) -> Any:
    return page.locator("[data-surveys-widget] button[value]")


def _tap(page: Any, score: int) -> None:
    page.locator(f"[data-surveys-widget] button[value='{score}']").click()


def _warnings(page: Any) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if m.type == "warning" else None)
    return seen


def _back_online(context: Any) -> None:
    context.set_offline(True)
    context.set_offline(False)  # fires the page's `online` event


@pytest.fixture
def fresh(browser: Any) -> Iterator[Callable[..., Any]]:
    """New browser contexts (own storage: another phone) on demand, closed afterwards."""
    opened: list[Any] = []

    def make(**kwargs: Any) -> Any:
        ctx = browser.new_context(**({"viewport": {"width": 390, "height": 780}, "locale": "vi-VN"} | kwargs))
        ctx.set_default_timeout(10_000)
        opened.append(ctx)
        return ctx

    yield make
    for ctx in opened:
        ctx.close()


# ---- against the real API ----------------------------------------------------------------------------


def test_an_answer_the_api_refuses_shows_thanks_and_is_dropped(stack: Stack, page: Any, context: Any) -> None:
    warnings = _warnings(page)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/v1/responses") else None)
    before = len(stack.responses())
    _open(stack, page, "/refused-real.html")
    # Only a bot fills the invisible field: the API answers 422 looks_automated, with CORS headers.
    page.evaluate("document.querySelector('[data-surveys-widget]').shadowRoot.querySelector('.h').value = 'x'")
    _tap(page, 9)
    page.get_by_text("Cảm ơn bạn!").wait_for()
    _pump(page, lambda: any("refused (422)" in w for w in warnings))
    assert page.evaluate(QUEUE) == []
    _back_online(context)
    page.reload()
    page.wait_for_timeout(800)
    assert len(sent) == 1 and len(stack.responses()) == before


def test_two_customers_on_one_network_with_the_same_phone_keep_their_own_answers(
    stack: Stack, fresh: Callable[..., Any]
) -> None:
    # Two phones of one model on one cafe wifi: same address, User-Agent and Accept-Language.
    before = len(stack.responses())
    nonces = []
    for score in (10, 0):
        page = fresh().new_page()
        nonces.append(_open(stack, page, "/cafe.html"))
        _tap(page, score)
        page.get_by_text("Cảm ơn bạn!").wait_for()
    assert nonces[0] and nonces[1] and nonces[0] != nonces[1]  # one nonce per page view
    _pump(page, lambda: len(stack.responses()) == before + 2)
    assert sorted(r.score for r in stack.responses()[:2]) == [0, 10]


def test_tapping_again_in_the_same_page_view_changes_that_answer(stack: Stack, page: Any) -> None:
    bodies: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: bodies.append(json.loads(r.post_data or "{}")) if r.url.endswith("/v1/responses") else None,
    )
    before = len(stack.responses())
    nonce = _open(stack, page, "/change.html")
    _tap(page, 9)
    page.get_by_text("Cảm ơn bạn!").wait_for()
    _pump(page, lambda: len(stack.responses()) == before + 1)
    _tap(page, 3)
    _pump(page, lambda: stack.responses()[0].score == 3)
    page.wait_for_timeout(300)
    assert len(stack.responses()) == before + 1
    assert [b["nonce"] for b in bodies] == [nonce, nonce] and nonce
    assert page.get_by_role("button", name="3", exact=True).get_attribute("aria-pressed") == "true"
    assert page.get_by_role("button", name="9", exact=True).get_attribute("aria-pressed") == "false"

    # A new page view gets a nonce of its own, never the last one again (the same browser: only the
    # "answered here" mark is removed; whether its answer is a new one is the once-per-day rule's call).
    page.evaluate(UNHIDE)
    assert _open(stack, page, "/change.html") not in (None, nonce)


# ---- the widget's side of each status, the API answered by the test ----------------------------------


@pytest.mark.parametrize("status", [400, 401, 403, 409, 410, 413, 422])
def test_a_refused_answer_shows_thanks_and_is_never_queued_or_resent(
    stack: Stack, page: Any, context: Any, status: int
) -> None:
    api = ScriptedApi(page, stack, status)
    warnings = _warnings(page)
    _open(stack, page, f"/refused-{status}.html")
    _tap(page, 8)
    page.get_by_text("Cảm ơn bạn!").wait_for()
    assert page.evaluate(QUEUE) == []
    assert any(f"refused ({status})" in w for w in warnings)
    _back_online(context)
    page.reload()  # a new page load sends what is queued: nothing
    page.wait_for_timeout(1500)
    assert len(api.calls) == 1


@pytest.mark.parametrize("status", [429, 503])
def test_a_busy_api_gets_the_answer_again_after_retry_after_and_stores_it_once(
    stack: Stack, page: Any, status: int
) -> None:
    api = ScriptedApi(page, stack, status)  # then the real API
    before = len(stack.responses())
    nonce = _open(stack, page, f"/busy-{status}.html")
    _tap(page, 7)
    page.get_by_text("Cảm ơn bạn!").wait_for()  # the customer is thanked at once, not told to wait
    _pump(page, lambda: len(stack.responses()) == before + 1)
    page.wait_for_timeout(1500)
    assert len(stack.responses()) == before + 1 and len(api.calls) == 2
    (first_at, first), (second_at, second) = api.calls
    assert 0.9 <= second_at - first_at < 2.5  # Retry-After: 1 (unread, it would be the 3 s default)
    assert first == second and second.get("nonce") == nonce
    assert stack.responses()[0].score == 7
    assert page.evaluate(QUEUE) == []


def test_an_answer_still_rate_limited_after_three_tries_is_kept_and_sent_on_the_next_page_load(
    stack: Stack, page: Any
) -> None:
    api = ScriptedApi(page, stack, 429, 429, 429)
    before = len(stack.responses())
    _open(stack, page, "/limited.html")
    _tap(page, 10)
    page.get_by_text("Cảm ơn bạn!").wait_for()
    _pump(page, lambda: len(api.calls) == 3)
    page.wait_for_timeout(2000)
    assert len(api.calls) == 3  # a few tries in this page, not a loop
    queued = page.evaluate(QUEUE)
    assert len(queued) == 1 and queued[0]["n"] == 3 and json.loads(queued[0]["b"])["score"] == 10
    assert len(stack.responses()) == before

    page.reload()
    _pump(page, lambda: len(stack.responses()) == before + 1)
    assert stack.responses()[0].score == 10 and len(api.calls) == 4
    _pump(page, lambda: page.evaluate(QUEUE) == [])


def test_an_answer_that_met_a_network_failure_is_queued_and_sent_when_back_online(
    stack: Stack, page: Any, context: Any
) -> None:
    api = ScriptedApi(page, stack, "abort")
    before = len(stack.responses())
    nonce = _open(stack, page, "/flaky.html", extra='data-locale="en"')
    _tap(page, 6)
    page.get_by_text("sent when you are back online").wait_for()
    queued = page.evaluate(QUEUE)
    assert len(queued) == 1 and json.loads(queued[0]["b"])["nonce"] == nonce  # kept with its page view's nonce
    page.wait_for_timeout(1000)
    assert len(api.calls) == 1 and len(stack.responses()) == before

    _back_online(context)
    _pump(page, lambda: len(stack.responses()) == before + 1)
    assert stack.responses()[0].score == 6 and len(api.calls) == 2
    assert api.calls[1][1] == api.calls[0][1]
    _pump(page, lambda: page.evaluate(QUEUE) == [])


def test_a_queued_answer_is_given_up_after_a_week_or_six_tries(stack: Stack, page: Any, context: Any) -> None:
    api = ScriptedApi(page, stack, 201)
    _open(stack, page, "/old-queue.html")
    page.evaluate(
        """() => {
             const now = Date.now(), body = s => JSON.stringify({site_key: "k", metric: "nps", score: s});
             localStorage.setItem("svw:q", JSON.stringify([
               {b: body(1), t: now - 8 * 864e5, n: 0},   // given a week ago
               {b: body(2), t: now - 60e3, n: 6},        // tried six times
               {b: body(3), t: now - 60e3, n: 2}]));     // still worth a try
           }"""
    )
    _back_online(context)
    _pump(page, lambda: len(api.calls) == 1)
    page.wait_for_timeout(500)
    assert [body["score"] for _, body in api.calls] == [3]
    assert page.evaluate(QUEUE) == []


def test_a_second_tap_replaces_an_answer_of_the_same_page_view_still_waiting_to_be_sent(
    stack: Stack, page: Any
) -> None:
    api = ScriptedApi(page, stack, 429)  # the first tap waits for Retry-After; the second goes through
    before = len(stack.responses())
    _open(stack, page, "/replace.html")
    _tap(page, 2)
    _pump(page, lambda: len(page.evaluate(QUEUE)) == 1)
    _tap(page, 9)
    _pump(page, lambda: len(stack.responses()) == before + 1)
    page.wait_for_timeout(1800)  # past the first tap's Retry-After: nothing older is resent over it
    assert [body["score"] for _, body in api.calls] == [2, 9]
    assert len(stack.responses()) == before + 1 and stack.responses()[0].score == 9
    assert page.evaluate(QUEUE) == []


# ---- how it reads on a phone -------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_thank_you_and_the_offline_message_fit_a_360_px_phone(
    stack: Stack, fresh: Callable[..., Any], locale: str
) -> None:
    ctx = fresh(viewport={"width": 360, "height": 740}, device_scale_factor=2)
    texts = {"vi": ("Cảm ơn bạn!", "khi có mạng"), "en": ("Thank you!", "back online")}[locale]
    # Floating NPS (eleven buttons, the tightest) thanked; inline CSAT told it waits for the network.
    for floating, metric, score, message in ((True, "nps", 10, texts[0]), (False, "csat", 4, texts[1])):
        page = ctx.new_page()
        ScriptedApi(page, stack, 201 if floating else "abort")
        attrs = f'data-site-key="{stack.site_key}" data-metric="{metric}" data-locale="{locale}"'
        if not floating:
            attrs += ' data-target="#fb"'
        url = stack.widget_page(stack.shop, f"/phone-{locale}-{floating}.html", attrs, body='<div id="fb"></div>')
        page.goto(url)
        _buttons(page).first.wait_for()
        page.wait_for_timeout(700)
        _tap(page, score)
        shown = page.get_by_text(message)
        shown.wait_for()
        box = shown.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
        host = page.locator("[data-surveys-widget]").bounding_box()
        assert host is not None and host["x"] >= 0 and host["x"] + host["width"] <= 360 and host["y"] >= 0
        chosen = page.locator(f"[data-surveys-widget] button[value='{score}']")
        assert chosen.is_visible() and chosen.get_attribute("aria-pressed") == "true"  # there to change the score
        page.screenshot(path=str(SCREENSHOTS / f"widget-360-{locale}-{'floating' if floating else 'inline'}.png"))
        page.evaluate("localStorage.clear()")
        page.close()
