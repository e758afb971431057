"""The survey pages a customer's phone shows (server-rendered, work without JavaScript).

Kept to the standard library: these pages are on the path of a tap, and every value is escaped.
"""

from __future__ import annotations

from html import escape

from chalicelib.errors import DomainError

TEXT = {
    "vi": {
        "nps": "Bạn có sẵn lòng giới thiệu {name} cho bạn bè không?",
        "csat": "Bạn hài lòng thế nào với {name}?",
        "ces": "Bạn có dễ dàng nhận được điều mình cần ở {name} không?",
        "nps_low": "Không chắc chắn",
        "nps_high": "Chắc chắn",
        "csat_labels": ["Rất không hài lòng", "Không hài lòng", "Bình thường", "Hài lòng", "Rất hài lòng"],
        "ces_labels": ["Rất khó", "Khó", "Hơi khó", "Bình thường", "Hơi dễ", "Dễ", "Rất dễ"],
        "score": "Điểm",
        "send": "Gửi",
        "thanks": "Cảm ơn bạn!",
        "recorded": "Chúng tôi đã ghi nhận đánh giá {score} của bạn.",
        "comment": "Bạn muốn nói thêm điều gì không? (không bắt buộc)",
        "email": "Email để nhận ưu đãi (không bắt buộc)",
        "consent": "Tôi đồng ý để {name} gửi email cho tôi về đánh giá này.",
        "privacy": "Chúng tôi chỉ dùng email này cho đánh giá của bạn; bạn có thể hủy bất cứ lúc nào.",
        "saved": "Đã lưu góp ý của bạn. Cảm ơn!",
        "not_found": "Liên kết khảo sát này không hợp lệ.",
        "expired": "Liên kết khảo sát này đã hết hạn.",
        "closed": "Khảo sát này đã được trả lời.",
        "error": "Đã có lỗi xảy ra. Vui lòng thử lại.",
        "title": "Khảo sát",
    },
    "en": {
        "nps": "How likely are you to recommend {name} to a friend?",
        "csat": "How satisfied were you with {name}?",
        "ces": "How easy was it to get what you needed at {name}?",
        "nps_low": "Not at all likely",
        "nps_high": "Extremely likely",
        "csat_labels": ["Very unsatisfied", "Unsatisfied", "Neutral", "Satisfied", "Very satisfied"],
        "ces_labels": [
            "Very difficult",
            "Difficult",
            "Somewhat difficult",
            "Neutral",
            "Somewhat easy",
            "Easy",
            "Very easy",
        ],
        "score": "Score",
        "send": "Send",
        "thanks": "Thank you!",
        "recorded": "We recorded your score of {score}.",
        "comment": "Anything else you'd like to tell us? (optional)",
        "email": "Email for your voucher (optional)",
        "consent": "I agree that {name} may email me about this feedback.",
        "privacy": "We use this address only for your feedback; you can unsubscribe at any time.",
        "saved": "Your comment was saved. Thank you!",
        "not_found": "This survey link is not valid.",
        "expired": "This survey link has expired.",
        "closed": "This survey has already been answered.",
        "error": "Something went wrong. Please try again.",
        "title": "Survey",
    },
}
SCALE = {"nps": range(0, 11), "csat": range(1, 6), "ces": range(1, 8)}

_STYLE = (
    "body{font:16px/1.4 system-ui,sans-serif;margin:0;padding:16px;color:#111;background:#fff;max-width:36em;"
    "margin:auto}h1{font-size:1.25em}.s{display:flex;flex-wrap:wrap;gap:6px;padding:0;border:0}"
    ".s button{min-width:44px;min-height:44px;font-size:1.1em;border:2px solid #234;background:#fff;color:#111;"
    "border-radius:8px;flex:1 0 44px}.s button[aria-pressed=true]{background:#234;color:#fff}"
    ".e{display:flex;justify-content:space-between;font-size:.85em;color:#333}textarea,input[type=email]"
    "{width:100%;box-sizing:border-box;font:inherit;padding:8px;min-height:44px}"
    ".send{min-height:44px;padding:0 24px;font:inherit;background:#234;color:#fff;border:0;border-radius:8px}"
    "small{color:#333}"
)


def _page(locale: str, title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="{escape(locale)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def _label(locale: str, metric: str, score: int) -> str:
    text = TEXT[locale]
    if metric == "nps":
        return str(score)
    labels = text["csat_labels"] if metric == "csat" else text["ces_labels"]
    return labels[score - 1]


def survey_page(*, locale: str, business_name: str, metric: str, action: str, chosen: int | None = None) -> str:
    text = TEXT[locale]
    name = escape(business_name)
    question = escape(text[metric].format(name=business_name))
    buttons = "".join(
        f'<button name="score" value="{s}" aria-pressed="{"true" if s == chosen else "false"}" '
        f'aria-label="{escape(text["score"])} {s}: {escape(_label(locale, metric, s))}">{s}</button>'
        for s in SCALE[metric]
    )
    ends = ""
    if metric == "nps":
        ends = f'<div class="e"><span>{escape(text["nps_low"])}</span><span>{escape(text["nps_high"])}</span></div>'
    else:
        labels = text["csat_labels"] if metric == "csat" else text["ces_labels"]
        ends = f'<div class="e"><span>{escape(labels[0])}</span><span>{escape(labels[-1])}</span></div>'
    autosubmit = ""
    if chosen is not None:
        # A GET records nothing (mail scanners open every link): the page itself posts the chosen score.
        autosubmit = (
            f'<script>document.addEventListener("DOMContentLoaded",function(){{var b=document.querySelector('
            f"'button[value=\"{chosen}\"]');if(b)b.click();}});</script>"
        )
    body = (
        f"<main><p>{name}</p><h1 id=q>{question}</h1>"
        f'<form method="post" action="{escape(action)}"><fieldset class="s" aria-labelledby="q">{buttons}'
        f"</fieldset>{ends}</form></main>{autosubmit}"
    )
    return _page(locale, text["title"], body)


def thank_you_page(
    *, locale: str, business_name: str, action: str, score: int, response_id: str, edit_token: str
) -> str:
    text = TEXT[locale]
    body = (
        f"<main><h1>{escape(text['thanks'])}</h1><p>{escape(text['recorded'].format(score=score))}</p>"
        f'<form method="post" action="{escape(action)}">'
        f'<input type="hidden" name="response_id" value="{escape(response_id)}">'
        f'<input type="hidden" name="edit_token" value="{escape(edit_token)}">'
        f'<label for=c>{escape(text["comment"])}</label><textarea id=c name="comment" maxlength="2000" rows="4">'
        f"</textarea><p><label for=m>{escape(text['email'])}</label>"
        f'<input id=m type="email" name="email" maxlength="254" autocomplete="email"></p>'
        f'<p><label><input type="checkbox" name="consent" value="true"> '
        f"{escape(text['consent'].format(name=business_name))}</label></p>"
        f'<button class="send">{escape(text["send"])}</button><p><small>{escape(text["privacy"])}</small></p>'
        f"</form></main>"
    )
    return _page(locale, text["thanks"], body)


def saved_page(*, locale: str) -> str:
    text = TEXT[locale]
    return _page(locale, text["thanks"], f"<main><h1>{escape(text['saved'])}</h1></main>")


def error_page(exc: DomainError, locale: str) -> str:
    text = TEXT[locale if locale in TEXT else "vi"]
    key = {401: "not_found", 404: "not_found", 410: "expired", 409: "closed"}.get(exc.status, "error")
    detail = exc.message if exc.status in (413, 422) else ""
    body = f"<main><h1>{escape(text[key])}</h1>" + (f"<p>{escape(detail)}</p>" if detail else "") + "</main>"
    return _page(locale, text["title"], body)
