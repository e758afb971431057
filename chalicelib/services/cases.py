"""The complaint inbox (issue #14, docs/cases.md): a case per unhappy answer, opened by the stream
(``open_case``, called from ``Followups.handle``), listed, replied to and resolved by the owner.

* A case keeps no copy of the customer's address or comment: both are read from the response when a case
  is shown or replied to, so erasing the response removes them from the inbox too. The owner's reply
  texts live in the case's history; erasure (``Privacy``) removes them through the case's email-index key.
* A reply is emailed through the one mail layer as ``kind="reply"``, ``automatic=False`` (owner replies
  are not held by the customer caps; suppressions still apply), once per reply number, threaded with the
  apology the customer got (``MailService.thread``).
* Refusals come before any change: no case 404; resolved, no consented address, unsubscribed or five
  replies already 409, and nothing is stored or sent.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from chalicelib import tables
from chalicelib.domain import keys
from chalicelib.domain.calendar import iso_utc, zone
from chalicelib.domain.cases import (
    CONTACT_WINDOW,
    Case,
    CaseEvent,
    CasesPage,
    CasesQuery,
    ReplyIn,
    ResolutionFigures,
    ResolveIn,
    check_reply,
    check_resolve,
    resolution_figures,
    status_when_opened,
)
from chalicelib.domain.models import Business, StoredResponse
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.observability import count, logger
from chalicelib.ports import AlertRef, CaseStore, Clock, EmailTemplates, FollowupStore, StoredCase
from chalicelib.services.access import Caller
from chalicelib.services.mail import MailService
from chalicelib.settings import Settings

OVERDUE_LOOKBACK = timedelta(days=90)  # how far back the digest looks for cases still open
_REPLY_TRIES = 3
CUSTOMER = "customer"
CaseList = list[Case]  # ``Cases.list`` shadows the builtin inside the class


def _consented(response: StoredResponse) -> bool:
    return bool(response.email and response.consent and response.email_hash)


def open_case(store: CaseStore, response: StoredResponse, old: StoredResponse | None, now: datetime) -> None:
    """The stream's part (``Followups.handle``): open the case of an unhappy answer (idempotent), move a
    ``no_contact`` case to ``open`` when a consented address comes with a later write, and keep an edited
    score. A case stays when its answer is edited to a happy score: the customer was unhappy when they
    answered, the history says what changed, and the owner still decides when it is resolved."""
    at = iso_utc(now)
    consented = _consented(response)
    if response.unhappy:
        case = Case(
            response_id=response.response_id,
            status=status_when_opened(consented),
            score=response.score,
            metric=response.metric,
            created_at=response.created_at,
            history=[CaseEvent(at=response.created_at, by=CUSTOMER, action="opened")],
            touchpoint_id=response.touchpoint_id,
            channel=response.channel,
            locale=response.locale,
            has_contact=consented,
            replies=0,
        )
        stored = StoredCase(case, response.local_date)
        if store.open_case(response.business_id, stored, response.email_hash if consented else None):
            count("CasesOpened", status=case.status)
            return
    elif old is None or not old.unhappy:
        return  # never had a case
    if consented and response.email_hash and (old is None or not _consented(old) or old.unhappy != response.unhappy):
        event = CaseEvent(at=at, by=CUSTOMER, action="contact_added")
        if store.add_contact(response.business_id, response.response_id, response.email_hash, event):
            count("CasesContactAdded")
    if old is not None and old.score != response.score:
        event = CaseEvent(at=at, by=CUSTOMER, action="score_changed", score=response.score)
        store.change_score(response.business_id, response.response_id, response.score, event)


class Cases:
    def __init__(
        self, store: CaseStore, responses: FollowupStore, mail: MailService, templates: EmailTemplates,
        clock: Clock, settings: Settings,
    ) -> None:
        self._store, self._responses, self._mail, self._templates = store, responses, mail, templates
        self._clock, self._settings = clock, settings

    # ---- reading ----------------------------------------------------------------------------------

    def _answers(self, business_id: str, stored: list[StoredCase]) -> dict[str, StoredResponse]:
        refs = [AlertRef(s.case.response_id, s.local_date, s.sort_key) for s in stored]
        return {r.response_id: r for r in self._responses.responses(business_id, refs)} if refs else {}

    @staticmethod
    def _shown(stored: StoredCase, response: StoredResponse | None) -> Case:
        """The case with the customer's comment and contact as the response holds them now (erased: none)."""
        contact = stored.case.has_contact and response is not None and _consented(response)
        comment = response.comment if response else None
        return stored.case.model_copy(update={"comment": comment, "has_contact": contact})

    def _find(self, business_id: str, response_id: str) -> tuple[StoredCase, StoredResponse | None]:
        stored = self._store.get_case(business_id, response_id)
        if stored is None:
            raise NotFound("No case for this answer.", code="case_not_found")
        return stored, self._answers(business_id, [stored]).get(response_id)

    def get(self, caller: Caller, response_id: str) -> Case:
        return self._shown(*self._find(caller.business.business_id, response_id))

    def list(self, caller: Caller, query: CasesQuery) -> CasesPage:
        business_id = caller.business.business_id
        purpose = "cases:" + business_id
        after = None
        if query.cursor:
            after = keys.unseal(self._settings.app_secret, purpose, query.cursor, max_length=1024)
            # Sealed to the business (and the status filter): another's, or a tampered one, is refused.
            if not (isinstance(after, list) and len(after) == 2 and after[1] == (query.status or "")
                    and isinstance(after[0], str)):
                raise InvalidInput("The cursor is not valid for this listing.", code="invalid_cursor")
            after = after[0]
        stored, last = self._store.list_cases(business_id, status=query.status, after=after, limit=query.limit)
        answers = self._answers(business_id, stored)
        items = [self._shown(s, answers.get(s.case.response_id)) for s in stored]
        cursor = keys.seal(self._settings.app_secret, purpose, [last, query.status or ""]) if last else None
        return CasesPage(items=items, next_cursor=cursor)

    # ---- the owner's moves ------------------------------------------------------------------------

    def reply(self, caller: Caller, response_id: str, body: ReplyIn) -> Case:
        business = caller.business
        biz = business.business_id
        for _ in range(_REPLY_TRIES):
            stored, response = self._find(biz, response_id)
            case = self._shown(stored, response)
            check_reply(case)
            assert response is not None and response.email is not None
            if self._mail.suppressed(biz, response.email):
                raise Conflict("The customer unsubscribed from this business's emails.", code="customer_unsubscribed")
            number = case.replies + 1
            event = CaseEvent(at=iso_utc(self._clock.now()), by=caller.actor, action="reply",
                              message=body.message, outcome="sending")
            index = len(case.history)
            if self._store.begin_reply(biz, response_id, replies=case.replies, history=index, event=event):
                break
            # Someone else moved the case meanwhile: read it again, and refuse or retry from there.
        else:
            raise Conflict("The case changed while replying; try again.", code="case_changed")
        try:
            outcome = self._send_reply(business, response, number, body.message, caller.actor)
        except Exception:
            self._store.finish_reply(biz, response_id, index=index, outcome="failed")
            raise
        done = self._store.finish_reply(biz, response_id, index=index, outcome=outcome)
        count("CaseReplies", outcome=outcome)
        logger.info("case reply", extra={"business_id": biz, "response_id": response_id, "outcome": outcome})
        return self._shown(StoredCase(done, stored.local_date), response) if done else self.get(caller, response_id)

    def _send_reply(self, business: Business, response: StoredResponse, number: int, message: str, actor: str) -> str:
        assert response.email is not None
        biz = business.business_id
        locale = response.locale or business.locale
        owners = business.owner_emails
        reply_to = actor if actor in owners else (owners[0] if owners else None)
        thread = self._mail.thread(tables.apology_mail(biz, response.response_id), business)
        email = self._templates.render(
            "reply",
            locale,
            subject_args={"name": business.name},
            threaded=thread is not None,
            business_name=business.name,
            message=message,
            unsubscribe_url=self._mail.unsubscribe_url(biz, response.email),
        )
        return self._mail.deliver(
            kind="reply",
            dedupe_key=tables.reply_mail(biz, response.response_id, number),
            business=business,
            to=response.email,
            email=email,
            reply_to=reply_to,
            automatic=False,
            in_reply_to=thread[0] if thread else None,
            references=thread or (),
        )

    def resolve(self, caller: Caller, response_id: str, body: ResolveIn) -> Case:
        biz = caller.business.business_id
        stored, response = self._find(biz, response_id)
        check_resolve(stored.case)
        event = CaseEvent(at=iso_utc(self._clock.now()), by=caller.actor, action="resolve", note=body.note)
        done = self._store.resolve(biz, response_id, event)
        if done is None:
            check_resolve(self._find(biz, response_id)[0].case)  # resolved by someone else meanwhile: 409
            raise Conflict("The case changed while resolving; try again.", code="case_changed")
        count("CasesResolved")
        return self._shown(StoredCase(done, stored.local_date), response)

    # ---- figures (reports, digest, console) -------------------------------------------------------

    def figures(self, business: Business, first: date, last: date) -> ResolutionFigures:
        """The resolution figures over the cases answered in ``first``..``last``, the business's own days,
        as known now."""
        tz = zone(business.timezone)
        start = iso_utc(datetime.combine(first, time(), tz))
        end = iso_utc(datetime.combine(last + timedelta(days=1), time(), tz))
        return resolution_figures(self._store.case_times(business.business_id, start, end), self._clock.now())

    def overdue_summary(self, business: Business, limit: int = 10) -> tuple[int, CaseList]:
        """(how many, the newest ``limit``) of the cases still open more than 24 h after the answer,
        looking back ``OVERDUE_LOOKBACK``. No comment or address in them: they go into reports."""
        now = self._clock.now()
        found = list(self._store.open_cases(
            business.business_id, since=iso_utc(now - OVERDUE_LOOKBACK), before=iso_utc(now - CONTACT_WINDOW)
        ))
        return len(found), [s.case for s in found[:limit]]

    def overdue(self, business: Business, limit: int = 10) -> CaseList:
        return self.overdue_summary(business, limit)[1]
