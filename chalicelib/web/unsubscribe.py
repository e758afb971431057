"""The ``/u/{token}`` pages: GET shows what unsubscribing does and a button, POST unsubscribes (RFC 8058:
mail clients send ``List-Unsubscribe=One-Click`` as a form post and expect a 200).

A GET changes nothing: mail scanners open every link. Every value is escaped; the page is localized from
the business's locale, or the reader's Accept-Language.
"""

from __future__ import annotations

from html import escape
from typing import Any

from chalice import Response

from chalicelib.domain.models import Locale
from chalicelib.web import http, i18n


def _locale(request: Any, business_locale: str | None) -> Locale:
    accept = (http.header(request, "accept-language") or "").lower()
    if accept.startswith("en"):
        return "en"
    if accept.startswith("vi"):
        return "vi"
    return i18n.supported(business_locale)


def _page(locale: Locale, body: str) -> str:
    text = i18n.UNSUBSCRIBE[locale]
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
    return http.html(_page(locale, _ask(locale, business.name if business else "")))


def _ask(locale: Locale, name: str, note: str = "") -> str:
    text = i18n.UNSUBSCRIBE[locale]
    return (
        f"<h1>{escape(text['title'])}</h1>{note}<p>{escape(text['ask'].format(name=name))}</p>"
        f'<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        f"<button>{escape(text['button'])}</button></form>"
    )


def post(services: Any, request: Any, token: str) -> Response:
    raw = http.raw_body(request)  # size limit first
    _, business = _business(services, token)  # a forged token is a 404 whatever the body
    locale = _locale(request, business.locale if business else None)
    name = business.name if business else ""
    if not _one_click(request, raw):
        # Not an unsubscribe request (RFC 8058 names the one body that is): nothing changes, and a
        # person who got here anyway gets the button to confirm.
        note = f"<p>{escape(i18n.UNSUBSCRIBE[locale]['confirm'])}</p>"
        return http.html(_page(locale, _ask(locale, name, note)), 422)
    services.mail.unsubscribe(token)
    return http.html(_page(locale, f"<h1>{escape(i18n.UNSUBSCRIBE[locale]['done'].format(name=name))}</h1>"))


def _one_click(request: Any, raw: bytes) -> bool:
    """True for ``List-Unsubscribe=One-Click`` sent either way RFC 8058 allows: urlencoded or multipart."""
    if http.media_type(request) != "multipart/form-data":
        return http.form_body(request).get("List-Unsubscribe") == "One-Click"  # 415 for other media types
    from email import policy
    from email.parser import BytesParser

    try:
        head = b"Content-Type: " + (http.header(request, "content-type") or "").encode("ascii") + b"\r\n\r\n"
        message = BytesParser(policy=policy.HTTP).parsebytes(head + raw)
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "List-Unsubscribe":
                payload = part.get_payload(decode=True)
                return isinstance(payload, bytes) and payload.strip() == b"One-Click"
    except (UnicodeError, ValueError, LookupError, TypeError, AttributeError):
        return False
    return False
