"""The survey pages' HTML, rendered without any network: labels, escaping, language, size."""

from __future__ import annotations

import pytest

from chalicelib.errors import Expired, InvalidToken
from chalicelib.web import i18n, pages


@pytest.mark.parametrize(("metric", "points"), [("nps", 11), ("csat", 5), ("ces", 7)])
@pytest.mark.parametrize("locale", ["vi", "en"])
def test_every_scale_renders_one_real_button_per_point(metric: str, points: int, locale: str) -> None:
    html = pages.survey_page(locale=locale, business_name="Quán", metric=metric, action="tok")
    assert html.count('<button name="score"') == points
    assert f'<html lang="{locale}">' in html
    assert len(html.encode()) <= 15 * 1024


def test_csat_and_ces_label_every_point_and_nps_labels_both_ends() -> None:
    ces = pages.survey_page(locale="en", business_name="Q", metric="ces", action="t")
    for n, label in enumerate(i18n.SCALE_LABELS["en"]["ces"], start=1):
        assert f"<b>{n}</b> {label}</button>" in ces
    nps = pages.survey_page(locale="vi", business_name="Q", metric="nps", action="t")
    assert 'aria-label="0 – Không chắc chắn"' in nps and 'aria-label="10 – Chắc chắn"' in nps


def test_a_preselected_score_is_marked_and_offers_a_no_script_confirm_button() -> None:
    html = pages.survey_page(locale="en", business_name="Q", metric="csat", action="t", chosen=3)
    assert 'value="3" class="on" aria-current="true"' in html and "data-auto" in html
    assert '<noscript><button class="send" name="score" value="3">Send score 3</button></noscript>' in html
    plain = pages.survey_page(locale="en", business_name="Q", metric="csat", action="t")
    assert "data-auto" not in plain and "<noscript>" not in plain


def test_everything_a_business_or_a_person_typed_is_escaped() -> None:
    evil = '"><script>alert(1)</script>'
    survey = pages.survey_page(locale="vi", business_name=evil, metric="nps", action=evil)
    thanks = pages.thank_you_page(
        locale="en", business_name=evil, action="t", score=1, response_id=evil, edit_token=evil,
        voucher=evil, comment="</textarea>" + evil, email=evil, error=evil,
    )  # fmt: skip
    for html in (survey, thanks):
        assert "<script>alert" not in html and '"><script' not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "</textarea><" not in thanks.split("<textarea")[1].split("</textarea>", 1)[0]


def test_the_thank_you_view_names_the_voucher_only_when_there_is_one() -> None:
    common = {"locale": "vi", "business_name": "Q", "action": "t", "score": 5, "response_id": "r", "edit_token": "e"}
    assert "Giảm 10%" in pages.thank_you_page(**common, voucher="Giảm 10%")
    assert "ưu đãi" not in pages.thank_you_page(**common)


def test_error_pages_say_what_happened_in_the_person_language() -> None:
    assert "không hợp lệ" in pages.error_page(InvalidToken("x"), "vi")
    expired = pages.localize(Expired("internal detail 4711"), "en")  # the link's language, once known
    html = pages.error_page(expired, "vi")
    assert "This survey link has expired." in html and '<html lang="en">' in html
    assert "4711" not in html  # the internal message never reaches the person


@pytest.mark.parametrize("table", sorted(i18n.TABLES))
def test_both_languages_have_every_text(table: str) -> None:
    # Every page, email, digest, dashboard and card reads its words from chalicelib/web/i18n.py.
    assert set(i18n.TABLES[table]["vi"]) == set(i18n.TABLES[table]["en"])
    assert all(text for locale in i18n.LOCALES for text in i18n.TABLES[table][locale].values())


def test_every_point_of_the_csat_and_ces_scales_has_words_in_both_languages() -> None:
    for locale in i18n.LOCALES:
        assert [len(i18n.SCALE_LABELS[locale][m]) for m in ("csat", "ces")] == [5, 7]
