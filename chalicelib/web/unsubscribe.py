"""The ``/u/{token}`` pages: GET shows what unsubscribing does and a button, POST unsubscribes (RFC 8058:
mail clients send ``List-Unsubscribe=One-Click`` as a form post and expect a 200).

A GET changes nothing: mail scanners open every link. Every value is escaped; the page is localized from
the business's locale, or the reader's Accept-Language.
"""

from __future__ import annotations

from html import escape
from typing import Any

from chalice import Response

from chalicelib.web import http

TEXT = {
    "vi": {
        "title": "Hủy nhận email",
        "ask": "Bạn sẽ không nhận thêm email nào từ {name} nữa.",
        "button": "Hủy nhận email",
        "done": "Đã hủy. Bạn sẽ không nhận thêm email nào từ {name}.",
    },
    "en": {
        "title": "Unsubscribe",
        "ask": "You will get no more emails from {name}.",
        "button": "Unsubscribe",
        "done": "Done. You will get no more emails from {name}.",
    },
}


def _locale(request: Any, business_locale: str | None) -> str:
    accept = (http.header(request, "accept-language") or "").lower()
    if accept.startswith("en"):
        return "en"
    if accept.startswith("vi"):
        return "vi"
    return business_locale if business_locale in TEXT else "vi"


def _page(locale: str, body: str) -> str:
    text = TEXT[locale]
    return (
        f'<!doctype html><html lang="{locale}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{escape(text["title"])}</title>'
        "<style>body{font:16px/1.4 system-ui,sans-serif;max-width:36em;margin:auto;padding:16px;color:#111}"
        "button{min-height:44px;padding:0 24px;font:inherit;background:#234;color:#fff;border:0;border-radius:8px}"
        f"</style></head><body><main>{body}</main></body></html>"
    )


def _business(services: Any, token: str) -> tuple[str, Any]:
    business_id, _ = services.mail.read_unsubscribe(token)
    return business_id, services.followups.business(business_id)


def show(services: Any, request: Any, token: str) -> Response:
    _, business = _business(services, token)
    locale = _locale(request, business.locale if business else None)
    text = TEXT[locale]
    name = business.name if business else ""
    body = (
        f"<h1>{escape(text['title'])}</h1><p>{escape(text['ask'].format(name=name))}</p>"
        f'<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        f"<button>{escape(text['button'])}</button></form>"
    )
    return http.html(_page(locale, body))


def post(services: Any, request: Any, token: str) -> Response:
    http.raw_body(request)  # size limit; the body itself (List-Unsubscribe=One-Click) needs no reading
    _, business = _business(services, token)
    services.mail.unsubscribe(token)
    locale = _locale(request, business.locale if business else None)
    text = TEXT[locale]
    name = business.name if business else ""
    return http.html(_page(locale, f"<h1>{escape(text['done'].format(name=name))}</h1>"))
