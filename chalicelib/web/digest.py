"""The owner's daily digest email: subject, HTML and plain text, in the business's locale (vi or en).

Pure rendering (Jinja2, autoescaped): the send goes through ``chalicelib.services.mail`` like every
other email. The chart is HTML table cells with widths and background colours, no images, so Gmail and
Outlook (which ignores most CSS but honours ``width`` and ``bgcolor`` on cells) draw the same bars.
The formatting helpers here are shared with the dashboard so both say the same thing the same way.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from chalicelib.domain.report import DailyReport
from chalicelib.ports import RenderedEmail

TEMPLATES = Path(__file__).parent / "templates"
DIGEST_COMMENTS = 10

LABELS: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Báo cáo ngày",
        "subject": "{name}: báo cáo ngày {date}",
        "subject_empty": "{name}: báo cáo ngày {date} — chưa có phản hồi nào",
        "intro": "Khách hàng đã nói gì về {name} ngày {date} ({timezone}).",
        "responses": "phản hồi",
        "no_responses": "Chưa có phản hồi nào trong ngày này.",
        "no_responses_hint": "Hãy kiểm tra mã QR đã được đặt ở nơi khách dễ thấy chưa.",
        "too_few": "quá ít phản hồi",
        "too_few_long": "Dưới {min} phản hồi: chưa đủ để đưa ra con số đáng tin.",
        "nps": "NPS",
        "csat": "CSAT (hài lòng)",
        "ces": "CES (dễ dàng)",
        "nps_q": "Mức độ sẵn lòng giới thiệu",
        "csat_q": "Tỷ lệ khách hài lòng (4–5)",
        "ces_q": "Điểm dễ dàng trung bình (1–7)",
        "margin": "sai số ±{m}",
        "previous_day": "so với hôm trước",
        "trailing_7": "so với 7 ngày trước",
        "trailing_28": "so với 28 ngày trước",
        "noise": "trong biên độ nhiễu",
        "distribution": "Phân bố điểm",
        "touchpoints": "Theo điểm tiếp xúc",
        "channels": "Theo kênh",
        "funnel": "Phễu khảo sát",
        "opened": "mở",
        "scored": "chấm điểm",
        "commented": "góp ý",
        "vouchers": "Phiếu ưu đãi",
        "issued": "đã phát",
        "redeemed": "đã dùng",
        "unhappy": "Khách chưa hài lòng",
        "recovery": "Tỷ lệ lấy lại khách (28 ngày)",
        "recovery_none": "chưa có lời xin lỗi nào được gửi",
        "comments": "Khách chưa hài lòng nói gì",
        "more_comments": "và {n} góp ý khác trên trang tổng quan",
        "dashboard": "Mở trang tổng quan",
        "footer": "Bạn nhận email này vì là chủ của {name}.",
        "unsubscribe": "Ngừng nhận báo cáo ngày",
        "touchpoint": "Điểm tiếp xúc",
        "metric": "Chỉ số",
        "value": "Kết quả",
        "score": "Điểm",
        "count": "Số lượng",
        "channel_qr": "Mã QR",
        "channel_receipt": "Hóa đơn",
        "channel_email": "Email",
        "channel_web": "Website",
    },
    "en": {
        "title": "Daily report",
        "subject": "{name}: daily report for {date}",
        "subject_empty": "{name}: daily report for {date} — no responses",
        "intro": "What customers told {name} on {date} ({timezone}).",
        "responses": "responses",
        "no_responses": "No responses on this day.",
        "no_responses_hint": "Check that the QR codes are where customers can see them.",
        "too_few": "too few responses",
        "too_few_long": "Fewer than {min} responses: too few for a figure you can trust.",
        "nps": "NPS",
        "csat": "CSAT (satisfied)",
        "ces": "CES (ease)",
        "nps_q": "Likelihood to recommend",
        "csat_q": "Share of satisfied customers (4–5)",
        "ces_q": "Mean ease score (1–7)",
        "margin": "margin ±{m}",
        "previous_day": "vs the day before",
        "trailing_7": "vs the previous 7 days",
        "trailing_28": "vs the previous 28 days",
        "noise": "within noise",
        "distribution": "Score distribution",
        "touchpoints": "By touchpoint",
        "channels": "By channel",
        "funnel": "Survey funnel",
        "opened": "opened",
        "scored": "scored",
        "commented": "commented",
        "vouchers": "Vouchers",
        "issued": "issued",
        "redeemed": "redeemed",
        "unhappy": "Unhappy customers",
        "recovery": "Recovery rate (28 days)",
        "recovery_none": "no apology sent yet",
        "comments": "What unhappy customers said",
        "more_comments": "and {n} more on the dashboard",
        "dashboard": "Open the dashboard",
        "footer": "You receive this email as an owner of {name}.",
        "unsubscribe": "Stop the daily report",
        "touchpoint": "Touchpoint",
        "metric": "Metric",
        "value": "Result",
        "score": "Score",
        "count": "Count",
        "channel_qr": "QR code",
        "channel_receipt": "Receipt",
        "channel_email": "Email",
        "channel_web": "Website",
    },
}


def labels(locale: str) -> dict[str, str]:
    return LABELS[locale if locale in LABELS else "vi"]


def number(value: float | int | None, locale: str, places: int | None = None) -> str:
    """A figure as the owner reads it: Vietnamese writes a decimal comma (4,25), English a point."""
    if value is None:
        return "—"
    text = str(value) if places is None else f"{value:.{places}f}"
    return text.replace(".", ",") if locale == "vi" else text


def headline(metric: str, value: float | int | None, locale: str) -> str:
    if value is None:
        return "—"
    if metric == "nps":
        return f"{int(value):+d}" if value else "0"
    if metric == "csat":
        return number(value, locale, 1) + "%"
    return number(value, locale, 2)


def signed(metric: str, delta: float | int | None, locale: str) -> str:
    """A change with its sign (CSAT in percentage points, CES in score points, NPS in NPS points)."""
    if delta is None:
        return "—"
    places = {"nps": 0, "csat": 1, "ces": 2}[metric]
    magnitude = str(abs(int(delta))) if places == 0 else number(abs(delta), locale, places)
    return ("+" if delta > 0 else "−" if delta < 0 else "±") + magnitude


def bars(distribution: dict[Any, int]) -> list[dict[str, Any]]:
    """Rows of a bar chart: score, count, and a width in whole percent of the largest count."""
    items = sorted((int(k), int(v)) for k, v in distribution.items())
    top = max((v for _, v in items), default=0)
    return [{"score": s, "count": v, "width": round(100 * v / top) if top else 0} for s, v in items]


def bar_colour(metric: str, score: int) -> str:
    """Unhappy scores red, neutral grey, happy green (the same cut-offs as the metric definitions)."""
    low, mid = {"nps": (6, 8), "csat": (2, 3), "ces": (3, 4)}[metric]
    return "#c0392b" if score <= low else "#95a5a6" if score <= mid else "#1e8449"


def local_time(created_at: str, timezone: str) -> str:
    """HH:MM in the business's zone (comments are stored with UTC times)."""
    from chalicelib.domain.calendar import parse_iso_utc, zone

    try:
        return parse_iso_utc(created_at).astimezone(zone(timezone)).strftime("%H:%M")
    except (ValueError, KeyError):
        return ""


@lru_cache(maxsize=1)
def _env() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(number=number)
    env.globals.update(headline=headline, signed=signed, bars=bars, bar_colour=bar_colour)
    return env


def _text_env() -> Any:
    # Plain text is not HTML: escaping would turn "Phở & cà phê" into "Phở &amp; cà phê".
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=False,  # noqa: S701 - the text/plain part; the HTML part is autoescaped
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(number=number)
    env.globals.update(headline=headline, signed=signed, bars=bars, bar_colour=bar_colour)
    return env


def context(report: DailyReport, dashboard_url: str, unsubscribe_url: str | None = None) -> dict[str, Any]:
    locale = report.locale if report.locale in LABELS else "vi"
    t = labels(locale)
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
    html = _env().get_template("digest/digest.html.j2").render(**ctx)
    text = _text_env().get_template("digest/digest.txt.j2").render(**ctx)
    return RenderedEmail(subject=subject, html=html, text=text)
