"""The owner console (issue #14): sign-in by a one-time emailed link or the owner key, its session cookie,
CSRF on every form, sign-out and key rotation ending sessions, and every page in Vietnamese and English."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client

from tests.clock import FakeClock
from tests.integration import test_daily_reports, test_vouchers
from tests.integration.conftest import Biz, make_business, table_items
from tests.integration.test_closed_loop import Stream
from tests.integration.test_daily_reports import CapturingMailer, comment, score
from tests.integration.test_vouchers import issued_code

# Fixtures of the reports and vouchers tests: a capturing mailer behind the real mail layer, a voucher shop.
mailer = test_daily_reports.mailer
shop = test_vouchers.shop
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_LINK = re.compile(r"https://surveys\.example(/console/[0-9a-z]+/signin/[A-Za-z0-9_-]+)")


class Browser:
    """A browser's cookie jar in front of the test client: keeps what Set-Cookie gives, drops Max-Age=0."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.cookies: dict[str, str] = {}
        self.set_cookies: list[str] = []

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {**({"Cookie": cookie} if cookie else {}), **(extra or {})}

    def _keep(self, answer: Any) -> Any:
        raw = answer.headers.get("Set-Cookie") or answer.headers.get("set-cookie")
        values = raw if isinstance(raw, list) else [raw] if raw else []
        self.set_cookies = values
        for value in values:
            name, _, rest = value.partition("=")
            if "Max-Age=0" in value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = rest.split(";", 1)[0]
        return answer

    def get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        return self._keep(self.client.http.get(path, headers=self._headers(headers)))

    def post(self, path: str, fields: dict[str, str], *, csrf_from: str | None = None) -> Any:
        """A form post as the page at ``csrf_from`` (default: ``path``) would send it, CSRF token included."""
        page = self.get(csrf_from or path)
        found = re.search(r'name="csrf" value="([^"]+)"', page.body.decode())
        assert found, "the page's forms carry no CSRF token"
        body = urlencode({"csrf": unescape(found.group(1)), **fields})
        return self._keep(self.client.http.post(path, body=body, headers=self._headers(FORM)))

    def post_raw(self, path: str, fields: dict[str, str]) -> Any:
        return self._keep(self.client.http.post(path, body=urlencode(fields), headers=self._headers(FORM)))


def signin_link(mailer: CapturingMailer, index: int = -1) -> str:
    message = mailer.messages()[index]
    assert message["X-Survey-Kind"] == "signin"
    text = message.get_body(("plain",)).get_content()
    found = _LINK.search(text)
    assert found, text
    return found.group(1)


def sign_in_by_link(browser: Browser, biz: Biz, mailer: CapturingMailer, email: str = "owner@caphe.example") -> Any:
    base = f"/console/{biz.business_id}"
    asked = browser.post(f"{base}/signin", {"method": "email", "email": email})
    assert asked.status_code == 200
    link = signin_link(mailer)
    opened = browser.get(link)
    assert opened.status_code == 200
    return browser.post(link, {})


def sign_in_by_key(browser: Browser, biz: Biz) -> Any:
    return browser.post(f"/console/{biz.business_id}/signin", {"method": "key", "owner_key": biz.owner_key})


# ---- sign-in by emailed link ------------------------------------------------------------------------


def test_an_owner_signs_in_with_the_emailed_link_once_and_opening_it_uses_nothing(
    client: Client,
    biz: Biz,
    mailer: CapturingMailer,
) -> None:
    browser = Browser(client)
    base = f"/console/{biz.business_id}"
    assert browser.get(base).status_code == 401  # the sign-in page
    asked = browser.post(f"{base}/signin", {"method": "email", "email": "Owner@Caphe.example"})
    assert asked.status_code == 200
    assert "một liên kết đăng nhập đang được gửi tới" in asked.body.decode()
    assert len(mailer.sent) == 1
    message = mailer.messages()[0]
    assert message["To"] == "owner@caphe.example" and message["List-Unsubscribe"]
    assert message.get_body(("html",)) is not None
    link = signin_link(mailer)
    # A mail scanner opens the link twice: nothing is used up.
    for _ in range(2):
        opened = Browser(client).get(link)
        assert opened.status_code == 200 and "<button" in opened.body.decode()
    done = browser.post(link, {})
    assert done.status_code == 303
    assert done.headers["Location"] == f"https://surveys.example{base}"
    today = browser.get(base)
    assert today.status_code == 200
    assert "owner@caphe.example" in today.body.decode()  # who is signed in
    # Single use: the same link again (another browser, or a replay) signs no one in.
    again = Browser(client)
    assert again.get(link).status_code == 410
    assert again.post(link, {}, csrf_from=f"{base}/signin").status_code == 410
    assert f"console_{biz.business_id}" not in again.cookies


def test_a_link_is_stored_only_as_a_hash_and_expires_after_15_minutes(
    client: Client,
    biz: Biz,
    mailer: CapturingMailer,
    clock: FakeClock,
    aws: Any,
) -> None:
    browser = Browser(client)
    browser.post(f"/console/{biz.business_id}/signin", {"method": "email", "email": "owner@caphe.example"})
    link = signin_link(mailer)
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 22  # at least 128 random bits
    assert token not in repr(table_items(aws))
    clock.advance(minutes=15, seconds=1)
    assert browser.get(link).status_code == 410
    assert browser.post(link, {}, csrf_from=f"/console/{biz.business_id}/signin").status_code == 410
    assert f"console_{biz.business_id}" not in browser.cookies


def test_any_other_address_gets_the_same_answer_and_no_email(
    client: Client,
    biz: Biz,
    mailer: CapturingMailer,
) -> None:
    browser = Browser(client)
    path = f"/console/{biz.business_id}/signin"
    owner = browser.post(path, {"method": "email", "email": "owner@caphe.example"})
    stranger = browser.post(path, {"method": "email", "email": "stranger@evil.example"})
    junk = browser.post(path, {"method": "email", "email": "not an address"})
    assert owner.status_code == stranger.status_code == junk.status_code == 200
    sentence = "If this is an owner address of this business, a link is on its way."
    english = browser.post(path + "?lang=en", {"method": "email", "email": "x@y.example"}, csrf_from=path)
    assert sentence in english.body.decode()
    assert _main(owner) == _main(stranger) == _main(junk)
    assert len(mailer.sent) == 1 and mailer.sent[0][2] == ["owner@caphe.example"]


def _main(answer: Any) -> str:
    page = answer.body.decode()
    return re.sub(r'name="csrf" value="[^"]+"', "", page[page.index("<main>") :])


def test_sign_in_emails_are_capped_per_business_and_the_page_does_not_tell(
    client: Client,
    biz: Biz,
    mailer: CapturingMailer,
    clock: FakeClock,
) -> None:
    browser = Browser(client)
    path = f"/console/{biz.business_id}/signin"
    answers = [browser.post(path, {"method": "email", "email": "owner@caphe.example"}) for _ in range(7)]
    assert len(mailer.sent) == 5
    assert {a.status_code for a in answers} == {200}
    assert len({_main(a) for a in answers}) == 1
    clock.advance(minutes=16)  # the next window
    browser.post(path, {"method": "email", "email": "owner@caphe.example"})
    assert len(mailer.sent) == 6


# ---- the owner key, the cookie, CSRF, sign-out, rotation ------------------------------------------


def test_the_owner_key_signs_in_and_the_cookie_is_httponly_secure_lax_and_holds_no_key(
    client: Client, biz: Biz
) -> None:
    browser = Browser(client)
    answer = sign_in_by_key(browser, biz)
    assert answer.status_code == 303
    cookie = next(c for c in browser.set_cookies if c.startswith(f"console_{biz.business_id}="))
    parts = {p.strip() for p in cookie.split(";")}
    assert {"HttpOnly", "Secure", "SameSite=Lax", f"Path=/console/{biz.business_id}", "Max-Age=43200"} <= parts
    assert biz.owner_key not in cookie and biz.owner_key.split("_")[-1] not in cookie
    assert biz.owner_key not in answer.headers["Location"]
    page = browser.get(f"/console/{biz.business_id}?lang=en")
    assert page.status_code == 200 and "Signed in as owner key" in page.body.decode()


def test_a_wrong_key_gets_the_form_again_and_the_admin_key_is_no_session(client: Client, biz: Biz) -> None:
    browser = Browser(client)
    path = f"/console/{biz.business_id}/signin"
    wrong = browser.post(path, {"method": "key", "owner_key": biz.owner_key[:-4] + "zzzz"})
    assert wrong.status_code == 401 and f"console_{biz.business_id}" not in browser.cookies
    admin = browser.post(path, {"method": "key", "owner_key": "test-admin-key-0123456789abcdef"})
    assert admin.status_code == 401 and f"console_{biz.business_id}" not in browser.cookies


def test_a_form_without_this_browser_s_csrf_token_gets_403_and_changes_nothing(
    client: Client, biz: Biz, aws: Any
) -> None:
    browser = Browser(client)
    sign_in_by_key(browser, biz)
    base = f"/console/{biz.business_id}"
    before = table_items(aws)
    for path, fields in [
        (f"{base}/signout", {}),
        (f"{base}/signin", {"method": "key", "owner_key": biz.owner_key}),
        (f"{base}/till", {"code": "ABCD-EFGH-JKLM-NPQR"}),
    ]:
        for token in (None, "forged.token"):
            refused = browser.post_raw(path, {**fields, **({"csrf": token} if token else {})})
            assert refused.status_code == 403, path
            assert "text/html" in refused.headers["Content-Type"]
    assert table_items(aws) == before
    assert browser.get(base).status_code == 200  # still signed in


def test_signing_out_ends_the_session_and_a_copied_cookie_opens_nothing(client: Client, biz: Biz) -> None:
    browser = Browser(client)
    sign_in_by_key(browser, biz)
    base = f"/console/{biz.business_id}"
    copied = dict(browser.cookies)
    out = browser.post(f"{base}/signout", {}, csrf_from=base)
    assert out.status_code == 303 and out.headers["Location"].endswith(f"{base}/signin")
    assert f"console_{biz.business_id}" not in browser.cookies
    thief = Browser(client)
    thief.cookies = copied
    assert thief.get(base).status_code == 401


def test_rotating_the_owner_key_ends_every_console_session(client: Client, biz: Biz) -> None:
    browser = Browser(client)
    sign_in_by_key(browser, biz)
    base = f"/console/{biz.business_id}"
    assert browser.get(base).status_code == 200
    assert client.http.post(f"/v1/businesses/{biz.business_id}/owner-key", headers=biz.auth).status_code == 201
    assert browser.get(base).status_code == 401


def test_another_business_s_session_or_an_unknown_business_gets_404(client: Client, biz: Biz) -> None:
    other = make_business(client, name="Quán Khác")
    browser = Browser(client)
    sign_in_by_key(browser, biz)
    mine = browser.cookies[f"console_{biz.business_id}"]
    stolen = client.http.get(f"/console/{other.business_id}", headers={"Cookie": f"console_{other.business_id}={mine}"})
    assert stolen.status_code == 404
    assert client.http.get("/console/zzzzzzzzzz").status_code == 404
    assert client.http.get("/console/" + "Z" * 300).status_code == 404
    # Another business's owner key on this business's sign-in form: 404, no cookie.
    answer = Browser(client).post(f"/console/{biz.business_id}/signin", {"method": "key", "owner_key": other.owner_key})
    assert answer.status_code == 404


# ---- Today -------------------------------------------------------------------------------------------


def test_today_shows_today_s_answers_at_once_with_comments_escaped_and_nothing_from_another_host(
    client: Client, biz: Biz
) -> None:
    browser = Browser(client)
    sign_in_by_key(browser, biz)
    for i, value in enumerate([10, 9, 9, 10, 3]):
        created = score(client, biz, "table", value, f"agent-{i}")
    comment(client, created, "Chờ lâu quá <script>alert(1)</script>")
    score(client, biz, "receipt", 2, "r1")
    page = browser.get(f"/console/{biz.business_id}?lang=en")
    assert page.status_code == 200
    body = page.body.decode()
    assert "Today so far" in body and "n = 5" in body  # NPS over the table's five answers
    assert "±" in body  # the NPS margin of error
    assert "too few answers" in body  # CSAT: one answer
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>" not in body
    assert "table" in body and "receipt" in body
    assert "No daily report yet" in body  # day one: no stored trend, the live figures all the same
    assert not re.search(r"""(src|href|action)=["']?(https?:)?//""", body), "nothing from another host"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]


@pytest.mark.parametrize(("lang", "words"), [("vi", "Hôm nay đến giờ"), ("en", "Today so far")])
def test_the_console_speaks_the_business_s_language_and_lang_switches(client: Client, lang: str, words: str) -> None:
    biz = make_business(client, locale=lang)
    browser = Browser(client)
    sign_in_by_key(browser, biz)
    page = browser.get(f"/console/{biz.business_id}").body.decode()
    assert f'<html lang="{lang}">' in page and words in page
    other = "en" if lang == "vi" else "vi"
    switched = browser.get(f"/console/{biz.business_id}?lang={other}").body.decode()
    assert f'<html lang="{other}">' in switched


# ---- the till ----------------------------------------------------------------------------------------


def test_the_till_prefills_a_code_without_redeeming_and_then_redeems_once(client: Client, shop: Biz) -> None:
    code = issued_code(client, shop, Stream(), "khach")
    browser = Browser(client)
    sign_in_by_key(browser, shop)
    till = f"/console/{shop.business_id}/till"
    shown = browser.get(f"{till}?code={code}")
    assert shown.status_code == 200 and f'value="{code}"' in shown.body.decode()
    shown_again = browser.get(f"{till}?code={code}")  # a GET never redeems
    assert f'value="{code}"' in shown_again.body.decode()
    first = browser.post(till, {"code": code}).body.decode()
    assert "HỢP LỆ" in first and "Free coffee" in first
    second = browser.post(till + "?lang=en", {"code": code}, csrf_from=till).body.decode()
    assert "ALREADY USED" in second and "This code was used at" in second
    unknown = browser.post(till, {"code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ"}).body.decode()
    assert "KHÔNG CÓ MÃ NÀY" in unknown


@pytest.mark.parametrize(
    ("lang", "words"),
    [("vi", ["Hộp thư góp ý", "Đổi ưu đãi", "Mã nhúng widget", "In thẻ bàn"]),
     ("en", ["Inbox", "Redeem a voucher", "Widget snippet", "Print cards"])],
)
def test_every_console_page_speaks_vietnamese_and_english_with_labelled_controls(
    client: Client, biz: Biz, lang: str, words: list[str]
) -> None:
    browser = Browser(client)
    sign_in_by_key(browser, biz)
    base = f"/console/{biz.business_id}"
    for path, word in zip(["/cases", "/till", "/setup", "/print"], words, strict=True):
        page = browser.get(f"{base}{path}?lang={lang}")
        body = page.body.decode()
        assert page.status_code == 200 and f'<html lang="{lang}">' in body and word in body, path
        # Every visible input, select and textarea has a label naming it.
        for control in re.findall(r'<(?:input|select|textarea) id="([^"]+)"', body):
            assert f'<label for="{control}"' in body, (path, control)
    signed_out = Browser(client).get(f"{base}/signin?lang={lang}").body.decode()
    assert ("Đăng nhập bảng điều khiển" if lang == "vi" else "Sign in to the console") in signed_out


@pytest.mark.parametrize(("lang", "words"), [("vi", "liên kết đăng nhập"), ("en", "sign-in link")])
def test_the_sign_in_email_is_html_and_text_in_the_owner_s_language_with_the_name_escaped(
    client: Client, mailer: CapturingMailer, lang: str, words: str
) -> None:
    biz = make_business(client, name="Phở <b>&</b> Cà phê")
    browser = Browser(client)
    path = f"/console/{biz.business_id}/signin"
    browser.post(f"{path}?lang={lang}", {"method": "email", "email": "owner@caphe.example"}, csrf_from=path)
    (message,) = mailer.messages()
    assert words in message["Subject"] and message["Auto-Submitted"] == "auto-generated"
    html_part = message.get_body(("html",)).get_content()
    assert "Phở &lt;b&gt;&amp;&lt;/b&gt; Cà phê" in html_part and "<b>&</b>" not in html_part
    assert f'<html lang="{lang}">' in html_part
    assert signin_link(mailer) in message.get_body(("plain",)).get_content()
