"""The demo café's past for `make run`: `DEMO_HISTORY_DAYS` days (default 56) of customers, written through
the real services with a clock set in the past, so the dashboard's trend, the digest and the recovery
rate can be seen on the first run instead of after a week of waiting.

Everything goes through the code live answers go through: the survey page's services (the link opened,
its nonce, the score, the comment form), the widget's site check and nonce, receipts and email links
minted by the owner API's service, vouchers redeemed at the till, the stream records read by the same
poller and Lambda entry point as `make run` (vouchers, apologies, owner alerts, recovery), and every
finished day's report computed and stored by the daily job's ``Reports.run``. Nothing is written by hand.

What the invented past does not do is send email: its mail goes to :class:`PastMailer`, which keeps the
messages in memory (the invented customers' inboxes: a voucher code is read from its email, as a customer
would show it at the till) and sends nothing, and past days' digests are not sent. The first
``make aggregate DATE=<yesterday>`` sends yesterday's digest, once.

The plan (:func:`plan`) is pure and seeded: the same day gives the same café. While seeding, boto3 talks
to the emulator in-process rather than over loopback HTTP (:func:`in_process_emulator`), the same
emulator and tables the API then serves.
"""

from __future__ import annotations

import dataclasses
import email.policy
import heapq
import itertools
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any, Literal, Protocol
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chalicelib.services.access import Caller
    from chalicelib.wiring import Services

SEED = 2026
DEFAULT_DAYS = 56
MAX_DAYS = 366
Kind = Literal["table", "receipt", "email", "website"]
Locale = Literal["vi", "en"]

# ---- the plan: who comes when, and what they say ---------------------------------------------------------


@dataclass(frozen=True, order=True)
class Visit:
    """One customer answering one touchpoint. ``at`` is UTC; ``returning_from`` names the unhappy visit an
    apologised-to customer comes back after."""

    at: datetime
    kind: Kind = field(compare=False)
    score: int = field(compare=False)
    locale: Locale = field(compare=False, default="vi")
    comment: str | None = field(compare=False, default=None)
    customer: str | None = field(compare=False, default=None)  # an email address given with consent
    abandoned: bool = field(compare=False, default=False)  # opened the page, never answered
    number: int = field(compare=False, default=0)
    reasons: tuple[str, ...] = field(compare=False, default=())  # chips tapped after the score (issue #15)


METRIC_OF: dict[Kind, str] = {"table": "nps", "receipt": "csat", "email": "ces", "website": "csat"}
MIX: list[tuple[Kind, int]] = [("table", 38), ("receipt", 28), ("email", 18), ("website", 16)]
# Answers per day: quiet weekdays, busier Friday, busy weekends; a little growth week on week.
PER_DAY = {0: 22, 1: 21, 2: 22, 3: 24, 4: 30, 5: 44, 6: 40}
# When people answer, local time (a café open 7:00-22:00): morning coffee, lunch, after work.
HOURS = [7, 8, 8, 9, 9, 10, 11, 12, 12, 13, 13, 14, 15, 16, 17, 17, 18, 18, 19, 19, 20, 21]
BAD_WEEK = range(21, 28)  # days ago: short-staffed, slow service
# Weekend evenings at the counter and the tables: the rush the heatmap and the digest's lead sentence find.
RUSH_HOURS = range(18, 21)
# Reason chips a customer taps (issue #15), by mood: unhappy ones name what went wrong, happy ones what
# went right; the seeder keeps only chips the touchpoint offers.
# Who works the counter on each shift (a receipt's staff label).
STAFF = {"sáng": ["Lan", "Minh"], "trưa": ["Lan", "Tú"], "chiều": ["Tú", "Hải"], "tối": ["Hải", "Vy"]}
REASONS_UNHAPPY = [("wait", 5), ("staff", 2), ("cleanliness", 1), ("atmosphere", 1), ("price", 1), ("payment", 1)]
REASONS_SLOW = [("wait", 8), ("staff", 3), ("payment", 1)]
REASONS_HAPPY = [("food_drink", 5), ("staff", 3), ("atmosphere", 3), ("wait", 1), ("price", 1)]
SHOP_ORIGIN = "http://localhost:8080"  # the café's website, where its widget is embedded
CAFE_TIMEZONE = "Asia/Ho_Chi_Minh"  # the café's own: its past opens at its local midnight, before it exists

COMMENTS_GOOD_VI = [
    "Cà phê ngon, nhân viên thân thiện.",
    "Không gian đẹp, yên tĩnh, wifi mạnh.",
    "Bạc xỉu ở đây ngon nhất quận.",
    "Phục vụ nhanh, sẽ quay lại.",
    "Bánh mì nóng giòn, giá hợp lý.",
    "Nhân viên nhớ tên tôi, rất dễ thương.",
    "Chỗ ngồi thoải mái để làm việc.",
]
COMMENTS_MEH_VI = [
    "Đồ uống ổn nhưng hơi ngọt.",
    "Giá hơi cao so với khu vực.",
    "Buổi trưa đông, khó tìm chỗ ngồi.",
    "Chỗ gửi xe hơi chật.",
    "Thiếu ổ cắm để sạc laptop.",
]
COMMENTS_SLOW_VI = [
    "Chờ món quá lâu, gần 30 phút mới có cà phê.",
    "Phục vụ chậm, nhân viên quên order của tôi.",
    "Đông khách mà chỉ có một bạn pha chế, đợi lâu quá.",
    "Gọi mãi không ai ra thanh toán.",
    "Đợi lâu, đồ uống ra nguội.",
    "Quầy thu ngân xếp hàng dài, phục vụ chậm.",
]
COMMENTS_BAD_VI = [
    "Bàn chưa lau, ly còn dơ.",
    "Nhân viên thiếu nhiệt tình.",
    "Nhạc to quá, không nói chuyện được.",
]
COMMENTS_EN = [
    "Great coffee and friendly staff.",
    "Lovely place to work for an afternoon.",
    "Waited too long for my order.",
    "A bit pricey, but the egg coffee is worth it.",
]
# What the owner writes back from the complaint inbox, in the customer's language.
OWNER_REPLIES: dict[Locale, list[str]] = {
    "vi": [
        "Chào bạn, quán xin lỗi vì đã để bạn chờ lâu. Tuần này quán đã thêm một bạn pha chế giờ cao điểm; "
        "mong bạn ghé lại để quán được phục vụ tốt hơn.",
        "Cảm ơn bạn đã góp ý thẳng thắn. Quán đã nhắc lại với các bạn nhân viên ca đó. Lần tới bạn ghé, "
        "báo tên mình ở quầy nhé.",
        "Quán rất tiếc về trải nghiệm hôm đó. Chủ quán đã xem lại quy trình order để không ai bị quên nữa.",
    ],
    "en": [
        "Hello, and sorry for the wait. We have added a second barista for the busy hours; we hope to see you "
        "again soon.",
        "Thank you for telling us. We have talked it through with the team on that shift.",
    ],
}
GIVEN_NAMES = ["an", "binh", "chi", "dung", "giang", "ha", "hieu", "hoa", "huong", "khanh", "lan", "linh", "mai",
               "minh", "nam", "ngoc", "phuong", "quan", "thao", "trang", "tuan", "vy"]
FAMILY_NAMES = ["nguyen", "tran", "le", "pham", "hoang", "vu", "dang", "bui", "do", "ngo"]


def customers(rng: random.Random, count: int = 160) -> list[str]:
    """The café's regulars who leave an address: reserved example domains only (RFC 2606)."""
    people = sorted({f"{g}.{f}" for g in GIVEN_NAMES for f in FAMILY_NAMES})
    chosen = rng.sample(people, count)
    return [f"{name}{'' if i % 3 else i}@{('example.com', 'example.net', 'example.org')[i % 3]}"
            for i, name in enumerate(chosen)]


def _score(rng: random.Random, metric: str, mood: float) -> int:
    """A score on the metric's scale; ``mood`` 0 (awful) .. 1 (delighted) shifts the whole distribution."""
    low, high = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}[metric]
    centre = low + (high - low) * mood
    spread = (high - low) * 0.16
    return max(low, min(high, round(rng.gauss(centre, spread))))


def unhappy(metric: str, score: int) -> bool:
    return score <= {"nps": 6, "csat": 2, "ces": 3}[metric]


def _comment(rng: random.Random, metric: str, score: int, slow: bool, locale: Locale) -> str | None:
    sad = unhappy(metric, score)
    if rng.random() > (0.55 if sad else 0.22):
        return None
    if locale == "en":
        return rng.choice(COMMENTS_EN[2:3] if sad else COMMENTS_EN[:2] + COMMENTS_EN[3:])
    if sad:
        return rng.choice(COMMENTS_SLOW_VI if slow or rng.random() < 0.4 else COMMENTS_BAD_VI)
    high = {"nps": 9, "csat": 4, "ces": 5}[metric]
    return rng.choice(COMMENTS_GOOD_VI if score >= high else COMMENTS_MEH_VI)


def _reasons(seed: int, number: int, metric: str, score: int, slow: bool) -> tuple[str, ...]:
    """The chips one visit taps: about half tap one or two. Its own random stream (by visit number), so
    adding chips changed nothing else of the plan."""
    rng = random.Random(f"{seed}:reasons:{number}")
    if rng.random() > 0.5:
        return ()
    pool = REASONS_SLOW if slow else REASONS_UNHAPPY if unhappy(metric, score) else REASONS_HAPPY
    keys, weights = [k for k, _ in pool], [w for _, w in pool]
    first = rng.choices(keys, weights)[0]
    second = rng.choices(keys, weights)[0] if rng.random() < 0.35 else first
    return (first,) if second == first else (first, second)


def plan(days: int, now: datetime, timezone: str, seed: int = SEED) -> list[Visit]:
    """Every visit of the last ``days`` days before ``now`` (today so far included), oldest first, and the
    return visits of unhappy customers who left an address: most come back within two weeks, happier."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    rng = random.Random(seed)
    people = customers(rng)
    visits: list[Visit] = []
    number = itertools.count(1)
    for ago in range(days, -1, -1):
        day = today - timedelta(days=ago)
        # One random stream per day: a day's customers do not change when another day's do.
        day_rng = random.Random(f"{seed}:{ago}:{day.weekday()}")
        slow = ago in BAD_WEEK
        growth = 1 + 0.015 * (days - ago) / 7
        count = round(PER_DAY[day.weekday()] * growth * day_rng.uniform(0.85, 1.15))
        for _ in range(count):
            local = datetime.combine(day, datetime.min.time(), zone) + timedelta(
                hours=day_rng.choice(HOURS), minutes=day_rng.randrange(60), seconds=day_rng.randrange(60)
            )
            at = local.astimezone(UTC)
            if at >= now:
                continue
            kind = day_rng.choices([k for k, _ in MIX], [w for _, w in MIX])[0]
            metric = METRIC_OF[kind]
            mood = day_rng.betavariate(9, 1.6) if not slow else day_rng.betavariate(3.5, 2.5)
            if kind == "website" and not slow:
                mood = min(1.0, mood + 0.05)
            rush = day.weekday() >= 5 and local.hour in RUSH_HOURS and kind in ("receipt", "table")
            if rush and not slow:
                mood = min(mood, day_rng.betavariate(4.5, 2.5))
            score = _score(day_rng, metric, mood)
            locale: Locale = "en" if day_rng.random() < 0.08 else "vi"
            sad = unhappy(metric, score)
            gives_address = day_rng.random() < (0.35 if sad else 0.08)
            visit_number = next(number)
            visits.append(
                Visit(
                    at=at, kind=kind, score=score, locale=locale,
                    comment=_comment(day_rng, metric, score, slow or rush, locale),
                    customer=day_rng.choice(people) if gives_address else None,
                    abandoned=kind == "table" and day_rng.random() < 0.18,
                    number=visit_number,
                    reasons=_reasons(seed, visit_number, metric, score, (slow or rush) and sad),
                )
            )
    returns: list[Visit] = []
    for visit in visits:
        if visit.customer and unhappy(METRIC_OF[visit.kind], visit.score) and rng.random() < 0.6:
            back = visit.at + timedelta(days=rng.uniform(2, 14), hours=rng.uniform(-3, 3))
            if back < now:
                metric = METRIC_OF[visit.kind]
                returns.append(
                    Visit(at=back, kind=visit.kind, score=_score(rng, metric, rng.uniform(0.75, 1.0)),
                          locale=visit.locale, customer=visit.customer, number=next(number))
                )
    return sorted(visits + returns)


# ---- what stands in for the world while the past is written ------------------------------------------------


class HistoryClock:
    """The clock of every service while the past is written: moved forward by the seeder, never back."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def move_to(self, moment: datetime) -> None:
        self.moment = max(self.moment, moment)


_WITH_CODE = re.compile(rb"^X-Survey-Kind: (?:voucher|apology)\r?$", re.MULTILINE)
_CODE = re.compile(r"\b[2-9A-HJ-NP-Z]{4}(?:-[2-9A-HJ-NP-Z]{4}){3}\b")


class PastMailer:
    """The mail of the invented past: rendered and recorded by the real mail layer, delivered to no one.
    The voucher emails are kept (the invented customers' inboxes) so a code can be shown at the till."""

    def __init__(self) -> None:
        self.kept = 0
        self.vouchers: list[str] = []  # codes, in the order their emails went out

    def send_raw(self, raw: bytes, *, sender: str, recipients: Sequence[str]) -> str:
        self.kept += 1
        if not _WITH_CODE.search(raw):
            return f"demo-history-{self.kept}"  # an owner's alert or a digest: no code to keep
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
        if isinstance(message, EmailMessage):
            body = message.get_body(("plain",))
            found = _CODE.search(body.get_content() if body is not None else "")
            if found:
                self.vouchers.append(found.group(0))
        return f"demo-history-{self.kept}"


class PastAlertFlusher:
    """Batched owner alerts of the past: the seeder flushes a window once the history clock has passed it,
    as the delayed SQS message would."""

    def __init__(self, clock: HistoryClock) -> None:
        self._clock = clock
        self.due: list[tuple[datetime, str, int]] = []

    def schedule(self, business_id: str, window: int, delay_seconds: int) -> None:
        heapq.heappush(self.due, (self._clock.now() + timedelta(seconds=max(0, delay_seconds)), business_id, window))


# ---- writing it ---------------------------------------------------------------------------------------------


@dataclass
class Written:
    """What the seeding wrote, for the line `make run` prints: ``counts`` of answers, page views, comments,
    vouchers redeemed, cases replied to and resolved, and daily reports; the emails of the past (recorded,
    not sent); what the rules refused, by error code (none, with the shipped settings)."""

    counts: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    emails_not_sent: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        refused = ", ".join(f"{n} {code}" for code, n in sorted(self.refused.items()))
        n = self.counts
        return (
            f"{n['answers']} answers from {n['page_views']} page views, {n['comments']} comments, "
            f"{n['reasons']} with reason chips, "
            f"{n['vouchers_redeemed']} vouchers redeemed, {n['cases_replied']} complaints replied to and "
            f"{n['cases_resolved']} resolved, {n['reports']} daily reports; "
            f"{self.emails_not_sent} emails of the past recorded, none sent"
            + (f"; refused by the rules: {refused}" if refused else "")
        )


@contextmanager
def in_process_emulator() -> Iterator[None]:
    """boto3 straight into the in-process emulator (moto's botocore stub), not through its HTTP server:
    the same backend and tables, without a loopback round trip per call while thousands are written."""
    from moto import mock_aws

    endpoint = os.environ.pop("AWS_ENDPOINT_URL", None)
    mock = mock_aws()  # sets its own credentials while it runs, and puts the previous ones back
    mock.start(reset=False)
    try:
        yield
    finally:
        mock.stop(remove_data=False)
        if endpoint is not None:
            os.environ["AWS_ENDPOINT_URL"] = endpoint


class Seeder:
    """Writes :func:`plan`'s visits in time order, the follow-ups and the daily reports between them."""

    def __init__(self, services: Services, clock: HistoryClock, demo: Cafe, caller: Caller,
                 mailer: PastMailer, flusher: PastAlertFlusher, drain: Callable[[], int]):
        self.services, self.clock, self.demo, self.caller = services, clock, demo, caller
        self.mailer, self.flusher, self.drain = mailer, flusher, drain
        self.written = Written()
        # The café's owner, signed in to the console by the link emailed to her: the cases' history names her.
        self.owner = dataclasses.replace(caller, actor=caller.business.owner_emails[0])
        self._rng = random.Random(SEED + 1)
        self._redeemed_codes = 0

    def run(self, visits: Sequence[Visit], now: datetime) -> Written:
        timezone = ZoneInfo(self.caller.business.timezone)
        events: list[tuple[datetime, int, str, Any]] = []
        order = itertools.count()
        for visit in visits:
            events.append((visit.at, next(order), "visit", visit))
        first = visits[0].at.astimezone(timezone).date() if visits else now.astimezone(timezone).date()
        today = now.astimezone(timezone).date()
        day = first
        while day < today:
            # The daily job, shortly after the business's midnight.
            midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), timezone).astimezone(UTC)
            events.append((midnight + timedelta(minutes=10), next(order), "report", day))
            day += timedelta(days=1)
        heapq.heapify(events)
        while events:
            at, _, kind, what = heapq.heappop(events)
            if at >= now:
                break
            self._flush_alerts(at)
            self.clock.move_to(at)
            if kind == "visit":
                answered = self._visit(what)
                redemption = self._maybe_redeem_later(at, now)
                if redemption is not None:
                    heapq.heappush(events, (redemption[0], next(order), "redeem", redemption[1]))
                if answered is not None and unhappy(METRIC_OF[what.kind], what.score):
                    for when, action in self._owner_handles(what):
                        if when < now:
                            heapq.heappush(events, (when, next(order), action, (answered, what)))
            elif kind == "redeem":
                self._redeem(what)
            elif kind in ("reply", "resolve"):
                self._handle_case(kind, *what)
            else:
                self._report(what)
        self.clock.move_to(now - timedelta(seconds=1))
        self._flush_alerts(now)
        self.drain()
        self.written.emails_not_sent = self.mailer.kept
        return self.written

    # -- one visit, as the survey page, the widget, a receipt or an email link makes it ----------------------

    def _visit(self, visit: Visit) -> str | None:
        """The visit's answer, as the customer's page or widget makes it; its response id, None if none."""
        from chalicelib.domain import reasons
        from chalicelib.domain.models import CommentIn, LinksIn, ResponseIn
        from chalicelib.errors import DomainError
        from chalicelib.services.submissions import RequestMeta

        services, demo = self.services, self.demo
        # Two in five table answers come from the garden's tables (their own QR code, labelled by area).
        spot = "garden" if visit.kind == "table" and visit.number % 5 < 2 and "garden" in demo.touchpoints else None
        tp = demo.touchpoints[spot or visit.kind]
        metric = METRIC_OF[visit.kind]
        # No address: the past was not written over HTTP, so the per-address limit is not counted (the
        # per-link one is, as for any answer).
        meta = RequestMeta()
        try:
            if visit.kind == "website":
                from chalicelib.domain.models import SiteQuery

                origin = SHOP_ORIGIN
                config = services.sites.check(demo.site_key, origin, SiteQuery(metric="csat",
                                                                               touchpoint_id=tp["touchpoint_id"]))
                self.written.counts["page_views"] += 1
                self.clock.move_to(visit.at + timedelta(seconds=8))
                data = ResponseIn(site_key=demo.site_key, metric="csat", score=visit.score, locale=visit.locale,
                                  touchpoint_id=tp["touchpoint_id"], nonce=config.nonce, elapsed_ms=8000,
                                  respondent_id=f"demo{visit.number}")
                meta = RequestMeta(origin=origin)
            else:
                token = tp["token"]
                if visit.kind in ("receipt", "email"):
                    minted = services.links.mint(self.caller, LinksIn(
                        touchpoint_id=tp["touchpoint_id"],
                        receipt_id=f"HD-{visit.at:%y%m%d}-{visit.number:05d}" if visit.kind == "receipt" else None,
                        email=visit.customer if visit.kind == "email" else None,
                        labels=self._till_labels(visit) if visit.kind == "receipt" else {},
                    ))
                    token = minted.links[0].token
                opened = services.submissions.open_link(token)
                services.submissions.count_open(opened)
                nonce = services.submissions.page_nonce(opened)
                self.written.counts["page_views"] += 1
                if visit.abandoned:
                    return None
                self.clock.move_to(visit.at + timedelta(seconds=6))
                data = ResponseIn(token=token, score=visit.score, locale=visit.locale, nonce=nonce)
            # The chips the thank-you page offers this answer's mood (the demo's touchpoints keep the defaults).
            offered = reasons.allowed(metric, None, reasons.mood(unhappy(metric, visit.score)))
            tapped = [key for key in visit.reasons if key in offered]
            if tapped and not (visit.comment or visit.customer):
                # Chips alone go with the score, as a widget or a till may send them: one write, not two.
                data = data.model_copy(update={"reasons": tapped})
                self.written.counts["reasons"] += 1
                tapped = []
            submitted = services.submissions.submit(data, meta)
            self.written.counts["answers"] += 1
            if visit.comment or visit.customer:
                self.clock.move_to(visit.at + timedelta(seconds=50))
                services.submissions.add_comment(submitted.body.response_id, CommentIn(
                    edit_token=submitted.body.edit_token, comment=visit.comment, email=visit.customer,
                    consent=visit.customer is not None, reasons=tapped,
                ))
                self.written.counts["comments"] += visit.comment is not None
                self.written.counts["reasons"] += bool(tapped)
        except DomainError as refused:
            # An outcome of the rules (a rate limit, a voucher window), recorded as the API would answer it.
            self.written.refused[refused.code] += 1
            return None
        if visit.customer or unhappy(metric, visit.score):
            # The stream consumer a few seconds later: apology, voucher, owner alert, recovery, the case.
            self.clock.move_to(visit.at + timedelta(seconds=70))
            self.drain()
        return submitted.body.response_id

    def _till_labels(self, visit: Visit) -> dict[str, str]:
        """What the till signs into a receipt's link: the shift, and who was on it (staff views stay off
        until the owner turns them on)."""
        hour = visit.at.astimezone(ZoneInfo(self.caller.business.timezone)).hour
        shift = "sáng" if hour < 11 else "trưa" if hour < 14 else "chiều" if hour < 18 else "tối"
        return {"shift": shift, "staff": STAFF[shift][visit.number % len(STAFF[shift])], "till": "Quầy 1"}

    # -- the owner's complaint inbox ---------------------------------------------------------------------

    def _owner_handles(self, visit: Visit) -> list[tuple[datetime, str]]:
        """When the owner replies to and resolves an unhappy answer's case: most customers who left an
        address hear back within the day, slower in the short-staffed week; some cases wait; a case without
        an address is sometimes closed with a note."""
        rng = self._rng
        swamped = visit.comment in COMMENTS_SLOW_VI
        if visit.customer is None:
            if rng.random() < 0.4:
                return [(self._open_hours(visit.at + timedelta(hours=rng.uniform(2, 48))), "resolve")]
            return []
        if rng.random() < 0.2:
            return []  # still waiting: the inbox's and the digest's overdue cases
        delay = rng.uniform(18, 60) if swamped else rng.choice([rng.uniform(0.3, 6), rng.uniform(0.5, 20)])
        replied = self._open_hours(visit.at + timedelta(hours=delay))
        handles = [(replied, "reply")]
        if rng.random() < 0.75:
            handles.append((self._open_hours(replied + timedelta(hours=rng.uniform(12, 96))), "resolve"))
        return handles

    def _open_hours(self, moment: datetime) -> datetime:
        """The owner works the inbox while the café is open (7:00-22:00): a later moment moves to the
        next morning."""
        local = moment.astimezone(ZoneInfo(self.caller.business.timezone))
        if 7 <= local.hour < 22:
            return moment
        morning = local.replace(hour=7, minute=self._rng.randrange(60), second=0, microsecond=0)
        return (morning if local.hour < 7 else morning + timedelta(days=1)).astimezone(UTC)

    def _handle_case(self, action: str, response_id: str, visit: Visit) -> None:
        from chalicelib.domain.cases import ReplyIn, ResolveIn
        from chalicelib.errors import DomainError

        cases, owner = self.services.cases, self.owner
        try:
            if action == "reply":
                message = OWNER_REPLIES[visit.locale][self._rng.randrange(len(OWNER_REPLIES[visit.locale]))]
                cases.reply(owner, response_id, ReplyIn(message=message))
                self.written.counts["cases_replied"] += 1
            else:
                note = None if visit.customer else "Đã nhắc ca tối chú ý tốc độ phục vụ."
                cases.resolve(owner, response_id, ResolveIn(note=note))
                self.written.counts["cases_resolved"] += 1
        except DomainError as refused:
            self.written.refused[refused.code] += 1

    # -- the till ----------------------------------------------------------------------------------------

    def _maybe_redeem_later(self, at: datetime, now: datetime) -> tuple[datetime, str] | None:
        if len(self.mailer.vouchers) <= self._redeemed_codes:
            return None
        code = self.mailer.vouchers[self._redeemed_codes]
        self._redeemed_codes += 1
        if self._rng.random() > 0.45:
            return None  # never brought back
        when = at + timedelta(days=self._rng.uniform(1, 20))
        return (when, code) if when < now else None

    def _redeem(self, code: str) -> None:
        from chalicelib.errors import DomainError

        try:
            self.services.followups.redeem(self.caller.business, code)
            self.written.counts["vouchers_redeemed"] += 1
        except DomainError as refused:
            self.written.refused[refused.code] += 1

    # -- between days -------------------------------------------------------------------------------------

    def _report(self, day: date) -> None:
        from chalicelib.domain.jobs import ReportJob

        self.drain()
        result = self.services.reports.run(ReportJob(self.caller.business.business_id, day.isoformat()),
                                           send_digest=False)
        self.written.counts["reports"] += result is not None

    def _flush_alerts(self, until: datetime) -> None:
        while self.flusher.due and self.flusher.due[0][0] <= until:
            due, business_id, window = heapq.heappop(self.flusher.due)
            self.clock.move_to(due)
            self.drain()
            self.services.followups.flush_alerts(business_id, window)


def history_days(raw: str | None) -> int:
    """``DEMO_HISTORY_DAYS``: a whole number of days from 0 (no history) to 366; anything else is refused
    with a sentence the person who set it can act on."""
    if raw is None or raw.strip() == "":
        return DEFAULT_DAYS
    text = raw.strip()
    if not text.isdigit() or int(text) > MAX_DAYS:
        raise ValueError(f"DEMO_HISTORY_DAYS must be a whole number of days from 0 to {MAX_DAYS}, not {raw!r}")
    return int(text)


class Cafe(Protocol):
    """What the seeder needs of the demo café ``seed.py`` creates."""

    business_id: str
    owner_key: str
    site_key: str
    touchpoints: dict[str, dict[str, str]]


def write_history[C: Cafe](
    env: dict[str, str], days: int, create: Callable[[Services, dict[str, str]], C], now: datetime | None = None
) -> tuple[C, Written]:
    """Create the demo café ``days`` days before ``now`` with ``create`` and write its past up to ``now``;
    the services installed before are installed again afterwards (the API serves with those)."""
    from chalicelib import wiring
    from chalicelib.local.stream import READ_LIMIT, StreamPoller
    from chalicelib.settings import get_settings

    started = time.perf_counter()
    now = now or datetime.now(UTC)
    settings = get_settings()
    zone = ZoneInfo(CAFE_TIMEZONE)
    opened = datetime.combine((now.astimezone(zone) - timedelta(days=days)).date(), datetime.min.time(), zone)
    clock = HistoryClock(opened.astimezone(UTC))
    mailer, flusher = PastMailer(), PastAlertFlusher(clock)
    live = wiring.services()
    try:
        with in_process_emulator():
            past = wiring.build(settings, clock=clock, mailer=mailer, alert_flusher=flusher)
            wiring.install(past)  # the stream handler below (app.on_response_change) runs with these
            demo = create(past, env)
            caller = past.access.authenticate(f"Bearer {demo.owner_key}", demo.business_id)
            from app import on_response_change

            poller = StreamPoller(settings.table_name, on_response_change)

            def drain() -> int:
                # One read per call unless it came back full (the poller reads at most READ_LIMIT records).
                handled = batch = poller.poll_once()
                while batch >= READ_LIMIT:
                    batch = poller.poll_once()
                    handled += batch
                return handled

            seeder = Seeder(past, clock, demo, caller, mailer, flusher, drain)
            written = seeder.run(plan(days, now, caller.business.timezone), now)
    finally:
        wiring.install(live)
    written.seconds = time.perf_counter() - started
    return demo, written
