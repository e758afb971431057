"""Issue #14: the voucher email shows its code as a QR code the till scans. The code's PNG is an inline
part of the HTML (multipart/related, a Content-ID the <img> names, the code as its alt text); the code
stays written in both parts; the QR holds the owner console's till URL. The .eml that `make run`'s outbox
writes reads back with the standard ``email`` package."""

from __future__ import annotations

import email
import io
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from chalicelib.local.outbox import OutboxMailer, list_outbox
from chalicelib.services.followups import till_url
from chalicelib.web import emails, qr
from tests.unit.test_followups_fakes import SETTINGS, FakeMailer, Loop

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def loop() -> Loop:
    built = Loop()
    built.add_business()
    return built


def _customer_email(loop: Loop) -> tuple[EmailMessage, str]:
    customer = [s for s in loop.mailer.sent if s.recipients == ["khach@example.com"]]
    assert len(customer) == 1
    (voucher,) = loop.store.vouchers.values()
    return customer[0].message, voucher.code


def _assert_till_qr(message: EmailMessage, code: str) -> None:
    """The structure mail clients need to show the image inline, and what the image holds."""
    assert message.get_content_type() == "multipart/alternative"
    plain, related = message.iter_parts()
    assert plain.get_content_type() == "text/plain" and related.get_content_type() == "multipart/related"
    html_part, image = related.iter_parts()
    assert html_part.get_content_type() == "text/html" and image.get_content_type() == "image/png"
    cid = str(image["Content-ID"])
    assert cid.startswith("<") and cid.endswith(">")
    html = html_part.get_content()
    assert f'<img src="cid:{cid[1:-1]}" alt="{code}"' in html
    assert image.get_content_disposition() == "inline"
    png = image.get_content()
    assert png.startswith(PNG_SIGNATURE)
    # Drawing the till URL again gives the very same bytes, and a scanner reads that URL back.
    url = f"{SETTINGS.public_base_url}/console/biz001/till?code={code}"
    assert png == qr.qr_png(url, emails.TILL_QR_SCALE)
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert found.text == url
    assert f'width="{emails.png_width(png)}"' in html
    # The code stays as text in both parts: a till without a scanner, a client that hides images.
    assert code in plain.get_content() and code in html
    shown = message.get_body(("html",))  # what a mail client picks to display: the html inside the related
    assert shown is not None and shown.get_content() == html


def test_the_voucher_email_carries_its_code_as_an_inline_qr_of_the_till_url(loop: Loop) -> None:
    loop.followups.handle(loop.response(9))
    message, code = _customer_email(loop)
    assert message["X-Survey-Kind"] == "voucher"
    _assert_till_qr(message, code)


def test_the_apology_that_carries_a_code_shows_the_same_till_qr(loop: Loop) -> None:
    loop.followups.handle(loop.response(2))
    message, code = _customer_email(loop)
    assert message["X-Survey-Kind"] == "apology"
    _assert_till_qr(message, code)


def test_an_apology_without_a_code_and_the_owners_alert_have_no_image() -> None:
    loop = Loop()
    loop.add_business(voucher=None)
    loop.followups.handle(loop.response(2))
    kinds = sorted(s.kind for s in loop.mailer.sent)
    assert kinds == ["alert", "alert", "apology"]
    for sent in loop.mailer.sent:
        message = sent.message
        assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
        assert "<img" not in sent.part("html") and "cid:" not in sent.part("html")


def test_the_till_url_names_the_business_and_the_code_and_is_url_safe() -> None:
    assert till_url("https://s.example", "biz001", "ABCD-EFGH-JKMN-PQRS") == (
        "https://s.example/console/biz001/till?code=ABCD-EFGH-JKMN-PQRS"
    )
    assert till_url("https://s.example", "b/../x", "A&B=C") == "https://s.example/console/b%2F..%2Fx/till?code=A%26B%3DC"


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_till_qr_hint_is_in_the_customers_language(locale: str) -> None:
    rendered = emails.render(
        "voucher", locale, subject_args={"name": "N"}, business_name="N", code="ABCD-EFGH-JKMN-PQRS",
        description="d", valid_until="x", unsubscribe_url="https://u.example/u/t",
        till_url="https://s.example/console/biz001/till?code=ABCD-EFGH-JKMN-PQRS",
    )  # fmt: skip
    hint = {"vi": "quét mã QR này tại quầy", "en": "scan this QR code at the till"}[locale]
    assert hint in rendered.html and len(rendered.images) == 1
    assert hint not in rendered.text  # the plain part has the code; a picture it cannot show is not promised


def test_the_outboxs_eml_reads_back_with_its_image_its_cid_and_both_alternatives(loop: Loop, tmp_path: Path) -> None:
    loop.followups.handle(loop.response(10))
    (sent,) = [s for s in loop.mailer.sent if s.kind == "voucher"]
    OutboxMailer(FakeMailer(), tmp_path).send_raw(sent.raw, sender=sent.sender, recipients=sent.recipients)
    (written,) = list_outbox(tmp_path)
    assert written.name.endswith("-voucher-msg-1.eml")
    parsed: Any = email.message_from_bytes(written.read_bytes(), policy=policy.default)
    (voucher,) = loop.store.vouchers.values()
    _assert_till_qr(parsed, voucher.code)
    # Every line within RFC 5322's limit, 7-bit clean: what any relay and mail client opens.
    raw = written.read_bytes()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert all(byte < 128 for byte in raw)
