"""Erasing a respondent (a customer's right to be forgotten): every copy of their address and comments
that one business keeps, scores left in place and anonymous."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from chalicelib import tables
from chalicelib.domain import phones
from chalicelib.domain.addresses import email_hash
from chalicelib.domain.calendar import iso_utc
from chalicelib.domain.models import Erased
from chalicelib.errors import InvalidInput
from chalicelib.ports import CaseStore, Clock, ReportStore, ResponseStore
from chalicelib.services.access import Caller
from chalicelib.settings import Settings

# #11 item 7: what the mail layer offers erasure, MailService.forget(business_id, email_hash) -> items erased.
ForgetMail = Callable[[str, str], int]


class Privacy:
    def __init__(
        self, responses: ResponseStore, clock: Clock, settings: Settings, *, reports: ReportStore | None = None,
        forget_mail: ForgetMail | None = None, cases: CaseStore | None = None,
    ) -> None:
        self._responses, self._clock, self._settings = responses, clock, settings
        # #11 item 7 (erasure): stored reports hold copies of unhappy comments; the mail layer (alert
        # batches, the dead-letter queue) holds others and forgets them through ``forget_mail``
        # (MailService.forget(business_id, email_hash) -> items erased), wired in wiring.py.
        self._reports, self._forget_mail = reports, forget_mail
        # issue #14: a case found by the address (GSI1) loses the owner's reply texts and its contact.
        self._cases = cases

    def erase_respondent(self, caller: Caller, email: str | None = None, *, phone: str | None = None) -> Erased:
        """Erase a person's address and comments everywhere this business keeps them: their responses
        (scores stay, anonymous), minted links, vouchers and apology records (all found by the keyed
        hash of the address, one Query on the email index), the comments copied into stored daily
        reports (and so the dashboard), and what the mail layer holds. Safe to repeat.

        Issue #16: or by the phone number they gave (E.164, ``phones.normalize``): the answers holding it,
        found on the phone index, lose the phone, any address beside it and the comment, the same way."""
        business = caller.business
        if phone is not None:
            hashed = phones.phone_hash(self._settings.app_secret, phone)
            # The answers hold the number on the phone index; a voucher or apology sent by Zalo keys the
            # number's hash on the email index, as an email's would be.
            found = self._responses.find_personal_data(business.business_id, hashed, by="phone")
            found += self._responses.find_personal_data(business.business_id, hashed)
        elif email is not None:
            hashed = email_hash(self._settings.app_secret, email)
            found = self._responses.find_personal_data(business.business_id, hashed)
        else:
            raise InvalidInput("Give the email address or the phone number to erase.", code="nothing_to_erase")
        now = iso_utc(self._clock.now())
        responses = links = 0
        # report day -> (created_at, text) of the person's comments, as stored reports keep them
        commented: dict[str, set[tuple[str, str]]] = defaultdict(set)
        cases = 0
        for pk, sk in found:
            if pk == tables.case_pk(business.business_id):
                if self._cases is not None and self._cases.erase_case(pk, sk, now):
                    cases += 1
                continue
            comment = self._responses.erase_personal_data(pk, sk, now)
            day = tables.response_pk.rest(pk, business.business_id)
            if day is not None:
                responses += 1
                if comment:
                    created_at = tables.response_sk.split(sk)[0]
                    commented[day].add((created_at, comment))
            elif tables.claim_pk.rest(pk, business.business_id) is not None:
                links += 1
        # After the responses: a report recomputed from now on no longer sees the comment either.
        report_comments = 0
        if self._reports is not None:
            for day, comments in sorted(commented.items()):
                report_comments += self._reports.erase_report_comments(business.business_id, day, comments)
        mail_items = self._forget_mail(business.business_id, hashed) if self._forget_mail is not None else 0
        return Erased(
            responses_erased=responses,
            links_erased=links,
            report_comments_erased=report_comments,
            mail_items_erased=mail_items,
            cases_erased=cases,
        )
