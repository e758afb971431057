"""Every word a person reads from us, in Vietnamese and English: the survey page, the table card, the
unsubscribe page, the emails, the owner's daily digest and dashboard. One place for a translator, and one
test that both languages say everything.

Plain data (no Jinja2, no I/O): the survey page imports it, so it stays cheap to load. Texts with
``{name}``-style fields are filled with ``str.format`` by the page or template that shows them.
"""

from __future__ import annotations

from chalicelib.domain.models import Locale

Words = dict[str, str]
LOCALES: tuple[Locale, ...] = ("vi", "en")
DEFAULT_LOCALE: Locale = "vi"


def supported(locale: object) -> Locale:
    """``locale`` when we speak it, else Vietnamese (the language of the businesses we serve first)."""
    for known in LOCALES:
        if locale == known:
            return known
    return DEFAULT_LOCALE


# ---- the survey page (chalicelib/web/pages.py) -------------------------------------------------------

SURVEY: dict[Locale, Words] = {
    "vi": {
        "nps": "Bạn có sẵn lòng giới thiệu {name} cho bạn bè không?",
        "csat": "Bạn hài lòng thế nào với {name}?",
        "ces": "Bạn có dễ dàng nhận được điều mình cần ở {name} không?",
        "nps_low": "Không chắc chắn",
        "nps_high": "Chắc chắn",
        "score": "Điểm",
        "confirm": "Gửi điểm {score}",
        "send": "Gửi",
        "thanks": "Cảm ơn bạn!",
        "recorded": "Chúng tôi đã ghi nhận điểm {score} của bạn.",
        "comment": "Bạn muốn nói thêm điều gì không? (không bắt buộc)",
        "email_voucher": "Email để nhận ưu đãi: {voucher} (không bắt buộc)",
        "email": "Email nếu bạn muốn chúng tôi phản hồi (không bắt buộc)",
        "consent": "Tôi đồng ý để {name} gửi email cho tôi về đánh giá này.",
        "privacy": "Email chỉ dùng cho đánh giá này, không chia sẻ cho ai; hủy nhận bất cứ lúc nào.",
        "saved": "Đã lưu góp ý của bạn. Cảm ơn!",
        "chars": "ký tự",
        "too_long": "Góp ý dài tối đa {max} ký tự. Vui lòng rút gọn.",
        "consent_required": "Hãy đánh dấu ô đồng ý để chúng tôi được gửi email cho bạn.",
        "bad_email": "Địa chỉ email chưa đúng, ví dụ: ten@example.com.",
        "not_found": "Liên kết khảo sát này không hợp lệ.",
        "not_found_hint": "Hãy quét lại mã QR hoặc mở lại liên kết từ email.",
        "expired": "Liên kết khảo sát này đã hết hạn.",
        "expired_hint": "Cảm ơn bạn đã quan tâm. Liên kết này không còn nhận đánh giá.",
        "closed": "Khảo sát này đã được trả lời.",
        "error": "Đã có lỗi xảy ra. Vui lòng thử lại.",
        "invalid": "Yêu cầu này không hợp lệ.",
        "invalid_hint": "Hãy mở lại liên kết khảo sát và chọn một điểm trên thang.",
        "stale": "Trang khảo sát này đã cũ.",
        "stale_hint": "Hãy quét lại mã QR hoặc tải lại trang rồi chọn điểm một lần nữa.",
        "title": "Khảo sát",
        "other": "English",
        "retired": "Mã QR này không còn được sử dụng.",
        "retired_hint": "Cảm ơn bạn đã muốn góp ý! Hãy quét mã QR mới trên bàn hoặc hỏi nhân viên.",
    },
    "en": {
        "nps": "How likely are you to recommend {name} to a friend?",
        "csat": "How satisfied were you with {name}?",
        "ces": "How easy was it to get what you needed at {name}?",
        "nps_low": "Not at all likely",
        "nps_high": "Extremely likely",
        "score": "Score",
        "confirm": "Send score {score}",
        "send": "Send",
        "thanks": "Thank you!",
        "recorded": "We recorded your score of {score}.",
        "comment": "Anything else you'd like to tell us? (optional)",
        "email_voucher": "Email for your voucher: {voucher} (optional)",
        "email": "Email, if you would like a reply (optional)",
        "consent": "I agree that {name} may email me about this feedback.",
        "privacy": "Your email is used for this feedback only, never shared; unsubscribe at any time.",
        "saved": "Your comment was saved. Thank you!",
        "chars": "characters",
        "too_long": "A comment can be at most {max} characters. Please shorten it.",
        "consent_required": "Tick the consent box so that we may email you.",
        "bad_email": "That email address does not look right, e.g. name@example.com.",
        "not_found": "This survey link is not valid.",
        "not_found_hint": "Scan the QR code again or open the link from your email again.",
        "expired": "This survey link has expired.",
        "expired_hint": "Thank you for your interest. This link no longer takes answers.",
        "closed": "This survey has already been answered.",
        "error": "Something went wrong. Please try again.",
        "invalid": "This request is not valid.",
        "invalid_hint": "Open the survey link again and choose a score on the scale.",
        "stale": "This survey page is out of date.",
        "stale_hint": "Scan the QR code again or reload the page, then choose your score once more.",
        "title": "Survey",
        "other": "Tiếng Việt",
        "retired": "This QR code is no longer in use.",
        "retired_hint": "Thank you for wanting to give feedback! Scan the new code on the table or ask our staff.",
    },
}
# The words of every point of the CSAT and CES scales, lowest first (NPS names only its two ends).
SCALE_LABELS: dict[Locale, dict[str, tuple[str, ...]]] = {
    "vi": {
        "csat": ("Rất không hài lòng", "Không hài lòng", "Bình thường", "Hài lòng", "Rất hài lòng"),
        "ces": ("Rất khó", "Khó", "Hơi khó", "Bình thường", "Hơi dễ", "Dễ", "Rất dễ"),
    },
    "en": {
        "csat": ("Very unsatisfied", "Unsatisfied", "Neutral", "Satisfied", "Very satisfied"),
        "ces": (
            "Very difficult",
            "Difficult",
            "Somewhat difficult",
            "Neutral",
            "Somewhat easy",
            "Easy",
            "Very easy",
        ),
    },
}

# ---- the printed table card (chalicelib/web/qr.py) ----------------------------------------------------

CARD: dict[Locale, Words] = {
    "vi": {"scan": "Quét mã bằng camera điện thoại", "time": "Chỉ mất 5 giây · không cần đăng nhập"},
    "en": {"scan": "Scan with your phone camera", "time": "Takes 5 seconds · no sign-up"},
}

# ---- the unsubscribe page (chalicelib/web/unsubscribe.py) -----------------------------------------------

UNSUBSCRIBE: dict[Locale, Words] = {
    "vi": {
        "title": "Hủy nhận email",
        "ask": "Bạn sẽ không nhận thêm email nào từ {name} nữa.",
        "button": "Hủy nhận email",
        "done": "Đã hủy. Bạn sẽ không nhận thêm email nào từ {name}.",
        "confirm": "Bấm nút bên dưới để hủy nhận email.",
    },
    "en": {
        "title": "Unsubscribe",
        "ask": "You will get no more emails from {name}.",
        "button": "Unsubscribe",
        "done": "Done. You will get no more emails from {name}.",
        "confirm": "Press the button below to unsubscribe.",
    },
}

# ---- customer and owner emails (chalicelib/web/emails.py, templates/email/) -----------------------------

EMAIL: dict[Locale, Words] = {
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
        "till_qr": "Nhân viên có thể quét mã QR này tại quầy thay vì gõ mã.",
        # issue #14: the owner's own reply to an unhappy customer (templates/email/reply.*)
        "reply_subject": "{name} trả lời góp ý của bạn",
        "reply_title": "Thư trả lời từ {name}",
        "reply_answer": "Bạn có thể trả lời email này để trao đổi trực tiếp với chủ cửa hàng.",
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
        "till_qr": "Our staff can scan this QR code at the till instead of typing the code.",
        # issue #14: the owner's own reply to an unhappy customer (templates/email/reply.*)
        "reply_subject": "{name} replied to your feedback",
        "reply_title": "A reply from {name}",
        "reply_answer": "You can reply to this email to reach the owner directly.",
    },
}
# A response's channel as owners read it (alert emails, the dashboard's touchpoint table).
CHANNELS: dict[Locale, Words] = {
    "vi": {"qr": "Mã QR", "receipt": "Hóa đơn", "email": "Email", "web": "Website"},
    "en": {"qr": "QR code", "receipt": "Receipt", "email": "Email", "web": "Website"},
}

# ---- the owner's daily digest (chalicelib/web/digest.py), also the dashboard's figure labels ----------

DIGEST: dict[Locale, Words] = {
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
        # issue #14: the complaint inbox's figures (report.resolution)
        "time_to_reply": "Thời gian đến lần trả lời đầu (trung vị, 7 ngày)",
        "time_to_resolve": "Thời gian đến khi giải quyết (trung vị, 7 ngày)",
        "contacted_24h": "Khách được liên hệ trong 24 giờ (7 ngày)",
        "hours": "{h} giờ",
        "no_cases": "chưa có",
        "overdue": "Khiếu nại chờ trả lời quá 24 giờ: {n}",
        "overdue_more": "và {n} khiếu nại khác trong hộp thư khiếu nại",
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
        # issue #14: the complaint inbox's figures (report.resolution)
        "time_to_reply": "Time to first reply (median, 7 days)",
        "time_to_resolve": "Time to resolve (median, 7 days)",
        "contacted_24h": "Customers contacted within 24 h (7 days)",
        "hours": "{h} h",
        "no_cases": "none yet",
        "overdue": "Complaints waiting for a reply over 24 h: {n}",
        "overdue_more": "and {n} more in the complaint inbox",
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
    },
}

# ---- the owner's dashboard page (chalicelib/web/dashboard.py) ------------------------------------------

DASHBOARD: dict[Locale, Words] = {
    "vi": {
        "dashboard": "Tổng quan",
        "signin_title": "Đăng nhập trang tổng quan",
        "signin_help": "Dán khóa chủ doanh nghiệp (bắt đầu bằng ok_). Khóa không bao giờ nằm trong đường dẫn.",
        "owner_key": "Khóa chủ doanh nghiệp",
        "signin": "Đăng nhập",
        "signout": "Đăng xuất",
        "wrong_key": "Khóa không đúng. Vui lòng thử lại.",
        "csrf_failed": "Biểu mẫu đã hết hạn hoặc không đến từ trang này. Vui lòng thử lại.",
        "not_found": "Không tìm thấy trang này.",
        "no_report": "Chưa có báo cáo nào. Báo cáo đầu tiên được tạo sau nửa đêm (giờ địa phương).",
        "trend": "Xu hướng 30 ngày",
        "latest": "Ngày gần nhất",
        "band": "Vùng mờ: sai số 95%",
        "hollow": "Ngày có quá ít phản hồi không được vẽ",
        "recent_comments": "Góp ý gần đây của khách chưa hài lòng",
        "no_comments": "Không có góp ý nào.",
    },
    "en": {
        "dashboard": "Dashboard",
        "signin_title": "Sign in to the dashboard",
        "signin_help": "Paste the owner key (it starts with ok_). The key never goes into a URL.",
        "owner_key": "Owner key",
        "signin": "Sign in",
        "signout": "Sign out",
        "wrong_key": "That key is not right. Please try again.",
        "csrf_failed": "This form has expired or did not come from this page. Please try again.",
        "not_found": "This page was not found.",
        "no_report": "No report yet. The first one is made after local midnight.",
        "trend": "30-day trend",
        "latest": "Latest day",
        "band": "Shaded band: 95% margin of error",
        "hollow": "Days with too few responses are not drawn",
        "recent_comments": "Recent comments from unhappy customers",
        "no_comments": "No comments.",
    },
}

# Every table above, for the test that both languages have the same keys.
TABLES: dict[str, dict[Locale, Words]] = {
    "survey": SURVEY,
    "card": CARD,
    "unsubscribe": UNSUBSCRIBE,
    "email": EMAIL,
    "channels": CHANNELS,
    "digest": DIGEST,
    "dashboard": DASHBOARD,
}
