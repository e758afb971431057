"""The console's complaint inbox (issue #14): the list by status, a case's page with its history, replying
(emailed to the customer, threaded with the apology, the signed-in owner named in the history) and
resolving from the page, and refusals shown as sentences, never a 5xx."""

from __future__ import annotations

import re

from chalice.test import Client

from tests.integration import test_cases, test_closed_loop
from tests.integration.conftest import Biz
from tests.integration.test_cases import CUSTOMER, unhappy_case
from tests.integration.test_closed_loop import Stream, of_kind
from tests.integration.test_console import Browser, sign_in_by_key

loop = test_closed_loop.loop
shop = test_cases.shop  # two owner addresses, a verified sender, a voucher policy
_LINK = re.compile(r"https://surveys\.example(/console/[0-9a-z]+/signin/[A-Za-z0-9_-]+)")


def sign_in_by_email(client: Client, biz: Biz, owner: str) -> Browser:
    browser = Browser(client)
    browser.post(f"/console/{biz.business_id}/signin", {"method": "email", "email": owner})
    message = of_kind("signin")[-1]
    assert message["To"] == owner
    found = _LINK.search(message.get_body(("plain",)).get_content())
    assert found
    assert browser.post(found.group(1), {}).status_code == 303
    return browser


def test_the_inbox_lists_cases_by_status_and_the_case_page_shows_the_answer_and_history(
    client: Client, loop: Stream, shop: Biz
) -> None:
    rid = unhappy_case(client, loop, shop, email=CUSTOMER, consent=True, comment="Cà phê nguội <i>lắm</i>")
    other = unhappy_case(client, loop, shop, who="b")  # no address: no_contact
    browser = Browser(client)
    sign_in_by_key(browser, shop)
    base = f"/console/{shop.business_id}"
    inbox = browser.get(f"{base}/cases?lang=en").body.decode()
    assert f"{base}/cases/{rid}" in inbox and f"{base}/cases/{other}" in inbox
    assert "Cà phê nguội &lt;i&gt;lắm&lt;/i&gt;" in inbox
    only_open = browser.get(f"{base}/cases?status=open").body.decode()
    assert f"/cases/{rid}" in only_open and f"/cases/{other}" not in only_open
    page = browser.get(f"{base}/cases/{rid}?lang=en")
    assert page.status_code == 200
    body = page.body.decode()
    assert "Open" in body and "opened" in body and 'name="message"' in body and 'maxlength="2000"' in body
    assert '<label for="message">' in body and '<label for="note">' in body
    no_contact = browser.get(f"{base}/cases/{other}?lang=en").body.decode()
    assert "left no email address" in no_contact and 'name="message"' not in no_contact
    assert browser.get(f"{base}/cases/zzzzzzzz").status_code == 404


def test_an_owner_signed_in_by_email_replies_and_resolves_and_the_history_names_them(
    client: Client, loop: Stream, shop: Biz
) -> None:
    rid = unhappy_case(client, loop, shop, email=CUSTOMER, consent=True)
    (apology,) = of_kind("apology")
    browser = sign_in_by_email(client, shop, "chu2@caphe.example")
    case = f"/console/{shop.business_id}/cases/{rid}"
    replied = browser.post(
        case + "?lang=en", {"action": "reply", "message": "Xin lỗi bạn <b>nhiều</b>"}, csrf_from=case
    )
    assert replied.status_code == 200
    body = replied.body.decode()
    assert "Reply sent." in body and "chu2@caphe.example" in body and "Replied" in body
    (sent,) = of_kind("reply")
    assert sent["To"] == CUSTOMER and sent["Reply-To"] == "chu2@caphe.example"
    assert apology["Message-ID"] in sent["References"].split()
    assert "Xin lỗi bạn <b>nhiều</b>" in sent.get_body(("plain",)).get_content()
    resolved = browser.post(case + "?lang=en", {"action": "resolve", "note": "Đã gọi điện"}, csrf_from=case)
    body = resolved.body.decode()
    assert resolved.status_code == 200 and "Marked resolved." in body and "Đã gọi điện" in body
    again = browser.post(case + "?lang=en", {"action": "resolve"}, csrf_from=case)
    assert again.status_code == 409 and "already resolved" in again.body.decode()


def test_refusals_are_sentences_on_the_page_and_change_nothing(client: Client, loop: Stream, shop: Biz) -> None:
    rid = unhappy_case(client, loop, shop, email=CUSTOMER, consent=True)
    other = unhappy_case(client, loop, shop, who="b")
    browser = Browser(client)
    sign_in_by_key(browser, shop)
    base = f"/console/{shop.business_id}/cases"
    blank = browser.post(f"{base}/{rid}", {"action": "reply", "message": "   "})
    assert blank.status_code == 422 and "1 đến 2000 ký tự" in blank.body.decode()
    too_long = browser.post(f"{base}/{rid}", {"action": "reply", "message": "x" * 2001})
    assert too_long.status_code == 422
    nobody = browser.post(f"{base}/{other}", {"action": "reply", "message": "Xin lỗi"})
    assert nobody.status_code == 409 and "không thể trả lời" in nobody.body.decode()
    assert of_kind("reply") == []
    for number in range(5):
        assert browser.post(f"{base}/{rid}", {"action": "reply", "message": f"Lần {number}"}).status_code == 200
    sixth = browser.post(f"{base}/{rid}", {"action": "reply", "message": "Lần 6"})
    assert sixth.status_code == 409 and "tối đa 5 lần" in sixth.body.decode()
    assert len(of_kind("reply")) == 5


def test_today_shows_the_resolution_figures_with_n(client: Client, loop: Stream, shop: Biz) -> None:
    rid = unhappy_case(client, loop, shop, email=CUSTOMER, consent=True)
    browser = Browser(client)
    sign_in_by_key(browser, shop)
    case = f"/console/{shop.business_id}/cases/{rid}"
    browser.post(case, {"action": "reply", "message": "Xin lỗi"})
    body = browser.get(f"/console/{shop.business_id}?lang=en").body.decode()
    assert "Time to first reply (median)" in body and "Customers contacted within 24 h" in body
    assert "100.0%" in body  # the one contactable case was answered at once


def test_the_inbox_pages_with_an_older_link(client: Client, loop: Stream, shop: Biz) -> None:
    ids = [unhappy_case(client, loop, shop, who=f"k{i}") for i in range(22)]
    browser = Browser(client)
    sign_in_by_key(browser, shop)
    first = browser.get(f"/console/{shop.business_id}/cases").body.decode()
    older = re.search(r'<a href="([^"]+cursor=[^"]+)">', first)
    assert older and first.count("<blockquote") == 20
    second = browser.get(older.group(1).replace("&amp;", "&")).body.decode()
    assert second.count("<blockquote") == 2
    shown = set(re.findall(r"/cases/([0-9a-z]+)\"", first + second))
    assert shown == set(ids)
