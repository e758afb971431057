"""Emails per second through the real mail layer (MailService + SesMailer) against SES emulated by moto
in-process, with SES's quota of 14 sends/s and throttling injected on 10% of calls.

Every email is sent twice (as a redelivered stream batch would ask), and what SES kept refusing goes to
the dead-letter queue, which is then re-driven. Prints: wall time, emails/s, the peak number of SES calls
in any 1-second window (must stay <= 14), throttled calls, duplicates (goal 0) and lost emails (goal 0).
Run: `.venv/bin/python bench/email_throughput.py [sends=1000] [throttle_share=0.10] [rate=14]`.
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from typing import Any

from _inprocess import prepare

prepare("surveys-bench-mail", POWERTOOLS_LOG_LEVEL="CRITICAL")


class ThrottlingSes:
    """The sesv2 client with throttling injected on a share of calls; records when each call hit SES."""

    def __init__(self, real: Any, share: float, rng: random.Random):
        self.real = real
        self.share = share
        self.rng = rng
        self.calls: list[float] = []
        self.throttled = 0

    def send_email(self, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        self.calls.append(time.monotonic())
        if self.rng.random() < self.share:
            self.throttled += 1
            raise ClientError(
                {
                    "Error": {"Code": "TooManyRequestsException", "Message": "Maximum sending rate exceeded."},
                    "ResponseMetadata": {"HTTPStatusCode": 429},
                },
                "SendEmail",
            )
        return self.real.send_email(**kwargs)


def main(sends: int, share: float, rate: float) -> None:
    import boto3
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    from chalicelib import tables
    from chalicelib.adapters.followups_store import DynamoFollowupStore
    from chalicelib.adapters.ses import SesMailer
    from chalicelib.adapters.sqs import SqsDeadLetters, create_queues
    from chalicelib.domain.models import Business
    from chalicelib.ports import RenderedEmail, SystemClock
    from chalicelib.services.mail import MailService
    from chalicelib.settings import get_settings

    with mock_aws():
        # 1,000 vouchers of one business in one day: above the per-business daily cap (500) on purpose.
        settings = get_settings().model_copy(update={"mail_cap_per_business": 1_000_000})
        boto3.client("dynamodb").create_table(**tables.create_table_kwargs(settings.table_name))
        create_queues([settings.mail_dlq_name])
        boto3.client("sesv2").create_email_identity(EmailIdentity=settings.mail_from)
        ses = ThrottlingSes(boto3.client("sesv2"), share, random.Random(7))
        # Fewer attempts than production (6) so that some emails do exhaust them and the DLQ path runs too.
        mailer = SesMailer(max_send_rate=rate, client=ses, attempts=2)
        store = DynamoFollowupStore(settings.table_name)
        mail = MailService(mailer, store, store, SqsDeadLetters(settings.mail_dlq_name), SystemClock(), settings)
        business = Business(
            business_id="bench01",
            name="Cà Phê <Bench>",
            owner_emails=["o@bench.example"],
            timezone="Asia/Ho_Chi_Minh",
            locale="vi",
            owner_key_hash="x",
            site_key="s",
            signing_keys={1: "a"},
            active_key_id=1,
            created_at="2026-01-01T00:00:00.000000Z",
        )
        started = time.monotonic()
        first_pass = second_pass = 0
        for i in range(sends):
            kwargs = dict(
                kind="voucher",
                dedupe_key=f"bench#{i}",
                business=business,
                to=f"c{i}@bench.example",
                email=RenderedEmail(subject=f"Voucher {i}", html=f"<p>Mã {i}</p>", text=f"Mã {i}"),
            )
            first_pass += mail.send(**kwargs)
            second_pass += mail.send(**kwargs)  # a redelivered record: must send nothing
        elapsed = time.monotonic() - started
        dead_before = SqsDeadLetters(settings.mail_dlq_name).count()
        mailer.attempts = 6
        redriven = {"sent": 0, "failed": 0, "dropped": 0}
        while True:
            done = mail.redrive()
            for key in redriven:
                redriven[key] += done[key]
            if not done["sent"] and not done["failed"]:
                break

        sent = ses_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-1"].sent_messages
        per_recipient = Counter(m.destinations[0] for m in sent)
        duplicates = sum(n - 1 for n in per_recipient.values() if n > 1)
        lost = sends - len(per_recipient)
        calls = sorted(ses.calls)
        peak = max(sum(1 for c in calls[i:] if c - start < 1.0) for i, start in enumerate(calls[:2000])) if calls else 0
        print(f"emails={sends} quota={rate:g}/s throttling injected on {share:.0%} of SES calls")
        print(
            f"first pass: {elapsed:.1f} s, {first_pass / elapsed:.2f} emails/s sent, {first_pass} sent, "
            f"{dead_before} dead-lettered, {second_pass} sent on redelivery"
        )
        print(
            f"SES calls={len(calls)} throttled={ses.throttled} retries={mailer.stats['retries']} "
            f"peak calls in any 1 s window={peak} (quota {rate:g})"
        )
        print(f"redrive: {redriven}")
        print(f"delivered={len(per_recipient)} duplicates={duplicates} lost={lost}")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(
        int(args[0]) if args else 1000,
        float(args[1]) if len(args) > 1 else 0.10,
        float(args[2]) if len(args) > 2 else 14.0,
    )
