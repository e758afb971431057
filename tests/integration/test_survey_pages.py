"""The survey page a customer's phone opens: one tap records, a GET records nothing, errors are friendly."""

from __future__ import annotations

import re
from typing import Any

from chalice.test import Client

from tests.clock import FakeClock
from tests.integration.conftest import Biz, make_business, page_form, post_json

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _responses(client: Client, biz: Biz) -> list[dict[str, Any]]:
    answer = client.http.get(f"/v1/businesses/{biz.business_id}/responses", headers=biz.auth)
    assert answer.status_code == 200
    return answer.json_body["items"]


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, name
    return match.group(1)


def test_eleven_gets_of_an_email_one_tap_link_record_nothing(client: Client, biz: Biz) -> None:
    token = biz.touchpoints["table"]["token"]
    for score in range(11):
        page = client.http.get(f"/s/{token}?score={score}")
        assert page.status_code == 200
        html = page.body.decode()
        # The chosen score is marked and posted by the page itself; a noscript button does it without JS.
        assert f'value="{score}" aria-label' in html or f'value="{score}" class="on"' in html
        assert 'class="on" aria-current="true"' in html and "<noscript>" in html
    assert _responses(client, biz) == []


def test_one_tap_without_javascript_records_the_score_and_offers_the_comment_form(client: Client, biz: Biz) -> None:
    token = biz.touchpoints["table"]["token"]
    answer = client.http.post(f"/s/{token}", body=page_form(client, token, 9), headers=FORM)
    assert answer.status_code == 200
    html = answer.body.decode()
    assert '<html lang="vi">' in html and "Cảm ơn bạn!" in html
    assert 'name="comment" maxlength="2000"' in html and 'type="email"' in html
    assert 'type="checkbox" name="consent"' in html and "hủy nhận bất cứ lúc nào" in html
    assert [r["score"] for r in _responses(client, biz)] == [9]

    saved = client.http.post(
        f"/s/{token}",
        body=f"response_id={_hidden(html, 'response_id')}&edit_token={_hidden(html, 'edit_token')}"
        "&score_shown=9&comment=C%C3%A0+ph%C3%AA+ngon&email=lan%40example.com&consent=true&website=",
        headers=FORM,
    )
    assert saved.status_code == 200 and "Đã lưu góp ý" in saved.body.decode()
    (item,) = _responses(client, biz)
    assert item["comment"] == "Cà phê ngon" and item["email"] == "lan@example.com"


def _thank_you(client: Client, biz: Biz, lang: str = "en") -> tuple[str, str]:
    token = biz.touchpoints["receipt"]["token"]
    html = client.http.post(f"/s/{token}?lang={lang}", body=page_form(client, token, 2), headers=FORM).body.decode()
    return token, html


def test_a_comment_over_the_limit_comes_back_with_a_message_and_the_text_kept(client: Client, biz: Biz) -> None:
    token, html = _thank_you(client, biz)
    long = "a" * 2001
    answer = client.http.post(
        f"/s/{token}?lang=en",
        body=f"response_id={_hidden(html, 'response_id')}&edit_token={_hidden(html, 'edit_token')}"
        f"&score_shown=2&comment={long}",
        headers=FORM,
    )
    page = answer.body.decode()
    assert answer.status_code == 422
    assert "at most 2000 characters" in page and long in page and 'role="alert"' in page
    assert _responses(client, biz)[0]["comment"] is None
    # The API refuses it as well, whatever sends it.
    api = post_json(client, f"/v1/responses/{_hidden(html, 'response_id')}/comment",
                    {"edit_token": _hidden(html, "edit_token"), "comment": long})
    assert api.status_code == 422


def test_an_email_without_consent_is_not_kept_and_the_page_says_why(client: Client, biz: Biz) -> None:
    token, html = _thank_you(client, biz, "vi")
    answer = client.http.post(
        f"/s/{token}?lang=vi",
        body=f"response_id={_hidden(html, 'response_id')}&edit_token={_hidden(html, 'edit_token')}"
        "&score_shown=2&comment=Ch%E1%BA%ADm&email=lan%40example.com",
        headers=FORM,
    )
    assert answer.status_code == 422 and "đánh dấu ô đồng ý" in answer.body.decode()
    assert 'value="lan@example.com"' in answer.body.decode()
    assert _responses(client, biz)[0]["email"] is None


def test_a_bot_filling_the_hidden_field_is_thanked_and_ignored(client: Client, biz: Biz) -> None:
    token, html = _thank_you(client, biz)
    answer = client.http.post(
        f"/s/{token}",
        body=f"response_id={_hidden(html, 'response_id')}&edit_token={_hidden(html, 'edit_token')}"
        "&comment=buy+pills&website=http%3A%2F%2Fspam.example",
        headers=FORM,
    )
    assert answer.status_code == 200
    assert _responses(client, biz)[0]["comment"] is None


def test_the_page_speaks_the_business_language_unless_asked_and_sets_lang(client: Client, biz: Biz) -> None:
    token = biz.touchpoints["table"]["token"]
    vi = client.http.get(f"/s/{token}").body.decode()
    en = client.http.get(f"/s/{token}?lang=en").body.decode()
    assert '<html lang="vi">' in vi and "Bạn có sẵn lòng giới thiệu Cà Phê Sài Gòn" in vi
    assert '<html lang="en">' in en and "How likely are you to recommend Cà Phê Sài Gòn" in en
    assert 'action="' + token + '?lang=en"' in en and 'hreflang="vi"' in en


def test_every_point_has_a_label_where_the_scale_needs_one(client: Client, biz: Biz) -> None:
    nps = client.http.get(f"/s/{biz.touchpoints['table']['token']}?lang=en").body.decode()
    csat = client.http.get(f"/s/{biz.touchpoints['receipt']['token']}?lang=en").body.decode()
    ces = client.http.get(f"/s/{biz.touchpoints['web']['token']}?lang=vi").body.decode()
    assert nps.count('name="score"') == 11
    assert 'aria-label="0 – Not at all likely"' in nps and 'aria-label="10 – Extremely likely"' in nps
    assert csat.count('name="score"') == 5
    for label in ["Very unsatisfied", "Unsatisfied", "Neutral", "Satisfied", "Very satisfied"]:
        assert f"</b> {label}</button>" in csat
    assert ces.count('name="score"') == 7 and "<b>1</b> Rất khó</button>" in ces and "<b>7</b> Rất dễ" in ces


def test_the_page_is_small_and_asks_for_nothing_else(client: Client, biz: Biz) -> None:
    for tp in ("table", "receipt", "web"):
        answer = client.http.get(f"/s/{biz.touchpoints[tp]['token']}?score=1")
        html = answer.body.decode()
        assert len(answer.body) <= 15 * 1024
        assert not re.search(r"(src|href)=\"?(https?:)?//", html) and "url(" not in html and "@import" not in html
        assert re.findall(r"<link[^>]*>", html) == ['<link rel="icon" href="data:,">']
        assert "default-src 'none'" in answer.headers["Content-Security-Policy"]


def test_business_names_are_escaped(client: Client) -> None:
    evil = make_business(client, name="<script>alert(1)</script> & Co")
    html = client.http.get(f"/s/{evil.touchpoints['table']['token']}").body.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html


def test_tampered_and_expired_links_get_friendly_pages_in_the_person_language(
    client: Client, biz: Biz, clock: FakeClock
) -> None:
    token = biz.touchpoints["table"]["token"]
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BA")
    vi = client.http.get(f"/s/{tampered}")
    en = client.http.get(f"/s/{tampered}", headers={"Accept-Language": "en-GB,en;q=0.9"})
    asked = client.http.get(f"/s/{tampered}?lang=en")
    assert vi.status_code == en.status_code == asked.status_code == 404
    assert "Liên kết khảo sát này không hợp lệ" in vi.body.decode() and '<html lang="vi">' in vi.body.decode()
    assert "This survey link is not valid" in en.body.decode() and '<html lang="en">' in en.body.decode()
    assert "This survey link is not valid" in asked.body.decode()
    assert vi.headers["Content-Type"].startswith("text/html")

    tp = biz.touchpoints["receipt"]["touchpoint_id"]
    minted = post_json(client, f"/v1/businesses/{biz.business_id}/links",
                       {"touchpoint_id": tp, "expires_in_days": 1}, biz.auth).json_body["links"][0]["token"]
    clock.advance(days=2)
    expired = client.http.get(f"/s/{minted}", headers={"Accept-Language": "vi-VN"})
    assert expired.status_code == 410 and "đã hết hạn" in expired.body.decode()
    posted = client.http.post(f"/s/{minted}?lang=en", body="score=5", headers=FORM)
    assert posted.status_code == 410 and "has expired" in posted.body.decode()
    for answer in (vi, en, expired, posted):
        assert b"Traceback" not in answer.body and b'"error"' not in answer.body
