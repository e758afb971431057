"""THE mail layer: every email the service sends (voucher, apology, owner alert, daily digest) goes through
``MailService.send``, so the rules below hold for all of them.

    MailService.deliver(*, kind: str, dedupe_key: str, business: Business, to: str,
                        email: RenderedEmail, reply_to: str | None = None, to_customer: bool = True,
                        automatic: bool = True, about: Sequence[str] = (),
                        in_reply_to: str | None = None, references: Sequence[str] = ()) -> outcome
    MailService.send(**the same) -> bool   (deliver(...) == "sent")

* ``kind``: a short label (``voucher``, ``apology``, ``alert``, ``alert_batch``, ``digest``, ``reply``): logs, metrics
  and the ``X-Survey-Kind`` header.
* ``dedupe_key``: what makes the email unique, e.g. ``voucher#{biz}#{response_id}`` or
  ``digest#{biz}#{day}#{owner}``. A conditional write claims it before sending: the same key never sends
  twice, however often the caller is retried.
* ``business``: its name becomes the sender's display name; its ``sender_email`` (else ``MAIL_FROM``)
  the address.
* ``to``: ONE plain address (call once per owner). ``reply_to``: a plain address or None.
* ``email``: subject, html and text already rendered (``chalicelib/web/emails.py``); both parts are sent as
  multipart/alternative. Put ``unsubscribe_url(business_id, to)`` in the footer of the body.
* ``to_customer``: True for a respondent (unsubscribing stops every email of that business to them),
  False for an owner (the same, for alerts and digests): both carry the List-Unsubscribe headers.

``deliver(...)`` takes the same arguments (plus ``automatic`` and ``about``) and returns the outcome
(``sent``, ``refused``, ``suppressed``, ``duplicate``, ``capped_address_business``, ``capped_address_day``,
``capped_business_day``, ``dead_lettered``); ``send`` is ``deliver(...) == "sent"``.

* ``automatic`` (default True): an automatic email to a customer (voucher, apology) is held by the daily
  caps (issue #11 item 4): per person per business, per person across businesses, per business. The
  person is the keyed hash of the normalised address (``identity_hash``); the counts are taken in the same
  transaction as the ledger claim, and a capped email is recorded ``capped`` in the ledger: never sent,
  never retried, never an exception. Owner alerts and digests (``to_customer=False``) and an owner's own
  reply (``automatic=False``) are not capped.
* ``in_reply_to``, ``references`` (issue #14): the threading headers of an email that answers an earlier
  one (``thread(dedupe_key, business)`` gives them for the earlier email's key). Every email's own
  Message-ID is derived from its dedupe key (``message_id_for``).
* ``about``: email hashes (``addresses.email_hash``) of the people the email is about besides its
  recipient (the customer of an owner alert), written on its dead letter so ``forget`` finds it.

Returns True when this call handed the email to SES; False when nothing was sent now: the address is
suppressed (unsubscribed, bounced, complained), the key was sent or dead-lettered before, or SES kept
failing and the email went to the dead-letter queue (``make redrive`` resends it). Raises only when
even the dead-letter queue could not take it (the claim is released first, so a retry of the caller,
e.g. the stream redelivering the record, sends it later) or when another sender holds a fresh claim on
the key (``MailInFlight``: retry later).

Heavy modules (``email``) are imported inside the methods: app.py's cold start never pays for them.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from chalicelib import tables
from chalicelib.domain import keys
from chalicelib.domain.addresses import email_hash as address_hash
from chalicelib.domain.addresses import is_plain_address as valid_address
from chalicelib.domain.addresses import normalize_address
from chalicelib.domain.calendar import iso_utc, local_day
from chalicelib.domain.models import Business
from chalicelib.observability import count, logger
from chalicelib.ports import (
    Clock,
    DeadLetters,
    EmailCap,
    InlineImage,
    MailClaim,
    Mailer,
    MailError,
    MailLedger,
    RenderedEmail,
    SuppressionStore,
)
from chalicelib.settings import Settings

_STALE_CLAIM = timedelta(minutes=15)  # a sender that held a claim this long without finishing has died
_UNSUBSCRIBE = "unsubscribe"
STREAM_LETTER = "stream_record"  # a stream record that failed for good (issue #11 item 6): keys, no content


class MailInFlight(RuntimeError):
    """Another sender holds a fresh claim on this dedupe key; retry later (it is sent once either way)."""


def identity_hash(secret: str, address: str) -> str:
    """One person across the variants of their address (case, +tag, Gmail dots): keys voucher limits and
    email caps. Never the clear address, and a different purpose than ``address_hash``."""
    return keys.keyed_hash(secret, "email-identity", normalize_address(address))


def unsubscribe_token(secret: str, business_id: str, address: str) -> str:
    return keys.seal(secret, _UNSUBSCRIBE, [business_id, address_hash(secret, address)])


def read_unsubscribe_token(secret: str, token: str) -> tuple[str, str] | None:
    """(business id, address hash) of a token made by :func:`unsubscribe_token`, or None if forged."""
    payload = keys.unseal(secret, _UNSUBSCRIBE, token, max_length=300)
    if not (isinstance(payload, list) and len(payload) == 2 and all(isinstance(p, str) for p in payload)):
        return None
    return payload[0], payload[1]


class MailService:
    def __init__(
        self, mailer: Mailer, ledger: MailLedger, suppressions: SuppressionStore, dead_letters: DeadLetters,
        clock: Clock, settings: Settings,
    ):
        self._mailer, self._ledger, self._suppressions, self._dead = mailer, ledger, suppressions, dead_letters
        self._clock, self._settings = clock, settings

    # ---- helpers for whoever renders an email -------------------------------------------------------

    def unsubscribe_url(self, business_id: str, address: str) -> str:
        token = unsubscribe_token(self._settings.app_secret, business_id, address)
        return f"{self._settings.public_base_url}/u/{token}"

    def sender_for(self, business: Business) -> str:
        return business.sender_email or self._settings.mail_from

    def suppressed(self, business_id: str, address: str) -> bool:
        """True when this business must not mail ``address`` (unsubscribed, bounced, complained)."""
        return self._suppressions.is_suppressed(address_hash(self._settings.app_secret, address), business_id)

    def status(self, dedupe_key: str) -> str | None:
        """``sending`` / ``sent`` / ``queued`` for a key, None if never claimed."""
        entry = self._ledger.get(dedupe_key)
        return entry.status if entry else None

    def message_id_for(self, dedupe_key: str, sender: str) -> str:
        """The Message-ID an email is built with: derived from its dedupe key (keyed, so it reveals no
        ids), so a later email can name it in ``In-Reply-To`` without storing it."""
        digest = keys.keyed_hash(self._settings.app_secret, "message-id", dedupe_key)[:32]
        return f"<{digest}@{sender.rpartition('@')[2]}>"

    def thread(self, dedupe_key: str, business: Business) -> list[str] | None:
        """The Message-IDs an email answering the one of ``dedupe_key`` names, the one its recipient holds
        first (``In-Reply-To``), all of them as ``References``; None when that email never went out.
        SES replaces the Message-ID of a raw message with its own (docs/cases.md): a mailer that does so
        says which one through ``delivered_message_id``, and both ids are named, so the thread holds
        whichever the customer's mail client kept."""
        entry = self._ledger.get(dedupe_key)
        if entry is None or entry.status not in ("sent", "queued"):
            return None
        ours = self.message_id_for(dedupe_key, self.sender_for(business))
        delivered = getattr(self._mailer, "delivered_message_id", None)
        theirs = delivered(entry.message_id) if delivered is not None and entry.message_id else None
        return [theirs, ours] if theirs and theirs != ours else [ours]

    # ---- the one send ---------------------------------------------------------------------------------

    def send(self, **letter: Any) -> bool:
        """``deliver`` (same keyword arguments), answering only whether the email went out now."""
        return self.deliver(**letter) == "sent"

    def deliver(
        self,
        *,
        kind: str,
        dedupe_key: str,
        business: Business,
        to: str,
        email: RenderedEmail,
        reply_to: str | None = None,
        to_customer: bool = True,
        automatic: bool = True,
        about: Sequence[str] = (),
        in_reply_to: str | None = None,
        references: Sequence[str] = (),
    ) -> str:
        log = {"kind": kind, "dedupe_key": dedupe_key, "business_id": business.business_id}
        if not valid_address(to) or (reply_to is not None and not valid_address(reply_to)):
            logger.warning("email refused: not a plain address", extra=log)
            count("EmailsRefused", kind=kind)
            return "refused"
        refused, caps = self._claim(kind, dedupe_key, business, to, capped=to_customer and automatic)
        if refused is not None:
            return refused

        sender = self.sender_for(business)
        raw = self.build(
            kind=kind,
            business=business,
            sender=sender,
            to=to,
            subject=email.subject,
            html=email.html,
            text=email.text,
            reply_to=reply_to,
            to_customer=to_customer,
            images=email.images,
            message_id=self.message_id_for(dedupe_key, sender),
            in_reply_to=in_reply_to,
            references=references,
        )
        try:
            message_id = self._mailer.send_raw(raw, sender=sender, recipients=[to])
        except MailError as exc:
            self._to_dead_letters(kind, dedupe_key, business, sender, to, raw, exc, about, caps)
            return "dead_lettered"
        except BaseException:
            # Not a mail error (a bug, a reset connection): nothing went out, so the claim and the counts go
            # back at once; otherwise the caller's retry would meet its own claim as "in flight" for 15 min.
            self._ledger.release(dedupe_key, caps=caps)
            raise
        self._ledger.finish(dedupe_key, status="sent", message_id=message_id, now=iso_utc(self._clock.now()))
        logger.info("email sent", extra={**log, "message_id": message_id})
        count("EmailsSent", kind=kind)
        return "sent"

    def _claim(
        self, kind: str, dedupe_key: str, business: Business, to: str, *, capped: bool
    ) -> tuple[str | None, list[EmailCap]]:
        """Before a message goes out: the outcome that stops it (``suppressed``, ``duplicate``,
        ``capped_...``), or None once its dedupe key is claimed within the daily caps (returned)."""
        log = {"kind": kind, "dedupe_key": dedupe_key, "business_id": business.business_id}
        secret = self._settings.app_secret
        if self._suppressions.is_suppressed(address_hash(secret, to), business.business_id):
            logger.info("message not sent: address suppressed", extra=log)
            count("EmailsSuppressed", kind=kind)
            return "suppressed", []
        now = self._clock.now()
        caps = self.caps_for(business, to, now) if capped else []
        claim = MailClaim(dedupe_key, kind, business.business_id, iso_utc(now), iso_utc(now - _STALE_CLAIM))
        claimed = self._ledger.claim_within(claim, caps)
        if claimed == "taken":
            entry = self._ledger.get(dedupe_key)
            if entry is not None and entry.status == "sending":
                raise MailInFlight(dedupe_key)
            logger.info("message not sent: already sent", extra=log)
            count("EmailsDeduplicated", kind=kind)
            return "duplicate", caps
        if claimed != "claimed":
            # An outcome, not a failure: recorded so a redelivered record neither sends nor counts it again.
            self._ledger.mark_capped(
                dedupe_key, kind=kind, business_id=business.business_id, cap=claimed, now=iso_utc(now)
            )
            logger.info("message not sent: daily cap reached", extra={**log, "cap": claimed})
            count("EmailsCapped", kind=kind, cap=claimed)
            return f"capped_{claimed}", caps
        return None, caps

    def deliver_other(
        self, *, kind: str, dedupe_key: str, business: Business, to: str, send: Callable[[], str]
    ) -> str:
        """Issue #16: the mail layer's guarantees for a message of another channel (a ZNS message to a phone
        number): suppressions, the same three daily caps (the number is the person), one claim per dedupe
        key. ``send`` sends it and answers the channel's message id; whatever it raises gives the claim and
        the counts back and goes up to the caller, who decides (fall back to email, retry, dead letters)."""
        refused, caps = self._claim(kind, dedupe_key, business, to, capped=True)
        if refused is not None:
            return refused
        try:
            message_id = send()
        except BaseException:
            self._ledger.release(dedupe_key, caps=caps)
            raise
        self._ledger.finish(dedupe_key, status="sent", message_id=message_id, now=iso_utc(self._clock.now()))
        logger.info("message sent", extra={"kind": kind, "dedupe_key": dedupe_key, "message_id": message_id})
        count("ZaloMessagesSent", kind=kind)
        return "sent"

    def _to_dead_letters(
        self,
        kind: str,
        dedupe_key: str,
        business: Business,
        sender: str,
        to: str,
        raw: bytes,
        exc: Exception,
        about: Sequence[str],
        caps: Sequence[EmailCap],
    ) -> None:
        concerned = sorted({address_hash(self._settings.app_secret, to), *(h for h in about if h)})
        self._dead_letter(kind, dedupe_key, business.business_id, sender, [to], raw, exc, about=concerned, caps=caps)

    def held_by_a_cap(self, *, kind: str, dedupe_key: str, business: Business, to: str) -> str | None:
        """Before a code is issued for an automatic customer email: if a daily cap is already full, the
        email is recorded as capped (as ``deliver`` would) and the cap's outcome returned, so no voucher is
        issued that nobody would receive. None: go on (``deliver`` still counts the caps atomically)."""
        now = self._clock.now()
        full = self._ledger.full_cap(self.caps_for(business, to, now))
        if full is None:
            return None
        self._ledger.mark_capped(dedupe_key, kind=kind, business_id=business.business_id, cap=full, now=iso_utc(now))
        logger.info(
            "email not sent: daily cap reached",
            extra={"kind": kind, "dedupe_key": dedupe_key, "business_id": business.business_id, "cap": full},
        )
        count("EmailsCapped", kind=kind, cap=full)
        return f"capped_{full}"

    def caps_for(self, business: Business, to: str, now: datetime) -> list[EmailCap]:
        """The three daily counters an automatic customer email to ``to`` must fit under."""
        settings = self._settings
        person = identity_hash(settings.app_secret, to)
        # The business's day for its own caps; the UTC day for the cross-business one (no single zone).
        day = local_day(now, business.timezone).isoformat()
        utc_day = now.date().isoformat()
        expires = int(now.timestamp()) + 2 * 86400
        return [
            EmailCap(
                "address_business",
                tables.person_business_cap(business.business_id, person, day),
                settings.mail_cap_per_address_business,
                expires,
            ),
            EmailCap("address_day", tables.person_cap(person, utc_day), settings.mail_cap_per_address, expires),
            EmailCap(
                "business_day", tables.business_cap(business.business_id, day), settings.mail_cap_per_business, expires
            ),
        ]

    def _dead_letter(
        self,
        kind: str,
        dedupe_key: str,
        business_id: str,
        sender: str,
        recipients: list[str],
        raw: bytes,
        exc: Exception,
        *,
        about: Sequence[str] = (),
        caps: Sequence[EmailCap] = (),
    ) -> None:
        failed_at = iso_utc(self._clock.now())
        letter = {
            "v": 1,
            "kind": kind,
            # Hashes of the people this letter is about: ``forget`` finds it by them (erasure).
            "about": list(about),
            "dedupe_key": dedupe_key,
            "business_id": business_id,
            "sender": sender,
            "recipients": recipients,
            "raw": base64.b64encode(raw).decode(),
            "error": f"{type(exc).__name__}: {exc}"[:500],
            "failed_at": failed_at,
        }
        try:
            self._dead.put(letter)
        except Exception:
            # Neither SES nor SQS: give the key back so the caller's retry sends it, and let the caller fail.
            self._ledger.release(dedupe_key, caps=caps)
            raise
        self._ledger.finish(dedupe_key, status="queued", message_id=None, now=failed_at)
        logger.error("email dead-lettered", extra={"kind": kind, "dedupe_key": dedupe_key, "error": letter["error"]})
        count("EmailsDeadLettered", kind=kind)

    # ---- MIME -----------------------------------------------------------------------------------------

    def build(
        self,
        *,
        kind: str,
        business: Business,
        sender: str,
        to: str,
        subject: str,
        html: str,
        text: str,
        reply_to: str | None,
        to_customer: bool,
        images: Sequence[InlineImage] = (),
        message_id: str | None = None,
        in_reply_to: str | None = None,
        references: Sequence[str] = (),
    ) -> bytes:
        """The raw RFC 5322 message: multipart/alternative (text first, html preferred), UTF-8 bodies,
        encoded headers, List-Unsubscribe with one-click (RFC 8058). ``images``: the html part becomes a
        multipart/related of the html and each image, which it shows as ``<img src="cid:...">``."""
        from email.headerregistry import Address
        from email.message import EmailMessage
        from email.policy import SMTP
        from email.utils import format_datetime, make_msgid

        domain = sender.rpartition("@")[2]
        # Lines up to RFC 5322's hard limit: at 78 the long List-Unsubscribe URL would be turned into
        # encoded-words, which mail clients do not read as a URL.
        message = EmailMessage(policy=SMTP.clone(max_line_length=998))
        # Address() quotes or encodes the display name, so a name like 'Shop <evil@x>' stays a name.
        message["From"] = Address(display_name=_one_line(business.name)[:120], addr_spec=sender)
        message["To"] = to
        if reply_to:
            message["Reply-To"] = reply_to
        message["Subject"] = _one_line(subject)[:250]
        message["Date"] = format_datetime(self._clock.now())
        message["Message-ID"] = message_id or make_msgid(domain=domain)
        if in_reply_to:  # issue #14: an owner's reply threads with the apology it follows
            message["In-Reply-To"] = in_reply_to
        if references:
            message["References"] = " ".join(references)
        url = self.unsubscribe_url(business.business_id, to)
        mailto = self._settings.unsubscribe_mailto or f"unsubscribe@{domain}"
        token = url.rsplit("/", 1)[1]
        message["List-Unsubscribe"] = f"<{url}>, <mailto:{mailto}?subject=unsubscribe%20{token}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message["X-Survey-Kind"] = kind
        if not to_customer:
            message["Auto-Submitted"] = "auto-generated"  # owners' autoresponders stay quiet
        # Quoted-printable: 7-bit clean for every relay (Vietnamese is mostly ASCII, so it stays readable).
        message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
        message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
        if images:
            # Made multipart/related in place by the first image: the next ones join it.
            html_part = next(p for p in message.iter_parts() if p.get_content_type() == "text/html")
            for image in images:
                html_part.add_related(
                    image.data, "image", image.subtype, cid=f"<{image.cid}>", disposition="inline",
                    filename=image.filename,
                )
        return message.as_bytes()

    # ---- unsubscribing and SES feedback ---------------------------------------------------------------

    def read_unsubscribe(self, token: str) -> tuple[str, str]:
        """(business id, address hash) of an unsubscribe token; InvalidToken (a 404 page) if forged."""
        from chalicelib.errors import InvalidToken

        parsed = read_unsubscribe_token(self._settings.app_secret, token)
        if parsed is None:
            raise InvalidToken("This unsubscribe link is not valid.", code="invalid_unsubscribe_token")
        return parsed

    def unsubscribe(self, token: str) -> str:
        """RFC 8058 one-click: no more email of that business to that address. Idempotent. Returns the
        business id."""
        business_id, hashed = self.read_unsubscribe(token)
        self._suppressions.suppress(hashed, business_id, reason="unsubscribe", at=iso_utc(self._clock.now()))
        count("Unsubscribed")
        return business_id

    def record_feedback(self, notification: dict[str, Any] | str) -> int:
        """An SES event (event publishing or identity notification, as SNS delivers it, JSON text or
        parsed): a permanent bounce or a complaint suppresses the address for every business. Returns
        the number of addresses suppressed; anything else (deliveries, opens, junk) is ignored."""
        if isinstance(notification, str):
            import json

            try:
                notification = json.loads(notification)
            except ValueError:
                logger.warning("SES event is not JSON: ignored")
                return 0
        if not isinstance(notification, dict):
            return 0
        kind = notification.get("eventType") or notification.get("notificationType")
        if kind == "Bounce":
            bounce = notification.get("bounce") or {}
            if bounce.get("bounceType") != "Permanent":
                return 0  # a full mailbox or a greylist: SES retries, the address stays usable
            recipients, reason = bounce.get("bouncedRecipients") or [], "bounce"
        elif kind == "Complaint":
            recipients = (notification.get("complaint") or {}).get("complainedRecipients") or []
            reason = "complaint"
        else:
            return 0
        done = 0
        for recipient in recipients[:50]:
            address = recipient.get("emailAddress") if isinstance(recipient, dict) else None
            if not isinstance(address, str):
                continue
            from email.utils import parseaddr

            address = parseaddr(address)[1]
            if not valid_address(address):
                continue
            hashed = address_hash(self._settings.app_secret, address)
            self._suppressions.suppress(hashed, "*", reason=reason, at=iso_utc(self._clock.now()))
            done += 1
        if done:
            logger.info("addresses suppressed", extra={"reason": reason, "count": done})
            count("AddressesSuppressed", reason=reason)
        return done

    # ---- the dead-letter queue ------------------------------------------------------------------------

    def park(self, letter: dict[str, Any]) -> None:
        """A letter that is not an email (a stream record that failed for good) on the same queue."""
        self._dead.put(letter)
        count("DeadLettersParked", kind=str(letter.get("kind", "")))

    def forget(self, business_id: str, email_hash: str, *, max_messages: int = 10_000) -> int:
        """Erasure (issue #11): delete every dead letter of ``business_id`` to or about the person of
        ``email_hash`` (``addresses.email_hash``); returns how many. The queue is small by design (what
        SES refused past every retry), so it is swept: each letter is received once, ours are deleted,
        the others released at once for the next reader. A letter in another reader's hands (a running
        redrive) is invisible for its 60 s: the erasure can be repeated after that."""
        held: list[str] = []
        removed = 0
        try:
            while len(held) + removed < max_messages:
                batch = self._dead.receive(10)
                if not batch:
                    break
                for receipt, letter in batch:
                    about = letter.get("about") if isinstance(letter, dict) else None
                    if letter.get("business_id") == business_id and isinstance(about, list) and email_hash in about:
                        self._dead.delete(receipt)
                        removed += 1
                    else:
                        held.append(receipt)
        finally:
            for receipt in held:
                self._dead.release(receipt)
        if removed:
            logger.info("dead letters erased", extra={"business_id": business_id, "count": removed})
        return removed

    def redrive(
        self, *, max_messages: int = 1000, stream_record: Callable[[dict[str, Any]], None] | None = None
    ) -> dict[str, int]:
        """Resend what the dead-letter queue holds; each sent one is deleted and its key marked sent.
        One that fails again stays on the queue (it comes back after the visibility timeout). A stream
        record's letter is handed to ``stream_record`` (``Followups.redrive_record``: reads the response
        again and handles it) and deleted once that returns; without it, it is left on the queue."""
        done = {"sent": 0, "failed": 0, "dropped": 0}
        while done["sent"] + done["failed"] + done["dropped"] < max_messages:
            batch = self._dead.receive(min(10, max_messages))
            if not batch:
                break
            for receipt, letter in batch:
                if letter.get("kind") == STREAM_LETTER:
                    try:
                        if stream_record is None:
                            raise LookupError("no handler for stream records given")
                        stream_record(letter)
                    except Exception as exc:
                        logger.warning("redrive of a stream record failed", extra={"error": str(exc)[:200]})
                        done["failed"] += 1
                        continue
                    self._dead.delete(receipt)
                    done["sent"] += 1
                    continue
                parsed = _letter(letter)
                if parsed is None:
                    logger.error("dead letter unreadable: dropped", extra={"keys": sorted(letter)[:10]})
                    self._dead.delete(receipt)
                    done["dropped"] += 1
                    continue
                dedupe_key, sender, recipients, raw = parsed
                entry = self._ledger.get(dedupe_key)
                if entry is not None and entry.status == "sent":
                    self._dead.delete(receipt)  # sent meanwhile (an earlier redrive that died before deleting)
                    continue
                try:
                    message_id = self._mailer.send_raw(raw, sender=sender, recipients=recipients)
                except MailError as exc:
                    logger.warning("redrive failed", extra={"dedupe_key": dedupe_key, "error": str(exc)[:200]})
                    done["failed"] += 1
                    continue
                self._ledger.finish(dedupe_key, status="sent", message_id=message_id, now=iso_utc(self._clock.now()))
                self._dead.delete(receipt)
                done["sent"] += 1
            if done["failed"] and not done["sent"]:
                break  # SES still down: stop instead of spinning on the same messages
        return done


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _letter(letter: dict[str, Any]) -> tuple[str, str, Sequence[str], bytes] | None:
    try:
        dedupe_key, sender, recipients = letter["dedupe_key"], letter["sender"], letter["recipients"]
        raw = base64.b64decode(letter["raw"], validate=True)
    except (KeyError, TypeError, ValueError):
        return None
    if not (isinstance(dedupe_key, str) and valid_address(sender) and isinstance(recipients, list)):
        return None
    if not recipients or not all(valid_address(r) for r in recipients):
        return None
    return dedupe_key, sender, recipients, raw
