"""Email bodies: Jinja2 templates in ``templates/email/`` (HTML with autoescape, plain text without, since
plain text is never interpreted), in Vietnamese and English. Imported only by the stream handler's path.

``render(kind, locale, subject_args=..., **context) -> RenderedEmail(subject, html, text)``; kinds:
``voucher``, ``apology``, ``alert`` (one or many alerts: the batched alert is the same template),
``cap_notice`` (to the owners: today's cap of customer emails is reached).

The apology never receives the customer's comment: text typed by a customer never goes to a customer
address (issue #11 item 4); only the owners' alert shows it, escaped.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalicelib.ports import RenderedEmail

TEMPLATES = Path(__file__).resolve().parent / "templates" / "email"
# Nothing but tab and newline survives from C0/C1 controls and bidi overrides: a comment cannot
# reorder what the owner reads, nor smuggle a line break into a subject.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

TEXT: dict[str, dict[str, str]] = {
    "vi": {
        "voucher_subject": "{name}: ưu đãi cảm ơn bạn đã góp ý",
        "voucher_title": "Cảm ơn bạn đã góp ý!",
        "voucher_intro": "Như đã hứa, đây là ưu đãi của bạn:",
        "valid_until": "Có hiệu lực đến hết ngày",
        "show_code": "Vui lòng đưa mã này cho nhân viên khi thanh toán.",
        "apology_subject": "{name} xin lỗi bạn",
        "apology_title": "Chúng tôi rất tiếc",
        "apology_body": "Cảm ơn bạn đã cho chúng tôi biết trải nghiệm vừa rồi chưa tốt. "
        "Chúng tôi xin lỗi và sẽ khắc phục.",
        "apology_reply": "Nếu bạn muốn kể thêm, chỉ cần trả lời email này.",
        "recovery_intro": "Mong bạn cho chúng tôi một cơ hội nữa:",
        "signature": "Trân trọng,",
        "alert_subject": "{name}: khách hàng chưa hài lòng ({metric} {score})",
        "alert_batch_subject": "{name}: {count} khách hàng chưa hài lòng trong 5 phút",
        "alert_title": "Khách hàng chưa hài lòng",
        "alert_more": "Nhiều phản hồi chưa hài lòng đến cùng lúc nên được gộp vào một email.",
        "alert_hidden": "… và {count} phản hồi khác: xem trên bảng điều khiển.",
        "cap_notice_subject": "{name}: đã đạt giới hạn email gửi khách hôm nay",
        "cap_title": "Đã tạm dừng email gửi khách hôm nay",
        "cap_body": "Cửa hàng đã gửi {limit} email tự động (ưu đãi, lời xin lỗi) cho khách trong ngày {day}, "
        "mức tối đa mỗi ngày. Các email tự động còn lại của hôm nay sẽ không được gửi.",
        "cap_next": "Phản hồi vẫn được ghi nhận bình thường và việc gửi sẽ tiếp tục vào ngày mai. "
        "Nếu lượng khách của bạn thật sự lớn như vậy, hãy liên hệ người vận hành để nâng giới hạn.",
        "score": "Điểm",
        "touchpoint": "Điểm tiếp xúc",
        "channel": "Kênh",
        "when": "Lúc",
        "comment": "Góp ý",
        "customer": "Khách hàng",
        "reply_hint": "trả lời email này để liên hệ",
        "footer": "Bạn nhận email này vì đã đánh giá hoặc quản lý cửa hàng.",
        "unsubscribe": "Hủy nhận email",
    },
    "en": {
        "voucher_subject": "{name}: a thank-you voucher for your feedback",
        "voucher_title": "Thank you for your feedback!",
        "voucher_intro": "As promised, here is your voucher:",
        "valid_until": "Valid until the end of",
        "show_code": "Show this code at the till.",
        "apology_subject": "{name} is sorry",
        "apology_title": "We are sorry",
        "apology_body": "Thank you for telling us your visit was not good enough. We apologise and we will fix it.",
        "apology_reply": "If you would like to tell us more, just reply to this email.",
        "recovery_intro": "We hope you will give us another chance:",
        "signature": "Kind regards,",
        "alert_subject": "{name}: an unhappy customer ({metric} {score})",
        "alert_batch_subject": "{name}: {count} unhappy customers in 5 minutes",
        "alert_title": "An unhappy customer",
        "alert_more": "Many unhappy responses arrived at once, so they are grouped in one email.",
        "alert_hidden": "… and {count} more: see the dashboard.",
        "cap_notice_subject": "{name}: today's limit of customer emails is reached",
        "cap_title": "Customer emails are paused for today",
        "cap_body": "Your shop sent {limit} automatic emails (vouchers, apologies) to customers on {day}, the "
        "daily maximum. The rest of today's automatic emails will not be sent.",
        "cap_next": "Responses are still recorded as usual and sending resumes tomorrow. If your traffic "
        "really is this large, ask your operator to raise the limit.",
        "score": "Score",
        "touchpoint": "Touchpoint",
        "channel": "Channel",
        "when": "When",
        "comment": "Comment",
        "customer": "Customer",
        "reply_hint": "reply to this email to reach them",
        "footer": "You get this email because you gave feedback or run this shop.",
        "unsubscribe": "Unsubscribe",
    },
}
CHANNELS = {
    "vi": {"qr": "Mã QR", "receipt": "Hóa đơn", "email": "Email", "web": "Website"},
    "en": {"qr": "QR code", "receipt": "Receipt", "email": "Email", "web": "Website"},
}


def clean(value: Any) -> Any:
    """Control and bidi characters out of any text that goes into an email; other types untouched."""
    return _CONTROLS.sub("", value) if isinstance(value, str) else value


@lru_cache(maxsize=1)
def _environments() -> tuple[Any, Any]:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    loader = FileSystemLoader(str(TEMPLATES))
    html = Environment(loader=loader, autoescape=True, undefined=StrictUndefined, trim_blocks=True)
    # Plain text is never interpreted as HTML, so it carries the customer's words as they wrote them.
    text = Environment(loader=loader, autoescape=False, undefined=StrictUndefined, trim_blocks=True)  # noqa: S701
    return html, text


def render(kind: str, locale: str, *, subject_args: dict[str, Any], **context: Any) -> RenderedEmail:
    locale = locale if locale in TEXT else "vi"
    t = TEXT[locale]
    batched = kind == "alert" and len(context.get("alerts", [])) > 1
    subject_key = "alert_batch_subject" if batched else f"{kind}_subject"
    subject = " ".join(t[subject_key].format(**{k: clean(v) for k, v in subject_args.items()}).split())
    values = {k: _deep_clean(v) for k, v in context.items()}
    values.update(t=t, locale=locale, subject=subject)
    html_env, text_env = _environments()
    html = html_env.get_template(f"{kind}.html").render(**values)
    text = text_env.get_template(f"{kind}.txt").render(**values)
    return RenderedEmail(subject=subject, html=html, text=text)


def _deep_clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_clean(v) for v in value]
    return clean(value)


def channel_label(locale: str, channel: str) -> str:
    return CHANNELS.get(locale, CHANNELS["vi"]).get(channel, channel)


def format_day(locale: str, iso_day: str) -> str:
    year, month, day = iso_day[:10].split("-")
    return f"{day}/{month}/{year}" if locale == "vi" else f"{year}-{month}-{day}"
