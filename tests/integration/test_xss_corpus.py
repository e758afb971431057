"""An XSS corpus through every HTML page and every email, end to end through the real handlers.

Each payload is typed where a person or an owner can type: the business's name, a touchpoint's name, the
voucher description, a customer's comment and (refused, then shown again) email address. Then every
surface that shows them is fetched: the survey page, its one-tap variant, the thank-you page, the comment
form sent back with an error, the printable card, the unsubscribe page, the dashboard, the error page of a
forged link, and the voucher, apology, owner alert and daily digest emails.

The check on each surface is the one that matters to a reader: the payload is there as *text* (an HTML
parser reading the page gets it back character for character, so it was shown, not dropped) and the raw
payload is nowhere in the source (so it was never markup).
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlencode
from xml.etree import ElementTree

import pytest
from chalice.test import Client

from chalicelib.adapters.sqs import SqsDeadLetters, create_queues
from chalicelib.settings import get_settings
from tests.clock import FakeClock
from tests.integration.conftest import Biz, make_business, post_json
from tests.integration.test_closed_loop import Stream
from tests.integration.test_daily_reports import CapturingMailer, mailer, run_schedule  # noqa: F401

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "<a href='javascript:alert(1)'>x</a>",
    "</textarea></td></tr></table><h1>owned</h1>",
    "<svg/onload=alert(1)>",
    "{{ 7*7 }}{% raw %}",
]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class _Reader(HTMLParser):
    """What a browser would show or hold as values: text nodes and attribute values, entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parts += [value for _, value in attrs if value]


def read(html: str) -> str:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return "\n".join(reader.parts)


def assert_shown_as_text(html: str, payload: str, where: str) -> None:
    if re.search(r"[<>\"'&]", payload):  # template syntax alone is plain text: it must come out as typed
        assert payload not in html, f"{where}: the payload is raw in the source"
    assert payload in read(html), f"{where}: the payload is not shown (or was evaluated)"


@pytest.fixture
def stream(aws: Any, mailer: CapturingMailer, monkeypatch: pytest.MonkeyPatch) -> Stream:  # noqa: F811
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")  # moto's streams API needs the plain endpoint
    settings = get_settings()
    create_queues([settings.alert_queue_name])
    return Stream()


def hidden_fields(html: str) -> dict[str, str]:
    found = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and value and 'type="hidden"' in tag:
            found[name.group(1)] = value.group(1)
    return found


@pytest.mark.parametrize("payload", PAYLOADS)
def test_what_anyone_typed_is_shown_as_text_on_every_page_and_in_every_email(
    client: Client,
    stream: Stream,
    mailer: CapturingMailer,  # noqa: F811
    clock: FakeClock,
    payload: str,
) -> None:
    biz: Biz = make_business(
        client,
        name=f"Quán {payload}",
        locale="en",
        voucher={"description": f"10% off {payload}", "valid_days": 30, "per_email_days": 30, "recovery": True},
    )
    created = post_json(
        client,
        f"/v1/businesses/{biz.business_id}/touchpoints",
        {"name": f"Bàn {payload}", "channel": "qr", "metric": "csat"},
        biz.auth,
    )
    assert created.status_code == 201, created.body
    token = created.json_body["url"].rsplit("/s/", 1)[1]
    survey = f"/s/{token}"

    pages: dict[str, str] = {}
    for name, path in (("survey page", survey), ("one-tap page", f"{survey}?score=2")):
        got = client.http.get(path, headers={"User-Agent": f"phone {name}"})
        assert got.status_code == 200
        pages[name] = got.body.decode()
    nonce = hidden_fields(pages["survey page"])["nonce"]  # the tap answers the survey page's view
    thanks = client.http.post(
        survey, body=urlencode({"score": 2, "nonce": html.unescape(nonce)}), headers={**FORM, "User-Agent": "phone one"}
    )
    assert thanks.status_code == 200
    pages["thank-you page"] = thanks.body.decode()
    fields = hidden_fields(pages["thank-you page"])
    refused = client.http.post(
        survey,
        body=urlencode({**fields, "comment": payload, "email": payload, "consent": "true"}),
        headers=FORM,
    )
    assert refused.status_code == 422  # not an email address: the form comes back with what was typed
    pages["comment form shown again"] = refused.body.decode()
    saved = client.http.post(
        survey,
        body=urlencode({**fields, "comment": payload, "email": "khach@example.com", "consent": "true"}),
        headers=FORM,
    )
    assert saved.status_code == 200, saved.body
    for name in ("survey page", "one-tap page", "thank-you page"):
        assert_shown_as_text(pages[name], f"Quán {payload}", name)
    assert_shown_as_text(pages["thank-you page"], f"10% off {payload}", "thank-you page")
    assert_shown_as_text(pages["comment form shown again"], payload, "comment form shown again")

    forged = client.http.get(f"/s/{quote(payload, safe='')}")
    assert forged.status_code == 404 and payload not in forged.body.decode()

    card = client.http.get(
        f"/v1/businesses/{biz.business_id}/touchpoints/{created.json_body['touchpoint_id']}/card.svg", headers=biz.auth
    )
    assert card.status_code == 200
    if "<" in payload:
        assert payload.encode() not in card.body
    card_text = " ".join(ElementTree.fromstring(card.body).itertext())  # noqa: S314 - our own SVG
    assert f"Quán {payload}" in card_text

    assert client.lambda_.invoke("followups", stream.event()).payload == {"batchItemFailures": []}
    mails = {m["X-Survey-Kind"]: m for m in mailer.messages()}
    assert {"voucher", "apology", "alert"} <= set(mails)
    for kind, message in mails.items():
        assert_shown_as_text(message.get_body(("html",)).get_content(), f"Quán {payload}", f"{kind} email")
    for kind in ("apology", "alert"):
        assert_shown_as_text(mails[kind].get_body(("html",)).get_content(), payload, f"{kind} email comment")
        # Plain text is never interpreted as markup: it carries the words as they were typed.
        assert payload in mails[kind].get_body(("plain",)).get_content()
    assert_shown_as_text(mails["voucher"].get_body(("html",)).get_content(), f"10% off {payload}", "voucher")

    unsubscribe = str(mails["voucher"]["List-Unsubscribe"]).split("<")[1].split(">")[0]
    page = client.http.get("/u/" + unsubscribe.rsplit("/u/", 1)[1])
    assert page.status_code == 200
    assert_shown_as_text(page.body.decode(), f"Quán {payload}", "unsubscribe page")

    clock.advance(days=1)
    assert run_schedule(client) >= 1
    (digest,) = [m for m in mailer.messages() if m["X-Survey-Kind"] == "digest"]
    digest_html = digest.get_body(("html",)).get_content()
    assert_shown_as_text(digest_html, payload, "digest email comment")
    assert_shown_as_text(digest_html, f"Quán {payload}", "digest email")
    dashboard = client.http.get(f"/dashboard/{biz.business_id}", headers=biz.auth)
    assert dashboard.status_code == 200
    assert_shown_as_text(dashboard.body.decode(), payload, "dashboard comment")
    assert_shown_as_text(dashboard.body.decode(), f"Bàn {payload}", "dashboard touchpoint")
    assert SqsDeadLetters(get_settings().mail_dlq_name).count() == 0  # no payload made an email fail
