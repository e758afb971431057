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

from chalicelib.ports import InlineImage, RenderedEmail
from chalicelib.web import i18n, templating
from chalicelib.web.templating import format_day as format_day  # the EmailTemplates port names it here

# Nothing but tab and newline survives from C0/C1 controls and bidi overrides: a comment cannot
# reorder what the owner reads, nor smuggle a line break into a subject.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(value: Any) -> Any:
    """Control and bidi characters out of any text that goes into an email; other types untouched."""
    return _CONTROLS.sub("", value) if isinstance(value, str) else value


def render(kind: str, locale: str, *, subject_args: dict[str, Any], **context: Any) -> RenderedEmail:
    """``till_url`` (with a ``code``): the HTML part also shows the code as a QR code of that URL, an
    inline PNG the till scans (issue #14); the code stays written out in both parts."""
    locale = i18n.supported(locale)
    t = i18n.EMAIL[locale]
    batched = kind == "alert" and len(context.get("alerts", [])) > 1
    # An owner's reply that answers the apology: "Re: " + its subject, so mail clients show one thread.
    threaded = kind == "reply" and bool(context.get("threaded"))
    subject_key = "alert_batch_subject" if batched else "apology_subject" if threaded else f"{kind}_subject"
    subject = " ".join(t[subject_key].format(**{k: clean(v) for k, v in subject_args.items()}).split())
    till_url = context.pop("till_url", None)
    if threaded:
        subject = "Re: " + subject
    values = {k: _deep_clean(v) for k, v in context.items()}
    images = (till_qr(till_url, str(values["code"])),) if till_url and values.get("code") else ()
    till = {"cid": images[0].cid, "size": png_width(images[0].data)} if images else None
    values.update(t=t, locale=locale, subject=subject, till_qr=till)
    html = templating.render(f"email/{kind}.html", **values)
    text = templating.render(f"email/{kind}.txt", **values)
    return RenderedEmail(subject=subject, html=html, text=text, images=images)


TILL_QR_SCALE = 4  # pixels per module: about 180 px for a till URL, crisp on a phone held to a scanner


def till_qr(url: str, code: str) -> InlineImage:
    """The voucher's code as a QR code of the till's URL, for an ``<img src="cid:...">`` of the email."""
    from chalicelib.web import qr  # segno: drawn only on the email path

    name = re.sub(r"[^A-Za-z0-9-]", "", code)[:40] or "code"
    return InlineImage(cid=f"till-{name}@voucher.qr", data=qr.qr_png(url, TILL_QR_SCALE), filename=f"{name}.png")


def png_width(png: bytes) -> int:
    """The width in pixels a PNG declares (its IHDR chunk), for the ``<img>`` size mail clients lay out."""
    return int.from_bytes(png[16:20], "big")


def _deep_clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_clean(v) for v in value]
    return clean(value)


def channel_label(locale: str, channel: str) -> str:
    return i18n.CHANNELS[i18n.supported(locale)].get(channel, channel)

