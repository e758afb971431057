"""The owner's dashboard page: 30-day trends with margins, distributions, touchpoints, funnel, comments.

Server-rendered HTML with inline SVG: no framework, no script, no external request, usable on a phone.
The owner key never travels in a URL: the page takes ``Authorization: Bearer`` or a session cookie set by
its own sign-in form (POST), which holds a signed session (``keys.seal``), never the key. The cookie is
HttpOnly, Secure, SameSite=Strict and scoped to this business's dashboard path.

Both forms (sign in, sign out) carry a CSRF token (#11): a double-submit of a random value the page puts in
a cookie of its own, the form field being that value sealed under the app secret. No server state; a
POST whose field does not match the cookie gets a friendly 403 and signs no one in or out. Signing out
also revokes the session server-side, so a copied cookie dies with it.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from chalice import Response

from chalicelib.domain.models import Locale
from chalicelib.errors import NotFound, Unauthorized
from chalicelib.services.reports import SESSION_SECONDS, TREND_DAYS, Dashboard
from chalicelib.web import http, i18n, templating
from chalicelib.web.csrf import CookieJar, cookie_value
from chalicelib.web.templating import headline, local_time, number

_BUSINESS_ID = re.compile(r"^[0-9a-z]{6,16}$")

_RANGES = {"nps": (-100.0, 100.0), "csat": (0.0, 100.0), "ces": (1.0, 7.0)}
_TICKS = {"nps": (-100, -50, 0, 50, 100), "csat": (0, 25, 50, 75, 100), "ces": (1, 2, 3, 4, 5, 6, 7)}
# Sized for a phone: the SVG scales to the column width, so a small viewBox keeps 11px labels legible.
_W, _H, _LEFT, _RIGHT, _TOP, _BOTTOM = 360, 170, 34, 8, 8, 20
MAX_RECENT_COMMENTS = 20


def cookie_name(business_id: str) -> str:
    return f"dash_{business_id}"


def csrf_cookie_name(business_id: str) -> str:
    return f"dcsrf_{business_id}"


def _jar(business_id: str) -> CookieJar:
    # The CSRF purpose is the one #11 shipped with: forms open in a browser keep working across the change.
    return CookieJar(
        path=f"/dashboard/{business_id}",
        csrf_name=csrf_cookie_name(business_id),
        purpose="dashboard-csrf:" + business_id,
        max_age=SESSION_SECONDS,
    )


def _session_cookie(request: Any, business_id: str) -> str | None:
    return cookie_value(request, cookie_name(business_id))


def _cookie(business_id: str, value: str, max_age: int) -> str:
    return _jar(business_id).header(cookie_name(business_id), value, max_age)


# ---- CSRF (#11 item 7): double-submit, signed, stateless (chalicelib/web/csrf.py) ---------------------


def _csrf(services: Any, request: Any, business_id: str) -> tuple[str, str | None]:
    return _jar(business_id).csrf(services.settings.app_secret, request)


def _csrf_ok(services: Any, request: Any, business_id: str, form: dict[str, str]) -> bool:
    return _jar(business_id).csrf_ok(services.settings.app_secret, request, form)


def _locale(request: Any, fallback: str | None = None) -> Locale:
    """?lang= first, then the business's language, then the browser's."""
    for asked in ((request.query_params or {}).get("lang"), fallback):
        if asked in i18n.LOCALES:
            return i18n.supported(asked)
    return i18n.supported(http.current_locale())


# ---- routes -----------------------------------------------------------------------------------------


def show(services: Any, request: Any, business_id: str) -> Response:
    """GET /dashboard/{biz}: the page (200), the sign-in form (401), or not found (404)."""
    reports = services.reports
    authorization = http.header(request, "authorization")
    try:
        if authorization:
            business = services.access.authenticate(authorization, business_id).business
        else:
            business = reports.session_business(business_id, _session_cookie(request, business_id))
    except Unauthorized:
        business = None
    except NotFound:
        return _not_found(request)
    if business is None:
        if not _BUSINESS_ID.match(business_id):
            return _not_found(request)
        return _signin(services, request, business_id, status=401)
    locale = _locale(request, business.locale)
    csrf, set_cookie = _csrf(services, request, business_id)
    body = render_dashboard(reports.dashboard(business), locale, business_id, csrf=csrf)
    headers = {"Vary": "Cookie, Authorization"}
    if set_cookie:
        headers["Set-Cookie"] = set_cookie
    return http.html(body, 200, headers)


def sign_in(services: Any, request: Any, business_id: str) -> Response:
    """POST /dashboard/{biz}: the sign-in (or sign-out) form. 303 to the page with the session cookie;
    403 (the form again) without the right CSRF token."""
    # The id goes into Location and the cookie's name and path: only a well-formed one gets that far.
    if not _BUSINESS_ID.match(business_id):
        return _not_found(request)
    form = http.form_body(request)
    if not _csrf_ok(services, request, business_id, form):
        return _signin(services, request, business_id, status=403)
    location = f"{services.settings.public_base_url}/dashboard/{business_id}"
    if form.get("action") == "signout":
        services.reports.end_session(business_id, _session_cookie(request, business_id))
        return Response(
            body="",
            status_code=303,
            headers={"Location": location, "Set-Cookie": _cookie(business_id, "", 0), "Cache-Control": "no-store"},
        )
    key = (form.get("owner_key") or "").strip()
    if not key or len(key) > 200:
        return _signin(services, request, business_id, status=401, error=True)
    try:
        caller = services.access.authenticate(f"Bearer {key}", business_id)
    except Unauthorized:
        return _signin(services, request, business_id, status=401, error=True)
    except NotFound:
        return _not_found(request)
    if caller.is_admin:
        # The operator's key opens the page through the header only: a session is an owner's.
        return _signin(services, request, business_id, status=401, error=True)
    session = services.reports.open_session(caller.business)
    headers: dict[str, str | list[str]] = {
        "Location": location,
        "Set-Cookie": _cookie(business_id, session, SESSION_SECONDS),
        "Cache-Control": "no-store",
    }
    return Response(body="", status_code=303, headers=headers)


def _signin(services: Any, request: Any, business_id: str, *, status: int, error: bool = False) -> Response:
    locale = _locale(request)
    csrf, set_cookie = _csrf(services, request, business_id)
    body = templating.render(
        "dashboard/signin.html.j2",
        t=i18n.DASHBOARD[locale],
        locale=locale,
        action=f"/dashboard/{business_id}",
        error=error,
        forbidden=status == 403,
        csrf=csrf,
    )
    return http.html(body, status, {"Set-Cookie": set_cookie} if set_cookie else None)


def _not_found(request: Any) -> Response:
    locale = _locale(request)
    body = templating.render(
        "dashboard/signin.html.j2",
        t=i18n.DASHBOARD[locale],
        locale=locale,
        action=None,
        error=False,
        forbidden=False,
        csrf="",
    )
    return http.html(body, 404)


# ---- rendering --------------------------------------------------------------------------------------


def _y(metric: str, value: float) -> float:
    low, high = _RANGES[metric]
    value = min(high, max(low, value))
    return round(_TOP + (high - value) / (high - low) * (_H - _TOP - _BOTTOM), 1)


def trend_chart(metric: str, days: list[str], by_day: dict[str, dict[str, Any]], locale: str) -> dict[str, Any]:
    """Coordinates of one metric's 30-day SVG chart: line segments over days with a headline, the NPS
    margin as a band around them, grid lines and labels. Numbers only: nothing here needs escaping."""
    step = (_W - _LEFT - _RIGHT) / max(1, len(days) - 1)
    segments: list[list[tuple[float, float]]] = []
    bands: list[str] = []
    dots: list[dict[str, Any]] = []
    current: list[tuple[float, float]] = []
    upper: list[tuple[float, float]] = []
    lower: list[tuple[float, float]] = []

    def close() -> None:
        if current:
            segments.append(list(current))
        if upper:
            bands.append(" ".join(f"{x},{y}" for x, y in upper + lower[::-1]))
        current.clear()
        upper.clear()
        lower.clear()

    for i, day in enumerate(days):
        x = round(_LEFT + i * step, 1)
        summary = ((by_day.get(day) or {}).get("metrics") or {}).get(metric, {}).get("summary") or {}
        value = summary.get("headline")
        if summary.get("status") != "ok" or value is None:
            close()
            continue
        y = _y(metric, float(value))
        current.append((x, y))
        margin = summary.get("margin_of_error")
        if metric == "nps" and margin is not None:
            upper.append((x, _y(metric, float(value) + float(margin))))
            lower.append((x, _y(metric, float(value) - float(margin))))
        label = f"{day}: {headline(metric, value, locale)}"
        if margin is not None:
            label += f" ±{number(margin, locale)}"
        dots.append({"x": x, "y": y, "label": f"{label} (n = {summary.get('n', 0)})"})
    close()
    grid = [{"y": _y(metric, tick), "label": str(tick)} for tick in _TICKS[metric]]
    ends = {0: "start", len(days) - 1: "end"}  # the outer labels stay inside the drawing
    xlabels = [
        {"x": round(_LEFT + i * step, 1), "label": days[i][5:], "anchor": ends.get(i, "middle")}
        for i in sorted({0, len(days) // 2, len(days) - 1})
    ]
    return {
        "metric": metric,
        "width": _W,
        "height": _H,
        "left": _LEFT,
        "right": _W - _RIGHT,
        "lines": [" ".join(f"{x},{y}" for x, y in seg) for seg in segments if len(seg) > 1],
        "bands": bands,
        "dots": dots,
        "grid": grid,
        "xlabels": xlabels,
        "empty": not dots,
    }


def render_dashboard(data: Dashboard, locale: Locale, business_id: str, *, csrf: str = "") -> str:
    today = date.fromisoformat(data.today)
    days = [(today - timedelta(days=TREND_DAYS - i)).isoformat() for i in range(TREND_DAYS)]
    by_day = {r["date"]: r for r in data.trend if isinstance(r, dict) and isinstance(r.get("date"), str)}
    comments: list[dict[str, Any]] = []
    for report in reversed(data.trend):
        for c in report.get("comments") or []:
            time = local_time(c.get("created_at", ""), data.business.timezone)
            comments.append({**c, "day": report.get("date"), "time": time})
            if len(comments) >= MAX_RECENT_COMMENTS:
                break
        if len(comments) >= MAX_RECENT_COMMENTS:
            break
    return templating.render(
        "dashboard/dashboard.html.j2",
        t=i18n.DASHBOARD[locale],
        d=i18n.DIGEST[locale],
        channels=i18n.CHANNELS[locale],
        locale=locale,
        business=data.business,
        latest=data.latest,
        charts=[trend_chart(m, days, by_day, locale) for m in ("nps", "csat", "ces")],
        comments=comments,
        action=f"/dashboard/{business_id}",
        csrf=csrf,
    )
