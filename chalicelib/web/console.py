"""The owner console (issue #14, docs/console.md): server-rendered pages under ``/console/{biz}``.

Every page goes through :func:`_open`: a malformed or unknown business id, or a valid session of another
business, gets the friendly 404 page; no session, the sign-in page (401); a POST without this browser's
CSRF token, a 403 page that changed nothing. The session cookie ``console_{biz}`` (Path=/console/{biz})
holds a sealed session (``services/signin.py``), never a key: HttpOnly, Secure except in the plain-http
local run, SameSite=Lax so the digest email's link opens the console signed in; every POST form carries
the CSRF token (``web/csrf.py``, the dashboard's implementation). Pages speak the business's language,
``?lang=`` switches. No script, nothing from another host (the survey pages' CSP, ``http.html``).

This module: the frame, sign-in and out, Today and the till. The inbox and setup pages live in
``console_cases.py`` and ``console_setup.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from chalice import Response

from chalicelib.domain.calendar import local_day
from chalicelib.domain.cases import ResolutionFigures
from chalicelib.domain.models import Business, Locale
from chalicelib.errors import Conflict, DomainError, Expired, NotFound, Unauthorized
from chalicelib.services.reports import TREND_DAYS
from chalicelib.services.signin import LINK_MINUTES, SESSION_SECONDS, ConsoleSession
from chalicelib.web import http, i18n, templating
from chalicelib.web.csrf import CookieJar, cookie_value
from chalicelib.web.templating import local_time

RESOLUTION_DAYS = 30
_BUSINESS_ID = re.compile(r"^[0-9a-z]{6,16}$")
NAV = ("today", "inbox", "why", "till", "setup", "zalo")
_NAV_PATHS = {"today": "", "inbox": "/cases", "why": "/why", "till": "/till", "setup": "/setup", "zalo": "/zalo"}


def cookie_name(business_id: str) -> str:
    return f"console_{business_id}"


def jar(services: Any, business_id: str) -> CookieJar:
    return CookieJar(
        path=f"/console/{business_id}",
        csrf_name=f"ccsrf_{business_id}",
        purpose="console-csrf:" + business_id,
        max_age=SESSION_SECONDS,
        same_site="Lax",
        # Local mode is `make run` on plain-http 127.0.0.1, where a browser would drop a Secure cookie.
        secure=services.settings.stage != "local",
    )


@dataclass
class Page:
    """One request to a console page: who asks, in which language, and how to answer with a page."""

    services: Any
    request: Any
    business_id: str
    business_name: str
    locale: Locale
    session: ConsoleSession | None = None
    form: dict[str, str] = field(default_factory=dict)
    _csrf: tuple[str, str | None] | None = None

    @property
    def t(self) -> dict[str, str]:
        return i18n.CONSOLE[self.locale]

    @property
    def asked_lang(self) -> str | None:
        lang = (self.request.query_params or {}).get("lang")
        return lang if lang in i18n.LOCALES else None

    def url(self, path: str = "", **query: str) -> str:
        """A console URL of this business, keeping the language the owner chose."""
        params = {**({"lang": self.asked_lang} if self.asked_lang else {}), **query}
        return f"/console/{self.business_id}{path}" + (f"?{urlencode(params)}" if params else "")

    def csrf(self) -> str:
        if self._csrf is None:
            self._csrf = jar(self.services, self.business_id).csrf(self.services.settings.app_secret, self.request)
        return self._csrf[0]

    def render(
        self,
        template: str,
        status: int = 200,
        *,
        current: str | None = None,
        title: str = "",
        cookies: tuple[str, ...] = (),
        **values: Any,
    ) -> Response:
        signed_in = self.session is not None
        nav = None
        if signed_in:
            nav = {
                "links": [(k, self.url(_NAV_PATHS[k])) for k in NAV],
                "current": current,
                "signout": self.url("/signout"),
            }
        other = "en" if self.locale == "vi" else "vi"  # the switch is relative: this same page, whatever the prefix
        body = templating.render(
            template, t=self.t, locale=self.locale, business_name=self.business_name, nav=nav, csrf=self.csrf(),
            title=title or self.t["console"], switch=f"?lang={other}",
            actor=self._actor() if signed_in else None, **values,
        )
        set_cookies = [c for c in (*cookies, self._csrf[1] if self._csrf else None) if c]
        headers: dict[str, Any] = {"Vary": "Cookie"}
        if set_cookies:
            headers["Set-Cookie"] = set_cookies if len(set_cookies) > 1 else set_cookies[0]
        return http.html(body, status, headers)

    def redirect(self, path: str, *cookies: str) -> Response:
        headers: dict[str, Any] = {
            "Location": self.services.settings.public_base_url + path,
            "Cache-Control": "no-store",
        }
        if cookies:
            headers["Set-Cookie"] = list(cookies) if len(cookies) > 1 else cookies[0]
        return Response(body="", status_code=303, headers=headers)

    def _actor(self) -> str:
        actor = self.session.actor if self.session else ""
        return self.t["owner_key_actor"] if actor == "owner key" else actor


Handler = Callable[[Page], Response]


def _open(services: Any, request: Any, business_id: str, *, post: bool) -> Page | Response:
    """The page of a request, or the answer that stops it (404, or 403 for a POST without its token)."""
    if not _BUSINESS_ID.match(business_id):
        return not_found(services, request)
    business = services.signin.business(business_id)
    if business is None:
        return not_found(services, request)
    try:
        session = services.signin.session(business_id, cookie_value(request, cookie_name(business_id)))
    except NotFound:
        return not_found(services, request)
    page = Page(services, request, business_id, business.name, _locale(request, business.locale), session)
    if post:
        page.form = http.form_body(request)
        if not jar(services, business_id).csrf_ok(services.settings.app_secret, request, page.form):
            return signin_form(page, 403, forbidden=True)
    return page


def signed_in(handler: Handler, *, post: bool = False) -> Callable[..., Response]:
    """A page only an owner sees: without a session, the sign-in page."""

    def view(services: Any, request: Any, business_id: str, **_: str) -> Response:
        # Other path parameters (a case's response id) are read by the handler from the request.
        page = _open(services, request, business_id, post=post)
        if isinstance(page, Response):
            return page
        if page.session is None:
            return signin_form(page, 401)
        return handler(page)

    return view


def _locale(request: Any, fallback: str) -> Locale:
    asked = (request.query_params or {}).get("lang")
    return i18n.supported(asked if asked in i18n.LOCALES else fallback)


def not_found(services: Any, request: Any) -> Response:
    locale = _locale(request, http.current_locale())
    body = templating.render(
        "console/signin.html.j2", t=i18n.CONSOLE[locale], locale=locale, business_name="", nav=None, csrf="",
        title=i18n.CONSOLE[locale]["not_found"], switch=None, actor=None, mode="not_found",
    )
    return http.html(body, 404)


# ---- signing in and out -----------------------------------------------------------------------------


def _signin_values(page: Page, **values: Any) -> dict[str, Any]:
    shown = {"forbidden": False, "sent": False, "link_dead": False, "wrong_key": False, **values}
    return {
        "mode": "signin",
        "title": page.t["signin_title"],
        "action": page.url("/signin"),
        "minutes": LINK_MINUTES,
        **shown,
    }


def signin_form(page: Page, status: int = 200, **values: Any) -> Response:
    return page.render("console/signin.html.j2", status, **_signin_values(page, **values))


def signin_page(services: Any, request: Any, business_id: str) -> Response:
    """GET /console/{biz}/signin: the form (already signed in: on to Today)."""
    page = _open(services, request, business_id, post=False)
    if isinstance(page, Response):
        return page
    return page.redirect(page.url()) if page.session else signin_form(page)


def signin(services: Any, request: Any, business_id: str) -> Response:
    """POST /console/{biz}/signin: email a link (the same answer whoever asks) or sign in with the key."""
    page = _open(services, request, business_id, post=True)
    if isinstance(page, Response):
        return page
    if page.form.get("method") == "key":
        try:
            session = services.signin.with_owner_key(business_id, page.form.get("owner_key") or "")
        except Unauthorized:
            return signin_form(page, 401, wrong_key=True)
        except NotFound:
            return not_found(services, request)
        return _start(page, session)
    services.signin.request_link(business_id, (page.form.get("email") or "")[:254], page.locale)
    return signin_form(page, sent=True)


def link_page(services: Any, request: Any, business_id: str, token: str) -> Response:
    """GET /console/{biz}/signin/{token}: one button; uses nothing (mail scanners open every link)."""
    page = _open(services, request, business_id, post=False)
    if isinstance(page, Response):
        return page
    ok = services.signin.link_pending(business_id, token)
    return page.render(
        "console/signin.html.j2", 200 if ok else 410, mode="link", link_ok=ok,
        action=page.url(f"/signin/{quote(token)}"), signin_url=page.url("/signin"), title=page.t["link_title"],
    )


def use_link(services: Any, request: Any, business_id: str, token: str) -> Response:
    """POST /console/{biz}/signin/{token}: the button. Uses the link up and signs in."""
    page = _open(services, request, business_id, post=True)
    if isinstance(page, Response):
        return page
    session = services.signin.use_link(business_id, token)
    if session is None:
        return signin_form(page, 410, link_dead=True)
    return _start(page, session)


def _start(page: Page, session: str) -> Response:
    return page.redirect(
        page.url(), jar(page.services, page.business_id).header(cookie_name(page.business_id), session)
    )


def signout(services: Any, request: Any, business_id: str) -> Response:
    """POST /console/{biz}/signout: the session ends server-side (a copied cookie dies too)."""
    page = _open(services, request, business_id, post=True)
    if isinstance(page, Response):
        return page
    services.signin.sign_out(business_id, cookie_value(request, cookie_name(business_id)))
    return page.redirect(page.url("/signin"), jar(services, business_id).header(cookie_name(business_id), "", 0))


# ---- Today ------------------------------------------------------------------------------------------


def _today(page: Page) -> Response:
    from chalicelib.web.dashboard import trend_chart

    services, business = page.services, page.session.business if page.session else None
    assert business is not None
    today = services.insights.today(business)
    stored = services.reports.dashboard(business)
    last = date.fromisoformat(stored.today)
    days = [(last - timedelta(days=TREND_DAYS - i)).isoformat() for i in range(TREND_DAYS)]
    by_day = {r["date"]: r for r in stored.trend if isinstance(r, dict) and isinstance(r.get("date"), str)}
    names = _touchpoint_names(
        services, business.business_id, [tp for tp, _ in today.touchpoints] + [r.touchpoint_id for r in today.latest]
    )
    latest = [
        {
            "time": local_time(r.created_at, business.timezone),
            "touchpoint": names.get(r.touchpoint_id),
            "metric": r.metric,
            "score": r.score,
            "unhappy": r.unhappy,
            "comment": r.comment,
        }
        for r in today.latest
    ]
    recovery = ((stored.latest or {}).get("unhappy") or {}).get("recovery") or {}
    return page.render(
        "console/today.html.j2", current="today", title=page.t["today"], today=today, names=names, latest=latest,
        d=i18n.DIGEST[page.locale], recovery=recovery, figures=_figures(services, business),
        charts=[trend_chart(m, days, by_day, page.locale) for m in ("nps", "csat", "ces")],
        has_trend=bool(stored.trend),
    )


today = signed_in(_today)


def _figures(services: Any, business: Business) -> ResolutionFigures:
    """The resolution figures of the cases answered in the last 30 local days, today included."""
    last = local_day(services.clock.now(), business.timezone)
    figures: ResolutionFigures = services.cases.figures(business, last - timedelta(days=RESOLUTION_DAYS - 1), last)
    return figures


def _touchpoint_names(services: Any, business_id: str, ids: list[str]) -> dict[str, str]:
    names = {}
    for tp in dict.fromkeys(ids):
        found = services.directory.touchpoint(business_id, tp)
        names[tp] = found.name if found else tp
    return names


# ---- Why (issue #15) -----------------------------------------------------------------------------------


def _why(page: Page) -> Response:
    """What moves the score, from the newest stored report: effects, share changes, label groups and one
    heatmap per touchpoint. A report stored before issue #15 (or none yet) says so."""
    from pydantic import ValidationError

    from chalicelib.domain.why import Why
    from chalicelib.web import heatmap, why

    assert page.session is not None
    business = page.session.business
    stored = page.services.reports.latest(business) or {}
    block: Why | None = None
    try:
        block = Why.model_validate(stored["why"]) if stored.get("why") else None
    except ValidationError:
        block = None  # a report the code no longer reads: shown as "no figures yet", never a 500
    values: dict[str, Any] = {"w": i18n.WHY[page.locale], "report_day": stored.get("date"), "block": block}
    if block is not None:
        ids = list(block.heatmaps.by_touchpoint)
        names = {k: v for k, v in _touchpoint_names(page.services, business.business_id, ids).items()}
        min_n = stored.get("min_responses", 5)
        values.update(
            lead=why.lead_sentence(block, page.locale, names, min_n if isinstance(min_n, int) else 5),
            week=i18n.WHY[page.locale]["week"].format(first=block.first, last=block.last),
            key_rows=why.key_rows(block, page.locale),
            change_rows=why.change_rows(block, page.locale),
            label_rows=why.label_rows(block, page.locale),
            heatmaps=[
                (names.get(tp, tp), heatmap.svg(grid, page.locale, names.get(tp, tp), key=f"h{i}"))
                for i, (tp, grid) in enumerate(why.heatmap_grids(block))
            ],
            partial=i18n.WHY[page.locale]["partial"].format(n=block.missing_days) if block.missing_days else "",
        )
    return page.render("console/why.html.j2", current="why", title=page.t["why"], **values)


why = signed_in(_why)


# ---- the till ---------------------------------------------------------------------------------------


def _till(page: Page) -> Response:
    """GET shows the code (``?code=`` from the voucher email's QR) with the button; it never redeems."""
    code = ((page.request.query_params or {}).get("code") or "")[:40]
    return page.render(
        "console/till.html.j2", current="till", title=page.t["till_title"], code=code, result=None,
        action=page.url("/till"),
    )


def _redeem(page: Page) -> Response:
    assert page.session is not None
    code = (page.form.get("code") or "").strip()[:40]
    result: dict[str, Any]
    try:
        redeemed = page.services.followups.redeem(page.session.business, code)
        result = {"kind": "valid", "hint": page.t["valid_hint"].format(description=redeemed.description)}
    except Conflict:
        result = {"kind": "used", "hint": page.t["used_hint"].format(when=_used_at(page, code))}
    except Expired:
        result = {"kind": "expired", "hint": page.t["expired_hint"]}
    except NotFound:
        result = {"kind": "unknown", "hint": page.t["unknown_hint"]}
    except DomainError:
        result = {"kind": "unknown", "hint": page.t["error"]}
    return page.render(
        "console/till.html.j2", current="till", title=page.t["till_title"], code="", result=result, tried=code,
        action=page.url("/till"),
    )


def _used_at(page: Page, code: str) -> str:
    assert page.session is not None
    business = page.session.business
    used = page.services.followups.redeemed_at(business, code)
    return f"{used[:10]} {local_time(used, business.timezone)}" if used else "—"


till = signed_in(_till)
redeem = signed_in(_redeem, post=True)
