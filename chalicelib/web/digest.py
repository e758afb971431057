"""The owner's daily digest email: subject, HTML and plain text, in the business's locale (vi or en).

Pure rendering (Jinja2, autoescaped): the send goes through ``chalicelib.services.mail`` like every
other email. The chart is HTML table cells with widths and background colours, no images, so Gmail and
Outlook (which ignores most CSS but honours ``width`` and ``bgcolor`` on cells) draw the same bars.
The figure formatting lives in ``templating`` with the one environment, shared with the dashboard.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.report import DailyReport
from chalicelib.ports import RenderedEmail
from chalicelib.web import i18n
from chalicelib.web.templating import headline, local_time, number, render

DIGEST_COMMENTS = 10


def context(report: DailyReport, dashboard_url: str, unsubscribe_url: str | None = None) -> dict[str, Any]:
    locale = i18n.supported(report.locale)
    t = i18n.DIGEST[locale]
    comments = [
        {"comment": c.comment, "metric": c.metric, "score": c.score, "time": local_time(c.created_at, report.timezone)}
        for c in report.comments[:DIGEST_COMMENTS]
    ]
    return {
        "r": report,
        "t": t,
        "locale": locale,
        "dashboard_url": dashboard_url,
        "unsubscribe_url": unsubscribe_url,
        "metrics": [m for m in ("nps", "csat", "ces") if report.metrics[m].summary.n > 0],
        "empty": report.responses == 0,
        "comments": comments,
        "more_comments": max(0, report.comments_total - len(comments)),
        "intro": t["intro"].format(name=report.business_name, date=report.date, timezone=report.timezone),
        "footer": t["footer"].format(name=report.business_name),
        "too_few_long": t["too_few_long"].format(min=report.min_responses),
    }


def render_digest(report: DailyReport, *, dashboard_url: str, unsubscribe_url: str | None = None) -> RenderedEmail:
    ctx = context(report, dashboard_url, unsubscribe_url)
    t = ctx["t"]
    subject_key = "subject_empty" if ctx["empty"] else "subject"
    subject = t[subject_key].format(name=report.business_name, date=report.date)
    if not ctx["empty"]:
        nps = report.metrics["nps"].summary
        if nps.headline is not None:
            loc = ctx["locale"]
            subject += f" · NPS {headline('nps', nps.headline, loc)} (±{number(nps.margin_of_error, loc)})"
    # A subject is a header: no line breaks, whatever a business calls itself.
    subject = " ".join(subject.split())[:200]
    html = render("digest/digest.html.j2", **ctx)
    text = render("digest/digest.txt.j2", **ctx)
    return RenderedEmail(subject=subject, html=html, text=text)
