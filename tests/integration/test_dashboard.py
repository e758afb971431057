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


def csrf_of(answer: Any, biz_id: str, cookie: str | None = None) -> tuple[str, str]:
    """(the form's CSRF field, the CSRF cookie) of a page, as a browser would keep them."""
    field = re.search(r'name="csrf" value="([^"]+)"', answer.body.decode())
    assert field, "the form carries no CSRF token"
    set_cookie = answer.headers.get("Set-Cookie", "")
    if set_cookie.startswith(f"dcsrf_{biz_id}="):
        cookie = set_cookie.split(";", 1)[0]
    assert cookie, "no CSRF cookie was set"
    return field.group(1), cookie


def sign_in(client: Client, biz_id: str, key: str) -> Any:
    form = client.http.get(f"/dashboard/{biz_id}")
    token, cookie = csrf_of(form, biz_id)
    return client.http.post(
        f"/dashboard/{biz_id}",
        body=urlencode({"owner_key": key, "csrf": token}),
        headers={**FORM, "Cookie": cookie},
    )


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


def test_signing_out_clears_the_cookie_and_a_copied_cookie_opens_nothing_afterwards(client: Client, biz: Biz) -> None:
    path = f"/dashboard/{biz.business_id}"
    session = session_cookie(sign_in(client, biz.business_id, biz.owner_key))
    other_device = session_cookie(sign_in(client, biz.business_id, biz.owner_key))
    page = client.http.get(path, headers={"Cookie": session})
    assert page.status_code == 200
    token, csrf_cookie = csrf_of(page, biz.business_id)
    answer = client.http.post(
        path,
        body=urlencode({"action": "signout", "csrf": token}),
        headers={**FORM, "Cookie": f"{session}; {csrf_cookie}"},
    )
    assert answer.status_code == 303
    assert "Max-Age=0" in answer.headers["Set-Cookie"]
    # The cookie is gone from this browser; a copy of it (another tab, a stolen one) is dead too.
    assert client.http.get(path, headers={"Cookie": session}).status_code == 401
    assert client.http.get(path, headers={"Cookie": other_device}).status_code == 200


def test_a_sign_in_or_sign_out_without_the_form_s_csrf_token_gets_a_friendly_403_and_changes_nothing(
    client: Client, biz: Biz
) -> None:
    path = f"/dashboard/{biz.business_id}"
    form = client.http.get(path)
    token, cookie = csrf_of(form, biz.business_id)
    assert {"HttpOnly", "Secure", "SameSite=Strict", f"Path=/dashboard/{biz.business_id}"} <= {
        part.strip() for part in form.headers["Set-Cookie"].split(";")
    }
    other_token, other_cookie = csrf_of(client.http.get(path), biz.business_id)
    assert other_cookie != cookie  # each browser gets its own value
    attempts = [
        ({"owner_key": biz.owner_key}, cookie),  # a cross-site form: no token
        ({"owner_key": biz.owner_key, "csrf": token}, None),  # the token without this browser's cookie
        ({"owner_key": biz.owner_key, "csrf": other_token}, cookie),  # another browser's token
        ({"owner_key": biz.owner_key, "csrf": token[:-2] + "AA"}, cookie),  # a forged one
    ]
    for fields, with_cookie in attempts:
        headers = {**FORM, **({"Cookie": with_cookie} if with_cookie else {})}
        refused = client.http.post(path, body=urlencode(fields), headers=headers)
        assert refused.status_code == 403, fields
        page = refused.body.decode()
        assert "text/html" in refused.headers["Content-Type"] and '<form method="post"' in page
        assert "Location" not in refused.headers and "dash_" not in refused.headers.get("Set-Cookie", "")
        assert biz.owner_key not in page
    session = session_cookie(sign_in(client, biz.business_id, biz.owner_key))
    signout = client.http.post(path, body="action=signout", headers={**FORM, "Cookie": f"{session}; {cookie}"})
    assert signout.status_code == 403 and "Set-Cookie" not in signout.headers
    assert client.http.get(path, headers={"Cookie": session}).status_code == 200  # still signed in


def test_rotating_the_owner_key_shows_the_new_key_once_kills_the_old_one_and_ends_every_session(
    client: Client, biz: Biz
) -> None:
    from chalicelib import wiring
    from chalicelib.errors import Unauthorized

    path = f"/dashboard/{biz.business_id}"
    session = session_cookie(sign_in(client, biz.business_id, biz.owner_key))
    # Another warm container has the business (with the old key's hash) in its 60-second cache.
    services = wiring.services()
    other_container = wiring.build(services.settings, services.store, services.clock)
    other_container.submissions.open_link(biz.touchpoints["table"]["token"])  # caches the business
    other_container.access.authenticate(f"Bearer {biz.owner_key}", biz.business_id)

    rotated = client.http.post(f"/v1/businesses/{biz.business_id}/owner-key", headers=biz.auth)
    assert rotated.status_code == 201
    assert rotated.headers["Cache-Control"] == "no-store"
    new_key = rotated.json_body["owner_key"]
    assert new_key != biz.owner_key and new_key.startswith(f"ok_{biz.business_id}_")

    old = client.http.get(f"/v1/businesses/{biz.business_id}/metrics", headers=biz.auth)
    assert old.status_code == 401 and old.json_body["error"]["code"] == "unauthorized"
    with pytest.raises(Unauthorized):
        other_container.access.authenticate(f"Bearer {biz.owner_key}", biz.business_id)
    assert other_container.access.authenticate(f"Bearer {new_key}", biz.business_id).business.business_id
    assert client.http.get(path, headers={"Cookie": session}).status_code == 401  # the session ended
    assert client.http.post(f"/v1/businesses/{biz.business_id}/owner-key", headers=biz.auth).status_code == 401
    new = {"Authorization": f"Bearer {new_key}"}
    assert client.http.get(f"/v1/businesses/{biz.business_id}/metrics", headers=new).status_code == 200
    assert sign_in(client, biz.business_id, new_key).status_code == 303
    # The key is stored hashed only: nothing in the table holds it in clear.
    assert new_key not in repr(services.store.get_business(biz.business_id))


def test_another_business_cannot_rotate_this_owner_key(client: Client, biz: Biz) -> None:
    other = make_business(client, name="Another shop")
    path = f"/v1/businesses/{biz.business_id}/owner-key"
    assert client.http.post(path).status_code == 401
    assert client.http.post(path, headers=other.auth).status_code == 404
    assert client.http.get(f"/v1/businesses/{biz.business_id}/metrics", headers=biz.auth).status_code == 200


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
