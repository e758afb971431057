"""Words of issue #16's channels for owners: the Slack message of an event and the email that tells the
owners an endpoint was paused, in the business's language. Slack's text is plain (``mrkdwn`` escapes the
three characters Slack reads as markup), never HTML."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.domain.models import Business
from chalicelib.ports import RenderedEmail
from chalicelib.web import i18n, templating
from chalicelib.web.emails import clean

_TOP = {"nps": 10, "csat": 5, "ces": 7}
_NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}
_KEYS = {
    "response.created": "slack_response",
    "case.opened": "slack_case_opened",
    "case.replied": "slack_case_replied",
    "case.resolved": "slack_case_resolved",
}


def _slack_escape(text: str) -> str:
    # Slack's incoming webhooks read &, < and > as markup (links, mentions); everything else is text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(business: Business, event_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    words = i18n.REACH[i18n.supported(business.locale)]
    name = business.name
    if event_type == "report.daily":
        figures = [
            f"{_NAMES.get(m, m)} {figure['headline']} (n={figure['n']})"
            for m, figure in (data.get("overall") or {}).items()
            if isinstance(figure, Mapping) and figure.get("headline") is not None
        ]
        text = words["slack_report"].format(
            name=name, day=data.get("day", ""), figures=", ".join(figures) or words["slack_no_figures"]
        )
    else:
        metric = str(data.get("metric", ""))
        text = words[_KEYS.get(event_type, "slack_response")].format(
            name=name, metric=_NAMES.get(metric, metric), score=data.get("score", ""), top=_TOP.get(metric, ""),
            touchpoint=data.get("touchpoint_name") or data.get("touchpoint_id", ""),
        )
        comment = data.get("comment")
        if isinstance(comment, str) and comment:
            text += "\n> " + comment[:500].replace("\n", "\n> ")
    return {"text": _slack_escape(text)}


def render_paused_email(
    business: Business, locale: str, *, url: str, console_url: str, unsubscribe_url: str
) -> RenderedEmail:
    language = i18n.supported(locale)
    words = i18n.REACH[language]
    footer = {key: i18n.EMAIL[language][key] for key in ("footer", "unsubscribe")}
    name = clean(business.name)
    subject = " ".join(words["paused_subject"].format(name=name).split())
    values = {
        "t": footer, "locale": language, "subject": subject, "business_name": name, "title": words["paused_title"],
        "body": words["paused_body"].format(name=name), "detail": url, "url": console_url,
        "button": words["paused_button"], "unsubscribe_url": unsubscribe_url,
    }
    return RenderedEmail(
        subject=subject,
        html=templating.render("email/notice.html", **values),
        text=templating.render("email/notice.txt", **values),
    )
