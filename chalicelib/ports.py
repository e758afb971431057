"""The small protocols the services ask for; adapters implement them, tests use in-memory fakes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from chalicelib.domain.jobs import ReportJob
from chalicelib.domain.limits import RateLimit
from chalicelib.domain.models import Business, StoredResponse, Touchpoint

if TYPE_CHECKING:
    from chalicelib.domain.cases import Case, CaseEvent, CaseTimes
    from chalicelib.domain.feeds import StoredFeed
    from chalicelib.domain.ratings import RatingRequest
    from chalicelib.domain.report import DailyReport
    from chalicelib.domain.webhooks import Delivery, HttpResult, StoredWebhook


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class ResponseLocator:
    business_id: str
    local_date: str
    sort_key: str
    response_id: str
    created_at: str


@dataclass(frozen=True)
class Claim:
    """The item that makes "one response per minted link" (or per browser per day) hold: written with
    the response in one transaction, on condition it has not been claimed yet."""

    business_id: str
    key: str
    expires_at: int


@dataclass(frozen=True)
class IdempotencyRecord:
    scope: str
    key: str
    fingerprint: str
    status: int
    body: dict[str, Any]
    expires_at: int


@dataclass(frozen=True)
class RecordOutcome:
    kind: Literal["created", "already_claimed", "replay"]
    existing: ResponseLocator | None = None
    replay: IdempotencyRecord | None = None


@dataclass(frozen=True, kw_only=True)
class LinkRecord:
    # Which link: a touchpoint's minted link, named by the receipt it was printed on when it was.
    business_id: str
    touchpoint_id: str
    link_id: str
    receipt_id: str | None = None
    # Its lifetime, then who it was sent to (kept with consent only; the keyed hash finds it for erasure).
    created_at: str
    link_expires_at: int
    email: str | None = None
    email_hash: str | None = None


@dataclass(frozen=True)
class WriteGuards:
    """What decides, in the same transaction, whether a response is written: its claims (#11 item 1: the
    page view's or link's own first, then a widget's respondent per day), the idempotency record that
    replays a retry, and the rate limits it counts against."""

    claims: Sequence[Claim]
    idempotency: IdempotencyRecord | None = None
    limits: Sequence[RateLimit] = ()


@dataclass(frozen=True)
class Addition:
    """What a respondent adds to their response after it (``ResponseStore.add_comment``)."""

    updated_at: str
    comment: str | None = None
    email: str | None = None
    email_hash: str | None = None  # with ``email``: its keyed hash, for the email index
    phone: str | None = None  # issue #16: E.164, with consent
    phone_hash: str | None = None  # with ``phone``: its keyed hash, for the phone index
    # Issue #15. ``reasons``: None keeps the chosen chips, a list replaces them (empty: removed). ``topics``
    # and ``polarity`` come with a comment (``topics.tag``). ``mood_unhappy``: with reasons, the write
    # holds only while the answer still has that mood (a re-tap in between could have changed it).
    reasons: tuple[str, ...] | None = None
    topics: tuple[str, ...] = ()
    polarity: str | None = None
    mood_unhappy: bool | None = None


@dataclass(frozen=True)
class DayQuery:
    """Which of one day's responses to read (``ResponseStore.query_day``)."""

    business_id: str
    day: str
    limit: int | None = None
    start_after: str | None = None  # a response's sort key: the page starts after it
    metric: str | None = None
    touchpoint_id: str | None = None


@dataclass
class DayPage:
    items: list[StoredResponse] = field(default_factory=list)
    last_sort_key: str | None = None


class BusinessStore(Protocol):
    def put_business(self, business: Business) -> None: ...

    def get_business(self, business_id: str) -> Business | None: ...

    def set_signing_keys(
        self, business_id: str, signing_keys: dict[int, str], active_key_id: int, expected_active_key_id: int
    ) -> bool: ...

    # #11 item 7: owner-key rotation (conditional on the hash read, so two rotations cannot both win)
    def set_owner_key_hash(self, business_id: str, owner_key_hash: str, expected_hash: str) -> bool: ...

    def put_touchpoint(self, touchpoint: Touchpoint) -> None: ...

    def get_touchpoint(self, business_id: str, touchpoint_id: str) -> Touchpoint | None: ...

    def list_touchpoints(self, business_id: str) -> list[Touchpoint]: ...


class SettingsStore(Protocol):
    """An owner's changes to their business and touchpoints (issue #14): each writes only the attributes
    it changes, so a key rotation written at the same moment is never undone."""

    def update_business_settings(
        self, business_id: str, changes: dict[str, Any], removed: Sequence[str]
    ) -> Business | None:
        """Set ``changes`` (plain JSON values) and remove ``removed``; the business as stored after, or
        None when there is none."""
        ...

    def update_touchpoint(self, business_id: str, touchpoint_id: str, changes: dict[str, Any]) -> Touchpoint | None:
        """Set ``changes`` (plain JSON values: a new name, its reason chips, its labels); the touchpoint as
        stored after, or None when there is none."""
        ...

    def retire_touchpoint(self, business_id: str, touchpoint_id: str, retired_at: str) -> Touchpoint | None:
        """Mark it retired unless it already is; the touchpoint as stored after (a second retirement
        changes nothing), or None when there is none."""
        ...

    def list_touchpoints(self, business_id: str) -> list[Touchpoint]: ...


class ResponseStore(Protocol):
    def record(self, response: StoredResponse, guards: WriteGuards) -> RecordOutcome:
        """Write the response with its guards, all or nothing. Raises RateLimited when a limit is reached
        (nothing written). When a claim is taken, the outcome names the response of the first taken one, in
        the order of ``guards.claims``."""
        ...

    def update_score(
        self, locator: ResponseLocator, score: int, unhappy: bool, updated_at: str, limits: Sequence[RateLimit] = ()
    ) -> None: ...

    def save_idempotency(self, record: IdempotencyRecord) -> None: ...

    def add_comment(self, locator: ResponseLocator, added: Addition) -> bool:
        """Add a comment (with its topics) and/or a consented email and/or the chosen reasons to a response,
        one write (False when it is gone, not this one, or no longer of ``added.mood_unhappy``)."""
        ...

    def find_response(self, locator: ResponseLocator) -> StoredResponse | None:
        """The response as stored now (a strongly consistent read), or None."""
        ...

    def query_day(self, query: DayQuery) -> DayPage:
        """One day's responses, newest first: up to ``limit`` (all when None) after ``start_after``."""
        ...

    def put_links(self, links: Sequence[LinkRecord]) -> None: ...

    def count_open(self, business_id: str, day: str, touchpoint_id: str) -> None: ...

    def find_personal_data(
        self, business_id: str, person_hash: str, by: Literal["email", "phone"] = "email"
    ) -> list[tuple[str, str]]:
        """The keys of every item holding the person's email address (or, #16, phone number): one Query."""
        ...

    def erase_personal_data(self, pk: str, sk: str, erased_at: str) -> str | None:
        """Remove the address, phone and comment of one item; returns the comment it held (#11: to find
        copies)."""
        ...


# ---- daily reports ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisteredBusiness:
    """A business as the hourly report job sees it in the business index (no Scan needed)."""

    business_id: str
    timezone: str
    created_day: str
    last_day: str | None = None  # the last local day whose report was stored


@dataclass(frozen=True)
class ResponseRow:
    """The few fields of a response a report needs (read with a projection, never the whole item)."""

    touchpoint_id: str
    channel: str
    metric: str
    score: int
    created_at: str
    comment: str | None = None
    # issue #15: what the answer names (reason chips, comment topics) and the labels of where it was given
    reasons: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class StoredReport:
    day: str
    report: dict[str, Any]
    tally: list[list[Any]]
    # issue #15: the day's reasons / topics / labels / heatmap counts (domain/why.py); None when the report
    # was stored before they were kept
    facets: dict[str, Any] | None = None


class BusinessRegistry(Protocol):
    def register(self, business_id: str, timezone: str, created_day: str) -> None: ...

    # issue #14: the owner moved the business to another time zone; its last reported day stays
    def set_timezone(self, business_id: str, timezone: str, today: str) -> None: ...

    def registered(self) -> Iterator[RegisteredBusiness]: ...

    def mark_reported(self, business_id: str, day: str) -> None: ...


class ReportStore(Protocol):
    def day_rows(self, business_id: str, day: str) -> Iterator[ResponseRow]: ...

    def funnel(self, business_id: str, day: str) -> tuple[dict[str, int], int, int]:
        """(opens per touchpoint, vouchers issued, vouchers redeemed) of one day."""
        ...

    def apologies(self, business_id: str, day: str) -> tuple[int, int]:
        """(apologies sent, of which recovered) for apologies sent on one local day."""
        ...

    def put_report(
        self, business_id: str, day: str, report: dict[str, Any], tally: list[list[Any]],
        facets: dict[str, Any] | None = None,
    ) -> None: ...

    def get_report(self, business_id: str, day: str) -> dict[str, Any] | None: ...

    def reports_between(self, business_id: str, first: str, last: str, *, with_report: bool) -> list[StoredReport]: ...

    # #11 item 7: signing out of the dashboard ends that session in every container
    def revoke_session(self, business_id: str, session_id: str, until: int) -> None: ...

    def session_revoked(self, business_id: str, session_id: str) -> bool: ...

    # #11 item 7: erasure reaches the comments copied into stored reports (and the dashboard that reads them)
    def erase_report_comments(self, business_id: str, day: str, comments: set[tuple[str, str]]) -> int:
        """Remove from the stored report of ``day`` the comments given as (response created_at, comment
        text); returns how many were removed (0 when there is no report)."""
        ...


class ReportQueue(Protocol):
    def send(self, jobs: Sequence[ReportJob]) -> int: ...


# ---- email and the closed loop (chalicelib/services/mail.py, chalicelib/services/followups.py) -----------


class MailError(Exception):
    retryable = True


class MailThrottled(MailError):
    """The provider said "slow down" (sending rate or daily quota) on every attempt."""


class MailUnavailable(MailError):
    """The provider answered 5xx or could not be reached on every attempt."""


class MailRejected(MailError):
    """The provider refused this message (unverified sender, bad address, too large): retrying changes nothing."""

    retryable = False


class Mailer(Protocol):
    """Sends one fully rendered RFC 5322 message (bytes, every header and part included) and returns the
    provider's message id. Raises ``MailThrottled`` / ``MailUnavailable`` when a retry may succeed and
    ``MailRejected`` when it never will. A provider that replaces the Message-ID header (SES) also has
    ``delivered_message_id(message_id) -> str``, the header its recipients get (issue #14 threading)."""

    def send_raw(self, raw: bytes, *, sender: str, recipients: Sequence[str]) -> str: ...


@dataclass(frozen=True)
class LedgerEntry:
    dedupe_key: str
    status: Literal["sending", "sent", "queued", "capped"]
    claimed_at: str
    message_id: str | None = None


class MailLedger(Protocol):
    """One item per email that should go out (``M#{dedupe_key}``), so a key never sends twice."""

    def claim(self, claim: MailClaim) -> bool:
        """True when the caller may send now: the key was free, or its previous claim is older than
        ``stale_before`` and never finished (a crashed sender). Conditional write, no read-then-write."""
        ...

    def get(self, dedupe_key: str) -> LedgerEntry | None: ...

    def finish(
        self, dedupe_key: str, *, status: Literal["sent", "queued"], message_id: str | None, now: str
    ) -> None: ...

    def release(self, dedupe_key: str, *, caps: Sequence[EmailCap] = ()) -> None:
        """Give a claim back (nothing was sent, nothing queued); with ``caps``, give their counts back too."""
        ...

    # ---- issue #11 item 4: daily caps on automatic customer emails, counted with the claim ----

    def claim_within(self, claim: MailClaim, caps: Sequence[EmailCap]) -> str:
        """``claim`` and one count on every cap, all or nothing (one transaction): ``"claimed"``, ``"taken"``
        (already claimed: as ``claim`` returning False), or the ``name`` of the first cap that is full
        (nothing claimed, nothing counted)."""
        ...

    def mark_capped(self, dedupe_key: str, *, kind: str, business_id: str, cap: str, now: str) -> bool:
        """Record that this email was held by ``cap`` (status ``capped``: never sent, never retried).
        False when the key was claimed meanwhile."""
        ...

    def full_cap(self, caps: Sequence[EmailCap]) -> str | None:
        """The ``name`` of the first cap already at its limit, or None: a read, so a voucher is not issued
        for an email its caps will hold back (``claim_within`` still decides, atomically)."""
        ...


@dataclass(frozen=True)
class MailClaim:
    """A sender's claim on one email's dedupe key (``MailLedger.claim``)."""

    dedupe_key: str
    kind: str
    business_id: str
    now: str
    stale_before: str  # a claim still "sending" from before this is a crashed sender's: taken over


@dataclass(frozen=True)
class EmailCap:
    """One daily counter an automatic customer email must fit under (issue #11 item 4)."""

    name: str  # "address_business", "address_day", "business_day": logs, metrics, the ledger
    key: str  # the counter's key (stored as tables.cap_pk(key))
    limit: int
    expires_at: int  # epoch seconds (TTL)


class SuppressionStore(Protocol):
    """Addresses that get no more email: ``scope`` is a business id (unsubscribed from that business) or
    ``*`` (SES reported a bounce or a complaint)."""

    def suppress(self, email_hash: str, scope: str, *, reason: str, at: str) -> None: ...

    def is_suppressed(self, email_hash: str, business_id: str) -> bool: ...


class DeadLetters(Protocol):
    def put(self, message: dict[str, Any]) -> None: ...

    def receive(self, max_messages: int) -> list[tuple[str, dict[str, Any]]]:
        """(receipt handle, message) pairs."""
        ...

    def delete(self, receipt: str) -> None: ...

    # issue #11 erasure: a letter received but not ours to delete goes back on the queue at once
    def release(self, receipt: str) -> None: ...


@dataclass(frozen=True)
class Voucher:
    business_id: str
    code: str
    description: str
    issued_at: str
    valid_until: str
    response_id: str
    kind: Literal["answer", "recovery"]
    redeemed_at: str | None = None


@dataclass(frozen=True)
class ApologyPointer:
    """The latest apology sent to one address of one business (``AE#{biz}#{email_hash}`` / ``A``)."""

    business_id: str
    day: str
    response_id: str
    sent_at: str


@dataclass(frozen=True)
class Apology(ApologyPointer):
    """An apology sent after an unhappy answer (``A#{biz}#{day}`` / ``{response_id}``), and what it
    answered: the reports count apologies and recoveries per day, erasure finds it by ``email_hash``."""

    email_hash: str
    metric: str
    score: int
    touchpoint_id: str


class FollowupStore(Protocol):
    def issue_voucher(
        self, voucher: Voucher, *, email_hash: str, not_before: str | None, day: str, limit_hash: str | None = None
    ) -> Voucher | None:
        """Store the voucher, once per (response, kind), and count it on the day's funnel, in one
        transaction. Returns the voucher of this response (the new one, or the one issued before), or
        None when the same person already got a voucher since ``not_before``. ``email_hash`` is stored
        on the voucher (erasure finds it); ``limit_hash`` (default ``email_hash``) keys the per-person
        limit: the hash of the normalised address, so address variants share it (issue #11 item 4)."""
        ...

    def redeem_voucher(
        self, business_id: str, code: str, *, now: str, day: str
    ) -> Literal["redeemed", "already_redeemed", "expired", "unknown"]: ...

    def get_voucher(self, business_id: str, code: str) -> Voucher | None: ...

    def record_apology(self, apology: Apology) -> None:
        """Store the apology once, and point the address's ``latest_apology`` at it unless a newer one is."""
        ...

    def latest_apology(self, business_id: str, email_hash: str) -> ApologyPointer | None: ...

    def mark_recovered(self, pointer: ApologyPointer, *, at: str) -> bool: ...

    # issue #11 item 7: a window's batch holds references to responses, never their text
    def count_alert(self, business_id: str, window: int, ref: AlertRef, *, limit: int, batch_cap: int) -> int:
        """Count one owner alert (once per response) in a 5-minute window; past ``limit`` the first
        ``batch_cap`` references are kept on the window's item for the batched email (the rest only
        counted). Returns the alert's position in the window."""
        ...

    def alert_batch(self, business_id: str, window: int, *, limit: int) -> tuple[list[AlertRef], int]:
        """(the references kept, how many alerts were batched in all) of one window."""
        ...

    def responses(self, business_id: str, refs: Sequence[AlertRef]) -> list[StoredResponse]:
        """The responses of ``refs`` as stored now (an erased one without its comment and email; a
        deleted one left out), in the order of ``refs``."""
        ...


@dataclass(frozen=True)
class AlertRef:
    """Where a batched alert's response is (``R#{biz}#{day}`` / ``{sort_key}``): ids, no personal data."""

    response_id: str
    day: str
    sort_key: str


class AlertFlusher(Protocol):
    """Arranges for the batched owner alert of a window to be sent once the window has closed."""

    def schedule(self, business_id: str, window: int, delay_seconds: int) -> None: ...


# ---- issue #14: the complaint inbox -------------------------------------------------------------------


@dataclass(frozen=True)
class StoredCase:
    """A case as the store keeps it: no copy of the customer's address or comment (``case.comment`` is
    None; the service reads them from the response, at ``R#{biz}#{local_date}`` / ``{sort_key}``)."""

    case: Case
    local_date: str

    @property
    def sort_key(self) -> str:
        return f"{self.case.created_at}#{self.case.response_id}"


class CaseStore(Protocol):
    """Cases, one per unhappy response (``chalicelib/tables.py``). Every move of a case is a conditional
    write, so two owners acting at once never make a sixth reply or a second resolution."""

    def open_case(self, business_id: str, stored: StoredCase, email_hash: str | None) -> bool:
        """Store a new case unless the response has one (a redelivered stream record); True if new."""
        ...

    def add_contact(self, business_id: str, response_id: str, email_hash: str, event: CaseEvent) -> bool:
        """``no_contact`` -> ``open``: a consented address came with a later write of the answer."""
        ...

    def change_score(self, business_id: str, response_id: str, score: int, event: CaseEvent) -> bool:
        """The customer edited the score: the case keeps the new one (once per distinct score)."""
        ...

    def get_case(self, business_id: str, response_id: str) -> StoredCase | None: ...

    def begin_reply(self, business_id: str, response_id: str, *, replies: int, history: int, event: CaseEvent) -> bool:
        """Record reply number ``replies + 1`` (status ``replied``, the first reply's time kept) as history
        entry number ``history``, only if the case is still replyable with exactly ``replies`` replies and
        ``history`` entries; False when that changed."""
        ...

    def finish_reply(self, business_id: str, response_id: str, *, index: int, outcome: str) -> Case | None:
        """Write the delivery outcome on history entry ``index``; the case as it is now."""
        ...

    def resolve(self, business_id: str, response_id: str, event: CaseEvent) -> Case | None:
        """Resolve the case unless it is resolved already (None then); the case as it is now."""
        ...

    def list_cases(
        self, business_id: str, *, status: str | None, after: str | None, limit: int
    ) -> tuple[list[StoredCase], str | None]:
        """Newest first, from after sort key ``after``; the sort key to resume after, if more may follow."""
        ...

    def case_times(self, business_id: str, first: str, last: str) -> Iterator[CaseTimes]:
        """The times of the cases answered from ``first`` to before ``last`` (UTC ISO timestamps)."""
        ...

    def open_cases(self, business_id: str, *, since: str, before: str) -> Iterator[StoredCase]:
        """Cases still ``open`` answered from ``since`` to before ``before``, newest first."""
        ...

    def erase_case(self, pk: str, sk: str, at: str) -> bool:
        """Erasure: the owner's reply texts out of the history, the address's hash and index keys off, no
        contact any more. True if a case was there."""
        ...


# ---- email rendering: the services say what to send, the web layer says how it reads -------------------


@dataclass(frozen=True)
class InlineImage:
    """An image the HTML part shows as ``<img src="cid:{cid}">`` (sent as a multipart/related part)."""

    cid: str  # without the angle brackets
    data: bytes
    subtype: str = "png"
    filename: str = "image.png"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str
    images: tuple[InlineImage, ...] = ()  # issue #14: the voucher's till QR code


class EmailTemplates(Protocol):
    """Voucher, apology and alert emails in the business's or customer's locale; ``chalicelib.web.emails``
    (Jinja2, autoescaped) is the implementation, passed in so the services never import the web layer."""

    def render(self, kind: str, locale: str, *, subject_args: dict[str, Any], **context: Any) -> RenderedEmail: ...

    def channel_label(self, locale: str, channel: str) -> str: ...

    def format_day(self, locale: str, iso_day: str) -> str: ...


class DigestRenderer(Protocol):
    def __call__(
        self, report: DailyReport, *, dashboard_url: str, unsubscribe_url: str | None = None,
        console_url: str | None = None,
    ) -> RenderedEmail: ...


# ---- issue #14: the owner console's sign-in (chalicelib/services/signin.py) ------------------------------


class SigninStore(Protocol):
    """One-time sign-in links (only their keyed hash is stored), the cap on sign-in emails, and the
    signed-out sessions (the dashboard's revoked-session items: one list for both)."""

    def put_link(self, business_id: str, token_hash: str, email: str, expires: int) -> None: ...

    def link_email(self, business_id: str, token_hash: str, now: int) -> str | None:
        """The address a link was sent to while it is unused and unexpired; reads only."""
        ...

    def consume_link(self, business_id: str, token_hash: str, now: int) -> str | None:
        """The address of an unused, unexpired link, which this call uses up (a conditional delete); None
        when it is unknown, expired or already used, however many callers race."""
        ...

    def count_signin_email(self, business_id: str, window: int, limit: int, expires: int) -> bool:
        """Count one sign-in email in this window; False (nothing counted) when ``limit`` were already."""
        ...

    def revoke_session(self, business_id: str, session_id: str, until: int) -> None: ...

    def session_revoked(self, business_id: str, session_id: str) -> bool: ...


class SigninEmailRenderer(Protocol):
    def __call__(
        self, business: Business, locale: str, *, url: str, minutes: int, unsubscribe_url: str
    ) -> RenderedEmail: ...


# ---- issue #16: the Google Sheets feeds ---------------------------------------------------------------


class FeedStore(Protocol):
    def put_feed(self, feed: StoredFeed) -> None: ...

    def feeds(self, business_id: str) -> list[StoredFeed]: ...

    def delete_feed(self, business_id: str, feed_id: str) -> StoredFeed | None: ...

    def count_read(
        self, business_id: str, feed_id: str, hour: str, now: str, per_hour: int
    ) -> tuple[Literal["ok", "limited", "gone"], StoredFeed | None]:
        """Count one read in this hour's allowance: "gone" when the feed was revoked (or never was)."""
        ...


# ---- issue #16: ratings through Zalo ----------------------------------------------------------------------


class RatingsStore(Protocol):
    def ask(self, request: RatingRequest, caps: Sequence[EmailCap]) -> tuple[str, RatingRequest | None]:
        """Store a new request with the day's index entry, counted against ``caps``, all or nothing:
        ("stored", None); ("exists", the request as first stored); or (the name of the full cap, None)."""
        ...

    def get_request(self, business_id: str, request_id: str) -> RatingRequest | None: ...

    def update_request(self, business_id: str, request_id: str, changes: Mapping[str, str | None]) -> None: ...

    def businesses_on(self, day: str) -> list[str]:
        """The businesses that asked for a rating on this UTC day (the poll's index, a Query)."""
        ...

    def watermark(self, business_id: str) -> int | None: ...

    def mark_erased(self, business_id: str, identity: str, at: str) -> None: ...

    def is_erased(self, business_id: str, identity: str) -> bool: ...

    def set_watermark(self, business_id: str, until_ms: int) -> None: ...
# ---- issue #16: owners' webhooks ----------------------------------------------------------------------


class WebhookStore(Protocol):
    def put_webhook(self, webhook: StoredWebhook) -> None: ...

    def webhooks(self, business_id: str) -> list[StoredWebhook]: ...

    def get_webhook(self, business_id: str, webhook_id: str) -> StoredWebhook | None: ...

    def delete_webhook(self, business_id: str, webhook_id: str) -> StoredWebhook | None: ...

    def update_webhook(
        self, business_id: str, webhook_id: str, update: str, values: dict[str, Any], *, condition: str = ""
    ) -> StoredWebhook | None:
        """One conditional UpdateItem (``#status`` names the status); None when gone or the condition failed."""
        ...

    def record_attempt(self, business_id: str, webhook_id: str, delivery: Delivery) -> None: ...

    def deliveries(self, business_id: str, webhook_id: str, limit: int) -> list[Delivery]: ...


class WebhookQueue(Protocol):
    def send(self, message: dict[str, Any], delay_seconds: int = 0) -> None: ...

    def send_all(self, messages: Sequence[dict[str, Any]]) -> None: ...


class HttpSender(Protocol):
    def checked_address(self, url: str) -> str:
        """The address a delivery would go to; raises ``HostileUrl`` when it may not."""
        ...

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> HttpResult: ...
