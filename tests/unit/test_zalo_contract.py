"""Our Zalo requests and our reading of Zalo's answers (issue #16), held to the shapes Zalo's Official Account
and ZNS documentation gives (quoted here as data), and the error classes that decide who must act."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.domain import zalo
from chalicelib.domain.zalo import ZaloError

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
# The documented answers (OA access token v4; ZNS send; ZNS rating), as Zalo's pages show them.
TOKEN_ANSWER = {"access_token": "AT", "refresh_token": "RT", "expires_in": "90000"}
SENT_ANSWER = {"error": 0, "message": "Success", "data": {"msg_id": "a9b8", "sent_time": "1764316800000",
                                                          "quota": {"dailyQuota": "500", "remainingQuota": "499"}}}
RATING_ANSWER = {"error": 0, "message": "Success", "data": {"total": 1, "data": [
    {"note": "Phục vụ nhanh", "rate": 5, "submitDate": "1764316800000", "msgId": "m1",
     "feedbacks": ["Nhân viên thân thiện"], "trackingId": "t1"}]}}


def test_the_documented_answers_are_read_into_tokens_a_sent_message_and_ratings() -> None:
    tokens = zalo.parse_tokens(TOKEN_ANSWER, NOW)
    assert (tokens.access_token, tokens.refresh_token, tokens.expires_at) == ("AT", "RT", "2026-11-29T09:00:00.000000Z")
    sent = zalo.parse_sent(SENT_ANSWER, NOW)
    assert (sent.msg_id, sent.remaining_quota, sent.sent_at) == ("a9b8", 499, "2025-11-28T08:00:00.000Z")
    (rating,) = zalo.parse_ratings(RATING_ANSWER).items
    assert (rating.tracking_id, rating.rate, rating.note, rating.feedbacks) == (
        "t1", 5, "Phục vụ nhanh", ("Nhân viên thân thiện",))


@pytest.mark.parametrize(
    "answer",
    [None, [], "x", {"error": "oops"}, {"error": 0, "data": {}}, {"error": 0, "data": {"msg_id": ""}}, {"error": True}],
)
def test_a_malformed_answer_is_a_passing_error_never_a_crash(answer: Any) -> None:
    with pytest.raises(ZaloError) as raised:
        zalo.parse_sent(answer, NOW)
    assert raised.value.kind == "transient"


@pytest.mark.parametrize(
    ("code", "message", "kind"),
    [
        (-124, "Access token invalid", "token"),
        (-220, "access_token is expired or removed", "token"),
        (-118, "Zalo account not existed", "bad_phone"),
        (-119, "Account can not receive ZNS message", "bad_phone"),
        (-108, "Phone number invalid", "bad_phone"),
        (-1472, "Daily limit exceeded", "owner"),
        (-107, "Template ID invalid", "owner"),
        (-144, "OA has exceeded its daily quota", "owner"),
        (-500, "Internal server error", "transient"),
        (0, "timeout", "transient"),
    ],
)
def test_each_zalo_error_is_whose_to_fix(code: int, message: str, kind: str) -> None:
    assert ZaloError(code, message).kind == kind


def test_a_rating_outside_one_to_five_stars_is_skipped() -> None:
    rows = [dict(RATING_ANSWER["data"]["data"][0], rate=r) for r in (0, 6, "5", True, 3)]
    page = zalo.parse_ratings({"error": 0, "data": {"total": 5, "data": rows}})
    assert [r.rate for r in page.items] == [3]
