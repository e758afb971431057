"""Ratings through Zalo (issue #16, docs/zalo-ratings.md): a POS asks for a ZNS rating with the owner key,
the customer rates in Zalo, the scheduled poll stores each rating once as a CSAT answer of the ``zalo``
touchpoint, and it shows in the responses, the metrics by channel and the daily report. Zalo itself is a
recording fake of the Zalo service's seam (services/zalo.py), told to fail or to rate."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.domain.calendar import iso_utc, parse_iso_utc
from chalicelib.domain.zalo import ErrorKind, Kind, ZaloError, ZaloRating, ZnsSent
from tests.clock import FakeClock
from tests.integration.conftest import Biz, make_business, post_json

PHONE, SAME_PHONE_TYPED_ANOTHER_WAY = "0912 345 678", "+84912345678"


@dataclass
class FakeZaloService:
    clock: FakeClock
    templates: dict[str, str] = field(default_factory=dict)  # business -> rating template id
    sent: list[dict[str, Any]] = field(default_factory=list)
    failures: list[ZaloError] = field(default_factory=list)
    rated: list[tuple[str, ZaloRating]] = field(default_factory=list)
    reads: list[tuple[str, int, int]] = field(default_factory=list)

    def template(self, business_id: str, kind: Kind) -> str | None:
        return self.templates.get(business_id) if kind == "rating" else None

    def send(self, business_id: str, kind: Kind, phone_e164: str, data: Mapping[str, str],
             tracking_id: str) -> ZnsSent:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append({"business_id": business_id, "kind": kind, "phone": phone_e164, "data": dict(data),
                          "tracking_id": tracking_id, "template": self.templates[business_id]})
        return ZnsSent(msg_id=f"msg{len(self.sent)}", sent_at=iso_utc(self.clock.now()), remaining_quota=99)

    def rate(self, business_id: str, tracking_id: str, rate: int, note: str = "",
             feedbacks: tuple[str, ...] = ()) -> None:
        self.rated.append((business_id, ZaloRating(tracking_id, "msg", rate, note, feedbacks,
                                                   iso_utc(self.clock.now()))))

    def ratings(self, business_id: str, since_ms: int, until_ms: int) -> Iterator[ZaloRating]:
        self.reads.append((business_id, since_ms, until_ms))
        for biz, rating in self.rated:
            at = int(parse_iso_utc(rating.submitted_at).timestamp() * 1000)
            if biz == business_id and since_ms <= at <= until_ms:
                yield rating


@pytest.fixture
def zalo(client: Client, clock: FakeClock) -> FakeZaloService:
    fake = FakeZaloService(clock)
    wiring.services().__dict__["zalo"] = fake  # the Services field `zalo`, as the composition root builds it
    return fake


@pytest.fixture
def connected(biz: Biz, zalo: FakeZaloService) -> Biz:
    zalo.templates[biz.business_id] = "tpl-rating-1"
    return biz


def _ask(client: Client, biz: Biz, phone: str = PHONE, receipt: str | None = "R-1001") -> Any:
    body: dict[str, Any] = {"phone": phone}
    if receipt is not None:
        body["receipt_id"] = receipt
    return post_json(client, f"/v1/businesses/{biz.business_id}/zalo/ratings", body, biz.auth)


def _poll() -> Any:
    return wiring.services().zalo_ratings.poll()


def test_a_rating_asked_by_the_pos_comes_back_once_as_a_csat_answer_in_responses_metrics_and_report(
    client: Client, connected: Biz, zalo: FakeZaloService, clock: FakeClock
) -> None:
    asked = _ask(client, connected)
    assert asked.status_code == 201, asked.body
    request_id = asked.json_body["request_id"]
    assert asked.json_body["status"] == "sent"
    [sent] = zalo.sent
    assert sent["kind"] == "rating" and sent["template"] == "tpl-rating-1"
    assert sent["phone"] == "+84912345678" and sent["tracking_id"] == request_id
    assert sent["data"]["receipt_id"] == "R-1001"

    clock.advance(hours=1)
    zalo.rate(connected.business_id, request_id, 2, "Cà phê nguội, phục vụ chậm", ("Thái độ", "Tốc độ"))
    clock.advance(minutes=15)
    first = _poll()
    assert (first.stored, first.duplicates, first.unknown) == (1, 0, 0)
    clock.advance(minutes=15)
    again = _poll()  # the overlap reads the same rating again: it is not stored twice
    assert (again.stored, again.duplicates) == (0, 1)

    listed = client.http.get(f"/v1/businesses/{connected.business_id}/responses", headers=connected.auth)
    zalo_answers = [r for r in listed.json_body["items"] if r["channel"] == "zalo"]
    assert len(zalo_answers) == 1
    answer = zalo_answers[0]
    assert (answer["metric"], answer["score"], answer["touchpoint_id"]) == ("csat", 2, "zalorating")
    assert answer["receipt_id"] == "R-1001" and answer["unhappy"] is True
    assert answer["comment"] == "Cà phê nguội, phục vụ chậm\nZalo: Thái độ; Tốc độ"
    assert parse_iso_utc(answer["created_at"]) == datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # the rating's time

    metrics = client.http.get(
        f"/v1/businesses/{connected.business_id}/metrics?from=2026-11-20&to=2026-11-20&group_by=channel",
        headers=connected.auth,
    )
    assert metrics.status_code == 200, metrics.body
    groups = {g["key"]: g for g in metrics.json_body["groups"]}
    assert groups["zalo"]["metrics"]["csat"]["n"] == 1

    from chalicelib.domain.jobs import ReportJob

    clock.moment = datetime(2026, 11, 20, 17, 5, tzinfo=UTC)  # past midnight in Ho Chi Minh City
    wiring.services().reports.run(ReportJob(connected.business_id, "2026-11-20"), send_digest=False)
    report = client.http.get(f"/v1/businesses/{connected.business_id}/reports/daily/2026-11-20",
                             headers=connected.auth)
    assert report.status_code == 200, report.body
    channels = {c["key"]: c for c in report.json_body["channels"]}
    assert channels["zalo"]["metrics"]["csat"]["summary"]["n"] == 1 and report.json_body["skipped"] == 0


def test_the_same_receipt_asks_once_and_a_repeat_answers_the_first_request(
    client: Client, connected: Biz, zalo: FakeZaloService
) -> None:
    first = _ask(client, connected)
    repeat = _ask(client, connected)
    assert (first.status_code, repeat.status_code) == (201, 200)
    assert repeat.json_body == first.json_body
    assert len(zalo.sent) == 1


def test_one_rating_request_per_phone_a_day_and_at_most_the_business_cap(
    client: Client, connected: Biz, zalo: FakeZaloService, clock: FakeClock
) -> None:
    assert _ask(client, connected, receipt="R-1").status_code == 201
    capped = _ask(client, connected, phone=SAME_PHONE_TYPED_ANOTHER_WAY, receipt="R-2")
    assert capped.status_code == 429 and capped.json_body["error"]["code"] == "rating_capped"
    assert int(capped.headers["Retry-After"]) > 0
    assert len(zalo.sent) == 1
    clock.advance(days=1)
    assert _ask(client, connected, receipt="R-3").status_code == 201  # a new day, a new allowance

    object.__setattr__(wiring.services().settings, "zalo_rating_cap_per_business", 2)
    try:
        assert _ask(client, connected, phone="0987654321", receipt="R-4").status_code == 201
        over = _ask(client, connected, phone="0977777777", receipt="R-5")
        assert over.status_code == 429 and over.json_body["error"]["code"] == "rating_capped"
    finally:
        object.__setattr__(wiring.services().settings, "zalo_rating_cap_per_business", 500)


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("bad_phone", 422, "phone_not_on_zalo"), ("owner", 409, "zalo_problem"), ("transient", 503, "zalo_unavailable"),
     ("token", 503, "zalo_unavailable")],
)
def test_each_zalo_error_class_answers_its_status(
    client: Client, connected: Biz, zalo: FakeZaloService, kind: ErrorKind, status: int, code: str
) -> None:
    zalo.failures.append(ZaloError(-124, "template not approved" if kind == "owner" else "refused", kind))
    refused = _ask(client, connected)
    assert refused.status_code == status, refused.body
    assert refused.json_body["error"]["code"] == code
    if kind == "owner":
        assert "template not approved" in refused.json_body["error"]["message"]
    if kind in ("transient", "token"):
        assert int(refused.headers["Retry-After"]) >= 1
    retried = _ask(client, connected)  # the POS retries the same receipt
    if kind == "bad_phone":
        assert retried.status_code == 422 and not zalo.sent  # refused again, never sent
    else:
        assert retried.status_code == 200 and retried.json_body["status"] == "sent" and len(zalo.sent) == 1


def test_a_rating_with_a_tracking_id_of_no_request_is_ignored_and_counted(
    client: Client, connected: Biz, zalo: FakeZaloService, clock: FakeClock
) -> None:
    asked = _ask(client, connected)
    zalo.rate(connected.business_id, "not-ours", 5, "?")
    zalo.rate(connected.business_id, asked.json_body["request_id"], 5, "Ngon")
    clock.advance(minutes=15)
    result = _poll()
    assert (result.stored, result.unknown) == (1, 1)
    listed = client.http.get(f"/v1/businesses/{connected.business_id}/responses", headers=connected.auth)
    assert [r["score"] for r in listed.json_body["items"] if r["channel"] == "zalo"] == [5]


def test_a_phone_that_is_not_a_vietnamese_mobile_is_refused_with_a_clear_message(
    client: Client, connected: Biz, zalo: FakeZaloService
) -> None:
    refused = _ask(client, connected, phone="12345")
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "invalid_phone"
    assert refused.json_body["error"]["message"]
    assert not zalo.sent


def test_asking_without_a_connected_zalo_account_is_refused(client: Client, biz: Biz, zalo: FakeZaloService) -> None:
    refused = _ask(client, biz)
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "zalo_not_connected"


def test_a_phone_that_opted_out_is_refused_and_not_sent(
    client: Client, connected: Biz, zalo: FakeZaloService
) -> None:
    from chalicelib.adapters.followups_store import DynamoFollowupStore
    from chalicelib.domain import phones

    settings = wiring.services().settings
    hashed = phones.phone_hash(settings.app_secret, "+84912345678")
    DynamoFollowupStore(settings.table_name).suppress(hashed, connected.business_id, reason="opt-out", at="x")
    refused = _ask(client, connected)
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "phone_refused"
    assert not zalo.sent


def test_another_business_key_cannot_ask_in_its_name(client: Client, connected: Biz, zalo: FakeZaloService) -> None:
    other = make_business(client, name="Other")
    answer = post_json(client, f"/v1/businesses/{connected.business_id}/zalo/ratings", {"phone": PHONE}, other.auth)
    assert answer.status_code == 404 and not zalo.sent


def test_the_scheduled_lambda_as_make_run_fires_it_stores_the_rating(
    client: Client, connected: Biz, zalo: FakeZaloService, clock: FakeClock
) -> None:
    from chalicelib.local.scheduler import poll_zalo_ratings

    asked = _ask(client, connected)
    zalo.rate(connected.business_id, asked.json_body["request_id"], 4, "")
    clock.advance(minutes=1)
    poll_zalo_ratings()  # app.zalo_ratings_poll with the event EventBridge sends
    listed = client.http.get(f"/v1/businesses/{connected.business_id}/responses", headers=connected.auth)
    assert [(r["score"], r["comment"]) for r in listed.json_body["items"] if r["channel"] == "zalo"] == [(4, None)]


# ---- the console's Zalo page ---------------------------------------------------------------------------


def test_the_console_zalo_page_asks_for_a_rating_and_lists_the_ratings_received(
    client: Client, connected: Biz, zalo: FakeZaloService, clock: FakeClock
) -> None:
    from tests.integration.test_console import Browser, sign_in_by_key

    browser = Browser(client)
    assert sign_in_by_key(browser, connected).status_code == 303
    page_path = f"/console/{connected.business_id}/zalo?lang=en"
    page = browser.get(page_path)
    assert page.status_code == 200
    html = page.body.decode()
    assert "tpl-rating-1" in html and f'href="/console/{connected.business_id}/zalo?lang=en"' in html
    asked = browser.post(page_path, {"action": "ask", "phone": PHONE, "receipt_id": "R-77"}, csrf_from=page_path)
    assert asked.status_code == 200 and "Rating request sent through Zalo." in asked.body.decode()
    assert zalo.sent[0]["data"]["receipt_id"] == "R-77"
    refused = browser.post(page_path, {"action": "ask", "phone": "abc"}, csrf_from=page_path)
    assert refused.status_code == 422 and 'role="alert"' in refused.body.decode()

    zalo.rate(connected.business_id, zalo.sent[0]["tracking_id"], 5, "Phục vụ chu đáo")
    clock.advance(minutes=15)
    _poll()
    listed = browser.get(page_path).body.decode()
    assert "★★★★★" in listed and "Phục vụ chu đáo" in listed and "R-77" in listed


def test_the_console_zalo_page_needs_the_form_s_csrf_token(
    client: Client, connected: Biz, zalo: FakeZaloService
) -> None:
    from tests.integration.test_console import Browser, sign_in_by_key

    browser = Browser(client)
    sign_in_by_key(browser, connected)
    forged = browser.post_raw(f"/console/{connected.business_id}/zalo", {"action": "ask", "phone": PHONE})
    assert forged.status_code == 403 and not zalo.sent


def test_a_phone_the_owner_erased_is_never_asked_for_a_rating_again(
    client: Client, connected: Biz, zalo: FakeZaloService, clock: FakeClock
) -> None:
    erased = client.http.delete(f"/v1/businesses/{connected.business_id}/respondents?phone=0912345678",
                                headers=connected.auth)
    assert erased.status_code == 200, erased.body
    clock.advance(days=1)
    refused = _ask(client, connected, phone=SAME_PHONE_TYPED_ANOTHER_WAY)
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "phone_refused"
    assert not zalo.sent
    assert _ask(client, connected, phone="0987654321").status_code == 201  # another customer still can be


def test_a_second_press_while_the_first_request_is_being_sent_sends_nothing_more(
    client: Client, connected: Biz, zalo: FakeZaloService, clock: FakeClock
) -> None:
    from chalicelib.adapters.ratings_store import DynamoRatings
    from chalicelib.domain import phones, ratings
    from chalicelib.domain.ratings import RatingRequest

    settings = wiring.services().settings
    request_id = ratings.request_id(connected.business_id, "R-5", settings.app_secret)
    pending = RatingRequest(  # as a first request leaves it between storing and Zalo's answer
        business_id=connected.business_id, request_id=request_id, receipt_id="R-5", created_at=iso_utc(clock.now()),
        phone_hash=phones.phone_hash(settings.app_secret, "+84912345678"), day=clock.now().date().isoformat(),
    )
    assert DynamoRatings(settings.table_name).ask(pending, [])[0] == "stored"
    second = _ask(client, connected, receipt="R-5")
    assert second.status_code == 200 and second.json_body == {"request_id": request_id, "status": "pending"}
    assert not zalo.sent
    clock.advance(minutes=2)  # the first try died without an answer: a retry sends it
    assert _ask(client, connected, receipt="R-5").json_body["status"] == "sent" and len(zalo.sent) == 1


def test_the_zalo_touchpoint_is_listed_without_a_link_and_draws_no_qr_code(
    client: Client, connected: Biz, zalo: FakeZaloService, clock: FakeClock
) -> None:
    asked = _ask(client, connected)
    zalo.rate(connected.business_id, asked.json_body["request_id"], 3)
    clock.advance(minutes=15)
    _poll()
    base = f"/v1/businesses/{connected.business_id}/touchpoints"
    listed = {t["touchpoint_id"]: t for t in client.http.get(base, headers=connected.auth).json_body["items"]}
    assert listed["zalorating"]["channel"] == "zalo" and listed["zalorating"]["url"] == ""
    qr = client.http.get(f"{base}/zalorating/qr.svg", headers=connected.auth)
    assert qr.status_code == 409 and qr.json_body["error"]["code"] == "touchpoint_has_no_link"
    created = post_json(client, base, {"name": "x", "channel": "zalo", "metric": "csat"}, connected.auth)
    assert created.status_code == 422  # only Zalo's ratings make answers of this channel
