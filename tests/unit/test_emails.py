"""The mail layer on fakes: what every email carries, who never gets one, what happens when SES fails, and
that customers' words come out escaped in both parts of every kind of email."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from chalicelib.adapters.ses import MailRejected, MailThrottled, MailUnavailable, SesMailer, TokenBucket, backoff
from chalicelib.errors import InvalidToken
from chalicelib.ports import MailClaim, RenderedEmail
from chalicelib.services.mail import MailInFlight, address_hash, read_unsubscribe_token
from chalicelib.web import emails, i18n
from tests.unit.test_followups_fakes import SETTINGS, Loop

XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "<a href='javascript:alert(1)'>x</a>",
    "</td></tr></table><h1>owned</h1>",
    "{{ 7*7 }} {% raw %}",
    "<svg/onload=alert(1)>",
    "&lt;already escaped&gt;",
    "\u202egnp.exe",
]


@pytest.fixture
def loop() -> Loop:
    built = Loop()
    built.add_business()
    return built


def send(loop: Loop, key: str = "k1", to: str = "khach@example.com", **over: object) -> bool:
    business = loop.businesses.businesses["biz001"]
    args: dict = {
        "kind": "voucher",
        "dedupe_key": key,
        "business": business,
        "to": to,
        "email": RenderedEmail(subject="Chào bạn", html="<p>Xin chào</p>", text="Xin chào"),
        **over,
    }
    return loop.mail.send(**args)


# ---- what every email carries ---------------------------------------------------------------------------


def test_an_email_is_multipart_text_and_html_from_the_business_name(loop: Loop) -> None:
    assert send(loop, reply_to="owner@caphe.example") is True
    (sent,) = loop.mailer.sent
    message = sent.message
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["From"].addresses[0].display_name == "Cà Phê Sài Gòn"
    assert message["From"].addresses[0].addr_spec == "xin-chao@caphe.example"
    assert sent.sender == "xin-chao@caphe.example" and sent.recipients == ["khach@example.com"]
    assert message["Reply-To"] == "owner@caphe.example"
    assert sent.part("plain").strip() == "Xin chào" and "<p>Xin chào</p>" in sent.part("html")


def test_every_email_carries_one_click_list_unsubscribe(loop: Loop) -> None:
    send(loop)
    message = loop.mailer.sent[0].message
    header = str(message["List-Unsubscribe"])
    https, mailto = (part.strip().strip("<>") for part in header.split(","))
    assert https.startswith("https://surveys.example/u/")
    assert mailto.startswith("mailto:unsubscribe@caphe.example?subject=unsubscribe")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = https.rsplit("/", 1)[1]
    assert read_unsubscribe_token(SETTINGS.app_secret, token) == (
        "biz001",
        address_hash(SETTINGS.app_secret, "khach@example.com"),
    )
    assert b"List-Unsubscribe: <https://" in loop.mailer.sent[0].raw  # a URL, not an encoded-word


def test_a_business_name_that_looks_like_an_address_stays_a_display_name() -> None:
    loop = Loop()
    loop.add_business(name='Evil" <attacker@evil.example>, x')
    send(loop)
    sender = loop.mailer.sent[0].message["From"].addresses
    assert len(sender) == 1 and sender[0].addr_spec == "xin-chao@caphe.example"


def test_without_a_business_sender_the_deployments_address_is_used() -> None:
    loop = Loop()
    loop.add_business(sender_email=None)
    send(loop)
    assert loop.mailer.sent[0].sender == "no-reply@surveys.example"


# ---- who never gets one ---------------------------------------------------------------------------------


def test_the_same_dedupe_key_never_sends_twice(loop: Loop) -> None:
    assert send(loop) is True
    assert send(loop) is False
    assert len(loop.mailer.sent) == 1


def test_another_sender_holding_a_fresh_claim_makes_the_caller_retry_later(loop: Loop) -> None:
    loop.ledger.claim(
        MailClaim("k1", kind="voucher", business_id="biz001", now="2026-11-20T02:59:00.000000Z", stale_before="")
    )
    with pytest.raises(MailInFlight):
        send(loop)
    loop.clock.advance(minutes=20)  # that sender died: its claim is stale, this one takes over
    assert send(loop) is True


@pytest.mark.parametrize("scope", ["biz001", "*"])
def test_an_unsubscribed_bounced_or_complaining_address_gets_nothing(loop: Loop, scope: str) -> None:
    loop.ledger.suppress(address_hash(SETTINGS.app_secret, "KHACH@example.com"), scope, reason="x", at="t")
    assert send(loop) is False
    assert loop.mailer.calls == 0 and loop.ledger.entries == {}


def test_unsubscribing_from_one_business_keeps_others_mail(loop: Loop) -> None:
    loop.mail.unsubscribe(loop.mail.unsubscribe_url("other1", "khach@example.com").rsplit("/", 1)[1])
    assert send(loop) is True


def test_the_one_click_unsubscribe_stops_every_later_email(loop: Loop) -> None:
    send(loop)
    token = str(loop.mailer.sent[0].message["List-Unsubscribe"]).split("/u/")[1].split(">")[0]
    assert loop.mail.unsubscribe(token) == "biz001"
    assert loop.mail.unsubscribe(token) == "biz001"  # idempotent
    assert send(loop, key="k2") is False


@pytest.mark.parametrize("token", ["", "abc", "x.y", "WyJiaXowMDEiLCJoIl0.AAAAAAAAAAAAAAAAAAAAAA"])
def test_a_forged_unsubscribe_token_is_refused(loop: Loop, token: str) -> None:
    with pytest.raises(InvalidToken):
        loop.mail.unsubscribe(token)
    assert loop.ledger.suppressed == {}


@pytest.mark.parametrize(
    "address", ["a@b.example\r\nBcc: x@y.example", "Name <a@b.example>", "x" * 250 + "@b.example", "no-at", ""]
)
def test_an_address_that_could_bend_a_header_is_never_used(loop: Loop, address: str) -> None:
    assert send(loop, to=address) is False
    assert send(loop, key="k2", reply_to=address) is False
    assert loop.mailer.calls == 0


def test_ses_bounces_and_complaints_suppress_the_address_transient_bounces_do_not(loop: Loop) -> None:
    transient = {
        "eventType": "Bounce",
        "bounce": {"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": "a@example.com"}]},
    }
    permanent = {
        "notificationType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "b@example.com"}]},
    }
    complaint = {
        "eventType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": "C <c@example.com>"}]},
    }
    assert loop.mail.record_feedback(transient) == 0
    assert loop.mail.record_feedback(permanent) == 1
    assert loop.mail.record_feedback(__import__("json").dumps(complaint)) == 1
    assert loop.mail.record_feedback("not json") == 0
    assert loop.mail.record_feedback({"eventType": "Delivery"}) == 0
    assert send(loop, key="a", to="a@example.com") is True
    assert send(loop, key="b", to="b@example.com") is False
    assert send(loop, key="c", to="c@example.com") is False


# ---- faults lose nothing ----------------------------------------------------------------------------------


def test_ses_still_failing_puts_the_whole_email_on_the_dead_letter_queue_and_redrive_sends_it(loop: Loop) -> None:
    loop.mailer.fail = [MailThrottled("Throttling")]
    assert send(loop) is False
    ((_, letter),) = loop.dead.letters.items()
    assert letter["dedupe_key"] == "k1" and letter["recipients"] == ["khach@example.com"]
    assert b"List-Unsubscribe-Post" in base64.b64decode(letter["raw"])
    assert loop.mail.status("k1") == "queued"
    assert send(loop) is False  # the stream redelivering the record does not send it beside the queue
    assert loop.mail.redrive() == {"sent": 1, "failed": 0, "dropped": 0}
    assert loop.dead.letters == {} and loop.mail.status("k1") == "sent"
    assert loop.mailer.sent[0].raw == base64.b64decode(letter["raw"])


def test_a_redrive_during_an_outage_keeps_the_letter(loop: Loop) -> None:
    loop.mailer.fail = [MailUnavailable("503"), MailUnavailable("503")]
    send(loop)
    assert loop.mail.redrive() == {"sent": 0, "failed": 1, "dropped": 0}
    assert len(loop.dead.letters) == 1
    loop.dead.visible_again()  # its visibility timeout passes
    assert loop.mail.redrive() == {"sent": 1, "failed": 0, "dropped": 0}


def test_an_unreadable_dead_letter_is_dropped_not_retried_forever(loop: Loop) -> None:
    loop.dead.put({"raw": "!!", "dedupe_key": 3})
    assert loop.mail.redrive() == {"sent": 0, "failed": 0, "dropped": 1}


def test_when_sqs_is_down_too_the_claim_is_released_so_a_retry_sends_it(loop: Loop) -> None:
    loop.mailer.fail = [MailRejected("MessageRejected")]
    loop.dead.down = True
    with pytest.raises(ConnectionError):
        send(loop)
    assert loop.ledger.entries == {}
    loop.dead.down = False
    assert send(loop) is True


class _ClientError(Exception):
    pass


class FlakySes:
    """A stand-in for the boto3 sesv2 client: throttles the calls whose number is in ``throttle``."""

    def __init__(self, throttle: set[int], outage: bool = False):
        from botocore.exceptions import ClientError

        self.error = ClientError
        self.throttle = throttle
        self.outage = outage
        self.calls = 0

    def send_email(self, **kwargs: object) -> dict:
        self.calls += 1
        if self.outage:
            raise self.error(
                {"Error": {"Code": "InternalFailure"}, "ResponseMetadata": {"HTTPStatusCode": 500}}, "Send"
            )
        if self.calls in self.throttle:
            raise self.error(
                {"Error": {"Code": "TooManyRequestsException"}, "ResponseMetadata": {"HTTPStatusCode": 429}},
                "SendEmail",
            )
        if "bad" in str(kwargs["Destination"]):
            raise self.error(
                {
                    "Error": {"Code": "MessageRejected", "Message": "Email address is not verified."},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                "SendEmail",
            )
        return {"MessageId": f"m{self.calls}"}


def _mailer(client: FlakySes, slept: list[float]) -> SesMailer:
    clock = [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    bucket = TokenBucket(14, burst=1, monotonic=lambda: clock[0], sleep=sleep)
    return SesMailer(max_send_rate=14, client=client, sleep=sleep, bucket=bucket)


def test_ses_throttling_is_retried_with_backoff_and_the_email_goes_out() -> None:
    slept: list[float] = []
    client = FlakySes(throttle={1, 2})
    mailer = _mailer(client, slept)
    assert mailer.send_raw(b"raw", sender="a@x.example", recipients=["b@x.example"]) == "m3"
    assert mailer.stats == {"sent": 1, "throttled": 2, "retries": 2}


def test_ses_rejecting_a_message_is_not_retried() -> None:
    client = FlakySes(throttle=set())
    with pytest.raises(MailRejected):
        _mailer(client, []).send_raw(b"raw", sender="a@x.example", recipients=["bad@x.example"])
    assert client.calls == 1


def test_an_ses_outage_raises_after_the_last_attempt() -> None:
    client = FlakySes(throttle=set(), outage=True)
    with pytest.raises(MailUnavailable):
        _mailer(client, []).send_raw(b"raw", sender="a@x.example", recipients=["b@x.example"])
    assert client.calls == 6


def test_the_token_bucket_never_lets_more_than_the_rate_through_on_a_virtual_clock() -> None:
    now = [0.0]
    bucket = TokenBucket(14, burst=1, monotonic=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    for _ in range(141):
        bucket.acquire()
    assert now[0] == pytest.approx(10.0, rel=1e-6)  # 140 waits of 1/14 s after the first token


def test_backoff_is_jittered_and_capped() -> None:
    assert backoff(3, rng=lambda: 1.0) == pytest.approx(0.8)
    assert backoff(30, rng=lambda: 1.0) == 5.0
    assert backoff(3, rng=lambda: 0.0) == 0.0


# ---- escaping in every kind of email, both parts -------------------------------------------------------------


@pytest.mark.parametrize("payload", XSS)
def test_customers_words_come_out_escaped_in_every_email_both_parts(payload: str) -> None:
    loop = Loop()
    loop.add_business(name=f"Shop {payload}"[:120], owner_emails=["owner@caphe.example"])
    loop.followups.handle(loop.response(1, comment=f"Bad {payload} service"))
    kinds = sorted({s.kind for s in loop.mailer.sent})
    assert kinds == ["alert", "apology"]  # issue #11: the unhappy customer's one email is the apology
    dangerous = [t for t in ("<script", "<img", "<svg", "<a href='javascript", "<h1>owned") if t in payload]
    for sent in loop.mailer.sent:
        html = sent.part("html")
        # Issue #14: the one <img> of our own, the voucher's till QR code (an inline part, its code as alt).
        own = [cid for cid in _OWN_QR.findall(html) if cid in inline_cids(sent.message)]
        assert len(own) == (1 if sent.kind == "apology" else 0)
        for tag in dangerous:
            assert tag not in _OWN_QR.sub("", html)
        if "7*7" in payload:  # templates never evaluate what a customer typed (a voucher code may hold "49")
            assert "{{ 7*7 }}" in sent.part("plain") or sent.kind == "voucher"
        text = sent.part("plain")
        assert "\u202e" not in text and "\u202e" not in html  # no bidi override to reorder what is read
        if sent.kind == "alert" and "\u202e" not in payload:
            assert f"Bad {payload} service" in text  # plain text keeps the words as typed: inert, never HTML
        if sent.kind == "apology":  # issue #11: a customer's words never go to a customer address
            assert "Bad " not in text and "Bad " not in html
        assert "\r" not in str(sent.message["Subject"]) and "\n" not in str(sent.message["Subject"])


_OWN_QR = re.compile(
    r'<img src="cid:(till-[A-Z0-9-]+@voucher\.qr)" alt="[A-Z0-9-]+" width="\d+" height="\d+" style="[^"<>]*">'
)


def inline_cids(message: Any) -> set[str]:
    return {str(part["Content-ID"]).strip("<>") for part in message.walk() if part["Content-ID"]}


def test_templates_exist_in_both_languages_for_every_kind() -> None:
    for locale in ("vi", "en"):
        for kind, extra in [
            ("voucher", {"code": "ABCD-EFGH-JKMN-PQRS", "description": "d", "valid_until": "x"}),
            ("apology", {"code": "", "description": "", "valid_until": ""}),
            ("alert", {"alerts": [], "more": False}),
            ("alert", {"alerts": [], "more": True, "hidden": 3}),
            ("cap_notice", {"limit": 500, "day": "20/11/2026"}),
        ]:
            rendered = emails.render(
                kind,
                locale,
                subject_args={"name": "N", "metric": "NPS", "score": 1, "count": 1},
                business_name="N",
                unsubscribe_url="https://u.example/u/t",
                **extra,
            )
            assert (
                rendered.subject and "https://u.example/u/t" in rendered.text and rendered.html.startswith("<!doctype")
            )
    assert i18n.EMAIL["vi"].keys() == i18n.EMAIL["en"].keys()
