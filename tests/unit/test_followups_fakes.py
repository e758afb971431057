"""In-memory fakes of the email-side ports (mailer, ledger, suppressions, dead letters, follow-up store,
alert flusher) and builders for the unit tests of the closed loop. They honour the same conditions as
the DynamoDB adapter (claim once, issue once per response and kind, count an alert once)."""

from __future__ import annotations

import email
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from email import policy
from typing import Any, Literal

from chalicelib.adapters.ses import MailRejected, MailThrottled
from chalicelib.domain.models import Business, StoredResponse, Touchpoint, VoucherPolicy
from chalicelib.ports import AlertRef, Apology, ApologyPointer, EmailCap, LedgerEntry, MailClaim, Voucher
from chalicelib.services.cases import Cases
from chalicelib.services.directory import Directory
from chalicelib.services.followups import Followups
from chalicelib.services.mail import MailService
from chalicelib.settings import load_settings
from chalicelib.web import emails
from tests.clock import FakeClock
from tests.fakes import InMemoryCaseStore, InMemoryStore

SETTINGS = load_settings(
    {
        "STAGE": "test",
        "APP_SECRET": "unit-test-secret-0123456789abcdef-0123456789",
        "PUBLIC_BASE_URL": "https://surveys.example",
        "MAIL_FROM": "no-reply@surveys.example",
        "ALERT_BATCH_AFTER": "3",
    }
)


@dataclass
class Sent:
    raw: bytes
    sender: str
    recipients: list[str]

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]

    @property
    def kind(self) -> str:
        return str(self.message["X-Survey-Kind"])

    def part(self, subtype: str) -> str:
        return self.message.get_body((subtype,)).get_content()  # type: ignore[union-attr]


class FakeMailer:
    """Records what it sends; ``fail`` is a list of exceptions raised by the next calls, in order."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.fail: list[Exception] = []
        self.calls = 0

    def send_raw(self, raw: bytes, *, sender: str, recipients: Sequence[str]) -> str:
        self.calls += 1
        if self.fail:
            raise self.fail.pop(0)
        self.sent.append(Sent(raw, sender, list(recipients)))
        return f"msg-{len(self.sent)}"

    def of_kind(self, kind: str) -> list[Sent]:
        return [s for s in self.sent if s.kind == kind]


class FakeLedgerAndSuppressions:
    def __init__(self) -> None:
        self.entries: dict[str, LedgerEntry] = {}
        self.suppressed: dict[tuple[str, str], str] = {}
        self.counters: dict[str, int] = {}
        self.capped: dict[str, str] = {}

    def claim(self, claim: MailClaim) -> bool:
        return self.claim_within(claim, ()) == "claimed"

    def get(self, dedupe_key: str) -> LedgerEntry | None:
        return self.entries.get(dedupe_key)

    def finish(self, dedupe_key: str, *, status: Literal["sent", "queued"], message_id: str | None, now: str) -> None:
        self.entries[dedupe_key] = replace(self.entries[dedupe_key], status=status, message_id=message_id)

    def release(self, dedupe_key: str, *, caps: Sequence[EmailCap] = ()) -> None:
        if self.entries.get(dedupe_key) and self.entries[dedupe_key].status == "sending":
            del self.entries[dedupe_key]
            for cap in caps:
                self.counters[cap.key] -= 1

    def claim_within(self, claim: MailClaim, caps: Sequence[EmailCap]) -> str:
        dedupe_key, now = claim.dedupe_key, claim.now
        entry = self.entries.get(dedupe_key)
        if entry is not None and not (entry.status == "sending" and entry.claimed_at < claim.stale_before):
            return "taken"
        for cap in caps:  # all or nothing, as the DynamoDB transaction
            if self.counters.get(cap.key, 0) >= cap.limit:
                return cap.name
        for cap in caps:
            self.counters[cap.key] = self.counters.get(cap.key, 0) + 1
        self.entries[dedupe_key] = LedgerEntry(dedupe_key, "sending", now)
        return "claimed"

    def full_cap(self, caps: Sequence[EmailCap]) -> str | None:
        return next((cap.name for cap in caps if self.counters.get(cap.key, 0) >= cap.limit), None)

    def mark_capped(self, dedupe_key: str, *, kind: str, business_id: str, cap: str, now: str) -> bool:
        if dedupe_key in self.entries:
            return False
        self.entries[dedupe_key] = LedgerEntry(dedupe_key, "capped", now)
        self.capped[dedupe_key] = cap
        return True

    def suppress(self, email_hash: str, scope: str, *, reason: str, at: str) -> None:
        self.suppressed[(email_hash, scope)] = reason

    def is_suppressed(self, email_hash: str, business_id: str) -> bool:
        return (email_hash, "*") in self.suppressed or (email_hash, business_id) in self.suppressed


class FakeDeadLetters:
    def __init__(self) -> None:
        self.letters: dict[str, dict[str, Any]] = {}
        self.released: list[str] = []
        self.invisible: set[str] = set()
        self.down = False
        self._n = 0

    def put(self, message: dict[str, Any]) -> None:
        if self.down:
            raise ConnectionError("SQS unreachable")
        self._n += 1
        self.letters[f"r{self._n}"] = message

    def receive(self, max_messages: int) -> list[tuple[str, dict[str, Any]]]:
        # As SQS: a received letter is invisible until deleted or released (here: until released).
        visible = [(r, m) for r, m in self.letters.items() if r not in self.invisible]
        batch = visible[:max_messages]
        self.invisible.update(r for r, _ in batch)
        return batch

    def delete(self, receipt: str) -> None:
        self.letters.pop(receipt, None)

    def release(self, receipt: str) -> None:
        self.released.append(receipt)
        self.invisible.discard(receipt)

    def visible_again(self) -> None:
        """The visibility timeout passed (redrive leaves a failed letter invisible for a while)."""
        self.invisible.clear()


class FakeFollowupStore:
    def __init__(self) -> None:
        self.vouchers: dict[tuple[str, str], Voucher] = {}
        self.of_response: dict[tuple[str, str, str], str] = {}
        self.last_answer_voucher: dict[tuple[str, str], str] = {}
        self.funnel: dict[tuple[str, str], dict[str, int]] = {}
        self.apologies: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.pointers: dict[tuple[str, str], ApologyPointer] = {}
        self.windows: dict[tuple[str, int], dict[str, Any]] = {}
        self.saved: dict[str, StoredResponse] = {}  # the responses as the table holds them

    def issue_voucher(
        self, voucher: Voucher, *, email_hash: str, not_before: str | None, day: str, limit_hash: str | None = None
    ) -> Voucher | None:
        marker = (voucher.business_id, voucher.response_id, voucher.kind)
        if marker in self.of_response:
            return self.vouchers[(voucher.business_id, self.of_response[marker])]
        person = limit_hash or email_hash
        last = self.last_answer_voucher.get((voucher.business_id, person))
        if not_before is not None and last is not None and last >= not_before:
            return None
        assert (voucher.business_id, voucher.code) not in self.vouchers
        self.of_response[marker] = voucher.code
        self.vouchers[(voucher.business_id, voucher.code)] = voucher
        if not_before is not None:
            self.last_answer_voucher[(voucher.business_id, person)] = voucher.issued_at
        counts = self.funnel.setdefault((voucher.business_id, day), {"issued": 0, "redeemed": 0})
        counts["issued"] += 1
        return voucher

    def redeem_voucher(
        self, business_id: str, code: str, *, now: str, day: str
    ) -> Literal["redeemed", "already_redeemed", "expired", "unknown"]:
        voucher = self.vouchers.get((business_id, code))
        if voucher is None:
            return "unknown"
        if voucher.redeemed_at:
            return "already_redeemed"
        if voucher.valid_until < now:
            return "expired"
        self.vouchers[(business_id, code)] = replace(voucher, redeemed_at=now)
        self.funnel.setdefault((business_id, day), {"issued": 0, "redeemed": 0})["redeemed"] += 1
        return "redeemed"

    def get_voucher(self, business_id: str, code: str) -> Voucher | None:
        return self.vouchers.get((business_id, code))

    def record_apology(self, apology: Apology) -> None:
        key = (apology.business_id, apology.day, apology.response_id)
        if key not in self.apologies:
            fields = asdict(apology)
            self.apologies[key] = {
                name: fields[name] for name in ("email_hash", "metric", "score", "touchpoint_id", "sent_at")
            }
        current = self.pointers.get((apology.business_id, apology.email_hash))
        if current is None or current.sent_at <= apology.sent_at:
            self.pointers[(apology.business_id, apology.email_hash)] = ApologyPointer(
                apology.business_id, apology.day, apology.response_id, apology.sent_at
            )

    def latest_apology(self, business_id: str, email_hash: str) -> ApologyPointer | None:
        return self.pointers.get((business_id, email_hash))

    def mark_recovered(self, pointer: ApologyPointer, *, at: str) -> bool:
        record = self.apologies.get((pointer.business_id, pointer.day, pointer.response_id))
        if record is None or "recovered_at" in record:
            return False
        record["recovered_at"] = at
        return True

    def count_alert(self, business_id: str, window: int, ref: AlertRef, *, limit: int, batch_cap: int) -> int:
        item = self.windows.setdefault((business_id, window), {"rids": [], "batch": []})
        if ref.response_id in item["rids"]:
            ids = [b.response_id for b in item["batch"]]
            if ref.response_id not in ids:
                return 1
            return limit + 1 if ids[0] == ref.response_id else limit + 2
        item["rids"].append(ref.response_id)
        position = len(item["rids"])
        if limit < position <= limit + batch_cap:
            item["batch"].append(ref)
        return position

    def alert_batch(self, business_id: str, window: int, *, limit: int) -> tuple[list[AlertRef], int]:
        item = self.windows.get((business_id, window))
        if item is None:
            return [], 0
        return list(item["batch"]), max(0, len(item["rids"]) - limit)

    def responses(self, business_id: str, refs: Sequence[AlertRef]) -> list[StoredResponse]:
        return [self.saved[r.response_id] for r in refs if r.response_id in self.saved]


class FakeFlusher:
    def __init__(self) -> None:
        self.scheduled: list[tuple[str, int, int]] = []

    def schedule(self, business_id: str, window: int, delay_seconds: int) -> None:
        self.scheduled.append((business_id, window, delay_seconds))


@dataclass
class Loop:
    """Everything a unit test of the closed loop needs, wired as wiring.py wires the real thing."""

    clock: FakeClock = field(default_factory=FakeClock)
    mailer: FakeMailer = field(default_factory=FakeMailer)
    ledger: FakeLedgerAndSuppressions = field(default_factory=FakeLedgerAndSuppressions)
    dead: FakeDeadLetters = field(default_factory=FakeDeadLetters)
    store: FakeFollowupStore = field(default_factory=FakeFollowupStore)
    flusher: FakeFlusher = field(default_factory=FakeFlusher)
    businesses: InMemoryStore = field(default_factory=InMemoryStore)
    cases: InMemoryCaseStore = field(default_factory=InMemoryCaseStore)  # issue #14: the complaint inbox

    def __post_init__(self) -> None:
        self._ids = 0
        self.mail = MailService(self.mailer, self.ledger, self.ledger, self.dead, self.clock, SETTINGS)
        self.followups = Followups(
            Directory(self.businesses, 0), self.store, self.mail, self.flusher, self.clock, SETTINGS, templates=emails,
            cases=self.cases,
        )
        self.inbox = Cases(self.cases, self.store, self.mail, emails, self.clock, SETTINGS)

    def next_id(self) -> str:
        self._ids += 1
        return f"resp{self._ids:08d}"

    def add_business(self, **overrides: Any) -> Business:
        data: dict[str, Any] = {
            "business_id": "biz001",
            "name": "Cà Phê Sài Gòn",
            "owner_emails": ["owner@caphe.example", "manager@caphe.example"],
            "timezone": "Asia/Ho_Chi_Minh",
            "locale": "vi",
            "sender_email": "xin-chao@caphe.example",
            "voucher": VoucherPolicy(description="Giảm 10% lần sau", valid_days=30, per_email_days=30),
            "owner_key_hash": "x",
            "site_key": "sk_biz001_0000000000000000",
            "signing_keys": {1: "c2VjcmV0"},
            "active_key_id": 1,
            "created_at": "2026-11-01T00:00:00.000000Z",
            **overrides,
        }
        business = Business(**data)
        self.businesses.businesses[business.business_id] = business
        self.businesses.touchpoints[(business.business_id, "tp0001")] = Touchpoint(
            business_id=business.business_id,
            touchpoint_id="tp0001",
            name="Bàn số 4",
            channel="qr",
            metric="nps",
            created_at=data["created_at"],
        )
        return business

    def response(self, score: int, *, metric: str = "nps", email: str | None = "khach@example.com", **over: Any):
        from chalicelib.domain.calendar import iso_utc
        from chalicelib.domain.metrics import is_unhappy
        from chalicelib.services.mail import address_hash

        created = iso_utc(self.clock.now())
        data: dict[str, Any] = {
            "response_id": over.pop("response_id", None) or self.next_id(),
            "business_id": "biz001",
            "touchpoint_id": "tp0001",
            "channel": "qr",
            "metric": metric,
            "score": score,
            "unhappy": is_unhappy(metric, score),
            "created_at": created,
            "updated_at": created,
            "local_date": created[:10],
            "locale": "vi",
            "email": email,
            "email_hash": address_hash(SETTINGS.app_secret, email) if email else None,
            "consent": email is not None,
            **over,
        }
        response = StoredResponse(**data)
        self.store.saved[response.response_id] = response
        return response


def stream_record(
    response: StoredResponse | None,
    *,
    event_name: str = "INSERT",
    sequence: str = "1",
    old: StoredResponse | None = None,
) -> dict[str, Any]:
    """A DynamoDB stream record as Lambda delivers it (typed attribute values, epoch creation time)."""
    from boto3.dynamodb.types import TypeSerializer

    ser = TypeSerializer()
    record: dict[str, Any] = {
        "eventID": f"e{sequence}",
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "awsRegion": "ap-southeast-1",
        "eventSourceARN": "arn:aws:dynamodb:ap-southeast-1:000000000000:table/t/stream/x",
        "dynamodb": {"SequenceNumber": sequence, "StreamViewType": "NEW_AND_OLD_IMAGES", "SizeBytes": 100},
    }
    if response is not None:
        sk = f"{response.created_at}#{response.response_id}"
        keys = {"PK": f"R#{response.business_id}#{response.local_date}", "SK": sk}
        image = {**response.model_dump(mode="json", exclude_none=True), **keys, "type": "response"}
        record["dynamodb"]["Keys"] = {k: ser.serialize(v) for k, v in keys.items()}
        record["dynamodb"]["NewImage"] = {k: ser.serialize(v) for k, v in image.items()}
        if old is not None:
            old_image = {**old.model_dump(mode="json", exclude_none=True), **keys, "type": "response"}
            record["dynamodb"]["OldImage"] = {k: ser.serialize(v) for k, v in old_image.items()}
    return record


__all__ = ["MailRejected", "MailThrottled"]
