"""The closed loop, driven by the table's DynamoDB stream: a customer who answered gets the voucher promised
for answering, an unhappy one an apology, the owners an alert, and a later happier answer from the same
address marks the apology as recovered.

Rules (PRODUCT.md):

* A voucher for answering needs an email with consent and a voucher policy; it never depends on the
  score. At most one voucher (of any kind) per person per ``per_email_days``, a person being the
  normalised address (case, ``+tag``, Gmail dots: ``chalicelib.domain.addresses``).
* Unhappy (NPS 0-6, CSAT 1-2, CES 1-3) with a consented address: ONE email, the apology, carrying at most
  one code: a recovery voucher when the policy says ``recovery``, else the voucher for answering when the
  business has a policy (the unhappy customer never loses what a happy one gets), subject to the same
  per-person limit; no separate voucher email. It never quotes the customer's words (issue #11 item 4).
  Recorded for the recovery rate. An alert to every owner, with ``Reply-To`` the customer when they
  consented. Past ``ALERT_BATCH_AFTER`` alerts in a 5-minute window, further alerts of that window go
  out as one batched email after the window closes, rendered then from the stored responses (the window
  keeps ids only, at most ``ALERT_BATCH_CAP``; the email says how many more).
* Customer emails are held by the daily caps of ``MailService`` (an outcome, logged and counted); the day
  a business reaches its own cap, its owners are told once.
* Stream errors: an ordinary case (suppressed, capped, no policy, limited) is an outcome, never an
  exception. A passing failure (throttling, a lost connection) is reported in ``batchItemFailures`` for
  Lambda to retry; any other failure puts the record's key on the mail dead-letter queue (``make
  redrive`` handles it again) and lets the batch go on, so one record never holds up the others.
* Recovery: a response that is no longer unhappy, from the address of an apology sent in the last 28 days.
* Cases (issue #14): every unhappy answer opens its case in the complaint inbox (``services/cases.py``
  ``open_case``: idempotent, ``no_contact`` -> ``open`` when a consented address comes later).

Idempotent per response and per email kind: issuing is a transaction keyed by (response, kind), and
every email has a dedupe key in the mail ledger, so a redelivered batch sends nothing twice. The stream
carries every write of the table; only responses matter here, everything else is skipped.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from chalicelib import tables
from chalicelib.domain.answers import Redeemed
from chalicelib.domain.calendar import iso_utc, local_day, parse_iso_utc, zone
from chalicelib.domain.metrics import SCALES
from chalicelib.domain.models import Business, StoredResponse
from chalicelib.domain.zalo import NAME_LIMIT, ZaloError, cut
from chalicelib.observability import count, logger
from chalicelib.ports import (
    AlertFlusher,
    AlertRef,
    Apology,
    CaseStore,
    Clock,
    EmailTemplates,
    FollowupStore,
    Voucher,
)
from chalicelib.services.cases import open_case
from chalicelib.services.directory import Directory
from chalicelib.services.mail import STREAM_LETTER, MailInFlight, MailService, identity_hash
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from chalicelib.services.zalo import Zalo

# No 0/O/1/I: read aloud at a till or typed from a phone, nothing is ambiguous.
VOUCHER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
VOUCHER_GROUPS, VOUCHER_GROUP_LEN = 4, 4  # 16 symbols x 5 bits = 80 bits of randomness
RECOVERY_DAYS = 28
ALERT_WINDOW_SECONDS = 300
ALERT_BATCH_CAP = 100  # alerts kept per batched email; the rest are counted ("and N more")
_FRESH = timedelta(days=7)  # older responses changing (erasure, a late edit) never trigger emails


def new_voucher_code() -> str:
    symbols = [secrets.choice(VOUCHER_ALPHABET) for _ in range(VOUCHER_GROUPS * VOUCHER_GROUP_LEN)]
    return "-".join("".join(symbols[i : i + VOUCHER_GROUP_LEN]) for i in range(0, len(symbols), VOUCHER_GROUP_LEN))


def normalize_voucher_code(raw: str) -> str | None:
    """The canonical XXXX-XXXX-XXXX-XXXX form of what a cashier typed (any case, spaces or dashes), or None."""
    compact = "".join(ch for ch in raw.upper() if ch not in " -")
    size = VOUCHER_GROUPS * VOUCHER_GROUP_LEN
    if len(compact) != size or any(ch not in VOUCHER_ALPHABET for ch in compact):
        return None
    return "-".join(compact[i : i + VOUCHER_GROUP_LEN] for i in range(0, size, VOUCHER_GROUP_LEN))


def till_url(public_base_url: str, business_id: str, code: str) -> str:
    """The owner console's redeem screen with ``code`` filled in (issue #14): what the voucher email's QR
    code holds. Opening it never redeems; the till still presses Redeem."""
    return f"{public_base_url}/console/{quote(business_id, safe='')}/till?code={quote(code, safe='')}"


class Followups:
    def __init__(
        self, directory: Directory, store: FollowupStore, mail: MailService, flusher: AlertFlusher,
        clock: Clock, settings: Settings, *, templates: EmailTemplates, cases: CaseStore | None = None,
        zalo: Callable[[], Zalo | None] | None = None,
    ):
        self._directory, self._store, self._templates = directory, store, templates
        # Issue #16: the business's Zalo OA, built only when an answer with a phone meets a business with Zalo.
        self._zalo = zalo or (lambda: None)
        self._cases = cases  # issue #14: the complaint inbox, a case per unhappy answer
        # What follows an answer: the one mail layer, and the flusher of batched owner alerts.
        self._mail, self._flusher = mail, flusher
        self._clock, self._settings = clock, settings

    # ---- the stream -----------------------------------------------------------------------------------

    def on_change(self, new: StoredResponse, old: StoredResponse | None, sequence: str | None) -> None:
        """One response written (a stream record, read at the edge: ``chalicelib.web.events``). A passing
        failure is raised, so Lambda retries the record; any other parks it on the dead-letter queue, so it
        never holds up the records behind it."""
        try:
            self.handle(new, old)
        except Exception as exc:
            if _passing(exc):
                # Lambda retries this record (bounded by the event source mapping's MaximumRetryAttempts).
                logger.warning(
                    "stream record will be retried",
                    extra={"error": f"{type(exc).__name__}: {exc}"[:300], "response_id": new.response_id},
                )
                count("StreamRecordsRetried")
                raise
            logger.exception(
                "stream record failed: parked on the dead-letter queue", extra={"response_id": new.response_id}
            )
            count("StreamRecordsParked")
            self._park(sequence, new, exc)

    def reject_record(self, sequence: str | None, keys: Any, exc: Exception) -> None:
        """A stream record the edge could not read: reading it again will not make it readable, so it is
        parked, never retried in front of the others."""
        logger.error(
            "unreadable stream record", extra={"error": str(exc)[:300], "record_keys": keys, "sequence": sequence}
        )
        count("StreamRecordsRejected")
        self._park(sequence, None, exc)

    def _park(self, sequence: str | None, response: StoredResponse | None, exc: Exception) -> None:
        """The record's key (never its content) on the mail dead-letter queue, for ``make redrive``. If even
        that fails, the record is reported failed, so Lambda retries it rather than losing it."""
        letter: dict[str, Any] = {
            "v": 1,
            "kind": STREAM_LETTER,
            "business_id": response.business_id if response else "",
            "sequence": sequence,
            "error": f"{type(exc).__name__}: {exc}"[:500],
            "failed_at": iso_utc(self._clock.now()),
            "about": [response.email_hash] if response and response.email_hash else [],
        }
        if response is not None:
            where = _where(response)
            letter["response"] = [where.response_id, where.day, where.sort_key]
        self._mail.park(letter)

    def redrive_record(self, letter: dict[str, Any]) -> None:
        """``make redrive``: handle a parked stream record again, from the response as stored now."""
        ref = letter.get("response")
        business_id = letter.get("business_id")
        if not (isinstance(ref, list) and len(ref) == 3 and all(isinstance(x, str) for x in ref)):
            logger.warning("parked stream record without a response key: dropped", extra={"error": letter.get("error")})
            return
        if not isinstance(business_id, str) or not business_id:
            return
        found = self._store.responses(business_id, [AlertRef(ref[0], ref[1], ref[2])])
        if found:
            self.handle(found[0])

    def business(self, business_id: str) -> Business | None:
        return self._directory.business(business_id)

    # ---- one response ---------------------------------------------------------------------------------

    def handle(self, response: StoredResponse, old: StoredResponse | None = None) -> None:
        now = self._clock.now()
        if now - parse_iso_utc(response.created_at) > _FRESH:
            return
        business = self._directory.business(response.business_id)
        if business is None:
            logger.warning("response of an unknown business", extra={"business_id": response.business_id})
            return
        consented = bool(response.email and response.consent and response.email_hash)
        # Issue #16: a consented phone and a business with Zalo: the message goes by ZNS, email the fallback.
        by_zalo = bool(response.phone and response.consent and response.phone_hash and business.zalo)
        if self._cases is not None:
            open_case(self._cases, response, old, now)  # before the emails: a failed send never loses a case
        if response.unhappy:
            handled, code = self._by_zalo("apology", business, response, now) if by_zalo else (False, None)
            if consented and not handled:
                self._apology(business, response, now, code)  # the one email, with at most one code
            self._alert(business, response, old, now)
            return
        if business.voucher is not None:
            handled, code = self._by_zalo("voucher", business, response, now) if by_zalo else (False, None)
            if consented and not handled:
                self._voucher_for_answering(business, response, now, code)
        if response.email_hash:
            self._maybe_recovered(business, response)

    # ---- vouchers -------------------------------------------------------------------------------------

    def _issue(
        self, business: Business, response: StoredResponse, kind: Literal["answer", "recovery"], now: datetime
    ) -> Voucher | None:
        assert response.email_hash is not None and response.email is not None
        return self._issue_for(business, response, kind, now, response.email_hash, response.email)

    def _issue_for(
        self, business: Business, response: StoredResponse, kind: Literal["answer", "recovery"], now: datetime,
        contact_hash: str, contact: str,
    ) -> Voucher | None:
        """A voucher for the person at ``contact`` (an address, or #16 a phone number), under the per-person
        limit of the business's policy."""
        policy = business.voucher
        assert policy is not None
        not_before = None
        if policy.per_email_days > 0:  # every kind: a recovery voucher is a voucher too
            not_before = iso_utc(now - timedelta(days=policy.per_email_days))
        voucher = Voucher(
            business_id=business.business_id,
            code=new_voucher_code(),
            description=policy.description,
            issued_at=iso_utc(now),
            valid_until=_end_of_local_day(now + timedelta(days=policy.valid_days), business.timezone),
            response_id=response.response_id,
            kind=kind,
        )
        day = local_day(now, business.timezone).isoformat()
        person = identity_hash(self._settings.app_secret, contact)
        issued = self._store.issue_voucher(
            voucher, email_hash=contact_hash, not_before=not_before, day=day, limit_hash=person
        )
        if issued is None:
            logger.info("no voucher: this address got one recently", extra={"response_id": response.response_id})
            count("VouchersLimited")
        return issued

    def _voucher_for_answering(
        self, business: Business, response: StoredResponse, now: datetime, issued: Voucher | None = None
    ) -> None:
        assert response.email is not None
        key = tables.voucher_mail(business.business_id, response.response_id)
        if self._gets_no_email("voucher", key, business, response, now):
            return
        voucher = issued or self._issue(business, response, "answer", now)
        if voucher is None:
            return
        self._email_customer("voucher", key, business, response, voucher, now)

    def _email_customer(
        self,
        kind: Literal["voucher", "apology"],
        key: str,
        business: Business,
        response: StoredResponse,
        voucher: Voucher | None,
        now: datetime,
        reply_to: str | None = None,
    ) -> str:
        """Render the customer's email (with its voucher, if any) and deliver it; the delivery's outcome."""
        assert response.email is not None
        locale = response.locale or business.locale
        rendered = self._templates.render(
            kind,
            locale,
            subject_args={"name": business.name},
            business_name=business.name,
            code=voucher.code if voucher else "",
            description=voucher.description if voucher else "",
            valid_until=self._display_day(locale, voucher.valid_until, business.timezone) if voucher else "",
            unsubscribe_url=self._mail.unsubscribe_url(business.business_id, response.email),
            till_url=till_url(self._settings.public_base_url, business.business_id, voucher.code) if voucher else "",
        )
        outcome = self._mail.deliver(
            kind=kind, dedupe_key=key, business=business, to=response.email, email=rendered, reply_to=reply_to
        )
        self._after_customer_email(business, outcome, now)
        return outcome

    def _gets_no_email(self, kind: str, key: str, business: Business, response: StoredResponse, now: datetime) -> bool:
        """True when this customer email will not go out (suppressed address, a daily cap already full), so
        no code is issued: it would count as issued, spend the person's window and reach no one."""
        assert response.email is not None
        if self._mail.suppressed(business.business_id, response.email):
            logger.info(f"no {kind}: the address gets no email", extra={"response_id": response.response_id})
            count("EmailsSuppressed", kind=kind)
            return True
        held = self._mail.held_by_a_cap(kind=kind, dedupe_key=key, business=business, to=response.email)
        if held is not None:
            self._after_customer_email(business, held, now)
            return True
        return False

    def redeem(self, business: Business, raw_code: str) -> Redeemed:
        """A first redemption; raises NotFound (unknown), Conflict (already redeemed) or Expired."""
        from chalicelib.errors import Conflict, Expired, NotFound

        code = normalize_voucher_code(raw_code)
        if code is None:
            raise NotFound("Unknown voucher code.", code="voucher_not_found")
        now = self._clock.now()
        outcome = self._store.redeem_voucher(
            business.business_id, code, now=iso_utc(now), day=local_day(now, business.timezone).isoformat()
        )
        if outcome == "unknown":
            raise NotFound("Unknown voucher code.", code="voucher_not_found")
        if outcome == "already_redeemed":
            raise Conflict("This voucher was already redeemed.", code="voucher_already_redeemed")
        if outcome == "expired":
            raise Expired("This voucher has expired.", code="voucher_expired")
        voucher = self._store.get_voucher(business.business_id, code)
        count("VouchersRedeemed")
        return Redeemed(
            code=code,
            description=voucher.description if voucher else "",
            valid_until=voucher.valid_until if voucher else None,
            redeemed_at=voucher.redeemed_at if voucher and voucher.redeemed_at else iso_utc(now),
        )

    def redeemed_at(self, business: Business, raw_code: str) -> str | None:
        """When a voucher was redeemed (UTC ISO time), for the till's "already used" screen; None if not."""
        code = normalize_voucher_code(raw_code)
        voucher = self._store.get_voucher(business.business_id, code) if code else None
        return voucher.redeemed_at if voucher else None

    # ---- apology and recovery -------------------------------------------------------------------------

    def _apology(
        self, business: Business, response: StoredResponse, now: datetime, issued: Voucher | None = None
    ) -> None:
        assert response.email is not None and response.email_hash is not None
        # At most one code: recovery when the policy offers it, else the voucher for answering (which never
        # depends on the score), each under the same per-person limit. The customer's comment is never
        # passed to the template: a customer's words never go to a customer address.
        recovery = None
        key = tables.apology_mail(business.business_id, response.response_id)
        if self._gets_no_email("apology", key, business, response, now):
            return
        if issued is not None:
            recovery = issued  # issued for the Zalo message that could not go: the email carries it instead
        elif business.voucher is not None:
            recovery = self._issue(business, response, "recovery" if business.voucher.recovery else "answer", now)
        reply_to = business.owner_emails[0] if business.owner_emails else None
        outcome = self._email_customer("apology", key, business, response, recovery, now, reply_to)
        # Recorded once it is out (or was, on a redelivered record whose write failed last time).
        if outcome in ("sent", "dead_lettered") or self._mail.status(key) in ("sent", "queued"):
            apology = Apology(
                business_id=business.business_id,
                day=local_day(now, business.timezone).isoformat(),
                response_id=response.response_id,
                sent_at=iso_utc(now),
                email_hash=response.email_hash,
                metric=response.metric,
                score=response.score,
                touchpoint_id=response.touchpoint_id,
            )
            self._store.record_apology(apology)

    # ---- issue #16: vouchers and apologies by Zalo (ZNS) ----------------------------------------------

    def _by_zalo(
        self, kind: Literal["voucher", "apology"], business: Business, response: StoredResponse, now: datetime
    ) -> tuple[bool, Voucher | None]:
        """Send the voucher or apology as a ZNS message to the answer's consented phone, through the mail
        layer's claim and caps (the number is the person). (True, _) when the customer is served by Zalo, or
        must get nothing (capped, already sent, suppressed); (False, voucher) when email should carry it
        instead (a number without Zalo, the owner's template or quota problem), with the code already issued
        for it. A passing failure (timeout, Zalo's 5xx) is raised: the stream retries, then the dead letters."""
        zalo = self._zalo()
        assert response.phone is not None and response.phone_hash is not None
        template = zalo.template(business.business_id, kind) if zalo is not None else None
        if zalo is None or template is None:
            return False, None
        key = tables.zalo_mail(business.business_id, kind, response.response_id)
        held = self._mail.held_by_a_cap(kind=kind, dedupe_key=key, business=business, to=response.phone)
        if held is not None:
            self._after_customer_email(business, held, now)
            return True, None
        voucher = None
        if business.voucher is not None:
            voucher_kind: Literal["answer", "recovery"] = (
                "recovery" if kind == "apology" and business.voucher.recovery else "answer"
            )
            voucher = self._issue_for(business, response, voucher_kind, now, response.phone_hash, response.phone)
        data = self._zns_data(business, response, voucher)

        def send() -> str:
            return zalo.send(business.business_id, kind, response.phone or "", data, key, template_id=template).msg_id

        try:
            outcome = self._mail.deliver_other(kind=kind, dedupe_key=key, business=business, to=response.phone,
                                               send=send)
        except ZaloError as exc:
            if exc.kind == "transient":
                raise
            if exc.kind == "owner" and zalo.told_owner(business.business_id, exc.message):
                self._email_owners(
                    "zalo_problem", tables.owner_notice_mail(business.business_id, f"zalo-{now.date()}"), business,
                    {"name": business.name}, problem=exc.message,
                )
            logger.info("zalo message not sent: falling back to email",
                        extra={"response_id": response.response_id, "zalo_error": exc.code, "kind": exc.kind})
            count("ZaloFallbacks", kind=exc.kind)
            return False, voucher
        self._after_customer_email(business, outcome, now)
        if kind == "apology" and outcome == "sent":
            self._store.record_apology(Apology(
                business_id=business.business_id, day=local_day(now, business.timezone).isoformat(),
                response_id=response.response_id, sent_at=iso_utc(now), email_hash=response.phone_hash,
                metric=response.metric, score=response.score, touchpoint_id=response.touchpoint_id,
            ))
        return True, None

    def _zns_data(self, business: Business, response: StoredResponse, voucher: Voucher | None) -> dict[str, str]:
        """The template's parameters (docs/zalo.md names them), each cut to Zalo's limit for its type; never
        the customer's own words."""
        locale = response.locale or business.locale
        data = {"business_name": cut(business.name, NAME_LIMIT)}
        if voucher is not None:
            data.update(
                voucher_code=cut(voucher.code),
                voucher_description=cut(voucher.description, NAME_LIMIT),
                valid_until=cut(self._display_day(locale, voucher.valid_until, business.timezone)),
            )
        return data

    def _after_customer_email(self, business: Business, outcome: str, now: datetime) -> None:
        """The day a business reaches its own cap, its owners hear it once (one dedupe key per owner per
        day), so a flood of answers never goes unnoticed nor floods the owners instead."""
        if outcome != "capped_business_day":
            return
        day = local_day(now, business.timezone).isoformat()
        self._email_owners(
            "cap_notice",
            tables.cap_notice_mail(business.business_id, day),
            business,
            {"name": business.name},
            limit=self._settings.mail_cap_per_business,
            day=self._templates.format_day(business.locale, day),
        )

    def _email_owners(
        self,
        kind: Literal["cap_notice", "alert", "zalo_problem"],
        key: str,
        business: Business,
        subject_args: dict[str, Any],
        *,
        reply_to: str | None = None,
        about: Sequence[str] = (),
        **values: Any,
    ) -> None:
        """One email to each owner of the business (``{key}#{index}`` dedupes each), in the business's locale."""
        for index, owner in enumerate(business.owner_emails):
            rendered = self._templates.render(
                kind,
                business.locale,
                subject_args=subject_args,
                business_name=business.name,
                unsubscribe_url=self._mail.unsubscribe_url(business.business_id, owner),
                **values,
            )
            self._mail.send(
                kind=kind,
                dedupe_key=f"{key}#{index}",
                business=business,
                to=owner,
                email=rendered,
                reply_to=reply_to,
                to_customer=False,
                about=about,
            )

    def _maybe_recovered(self, business: Business, response: StoredResponse) -> None:
        assert response.email_hash is not None
        pointer = self._store.latest_apology(business.business_id, response.email_hash)
        if pointer is None or pointer.response_id == response.response_id:
            return
        answered = parse_iso_utc(response.created_at)
        sent = parse_iso_utc(pointer.sent_at)
        within = sent < answered <= sent + timedelta(days=RECOVERY_DAYS)
        if within and self._store.mark_recovered(pointer, at=response.created_at):
            count("CustomersRecovered")

    # ---- owner alerts ---------------------------------------------------------------------------------

    def _alert(self, business: Business, response: StoredResponse, old: StoredResponse | None, now: datetime) -> None:
        summary = self._summary(business, response)
        window = int(now.timestamp()) // ALERT_WINDOW_SECONDS
        limit = self._settings.alert_batch_after
        # A score that was unhappy already and only gained a comment / an address: tell the owners what
        # the customer added (the first alert went out without it). Never batched, never counted twice.
        follow_up = (
            old is not None
            and old.unhappy
            and ((response.comment and not old.comment) or (response.consent and not old.consent))
        )

        def alone(key: str) -> None:
            about = [response.email_hash] if response.email_hash else []
            self._send_alert(business, [summary], key, reply_to=summary.get("customer") or None, about=about)

        key = tables.alert_mail(business.business_id, response.response_id)
        if follow_up:
            alone(key + "#more")
            return
        ref = _where(response)
        position = self._store.count_alert(business.business_id, window, ref, limit=limit, batch_cap=ALERT_BATCH_CAP)
        if position <= limit:
            alone(key)
        elif position == limit + 1:
            delay = (window + 1) * ALERT_WINDOW_SECONDS - int(now.timestamp()) + 5
            self._flusher.schedule(business.business_id, window, delay)
            count("OwnerAlertsBatched")

    def flush_alerts(self, business_id: str, window: int) -> int:
        """Send the batched alert of one window (scheduled after it closed), rendered now from the
        responses as stored (an answer erased meanwhile shows without its words). Returns the alerts it
        held, those shown and those only counted."""
        business = self._directory.business(business_id)
        if business is None:
            return 0
        refs, total = self._store.alert_batch(business_id, window, limit=self._settings.alert_batch_after)
        if not total:
            return 0
        responses = self._store.responses(business_id, refs)
        summaries = [self._summary(business, r) for r in responses]
        if summaries:
            self._send_alert(
                business,
                summaries,
                tables.alert_batch_mail(business_id, window),
                reply_to=None,
                hidden=total - len(summaries),
                about=sorted({r.email_hash for r in responses if r.email_hash}),
            )
        return total

    def _send_alert(
        self,
        business: Business,
        alerts: list[dict[str, Any]],
        key: str,
        *,
        reply_to: str | None,
        hidden: int = 0,
        about: list[str] | None = None,
    ) -> None:
        self._email_owners(
            "alert",
            key,
            business,
            {
                "name": business.name,
                "metric": alerts[0]["metric_label"],
                "score": alerts[0]["score"],
                "count": len(alerts) + hidden,
            },
            reply_to=reply_to if len(alerts) == 1 else None,
            about=about or [],
            alerts=alerts,
            more=len(alerts) > 1 or hidden > 0,
            hidden=hidden,
        )

    def _summary(self, business: Business, response: StoredResponse) -> dict[str, Any]:
        touchpoint = self._directory.touchpoint(business.business_id, response.touchpoint_id)
        created = parse_iso_utc(response.created_at).astimezone(zone(business.timezone))
        return {
            "response_id": response.response_id,
            "metric": response.metric,
            "metric_label": response.metric.upper(),
            "score": response.score,
            "scale_max": SCALES[response.metric][1],
            "touchpoint": touchpoint.name if touchpoint else response.touchpoint_id,
            "channel": self._templates.channel_label(business.locale, response.channel),
            "when": created.strftime("%d/%m/%Y %H:%M" if business.locale == "vi" else "%Y-%m-%d %H:%M"),
            "comment": (response.comment or "")[:2000],
            "customer": response.email if response.consent and response.email else "",
        }

    def _display_day(self, locale: str, iso: str, timezone: str) -> str:
        return self._templates.format_day(locale, parse_iso_utc(iso).astimezone(zone(timezone)).date().isoformat())




def _where(response: StoredResponse) -> AlertRef:
    """Where the response item is stored: what a batched alert and a parked stream record keep of it."""
    sort_key = tables.response_sk(response.created_at, response.response_id)
    return AlertRef(response.response_id, response.local_date, sort_key)


def _passing(exc: Exception) -> bool:
    """A failure that a retry a little later may not meet again: throttling, a lost connection, another
    sender holding an email's claim. Anything else would fail the same way on every retry."""
    from chalicelib.errors import TemporarilyUnavailable

    if isinstance(exc, TemporarilyUnavailable | MailInFlight | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, ZaloError):  # issue #16: Zalo timing out or failing on its side
        return exc.kind in ("transient", "token")
    return type(exc).__module__.startswith("botocore")  # the SDK's own connection and service errors


def _end_of_local_day(moment: datetime, timezone: str) -> str:
    local = moment.astimezone(zone(timezone)).replace(hour=23, minute=59, second=59, microsecond=999999)
    return iso_utc(local)
