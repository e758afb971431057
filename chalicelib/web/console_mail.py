"""The console's sign-in email (issue #14): HTML and plain text, Vietnamese or English, in the layout and
footer of every other email. Passed to the sign-in service by wiring, so services never import the web."""

from __future__ import annotations

from chalicelib.domain.models import Business
from chalicelib.ports import RenderedEmail
from chalicelib.web import i18n, templating
from chalicelib.web.emails import clean


def render_signin_email(
    business: Business, locale: str, *, url: str, minutes: int, unsubscribe_url: str
) -> RenderedEmail:
    language = i18n.supported(locale)
    # The console's words, with the footer every email shares.
    footer = {key: i18n.EMAIL[language][key] for key in ("footer", "unsubscribe")}
    t = {**i18n.CONSOLE[language], **footer}
    name = clean(business.name)
    subject = " ".join(t["mail_subject"].format(name=name).split())
    values = {
        "t": t,
        "locale": language,
        "subject": subject,
        "business_name": name,
        "url": url,
        "body": t["mail_body"].format(name=name, minutes=minutes),
        "unsubscribe_url": unsubscribe_url,
    }
    return RenderedEmail(
        subject=subject,
        html=templating.render("console/signin_email.html", **values),
        text=templating.render("console/signin_email.txt", **values),
    )
