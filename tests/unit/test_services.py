"""The rules of recording and reading responses, on in-memory fakes (no AWS, no network)."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain.metrics import NpsStats
from chalicelib.domain.models import (
    BusinessIn,
    CommentIn,
    LinksIn,
    MetricsQuery,
    ResponseIn,
    ResponsesQuery,
    SiteQuery,
    TouchpointIn,
)
from chalicelib.errors import Conflict, Forbidden, InvalidInput, InvalidToken, MalformedRequest, NotFound, Unauthorized
from chalicelib.services.access import Access, Caller
from chalicelib.services.directory import Directory
from chalicelib.services.insights import Insights
from chalicelib.services.links import Links
from chalicelib.services.privacy import Privacy
from chalicelib.services.sites import Sites
from chalicelib.services.submissions import RequestMeta, Submissions
from chalicelib.settings import load_settings
from tests.clock import FakeClock
from tests.fakes import InMemoryStore

ADMIN_KEY = "unit-admin-key-0123456789abcdef"
SETTINGS = load_settings(
    {"STAGE": "test", "ADMIN_KEY": ADMIN_KEY, "APP_SECRET": "unit-secret-0123456789abcdef-0123456789abcdef"}
)
PHONE = RequestMeta(source_ip="203.0.113.9")


class World:
    def __init__(self) -> None:
        self.store = InMemoryStore()
        self.clock = FakeClock()
        self.directory = Directory(self.store, ttl_seconds=60, monotonic=lambda: 0.0)
        self.sites = Sites(self.directory, self.clock, SETTINGS)
        self.submissions = Submissions(self.directory, self.store, self.clock, SETTINGS, self.sites)
        self.access = Access(self.directory, self.store, self.clock, SETTINGS)
        self.links = Links(self.directory, self.store, self.store, self.clock, SETTINGS)
        self.insights = Insights(self.store, self.clock, SETTINGS)
        self.privacy = Privacy(self.store, self.clock, SETTINGS)
        created = self.access.create_business(
            BusinessIn(
                name="Cà Phê Sài Gòn",
                owner_emails=["chu@caphe.example"],
                timezone="Asia/Ho_Chi_Minh",
                locale="vi",
                allowed_origins=["https://caphe.example"],
            )
        )
        self.business_id = created.business_id
        self.owner_key = created.owner_key
        self.site_key = created.site_key
        self.caller: Caller = self.access.authenticate(f"Bearer {created.owner_key}", created.business_id)
        self.table = self.links.create_touchpoint(self.caller, TouchpointIn(name="Bàn 1", channel="qr", metric="nps"))
        self.receipt = self.links.create_touchpoint(
            self.caller, TouchpointIn(name="Hóa đơn", channel="receipt", metric="csat")
        )

    def view(self, score: int, **extra: object) -> ResponseIn:
        """An answer from a fresh view of the table QR's page: with that view's nonce."""
        nonce = self.submissions.page_nonce(self.submissions.open_link(self.table.token))
        return ResponseIn.model_validate({"token": self.table.token, "score": score, "nonce": nonce, **extra})

    def site_view(self, **body: object) -> ResponseIn:
        """A widget answer, with the nonce of its site config."""
        config = self.sites.check(self.site_key, "https://caphe.example", SiteQuery())
        return ResponseIn.model_validate({"site_key": self.site_key, "nonce": config.nonce, **body})

    def receipt_link(self, receipt_id: str = "HD-0001", days: int = 30) -> str:
        links = self.links.mint(
            self.caller, LinksIn(touchpoint_id=self.receipt.touchpoint_id, receipt_id=receipt_id, expires_in_days=days)
        )
        return links.links[0].token


@pytest.fixture
def world() -> World:
    return World()


def test_a_warm_submission_costs_one_store_call_once_the_business_is_cached(world: World) -> None:
    world.submissions.submit(world.view(9), PHONE)
    world.store.calls.clear()
    world.submissions.submit(
        world.view(7), RequestMeta(source_ip="198.51.100.2")
    )
    assert world.store.calls == ["record"]


def test_a_minted_receipt_link_keeps_one_response_and_updates_it_inside_the_window(world: World) -> None:
    token = world.receipt_link()
    first = world.submissions.submit(ResponseIn(token=token, score=2), PHONE)
    world.clock.advance(hours=23)
    again = world.submissions.submit(ResponseIn(token=token, score=4), RequestMeta())
    assert (first.created, again.created) == (True, False)
    assert again.body.response_id == first.body.response_id
    assert [r.score for r in world.store.responses.values()] == [4]
    assert again.body.unhappy is False and first.body.unhappy is True


def test_after_the_edit_window_a_minted_link_is_409_and_the_score_stays(world: World) -> None:
    token = world.receipt_link()
    world.submissions.submit(ResponseIn(token=token, score=5), PHONE)
    world.clock.advance(hours=24, seconds=1)
    with pytest.raises(Conflict):
        world.submissions.submit(ResponseIn(token=token, score=1), PHONE)
    assert [r.score for r in world.store.responses.values()] == [5]


def test_a_table_qr_takes_one_answer_per_page_view_and_the_network_merges_nobody(world: World) -> None:
    page = world.view(9)
    a1 = world.submissions.submit(page, PHONE)
    a2 = world.submissions.submit(page.model_copy(update={"score": 10}), PHONE)  # the same view re-taps
    b = world.submissions.submit(world.view(3), PHONE)  # another customer, same address and phone
    assert [a1.created, a2.created, b.created] == [True, False, True]
    assert len(world.store.responses) == 2


def test_a_widget_respondent_id_keeps_one_answer_per_browser_per_day(world: World) -> None:
    meta = RequestMeta(origin="https://caphe.example", source_ip="192.0.2.1")
    first = world.submissions.submit(world.site_view(metric="csat", score=2, respondent_id="anon-1"), meta)
    again = world.submissions.submit(world.site_view(metric="csat", score=4, respondent_id="anon-1"), meta)
    world.clock.advance(days=1)
    next_day = world.submissions.submit(world.site_view(metric="csat", score=5, respondent_id="anon-1"), meta)
    assert [first.created, again.created, next_day.created] == [True, False, True]
    assert again.body.response_id == first.body.response_id
    assert len(world.store.responses) == 2


def test_the_widgets_anonymous_id_beats_the_network_fingerprint(world: World) -> None:
    meta = RequestMeta(origin="https://caphe.example", source_ip="192.0.2.1")
    one = world.submissions.submit(world.site_view(metric="csat", score=5, respondent_id="anon-1"), meta)
    two = world.submissions.submit(world.site_view(metric="csat", score=5, respondent_id="anon-2"), meta)
    assert (one.created, two.created) == (True, True)
    assert world.sites.allowed_origin(world.site_key, "https://caphe.example/") == "https://caphe.example"
    assert world.sites.allowed_origin(world.site_key, "https://evil.example") is None


def test_a_site_key_post_needs_an_allowed_origin(world: World) -> None:
    body = ResponseIn(site_key=world.site_key, metric="nps", score=9)
    with pytest.raises(Forbidden):
        world.submissions.submit(body, RequestMeta(origin="https://evil.example"))
    with pytest.raises(Forbidden):
        world.submissions.submit(body, RequestMeta())
    assert world.store.responses == {}


def test_the_widgets_check_and_its_answer_refuse_a_site_key_by_the_same_rule(world: World) -> None:
    forged = world.site_key[:-4] + ("0000" if not world.site_key.endswith("0000") else "1111")
    cases = [
        (forged, "https://caphe.example", InvalidToken, "invalid_site_key"),
        ("sk_nobody", "https://caphe.example", InvalidToken, "invalid_site_key"),
        (world.site_key, "https://evil.example", Forbidden, "origin_not_allowed"),
        (world.site_key, "https://caphe.example/path", Forbidden, "origin_not_allowed"),
        (world.site_key, None, Forbidden, "origin_not_allowed"),
    ]
    for site_key, origin, error, code in cases:
        with pytest.raises(error) as checked:
            world.sites.check(site_key, origin, SiteQuery())
        with pytest.raises(error) as answered:
            world.submissions.submit(
                ResponseIn(site_key=site_key, metric="nps", score=9), RequestMeta(origin=origin)
            )
        assert checked.value.code == answered.value.code == code
        assert world.sites.allowed_origin(site_key, origin) is None
    # A browser's Origin in another case or with a trailing slash is the same page, for all three.
    for origin in ("HTTPS://Caphe.Example", "https://caphe.example/"):
        assert world.sites.check(world.site_key, origin, SiteQuery()).business_name == "Cà Phê Sài Gòn"
        assert world.sites.allowed_origin(world.site_key, origin) == "https://caphe.example"
    assert world.store.responses == {}


def test_a_site_key_of_the_right_business_with_the_wrong_secret_is_refused(world: World) -> None:
    forged = world.site_key[:-4] + ("0000" if not world.site_key.endswith("0000") else "1111")
    with pytest.raises(InvalidToken):
        world.submissions.submit(
            ResponseIn(site_key=forged, metric="nps", score=9), RequestMeta(origin="https://caphe.example")
        )


def test_a_retry_with_the_same_idempotency_key_returns_the_first_answer(world: World) -> None:
    meta = RequestMeta(idempotency_key="till-7:receipt-1")
    token = world.receipt_link()
    first = world.submissions.submit(ResponseIn(token=token, score=4), meta)
    retry = world.submissions.submit(ResponseIn(token=token, score=4), meta)
    assert retry.created is first.created is True
    assert retry.body == first.body
    assert len(world.store.responses) == 1


def test_reusing_an_idempotency_key_for_another_request_is_refused(world: World) -> None:
    meta = RequestMeta(idempotency_key="till-7:receipt-2")
    token = world.receipt_link("HD-0002")
    world.submissions.submit(ResponseIn(token=token, score=4), meta)
    with pytest.raises(InvalidInput) as refused:
        world.submissions.submit(ResponseIn(token=token, score=1), meta)
    assert refused.value.code == "idempotency_key_reused"
    assert [r.score for r in world.store.responses.values()] == [4]


def test_a_score_outside_the_links_scale_is_refused_and_nothing_stored(world: World) -> None:
    with pytest.raises(InvalidInput):
        world.submissions.submit(ResponseIn(token=world.receipt.token, score=6), PHONE)  # CSAT is 1-5
    assert world.store.responses == {}


def test_a_comment_and_consented_email_reach_the_response_through_the_edit_token(world: World) -> None:
    answer = world.submissions.submit(world.view(4), PHONE)
    saved = world.submissions.add_comment(
        answer.body.response_id,
        CommentIn(
            edit_token=answer.body.edit_token, comment="Cà phê hơi nguội", email="khach@vn.example", consent=True
        ),
    )
    assert saved.comment_saved and saved.email_saved
    stored = next(iter(world.store.responses.values()))
    assert stored.comment == "Cà phê hơi nguội" and stored.email == "khach@vn.example" and stored.consent
    assert stored.email_hash and "khach" not in stored.email_hash


def test_an_edit_token_works_only_for_its_own_response(world: World) -> None:
    one = world.submissions.submit(world.view(4), PHONE)
    two = world.submissions.submit(world.view(9), RequestMeta())
    with pytest.raises(InvalidToken):
        world.submissions.add_comment(two.body.response_id, CommentIn(edit_token=one.body.edit_token, comment="x"))


def test_a_vietnamese_comment_typed_with_combining_marks_is_stored_precomposed(world: World) -> None:
    answer = world.submissions.submit(world.view(4), PHONE)
    decomposed = "Ca\u0300 phe\u0302 ngon"  # "à" and "ê" as base letter + combining mark
    world.submissions.add_comment(
        answer.body.response_id, CommentIn(edit_token=answer.body.edit_token, comment=decomposed)
    )
    assert next(iter(world.store.responses.values())).comment == "C\u00e0 ph\u00ea ngon"


# ---- owners: access, links, insights, privacy ---------------------------------------------------------------


def test_the_owner_key_is_stored_only_as_a_keyed_hash(world: World) -> None:
    business = world.store.businesses[world.business_id]
    assert world.owner_key not in business.model_dump_json()
    assert len(business.owner_key_hash) == 64


def test_keys_decide_who_sees_a_business(world: World) -> None:
    other = world.access.create_business(
        BusinessIn(name="Quán Khác", owner_emails=["o@khac.example"], timezone="Asia/Bangkok", locale="en")
    )
    with pytest.raises(Unauthorized):
        world.access.authenticate(None, world.business_id)
    with pytest.raises(Unauthorized):
        world.access.authenticate("Bearer ok_" + world.business_id + "_" + "0" * 32, world.business_id)
    with pytest.raises(NotFound):  # another business's key: no hint that this business exists
        world.access.authenticate(f"Bearer {other.owner_key}", world.business_id)
    assert world.access.authenticate(f"Bearer {ADMIN_KEY}", world.business_id).is_admin
    with pytest.raises(NotFound):
        world.access.authenticate(f"Bearer {ADMIN_KEY}", "zzzzzzzzzz")


def _answer(world: World, n: int, score_of=lambda i: i % 11) -> None:
    for i in range(n):
        world.submissions.submit(world.view(score_of(i)), RequestMeta())
        world.clock.advance(minutes=1)


def test_responses_page_newest_first_across_days_without_gaps_or_repeats(world: World) -> None:
    _answer(world, 7)
    world.clock.advance(days=1)
    _answer(world, 6)
    seen: list[str] = []
    cursor = None
    while True:
        page = world.insights.list_responses(world.caller, ResponsesQuery(limit=4, cursor=cursor))
        seen += [item.created_at for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == 13 and len(set(seen)) == 13
    assert seen == sorted(seen, reverse=True)


def test_a_cursor_of_another_business_is_refused(world: World) -> None:
    _answer(world, 3)
    page = world.insights.list_responses(world.caller, ResponsesQuery(limit=1))
    other = world.access.create_business(
        BusinessIn(name="Quán Khác", owner_emails=["o@khac.example"], timezone="Asia/Bangkok", locale="en")
    )
    caller = world.access.authenticate(f"Bearer {other.owner_key}", other.business_id)
    with pytest.raises(MalformedRequest):
        world.insights.list_responses(caller, ResponsesQuery(cursor=page.next_cursor))


def test_metrics_over_a_range_use_the_product_definitions(world: World) -> None:
    scores = [10, 9, 9, 8, 3]  # 3 promoters, 1 passive, 1 detractor: NPS 40
    _answer(world, len(scores), lambda i: scores[i])
    today = date(2026, 11, 20)
    result = world.insights.metrics(world.caller, MetricsQuery(**{"from": today, "to": today}))
    nps = result.overall["nps"]
    assert nps.status == "ok" and nps.headline == 40 and nps.n == 5
    assert isinstance(nps.stats, NpsStats)
    assert nps.stats.promoters == 3 and nps.stats.detractors == 1
    assert result.overall["csat"].headline is None and result.overall["csat"].n == 0


def test_metrics_group_by_day_keep_each_day_apart(world: World) -> None:
    _answer(world, 5, lambda i: 10)
    world.clock.advance(days=1)
    _answer(world, 5, lambda i: 0)
    result = world.insights.metrics(world.caller, MetricsQuery(group_by="day"))
    by_day = {g.key: g.metrics["nps"].headline for g in result.groups or []}
    assert by_day == {"2026-11-20": 100, "2026-11-21": -100}
    assert result.overall["nps"].headline == 0


def test_a_minted_batch_gives_distinct_links_that_each_take_a_response(world: World) -> None:
    links = world.links.mint(world.caller, LinksIn(touchpoint_id=world.receipt.touchpoint_id, count=50))
    tokens = [link.token for link in links.links]
    assert len(set(tokens)) == 50
    for token in tokens[:3]:
        assert world.submissions.submit(ResponseIn(token=token, score=5), PHONE).created


def test_erasing_a_respondent_keeps_scores_and_drops_what_identifies_them(world: World) -> None:
    answer = world.submissions.submit(world.view(2), PHONE)
    world.submissions.add_comment(
        answer.body.response_id,
        CommentIn(edit_token=answer.body.edit_token, comment="Tệ", email="Khach@VN.example", consent=True),
    )
    erased = world.privacy.erase_respondent(world.caller, "khach@vn.example")
    assert erased.responses_erased == 1
    stored = next(iter(world.store.responses.values()))
    assert (stored.score, stored.email, stored.comment, stored.email_hash) == (2, None, None, None)


def test_erasing_a_respondent_asks_the_mail_layer_to_forget_the_same_address_once(world: World) -> None:
    from chalicelib.domain.addresses import email_hash
    from tests.fakes import RecordingMailForgetter

    hashed = email_hash(SETTINGS.app_secret, "khach@vn.example")
    forget = RecordingMailForgetter({(world.business_id, hashed): 3})
    privacy = Privacy(world.store, world.clock, SETTINGS, forget_mail=forget)
    answer = world.submissions.submit(world.view(2), PHONE)
    world.submissions.add_comment(
        answer.body.response_id,
        CommentIn(edit_token=answer.body.edit_token, comment="Tệ", email="khach@vn.example", consent=True),
    )
    erased = privacy.erase_respondent(world.caller, " Khach@VN.example ")
    # The same keyed hash the stored data uses, so the mail layer finds the same person.
    assert forget.calls == [(world.business_id, hashed)]
    assert (erased.responses_erased, erased.mail_items_erased) == (1, 3)
    again = privacy.erase_respondent(world.caller, "khach@vn.example")
    assert (again.responses_erased, again.mail_items_erased) == (0, 0) and len(forget.calls) == 2


def test_rotating_the_owner_key_refuses_the_old_key_even_while_the_business_is_cached(world: World) -> None:
    world.submissions.submit(world.view(9), PHONE)  # the business is cached
    rotated = world.access.rotate_owner_key(world.caller)
    with pytest.raises(Unauthorized):
        world.access.authenticate(f"Bearer {world.owner_key}", world.business_id)
    assert world.access.authenticate(f"Bearer {rotated.owner_key}", world.business_id).business.business_id == (
        world.business_id
    )
