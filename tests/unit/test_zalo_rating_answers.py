"""How one Zalo rating becomes a CSAT answer (chalicelib/domain/ratings.py): pure, no AWS."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain import ratings
from chalicelib.domain.models import Business, StoredResponse
from chalicelib.domain.ratings import RatingRequest

BUSINESS = Business.model_validate({
    "business_id": "biz0001", "name": "Cà Phê", "owner_emails": ["o@caphe.example"],
    "timezone": "Asia/Ho_Chi_Minh", "locale": "vi", "owner_key_hash": "x", "signing_keys": {},
    "active_key_id": 0, "site_key": "sk", "created_at": "2026-11-01T00:00:00Z",
})
REQUEST = RatingRequest(business_id="biz0001", request_id="r1", receipt_id="R-9", phone_hash="h",
                        created_at="2026-11-20T16:00:00Z", day="2026-11-20")


def _answer(rate: int, note: str = "", feedbacks: tuple[str, ...] = (), at: datetime | None = None) -> StoredResponse:
    return ratings.rating_answer(
        BUSINESS, REQUEST, rate=rate, note=note, feedbacks=feedbacks,
        submitted=at or datetime(2026, 11, 20, 17, 30, tzinfo=UTC), touchpoint_labels={"area": "Zalo"},
    )


def test_a_rating_after_local_midnight_counts_on_the_business_s_next_day() -> None:
    answer = _answer(5)
    assert answer.local_date == "2026-11-21"  # 00:30 in Ho Chi Minh City
    assert (answer.metric, answer.score, answer.unhappy, answer.channel) == ("csat", 5, False, "zalo")
    assert answer.receipt_id == "R-9" and answer.labels == {"area": "Zalo"} and answer.comment is None


def test_the_note_is_the_comment_with_zalo_s_feedback_options_as_its_last_line_and_topics_tagged() -> None:
    answer = _answer(1, "  Nhân viên thái độ không tốt ", ("Thái độ", " ", "Tốc độ"))
    assert answer.comment == "Nhân viên thái độ không tốt\nZalo: Thái độ; Tốc độ"
    assert answer.unhappy and answer.topics


def test_a_receipt_always_gets_the_same_request_id_and_another_receipt_another() -> None:
    first = ratings.request_id("biz0001", "R-1", "secret")
    assert first == ratings.request_id("biz0001", "R-1", "secret")
    assert first != ratings.request_id("biz0001", "R-2", "secret")
    assert first != ratings.request_id("biz0002", "R-1", "secret")
