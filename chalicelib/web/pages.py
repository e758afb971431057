"""The survey pages a customer's phone shows: server-rendered, one tap, work without JavaScript.

Kept to the standard library (these pages are on the path of a tap) and small: a page with its inline
style and script stays far below 15 KB, and asks for nothing else (no fonts, CDNs or analytics). Every
value is escaped. With JavaScript, the page posts the same form with ``fetch`` and swaps in the answer's
``<main>``; without it, the browser posts the form and shows the same answer as a new page.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from html import escape

from chalicelib.domain.metrics import SCALES
from chalicelib.domain.models import MAX_COMMENT_CHARS, Locale
from chalicelib.errors import Conflict, DomainError, Expired, InvalidInput, InvalidToken, NotFound, Unauthorized
from chalicelib.web import i18n

# Colours checked for WCAG AA: #111 and #fff on #1d3557 / #fff, #333 on #fff, focus ring #b35900.
_STYLE = (
    "*{box-sizing:border-box}body{font:17px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "margin:0 auto;padding:16px;color:#111;background:#fff;max-width:34em}"
    "header{display:flex;justify-content:space-between;align-items:center;gap:8px;color:#333}"
    "header a{color:#1d3557;padding:10px 0;min-height:44px}"
    "h1{font-size:1.3em;margin:.4em 0 .8em}fieldset{border:0;padding:0;margin:0}legend{padding:0}"
    ".s{display:grid;gap:6px;grid-template-columns:repeat(6,1fr)}.s.l{grid-template-columns:1fr}"
    "button{font:inherit;min-height:48px;border-radius:10px;cursor:pointer}"
    ".s button{border:2px solid #1d3557;background:#fff;color:#111;font-weight:600;padding:4px 10px}"
    ".s.l button{text-align:left;display:flex;gap:14px;align-items:center}"
    ".s button:hover,.s button.on{background:#1d3557;color:#fff}"
    ":focus-visible{outline:3px solid #b35900;outline-offset:2px}"
    ".e{display:flex;justify-content:space-between;font-size:.85em;color:#333;margin-top:6px}"
    "label{display:block;margin:.8em 0 .3em}textarea,input[type=email],input[type=tel]{width:100%;font:inherit;"
    "padding:10px;"
    "min-height:48px;border:2px solid #555;border-radius:8px}.c{display:flex;gap:10px;align-items:flex-start}"
    ".c input{width:24px;height:24px;margin:2px 0;flex:none}"
    ".send{margin:1em 0;padding:0 28px;background:#1d3557;color:#fff;border:0}"
    ".err{color:#a00000;font-weight:600}.n{font-size:.85em;color:#333;text-align:right;margin:.2em 0}"
    "small{color:#333}.h{position:absolute;left:-9999px}[aria-busy=true] button{opacity:.6}"
    "@media(min-width:560px){.s{grid-template-columns:repeat(11,1fr)}.s.l{grid-template-columns:1fr}}"
    # Reason chips: a checkbox each, hidden behind its label, which is the 44 px tap target.
    ".r legend{font-weight:600;margin:.8em 0 .4em}.r div{display:flex;flex-wrap:wrap;gap:8px}"
    ".r input{position:absolute;opacity:0;width:1px;height:1px}.r label{display:flex;align-items:center;"
    "margin:0;min-height:44px;padding:6px 14px;border:2px solid #1d3557;border-radius:22px;cursor:pointer}"
    ".r input:checked+label{background:#1d3557;color:#fff}.r input:checked+label:before{content:'✓';margin-right:6px}"
    ".r input:focus-visible+label{outline:3px solid #b35900;outline-offset:2px}"
)

# Post the form with fetch and swap in the answer's <main>; on any failure, post it the old way.
_SCRIPT = (
    "(function(){var d=document,M=" + str(MAX_COMMENT_CHARS) + ";function bind(){"
    "var f=d.querySelector('form[data-f]');if(!f||!window.fetch||!window.DOMParser)return;"
    "var c=f.querySelector('textarea'),n=d.getElementById('n');"
    "if(c&&n){c.oninput=function(){var k=c.value.length;n.textContent=k+'/'+M+' '+n.dataset.u;"
    "n.className=k>=M?'n err':'n'};c.oninput()}"
    "f.addEventListener('submit',function(e){if(f.getAttribute('aria-busy')==='true'){e.preventDefault();return}"
    "var b=e.submitter,p=new URLSearchParams(new FormData(f));if(b&&b.name)p.append(b.name,b.value);"
    "e.preventDefault();f.setAttribute('aria-busy','true');"
    "fetch(f.action,{method:'POST',body:p,credentials:'same-origin'}).then(function(r){return r.text()})"
    ".then(function(h){var x=new DOMParser().parseFromString(h,'text/html'),m=x.querySelector('main');"
    "if(!m)throw 0;d.querySelector('main').replaceWith(m);d.title=x.title;"
    "d.documentElement.lang=x.documentElement.lang;var t=m.querySelector('h1');"
    "if(t){t.tabIndex=-1;t.focus()}bind()})"
    "['catch'](function(){if(b&&b.name){var i=d.createElement('input');i.type='hidden';i.name=b.name;"
    "i.value=b.value;f.appendChild(i)}HTMLFormElement.prototype.submit.call(f)})});"
    "var a=f.querySelector('button.on');if(a&&f.dataset.auto)a.click()}"
    "bind()})();"
)


def _page(locale: Locale, title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="{escape(locale)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{escape(title)}</title>'
        # An empty icon: otherwise every phone asks for /favicon.ico, one more request on a slow network.
        '<link rel="icon" href="data:,">'
        f"<style>{_STYLE}</style></head><body>{body}<script>{_SCRIPT}</script></body></html>"
    )


def labels(locale: Locale, metric: str) -> list[str]:
    """The words of every point (CSAT, CES) or of the two ends (NPS: first and last)."""
    if metric == "nps":
        text = i18n.SURVEY[locale]
        return [text["nps_low"], text["nps_high"]]
    return list(i18n.SCALE_LABELS[locale][metric])


def question(locale: Locale, metric: str, business_name: str) -> str:
    return i18n.SURVEY[locale][metric].format(name=business_name)


def _buttons(locale: Locale, metric: str, chosen: int | None) -> str:
    words = labels(locale, metric)
    out = []
    low, high = SCALES[metric]
    for s in range(low, high + 1):
        on = ' class="on" aria-current="true"' if s == chosen else ""
        if metric == "nps":
            end = {0: words[0], 10: words[1]}.get(s)
            # The accessible name starts with the number a person sees (WCAG "label in name").
            name = f' aria-label="{s} – {escape(end)}"' if end else ""
            out.append(f'<button name="score" value="{s}"{name}{on}>{s}</button>')
        else:
            out.append(f'<button name="score" value="{s}"{on}><b>{s}</b> {escape(words[s - 1])}</button>')
    return "".join(out)


def survey_page(
    *,
    locale: Locale,
    business_name: str,
    metric: str,
    action: str,
    chosen: int | None = None,
    other_lang_url: str | None = None,
    nonce: str | None = None,
) -> str:
    text = i18n.SURVEY[locale]
    listed = " l" if metric != "nps" else ""
    ends = ""
    if metric == "nps":
        ends = (
            f'<div class="e" aria-hidden="true"><span>0 · {escape(text["nps_low"])}</span>'
            f'<span>10 · {escape(text["nps_high"])}</span></div>'
        )
    other = ""
    if other_lang_url:
        other_locale = "en" if locale == "vi" else "vi"
        other = (
            f'<a href="{escape(other_lang_url)}" lang="{other_locale}" hreflang="{other_locale}">'
            f"{text['other']}</a>"
        )
    confirm = ""
    if chosen is not None:
        # A GET records nothing (mail scanners open every link): the page posts the chosen score itself,
        # and without JavaScript this button does it with one more tap.
        confirm = (
            f'<noscript><button class="send" name="score" value="{chosen}">'
            f"{escape(text['confirm'].format(score=chosen))}</button></noscript>"
        )
    auto = ' data-auto="1"' if chosen is not None else ""
    # This page view's proof: its answer (and any re-tap of it) claims the nonce; a new view gets a new one.
    hidden = f'<input type="hidden" name="nonce" value="{escape(nonce)}">' if nonce else ""
    body = (
        f"<main><header><span>{escape(business_name)}</span>{other}</header>"
        f'<form method="post" action="{escape(action)}" data-f{auto}>{hidden}<fieldset>'
        f'<legend><h1 id="q">{escape(question(locale, metric, business_name))}</h1></legend>'
        f'<div class="s{listed}">{_buttons(locale, metric, chosen)}</div>{ends}</fieldset>{confirm}</form></main>'
    )
    return _page(locale, text["title"], body)


def thank_you_page(
    *,
    locale: Locale,
    business_name: str,
    action: str,
    score: int,
    response_id: str,
    edit_token: str,
    voucher: str | None = None,
    comment: str = "",
    email: str = "",
    consent: bool = False,
    error: str | None = None,
    chips: Sequence[tuple[str, str]] = (),
    chosen_reasons: Collection[str] = (),
    ask_phone: bool = False,
    phone: str = "",
) -> str:
    text = i18n.SURVEY[locale]
    # Issue #16: only a business with Zalo connected asks for a phone: nothing else would reach it.
    phone_field = (
        f'<label for="p">{escape(text["phone"])}</label>'
        f'<input id="p" type="tel" name="phone" maxlength="32" autocomplete="tel" inputmode="tel" '
        f'value="{escape(phone)}">'
        if ask_phone
        else ""
    )
    consent_text = text["consent_zalo"] if ask_phone else text["consent"]
    email_label = text["email_voucher"].format(voucher=voucher) if voucher else text["email"]
    problem = f'<p class="err" role="alert" id="x">{escape(error)}</p>' if error else ""
    described = ' aria-describedby="x"' if error else ""
    body = (
        f"<main><h1>{escape(text['thanks'])}</h1><p>{escape(text['recorded'].format(score=score))}</p>{problem}"
        f'<form method="post" action="{escape(action)}" data-f>'
        f'<input type="hidden" name="response_id" value="{escape(response_id)}">'
        f'<input type="hidden" name="edit_token" value="{escape(edit_token)}">'
        f'<input type="hidden" name="score_shown" value="{score}">'
        f"{_chips(text['reasons'], chips, chosen_reasons)}"
        f'<label for="c">{escape(text["comment"])}</label>'
        f'<textarea id="c" name="comment" maxlength="{MAX_COMMENT_CHARS}" rows="4" aria-describedby="n"{described}>'
        f"{escape(comment)}</textarea>"
        f'<p class="n" id="n" aria-live="polite" data-u="{escape(text["chars"])}">'
        f"{len(comment)}/{MAX_COMMENT_CHARS} {escape(text['chars'])}</p>"
        f'<label for="m">{escape(email_label)}</label>'
        f'<input id="m" type="email" name="email" maxlength="254" autocomplete="email" value="{escape(email)}">'
        f"{phone_field}"
        f'<label class="c"><input type="checkbox" name="consent" value="true"{" checked" if consent else ""}>'
        f"<span>{escape(consent_text.format(name=business_name))}</span></label>"
        # A field people never see: a bot that fills it in is thanked and ignored.
        f'<div class="h" aria-hidden="true"><label>Website<input name="website" tabindex="-1" autocomplete="off">'
        f"</label></div>"
        f'<button class="send">{escape(text["send"])}</button><p><small>{escape(text["privacy"])}</small></p>'
        f"</form></main>"
    )
    return _page(locale, text["thanks"], body)


def _chips(legend: str, chips: Sequence[tuple[str, str]], chosen: Collection[str]) -> str:
    """"What stood out?": one checkbox per chip (``name=reasons``), posted with the comment form."""
    if not chips:
        return ""
    boxes = "".join(
        f'<input type="checkbox" id="r{i}" name="reasons" value="{escape(key)}"{" checked" if key in chosen else ""}>'
        f'<label for="r{i}">{escape(label)}</label>'
        for i, (key, label) in enumerate(chips)
    )
    return f'<fieldset class="r"><legend>{escape(legend)}</legend><div>{boxes}</div></fieldset>'


def saved_page(*, locale: Locale) -> str:
    text = i18n.SURVEY[locale]
    return _page(locale, text["thanks"], f"<main><h1>{escape(text['saved'])}</h1></main>")


STALE_PAGE_CODES = frozenset({"nonce_required", "invalid_nonce", "nonce_expired"})
# What a person is told, by what went wrong (a forged link reads as one that does not exist).
_ERROR_TEXT: tuple[tuple[type[DomainError], str], ...] = (
    (Unauthorized, "not_found"),
    (InvalidToken, "not_found"),
    (NotFound, "not_found"),
    (Expired, "expired"),
    (Conflict, "closed"),
    (InvalidInput, "invalid"),
)
_PAGE_LOCALE = "page_locale"


def localize(exc: DomainError, locale: str, *, keep: bool = False) -> DomainError:
    """Mark ``exc`` with the language its error page speaks (the link's, once known); with ``keep``, a
    language already marked stays."""
    if not (keep and _PAGE_LOCALE in vars(exc)):
        vars(exc)[_PAGE_LOCALE] = locale
    return exc


def error_page(exc: DomainError, locale: str) -> str:
    """A friendly page in the person's language: what happened and what to do, never a code or a trace."""
    shown = i18n.supported(vars(exc).get(_PAGE_LOCALE) or locale)
    text = i18n.SURVEY[shown]
    key = next((words for kind, words in _ERROR_TEXT if isinstance(exc, kind)), "error")
    if exc.code in STALE_PAGE_CODES:
        key = "stale"  # the link is fine, the page view is not: a reload or a new scan answers
    elif exc.code == "touchpoint_retired":
        key = "retired"  # the owner took this QR code out of use: nothing the customer can do
    hint = text.get(key + "_hint", "")
    body = f"<main><h1>{escape(text[key])}</h1>" + (f"<p>{escape(hint)}</p>" if hint else "") + "</main>"
    return _page(shown, text["title"], body)
