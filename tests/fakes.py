"""In-memory fakes of the ports, for unit tests of the services (fakes over mocks: they keep state and
honour the same conditions the DynamoDB adapter enforces, so a rule that breaks shows up here first)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from chalicelib import ports, tables
from chalicelib.domain.cases import Case, CaseEvent, CaseTimes
from chalicelib.domain.limits import RateLimit
from chalicelib.domain.models import Business, StoredResponse, Touchpoint
from chalicelib.errors import RateLimited
from chalicelib.ports import (
    Addition,
    DayPage,
    DayQuery,
    IdempotencyRecord,
    LinkRecord,
    RecordOutcome,
    ResponseLocator,
    WriteGuards,
)


class InMemoryStore:
    """BusinessStore and ResponseStore in dicts; ``calls`` counts what the services asked for."""

    def __init__(self) -> None:
        self.businesses: dict[str, Business] = {}
        self.touchpoints: dict[tuple[str, str], Touchpoint] = {}
        self.responses: dict[tuple[str, str], StoredResponse] = {}  # (business, sort key) -> response
        self.claims: dict[tuple[str, str], ResponseLocator] = {}
        self.idempotency: dict[tuple[str, str], IdempotencyRecord] = {}
        self.links: dict[tuple[str, str], LinkRecord] = {}
        self.opens: dict[tuple[str, str, str], int] = {}
        self.erased: set[tuple[str, str]] = set()
        self.counters: dict[str, int] = {}
        self.calls: list[str] = []

    # ---- BusinessStore ----------------------------------------------------------------------------

    def put_business(self, business: Business) -> None:
        self.calls.append("put_business")
        assert business.business_id not in self.businesses
        self.businesses[business.business_id] = business

    def get_business(self, business_id: str) -> Business | None:
        self.calls.append("get_business")
        return self.businesses.get(business_id)

    def set_owner_key_hash(self, business_id: str, owner_key_hash: str, expected_hash: str) -> bool:
        found = self.businesses.get(business_id)
        if found is None or found.owner_key_hash != expected_hash:
            return False
        self.businesses[business_id] = found.model_copy(update={"owner_key_hash": owner_key_hash})
        return True

    def put_touchpoint(self, touchpoint: Touchpoint) -> None:
        self.calls.append("put_touchpoint")
        self.touchpoints[(touchpoint.business_id, touchpoint.touchpoint_id)] = touchpoint

    def get_touchpoint(self, business_id: str, touchpoint_id: str) -> Touchpoint | None:
        self.calls.append("get_touchpoint")
        return self.touchpoints.get((business_id, touchpoint_id))

    def list_touchpoints(self, business_id: str) -> list[Touchpoint]:
        return [t for (b, _), t in self.touchpoints.items() if b == business_id]

    # ---- SettingsStore (issue #14): only the named attributes change, as the adapter's UpdateItem ----

    def update_business_settings(
        self, business_id: str, changes: dict[str, Any], removed: Sequence[str]
    ) -> Business | None:
        self.calls.append("update_business_settings")
        found = self.businesses.get(business_id)
        if found is None:
            return None
        data = found.model_dump(mode="json")
        data.update(changes)
        for name in removed:
            data.pop(name, None)
        self.businesses[business_id] = Business.model_validate(data)
        return self.businesses[business_id]

    def update_touchpoint(self, business_id: str, touchpoint_id: str, changes: dict[str, Any]) -> Touchpoint | None:
        return self._touchpoint_update(business_id, touchpoint_id, **changes)

    def retire_touchpoint(self, business_id: str, touchpoint_id: str, retired_at: str) -> Touchpoint | None:
        found = self.touchpoints.get((business_id, touchpoint_id))
        if found is not None and found.retired_at is not None:
            return found
        return self._touchpoint_update(business_id, touchpoint_id, retired_at=retired_at)

    def _touchpoint_update(self, business_id: str, touchpoint_id: str, **changes: Any) -> Touchpoint | None:
        self.calls.append("update_touchpoint")
        found = self.touchpoints.get((business_id, touchpoint_id))
        if found is None:
            return None
        # Validated as the adapter reads its item back: plain JSON values become the model's types.
        data = found.model_dump(mode="json") | changes
        self.touchpoints[(business_id, touchpoint_id)] = Touchpoint.model_validate(data)
        return self.touchpoints[(business_id, touchpoint_id)]

    # ---- ResponseStore ----------------------------------------------------------------------------

    def record(self, response: StoredResponse, guards: WriteGuards) -> RecordOutcome:
        claims, idempotency, limits = guards.claims, guards.idempotency, guards.limits
        self.calls.append("record")
        # The same order of conditions as the DynamoDB transaction: any failure writes nothing.
        if idempotency is not None and (idempotency.scope, idempotency.key) in self.idempotency:
            return RecordOutcome("replay", replay=self.idempotency[(idempotency.scope, idempotency.key)])
        self._check(limits)
        claim_keys = [(c.business_id, c.key) for c in claims]
        for claim_key in claim_keys:
            if claim_key in self.claims:
                return RecordOutcome("already_claimed", existing=self.claims[claim_key])
        sort_key = tables.response_sk(response.created_at, response.response_id)
        for claim_key in claim_keys:
            self.claims[claim_key] = ResponseLocator(
                response.business_id, response.local_date, sort_key, response.response_id, response.created_at
            )
        self.responses[(response.business_id, sort_key)] = response
        if idempotency is not None:
            self.idempotency[(idempotency.scope, idempotency.key)] = idempotency
        self._count(limits)
        return RecordOutcome("created")

    def _check(self, limits: Sequence[RateLimit]) -> None:
        for limit in limits:
            if self.counters.get(limit.key, 0) >= limit.limit:
                raise RateLimited("rate limited", retry_after=limit.retry_after)

    def _count(self, limits: Sequence[RateLimit]) -> None:
        for limit in limits:
            self.counters[limit.key] = self.counters.get(limit.key, 0) + 1

    def update_score(
        self, locator: ResponseLocator, score: int, unhappy: bool, updated_at: str, limits: Sequence[RateLimit] = ()
    ) -> None:
        self.calls.append("update_score")
        self._check(limits)
        self._count(limits)
        key = (locator.business_id, locator.sort_key)
        self.responses[key] = self.responses[key].model_copy(
            update={"score": score, "unhappy": unhappy, "updated_at": updated_at}
        )

    def save_idempotency(self, record: IdempotencyRecord) -> None:
        self.idempotency.setdefault((record.scope, record.key), record)

    def add_comment(self, locator: ResponseLocator, added: Addition) -> bool:
        key = (locator.business_id, locator.sort_key)
        found = self.responses.get(key)
        if found is None or found.response_id != locator.response_id:
            return False
        if added.mood_unhappy is not None and found.unhappy != added.mood_unhappy:
            return False
        update: dict[str, object] = {"updated_at": added.updated_at}
        if added.comment is not None:
            update.update(comment=added.comment, topics=list(added.topics))
            if added.polarity is not None:
                update["polarity"] = added.polarity
        if added.reasons is not None:
            update["reasons"] = list(added.reasons)
        if added.email is not None:
            update.update(email=added.email, email_hash=added.email_hash, consent=True)
        self.responses[key] = found.model_copy(update=update)
        return True

    def find_response(self, locator: ResponseLocator) -> StoredResponse | None:
        found = self.responses.get((locator.business_id, locator.sort_key))
        return found if found is not None and found.response_id == locator.response_id else None

    def query_day(self, query: DayQuery) -> DayPage:
        self.calls.append("query_day")
        business_id, day, limit = query.business_id, query.day, query.limit
        start_after, metric, touchpoint_id = query.start_after, query.metric, query.touchpoint_id
        keys = sorted(
            (sk for (b, sk), r in self.responses.items() if b == business_id and r.local_date == day), reverse=True
        )
        if start_after is not None:
            keys = [k for k in keys if k < start_after]
        page = DayPage()
        for sk in keys:
            r = self.responses[(business_id, sk)]
            if (metric and r.metric != metric) or (touchpoint_id and r.touchpoint_id != touchpoint_id):
                continue
            page.items.append(r)
            if limit is not None and len(page.items) >= limit:
                page.last_sort_key = sk if sk != keys[-1] else None
                break
        return page

    def put_links(self, links: Sequence[LinkRecord]) -> None:
        for link in links:
            self.links[(link.business_id, link.link_id)] = link

    def count_open(self, business_id: str, day: str, touchpoint_id: str) -> None:
        key = (business_id, day, touchpoint_id)
        self.opens[key] = self.opens.get(key, 0) + 1

    def find_personal_data(self, business_id: str, person_hash: str, by: str = "email") -> list[tuple[str, str]]:
        found = [
            (f"R#{b}#{r.local_date}", sk)
            for (b, sk), r in self.responses.items()
            if b == business_id and (r.phone_hash if by == "phone" else r.email_hash) == person_hash
        ]
        if by == "phone":
            return found
        email_hash = person_hash
        found += [
            (f"C#{b}#L#{link.touchpoint_id}#{link.link_id}", "C")
            for (b, _), link in self.links.items()
            if b == business_id and link.email_hash == email_hash
        ]
        return found

    def erase_personal_data(self, pk: str, sk: str, erased_at: str) -> str | None:
        self.erased.add((pk, sk))
        if pk.startswith("R#"):
            business_id = pk.split("#")[1]
            key = (business_id, sk)
            comment = self.responses[key].comment
            self.responses[key] = self.responses[key].model_copy(
                update={
                    "email": None, "email_hash": None, "phone": None, "phone_hash": None, "comment": None,
                    "consent": False,
                }
            )
            return comment
        for key, link in list(self.links.items()):
            if pk.endswith(f"#{link.link_id}"):
                self.links[key] = replace(link, email=None, email_hash=None)
        return None


class RecordingMailForgetter:
    """Stands in for ``MailService.forget(business_id, email_hash) -> int`` (#11 item 7, erasure): records
    what it was asked to forget and answers how many mail-side items it "held" for that address."""

    def __init__(self, held: dict[tuple[str, str], int] | None = None) -> None:
        self.held = dict(held or {})
        self.calls: list[tuple[str, str]] = []

    def __call__(self, business_id: str, email_hash: str) -> int:
        self.calls.append((business_id, email_hash))
        return self.held.pop((business_id, email_hash), 0)


class InMemoryCaseStore:
    """The complaint inbox (issue #14) in memory, with the DynamoDB adapter's conditions: one case per
    response, replies only from ``open``/``replied`` with the expected count and history, one resolution."""

    def __init__(self) -> None:
        self.cases: dict[tuple[str, str], ports.StoredCase] = {}  # (business, response id) -> case
        self.contacts: dict[tuple[str, str], str] = {}  # (business, response id) -> email hash

    def _move(self, business_id: str, response_id: str, **changes: object) -> Case:
        stored = self.cases[(business_id, response_id)]
        case = stored.case.model_copy(update=changes)
        self.cases[(business_id, response_id)] = ports.StoredCase(case, stored.local_date)
        return case

    def open_case(self, business_id: str, stored: ports.StoredCase, email_hash: str | None) -> bool:
        key = (business_id, stored.case.response_id)
        if key in self.cases:
            return False
        self.cases[key] = stored
        if email_hash:
            self.contacts[key] = email_hash
        return True

    def add_contact(self, business_id: str, response_id: str, email_hash: str, event: CaseEvent) -> bool:
        found = self.cases.get((business_id, response_id))
        if found is None or found.case.status != "no_contact":
            return False
        self.contacts[(business_id, response_id)] = email_hash
        self._move(business_id, response_id, status="open", has_contact=True, history=[*found.case.history, event])
        return True

    def change_score(self, business_id: str, response_id: str, score: int, event: CaseEvent) -> bool:
        found = self.cases.get((business_id, response_id))
        if found is None or found.case.score == score:
            return False
        self._move(business_id, response_id, score=score, history=[*found.case.history, event])
        return True

    def get_case(self, business_id: str, response_id: str) -> ports.StoredCase | None:
        return self.cases.get((business_id, response_id))

    def begin_reply(self, business_id: str, response_id: str, *, replies: int, history: int, event: CaseEvent) -> bool:
        found = self.cases.get((business_id, response_id))
        if found is None:
            return False
        case = found.case
        if case.status not in ("open", "replied") or not case.has_contact:
            return False
        if case.replies != replies or len(case.history) != history:
            return False
        self._move(
            business_id, response_id, replies=replies + 1, status="replied",
            first_reply_at=case.first_reply_at or event.at, history=[*case.history, event],
        )
        return True

    def finish_reply(self, business_id: str, response_id: str, *, index: int, outcome: str) -> Case | None:
        found = self.cases.get((business_id, response_id))
        if found is None or len(found.case.history) <= index:
            return None
        history = list(found.case.history)
        history[index] = history[index].model_copy(update={"outcome": outcome})
        return self._move(business_id, response_id, history=history)

    def resolve(self, business_id: str, response_id: str, event: CaseEvent) -> Case | None:
        found = self.cases.get((business_id, response_id))
        if found is None or found.case.status == "resolved":
            return None
        return self._move(
            business_id, response_id, status="resolved", resolved_at=event.at, history=[*found.case.history, event]
        )

    def _newest_first(self, business_id: str) -> list[ports.StoredCase]:
        mine = [s for (biz, _), s in self.cases.items() if biz == business_id]
        return sorted(mine, key=lambda s: s.sort_key, reverse=True)

    def list_cases(
        self, business_id: str, *, status: str | None, after: str | None, limit: int
    ) -> tuple[list[ports.StoredCase], str | None]:
        found = [
            s for s in self._newest_first(business_id)
            if (status is None or s.case.status == status) and (after is None or s.sort_key < after)
        ]
        page = found[:limit]
        return page, page[-1].sort_key if len(page) == limit else None

    def case_times(self, business_id: str, first: str, last: str) -> Iterator[CaseTimes]:
        return iter([
            CaseTimes(s.case.created_at, s.case.first_reply_at, s.case.resolved_at, s.case.has_contact)
            for s in reversed(self._newest_first(business_id)) if first <= s.sort_key <= last
        ])

    def open_cases(self, business_id: str, *, since: str, before: str) -> Iterator[ports.StoredCase]:
        return iter([
            s for s in self._newest_first(business_id) if s.case.status == "open" and since <= s.sort_key <= before
        ])

    def erase_case(self, pk: str, sk: str, at: str) -> bool:
        for (biz, rid), stored in list(self.cases.items()):
            if tables.case_pk(biz) == pk and stored.sort_key == sk:
                history = [e.model_copy(update={"message": None}) for e in stored.case.history]
                history.append(CaseEvent(at=at, by="erasure", action="erased"))
                status = "no_contact" if stored.case.status == "open" else stored.case.status
                self._move(biz, rid, history=history, has_contact=False, status=status)
                self.contacts.pop((biz, rid), None)
                return True
        return False
