"""The owner's daily digest email: subject, HTML and plain text, in the business's locale (vi or en).

Pure rendering (Jinja2, autoescaped): the send goes through ``chalicelib.services.mail`` like every
other email. The chart is HTML table cells with widths and background colours, no images, so Gmail and
Outlook (which ignores most CSS but honours ``width`` and ``bgcolor`` on cells) draw the same bars.
The figure formatting lives in ``templating`` with the one environment, shared with the dashboard.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.calendar import parse_iso_utc, zone
from chalicelib.domain.report import DailyReport
from chalicelib.ports import RenderedEmail
from chalicelib.web import i18n
from chalicelib.web.templating import headline, local_time, number, render
from chalicelib.web.why import digest_context

DIGEST_COMMENTS = 10


def _resolution(report: DailyReport, t: dict[str, str], locale: str, console_url: str | None) -> dict[str, Any] | None:
    """Issue #14: the complaint inbox's figures with their n, and the overdue cases each with its link."""
    block = report.resolution
    if block is None:
        return None
    f = block.figures

    def hours(value: float | None) -> str:
        return t["no_cases"] if value is None else t["hours"].format(h=number(value, locale))

    def when(created_at: str) -> str:
        moment = parse_iso_utc(created_at).astimezone(zone(report.timezone))
        return moment.strftime("%d/%m %H:%M" if locale == "vi" else "%m-%d %H:%M")

    pct = f.contacted_within_24h_pct
    return {
        "rows": [
            (t["time_to_reply"], hours(f.median_hours_to_reply.value), f.median_hours_to_reply.n),
            (t["time_to_resolve"], hours(f.median_hours_to_resolve.value), f.median_hours_to_resolve.n),
            (t["contacted_24h"], t["no_cases"] if pct.value is None else number(pct.value, locale) + "%", pct.n),
        ],
        "overdue_title": t["overdue"].format(n=block.overdue_count),
        "overdue": [
            {
                "time": when(c.created_at), "touchpoint": c.touchpoint, "metric": t[c.metric], "score": c.score,
                "url": f"{console_url}/cases/{c.response_id}" if console_url else None,
            }
            for c in block.overdue
        ],
        "overdue_more": t["overdue_more"].format(n=block.overdue_count - len(block.overdue))
        if block.overdue_count > len(block.overdue) else "",
    }


def context(
    report: DailyReport, dashboard_url: str, unsubscribe_url: str | None = None, console_url: str | None = None
) -> dict[str, Any]:
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
        "resolution": _resolution(report, t, locale, console_url),
        # issue #15: the lead sentence and the "what moves the score" blocks (None before #15)
        "why": digest_context(report.why, locale, touchpoint_names(report), report.min_responses),
    }


def touchpoint_names(report: DailyReport) -> dict[str, str]:
    return {g.key: g.name for g in report.touchpoints if g.name}


def render_digest(
    report: DailyReport, *, dashboard_url: str, unsubscribe_url: str | None = None, console_url: str | None = None
) -> RenderedEmail:
    ctx = context(report, dashboard_url, unsubscribe_url, console_url)
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
