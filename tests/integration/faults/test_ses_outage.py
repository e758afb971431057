"""SES down for a stretch, then back: every email promised while it was down is sent exactly once after
recovery (dead-letter queue, then redrive), and redelivered stream batches add nothing."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import boto3
from botocore.exceptions import ClientError
from chalice.test import Client

from chalicelib import wiring
from chalicelib.adapters.ses import SesMailer, TokenBucket
from tests.integration.conftest import Biz
from tests.integration.test_closed_loop import Stream, answer, deliver, loop, sent, shop  # noqa: F401 - fixtures

CUSTOMERS = 30


class FlakySes:
    """The real (moto) SESv2 client behind a switch: while ``down``, every call fails as an outage does."""

    def __init__(self) -> None:
        self.real = boto3.client("sesv2")
        self.down = True
        self.refused = 0

    def send_email(self, **kwargs: Any) -> Any:
        if self.down:
            self.refused += 1
            raise ClientError(
                {"Error": {"Code": "ServiceUnavailable"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "SendEmail"
            )
        return self.real.send_email(**kwargs)


def test_an_ses_outage_then_recovery_sends_every_promised_email_exactly_once(
    client: Client,
    loop: Stream,  # noqa: F811 - the fixture imported above
    shop: Biz,  # noqa: F811
) -> None:
    ses = FlakySes()
    mailer = SesMailer(max_send_rate=1000, client=ses, sleep=lambda s: None, bucket=TokenBucket(1000))
    wiring.install(dataclasses.replace(wiring.services(), mailer=mailer))

    promised: Counter[tuple[str, str]] = Counter()
    for i in range(CUSTOMERS):
        score = 3 if i % 3 == 0 else 9  # every third customer is unhappy
        address = f"khach{i}@example.com"
        answer(client, shop, score, who=f"c{i}", email=address, consent=True)
        # Issue #11: one email per customer; an unhappy one's voucher rides in the apology.
        promised[("apology" if score <= 6 else "voucher", address)] += 1
    batch = loop.event()
    assert deliver(client, batch) == {"batchItemFailures": []}  # nothing lost: dead-lettered, not failed
    assert sent() == []

    ses.down = False
    redriven = wiring.services().mail.redrive()
    deliver(client, batch)  # the stream redelivering the same batch after recovery
    deliver(client, batch)

    customer_mail = Counter(
        (m["X-Survey-Kind"], str(m["To"])) for m in sent() if m["X-Survey-Kind"] in ("voucher", "apology")
    )
    alerts = [m for m in sent() if m["X-Survey-Kind"] == "alert"]
    print(
        f"\nSES outage: {ses.refused} calls refused while down; {sum(promised.values())} customer emails promised, "
        f"redrive {redriven}; sent after recovery {sum(customer_mail.values())} "
        f"(duplicates {sum(n - 1 for n in customer_mail.values())}, "
        f"lost {len(set(promised) - set(customer_mail))}); owner alerts sent {len(alerts)}"
    )
    assert ses.refused > 0
    assert customer_mail == promised
    assert redriven["failed"] == 0 and redriven["dropped"] == 0
    assert len(alerts) >= 1
