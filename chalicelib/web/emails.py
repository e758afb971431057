"""Email bodies: Jinja2 templates in ``templates/email/`` (HTML with autoescape, plain text without, since
plain text is never interpreted), in Vietnamese and English. Imported only by the stream handler's path.

``render(kind, locale, subject_args=..., **context) -> RenderedEmail(subject, html, text)``; kinds:
``voucher``, ``apology``, ``alert`` (one or many alerts: the batched alert is the same template),
``cap_notice`` (to the owners: today's cap of customer emails is reached), ``reply`` (issue #14: the owner's
own reply from the complaint inbox, their text as written, escaped, line breaks kept; ``threaded=True``
makes the subject "Re: " + the apology's).

The apology never receives the customer's comment: text typed by a customer never goes to a customer
address (issue #11 item 4); only the owners' alert shows it, escaped.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.ports import RenderedEmail
from chalicelib.web import i18n, templating

# Nothing but tab and newline survives from C0/C1 controls and bidi overrides: a comment cannot
# reorder what the owner reads, nor smuggle a line break into a subject.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(value: Any) -> Any:
    """Control and bidi characters out of any text that goes into an email; other types untouched."""
    return _CONTROLS.sub("", value) if isinstance(value, str) else value


def render(kind: str, locale: str, *, subject_args: dict[str, Any], **context: Any) -> RenderedEmail:
    locale = i18n.supported(locale)
    t = i18n.EMAIL[locale]
    batched = kind == "alert" and len(context.get("alerts", [])) > 1
    # An owner's reply that answers the apology: "Re: " + its subject, so mail clients show one thread.
    threaded = kind == "reply" and bool(context.get("threaded"))
    subject_key = "alert_batch_subject" if batched else "apology_subject" if threaded else f"{kind}_subject"
    subject = " ".join(t[subject_key].format(**{k: clean(v) for k, v in subject_args.items()}).split())
    if threaded:
        subject = "Re: " + subject
    values = {k: _deep_clean(v) for k, v in context.items()}
    values.update(t=t, locale=locale, subject=subject)
    html = templating.render(f"email/{kind}.html", **values)
    text = templating.render(f"email/{kind}.txt", **values)
    return RenderedEmail(subject=subject, html=html, text=text)


def _deep_clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_clean(v) for v in value]
    return clean(value)


def channel_label(locale: str, channel: str) -> str:
    return i18n.CHANNELS[i18n.supported(locale)].get(channel, channel)


def format_day(locale: str, iso_day: str) -> str:
    year, month, day = iso_day[:10].split("-")
    return f"{day}/{month}/{year}" if locale == "vi" else f"{year}-{month}-{day}"
