"""SESv2 implementation of the ``Mailer`` port: raw MIME through ``send_email(Content={"Raw": ...})``.

Raw, not ``Simple``: we build the multipart/alternative message ourselves (List-Unsubscribe headers,
Reply-To, the business's name as sender) and moto keeps only the HTML part of a ``Simple`` send.

Two things keep us inside SES's limits and lose nothing on the way:

* a token bucket shared by the container never starts more sends per second than ``MaxSendRate``;
* throttling and 5xx answers are retried with exponential backoff and full jitter (botocore's own
  retries are off, so the attempts are counted here once). What still fails raises ``MailThrottled`` /
  ``MailUnavailable`` (retry later) or ``MailRejected`` (never succeeds as is); the mail service puts
  such an email on the dead-letter queue.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

# The errors belong to the Mailer port, backoff to every adapter; re-exported here, where callers of SES look.
from chalicelib.adapters.aws import LazyClient, attempts, backoff
from chalicelib.ports import MailError, MailRejected, MailThrottled, MailUnavailable

__all__ = ["MailError", "MailRejected", "MailThrottled", "MailUnavailable", "SesMailer", "TokenBucket", "backoff"]


_THROTTLING = {"TooManyRequestsException", "Throttling", "ThrottlingException", "LimitExceededException"}
_UNAVAILABLE = {"InternalFailure", "ServiceUnavailable", "InternalServerError", "RequestTimeout"}


def _client() -> Any:
    import boto3
    from botocore.config import Config

    # Our loop retries (with the bucket in between); botocore's would retry blind to the rate.
    return boto3.client(
        "sesv2",
        config=Config(connect_timeout=2, read_timeout=10, retries={"mode": "standard", "total_max_attempts": 1}),
    )


class TokenBucket:
    """At most ``rate`` acquisitions per second on average, bursts up to ``burst``. Thread-safe: the
    local server's stream thread and request threads share one bucket, as Lambda's one invocation does."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.rate = float(rate)
        self.capacity = float(burst if burst is not None else max(1.0, rate))
        self._tokens = self.capacity
        self._now = monotonic
        self._sleep = sleep
        self._last = monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, waiting for it if needed; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._now()
                self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
                self._last = now
                # The epsilon absorbs float rounding, which could otherwise leave a token at 0.99999...
                # and a pause too small to move the clock.
                if self._tokens >= 1.0 - 1e-9:
                    self._tokens = max(0.0, self._tokens - 1.0)
                    return waited
                pause = (1.0 - self._tokens) / self.rate
            self._sleep(pause)
            waited += pause


class SesMailer(LazyClient):
    def __init__(
        self,
        *,
        max_send_rate: float,
        configuration_set: str = "",
        client: Any | None = None,
        attempts: int = 6,
        sleep: Callable[[float], None] = time.sleep,
        bucket: TokenBucket | None = None,
    ):
        super().__init__("sesv2", client)
        self._configuration_set = configuration_set
        self.attempts = attempts
        self._sleep = sleep
        # A little under the quota (SES's clock is not ours), and no burst: a full bucket of N plus N refilled
        # tokens would put 2N calls in one second, which SES throttles. Paced evenly, any 1 s window sees <= N.
        self.bucket = bucket or TokenBucket(max_send_rate * 0.95, burst=1, sleep=sleep)
        self.stats = {"sent": 0, "throttled": 0, "retries": 0}

    def _make(self) -> Any:
        return _client()

    def send_raw(self, raw: bytes, *, sender: str, recipients: Sequence[str]) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        kwargs: dict[str, Any] = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": list(recipients)},
            "Content": {"Raw": {"Data": raw}},
        }
        if self._configuration_set:
            kwargs["ConfigurationSetName"] = self._configuration_set
        last: MailError = MailUnavailable("no attempt made")
        for attempt in attempts(self.attempts, base=0.1, cap=5.0, sleep=self._sleep):
            self.stats["retries"] += 1 if attempt else 0
            self.bucket.acquire()
            try:
                answer = self.client.send_email(**kwargs)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                if code in _THROTTLING or status == 429:
                    self.stats["throttled"] += 1
                    last = MailThrottled(code or "throttled")
                    continue
                if code in _UNAVAILABLE or status >= 500:
                    last = MailUnavailable(code or str(status))
                    continue
                raise MailRejected(f"{code}: {exc.response.get('Error', {}).get('Message', '')}"[:300]) from exc
            except BotoCoreError as exc:  # timeouts, connection refused
                last = MailUnavailable(type(exc).__name__)
                continue
            self.stats["sent"] += 1
            return str(answer["MessageId"])
        raise last

    def delivered_message_id(self, message_id: str) -> str:
        """The Message-ID header SES gives a message it accepted (it replaces the one we built): its
        MessageId at the sending region's amazonses.com domain (``email.amazonses.com`` in us-east-1)."""
        region = self.client.meta.region_name
        domain = "email.amazonses.com" if region == "us-east-1" else f"{region}.amazonses.com"
        return f"<{message_id}@{domain}>"

    def ensure_identity(self, address: str) -> None:
        """Verify a sender in the emulator (moto rejects unverified senders); only the local run calls it."""
        self.client.create_email_identity(EmailIdentity=address)
