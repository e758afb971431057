"""The owner's dashboard: a sign-in form that sets a signed session cookie (never the key in a URL),
404 for another business's key, and a server-rendered page with SVG trends and no external requests."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client

from chalicelib.domain import keys
from chalicelib.settings import get_settings
from tests.clock import FakeClock
from tests.integration.conftest import ADMIN, Biz, make_business
from tests.integration.test_daily_reports import CapturingMailer, comment, mailer, run_schedule, score  # noqa: F401

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def sign_in(client: Client, biz_id: str, key: str) -> Any:
    return client.http.post(f"/dashboard/{biz_id}", body=urlencode({"owner_key": key}), headers=FORM)


def session_cookie(answer: Any) -> str:
    cookie = answer.headers["Set-Cookie"]
    return cookie.split(";", 1)[0]


def test_without_a_key_the_dashboard_is_a_sign_in_form_that_posts_the_key_in_the_body(client: Client, biz: Biz) -> None:
    answer = client.http.get(f"/dashboard/{biz.business_id}", headers={"Accept-Language": "vi"})
    assert answer.status_code == 401
    page = answer.body.decode()
    assert '<form method="post" action="/dashboard/' in page
    assert 'type="password"' in page and "Khóa chủ doanh nghiệp" in page
    assert biz.owner_key not in page


def test_signing_in_sets_an_httponly_secure_strict_cookie_holding_a_session_not_the_key(
    client: Client, biz: Biz
) -> None:
    answer = sign_in(client, biz.business_id, biz.owner_key)
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"https://surveys.example/dashboard/{biz.business_id}"
    assert biz.owner_key not in answer.headers["Location"]
    cookie = answer.headers["Set-Cookie"]
    assert {"HttpOnly", "Secure", "SameSite=Strict", f"Path=/dashboard/{biz.business_id}"} <= {
        part.strip() for part in cookie.split(";")
    }
    assert biz.owner_key not in cookie and biz.owner_key.split("_")[-1] not in cookie
    page = client.http.get(f"/dashboard/{biz.business_id}", headers={"Cookie": session_cookie(answer)})
    assert page.status_code == 200
    assert "Cà Phê Sài Gòn" in page.body.decode()


def test_a_wrong_key_gets_the_form_again_and_another_business_s_key_gets_404(client: Client, biz: Biz) -> None:
    other = make_business(client, name="Another shop")
    wrong = sign_in(client, biz.business_id, biz.owner_key[:-4] + "zzzz")
    assert wrong.status_code == 401 and "Set-Cookie" not in wrong.headers
    assert sign_in(client, biz.business_id, "").status_code == 401
    assert sign_in(client, biz.business_id, other.owner_key).status_code == 404
    assert client.http.get(f"/dashboard/{biz.business_id}", headers=other.auth).status_code == 404
    # The operator's key works in the header, but never becomes a session.
    assert client.http.get(f"/dashboard/{biz.business_id}", headers=ADMIN).status_code == 200
    assert sign_in(client, biz.business_id, ADMIN["Authorization"].split()[1]).status_code == 401


def test_a_session_opens_only_its_own_business_and_forged_or_expired_ones_open_nothing(
    client: Client, biz: Biz, clock: FakeClock
) -> None:
    other = make_business(client, name="Another shop")
    mine = session_cookie(sign_in(client, biz.business_id, biz.owner_key))
    value = mine.split("=", 1)[1]
    # The same signed session under the other business's cookie name and path.
    assert (
        client.http.get(
            f"/dashboard/{other.business_id}", headers={"Cookie": f"dash_{other.business_id}={value}"}
        ).status_code
        == 401
    )
    forged = keys.seal("not-the-secret-" * 3, "dashboard", {"b": biz.business_id, "k": "x" * 16, "e": 2**40})
    assert (
        client.http.get(
            f"/dashboard/{biz.business_id}", headers={"Cookie": f"dash_{biz.business_id}={forged}"}
        ).status_code
        == 401
    )
    assert (
        client.http.get(
            f"/dashboard/{biz.business_id}", headers={"Cookie": f"dash_{biz.business_id}=garbage"}
        ).status_code
        == 401
    )
    assert client.http.get(f"/dashboard/{biz.business_id}", headers={"Cookie": mine}).status_code == 200
    clock.advance(hours=13)
    assert client.http.get(f"/dashboard/{biz.business_id}", headers={"Cookie": mine}).status_code == 401


def test_signing_out_clears_the_cookie(client: Client, biz: Biz) -> None:
    answer = client.http.post(f"/dashboard/{biz.business_id}", body="action=signout", headers=FORM)
    assert answer.status_code == 303
    assert "Max-Age=0" in answer.headers["Set-Cookie"]


def test_the_dashboard_draws_trends_distributions_touchpoints_and_comments_without_external_requests(
    client: Client,
    clock: FakeClock,
    mailer: CapturingMailer,  # noqa: F811
) -> None:
    biz = make_business(client)
    for day in range(3):
        for i, value in enumerate([10, 9, 7, 3, 0, 10]):
            created = score(client, biz, "table", value, f"d{day}-{i}")
            if value == 0:
                comment(client, created, f"Ngày {day}: <script>alert(1)</script>")
        score(client, biz, "receipt", 4, f"r{day}")
        clock.advance(days=1)
    assert run_schedule(client) == 3
    clock.moment = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
    answer = client.http.get(f"/dashboard/{biz.business_id}", headers=biz.auth)
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    page = answer.body.decode()
    assert page.count("<svg") >= 4  # three trends and at least one distribution
    assert "<polyline" in page and "<polygon" in page  # the NPS line and its margin band
    assert "Mã QR" in page or "table" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "no external request"
    assert "2026-11-22" in page  # the latest report's day
    assert get_settings().admin_key not in page and biz.owner_key not in page


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_dashboard_speaks_the_owner_s_language(client: Client, biz: Biz, lang: str) -> None:
    page = client.http.get(f"/dashboard/{biz.business_id}?lang={lang}", headers=biz.auth).body.decode()
    assert f'<html lang="{lang}">' in page
    assert ("Xu hướng 30 ngày" if lang == "vi" else "30-day trend") in page


def test_signing_out_of_a_malformed_business_id_echoes_nothing_into_headers(client) -> None:
    answer = client.http.post(
        "/dashboard/" + "Z" * 300,
        body="action=signout",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 404
    assert "Set-Cookie" not in answer.headers and "Location" not in answer.headers
