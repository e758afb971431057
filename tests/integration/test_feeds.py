"""Google Sheets without an integration (issue #16): a signed CSV link of the answers, read as Sheets'
IMPORTDATA reads it (a plain GET, parsed here by Python's csv module), revocable, rate limited, never
another business's, and as formula-safe as the export."""

from __future__ import annotations

import csv
import io
import re
from typing import Any
from urllib.parse import urlsplit

from chalice.test import Client

from chalicelib.domain import feeds
from tests.clock import FakeClock
from tests.integration.conftest import Biz, make_business, post_json, send_answer


def _feed(client: Client, biz: Biz, **body: Any) -> dict[str, Any]:
    created = post_json(client, f"/v1/businesses/{biz.business_id}/feeds", body, biz.auth)
    assert created.status_code == 201, created.body
    return created.json_body


def _read(client: Client, url: str) -> Any:
    return client.http.get(urlsplit(url).path)


def _rows(answer: Any) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.body
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(answer.body.decode("utf-8"))))


def _answer(client: Client, biz: Biz, score: int, comment: str | None = None) -> None:
    created = send_answer(client, {"token": biz.touchpoints["table"]["token"], "score": score})
    assert created.status_code == 201, created.body
    if comment is not None:
        body = {"edit_token": created.json_body["edit_token"], "comment": comment}
        saved = post_json(client, f"/v1/responses/{created.json_body['response_id']}/comment", body)
        assert saved.status_code == 200, saved.body


def test_a_sheet_reads_the_answers_of_the_window_newest_first_with_formulas_defused_and_vietnamese_intact(
    client: Client, biz: Biz, clock: FakeClock
) -> None:
    _answer(client, biz, 3, "=HYPERLINK(\"http://evil.example\",\"bấm\")")
    clock.advance(days=10)
    _answer(client, biz, 9, "Cà phê sữa đá ngon, phục vụ nhanh")
    created = _feed(client, biz, days=7, name="Bảng tuần")
    assert created["formula"] == f'=IMPORTDATA("{created["url"]}")' and created["url"].endswith(".csv")
    rows = _rows(_read(client, created["url"]))
    assert [r["score"] for r in rows] == ["9"]  # the answer of 10 days ago is outside the 7-day window
    assert rows[0]["comment"] == "Cà phê sữa đá ngon, phục vụ nhanh"
    assert next(iter(rows[0])) == "response_id"  # no byte-order mark in the first header cell

    wide = _feed(client, biz)  # 90 days by default
    rows = _rows(_read(client, wide["url"]))
    assert [r["score"] for r in rows] == ["9", "3"]
    assert rows[1]["comment"].startswith("'=HYPERLINK")  # a cell Sheets would run is text


def test_a_revoked_feed_answers_404_and_the_other_feeds_keep_working(client: Client, biz: Biz) -> None:
    _answer(client, biz, 8)
    kept, revoked = _feed(client, biz), _feed(client, biz)
    gone = client.http.delete(f"/v1/businesses/{biz.business_id}/feeds/{revoked['feed_id']}", headers=biz.auth)
    assert gone.status_code == 200 and gone.json_body["feed_id"] == revoked["feed_id"]
    assert _read(client, revoked["url"]).status_code == 404
    assert len(_rows(_read(client, kept["url"]))) == 1
    listed = client.http.get(f"/v1/businesses/{biz.business_id}/feeds", headers=biz.auth).json_body["feeds"]
    assert [f["feed_id"] for f in listed] == [kept["feed_id"]] and listed[0]["reads"] == 1
    again = client.http.delete(f"/v1/businesses/{biz.business_id}/feeds/{revoked['feed_id']}", headers=biz.auth)
    assert again.status_code == 404


def test_a_forged_or_altered_link_answers_404_and_never_reads_another_business(client: Client, biz: Biz) -> None:
    other = make_business(client, name="Quán khác")
    _answer(client, other, 2, "bí mật của quán khác")
    mine = _feed(client, biz)
    token = urlsplit(mine["url"]).path.removeprefix("/f/")
    body, mac = token.removesuffix(".csv").split(".")
    # The same signature over another business's id, a made-up link, and rubbish.
    other_body = feeds.token("x" * 32, other.business_id, mine["feed_id"]).split(".")[0]
    for path in (f"/f/{other_body}.{mac}.csv", "/f/abc.def.csv", "/f/" + "A" * 300, f"/f/{body}.{mac[:-2]}xx.csv"):
        answer = client.http.get(path)
        assert answer.status_code == 404, path
        assert answer.json_body["error"]["code"] == "feed_not_found"
        assert "bí mật" not in answer.body.decode()


def test_sixty_reads_an_hour_then_429_with_retry_after_then_the_next_hour_reads_again(
    client: Client, biz: Biz, clock: FakeClock
) -> None:
    feed = _feed(client, biz)
    for _ in range(feeds.READS_PER_HOUR):
        assert _read(client, feed["url"]).status_code == 200
    limited = _read(client, feed["url"])
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) <= 3600
    assert limited.json_body["error"]["code"] == "feed_rate_limited"
    clock.advance(hours=1)
    assert _read(client, feed["url"]).status_code == 200


def test_a_business_has_at_most_ten_feeds_and_bad_windows_are_refused(client: Client, biz: Biz) -> None:
    for days in (0, 366, "90", 1.5):
        refused = post_json(client, f"/v1/businesses/{biz.business_id}/feeds", {"days": days}, biz.auth)
        assert refused.status_code == 422, days
    for _ in range(feeds.MAX_FEEDS):
        _feed(client, biz)
    over = post_json(client, f"/v1/businesses/{biz.business_id}/feeds", {}, biz.auth)
    assert over.status_code == 409 and over.json_body["error"]["code"] == "too_many_feeds"


def test_an_erased_comment_is_gone_from_the_feed(client: Client, biz: Biz) -> None:
    created = send_answer(client, {"token": biz.touchpoints["table"]["token"], "score": 2}).json_body
    body = {"edit_token": created["edit_token"], "comment": "Tên tôi là Lan zq7", "email": "lan@example.com",
            "consent": True}
    assert post_json(client, f"/v1/responses/{created['response_id']}/comment", body).status_code == 200
    feed = _feed(client, biz)
    assert "zq7" in _read(client, feed["url"]).body.decode()
    erased = client.http.delete(f"/v1/businesses/{biz.business_id}/respondents?email=lan%40example.com",
                                headers=biz.auth)
    assert erased.status_code == 200
    (row,) = _rows(_read(client, feed["url"]))
    assert row["score"] == "2" and row["comment"] == "" and row["email"] == ""


def test_the_console_lists_creates_and_revokes_a_feed_only_after_a_confirmation(client: Client, biz: Biz) -> None:
    from html import unescape

    from tests.integration.test_console import Browser, sign_in_by_key

    browser = Browser(client)
    sign_in_by_key(browser, biz)
    path = f"/console/{biz.business_id}/channels"
    assert f'href="{path}"' in browser.get(f"/console/{biz.business_id}/setup").body.decode()
    assert browser.get(path).status_code == 200
    created = browser.post(path, {"action": "feed_create", "name": "Bảng tuần", "days": "30"})
    assert created.status_code == 200
    formula = unescape(re.search(r"=IMPORTDATA\([^<]+\)", created.body.decode()).group(0))
    url = formula.removeprefix('=IMPORTDATA("').removesuffix('")')
    assert _read(client, url).status_code == 200
    (listed,) = client.http.get(f"/v1/businesses/{biz.business_id}/feeds", headers=biz.auth).json_body["feeds"]
    assert listed["name"] == "Bảng tuần" and listed["days"] == 30
    page = browser.get(path).body.decode()
    assert "Bảng tuần" in page and "1 lần đọc" in page
    asked = browser.post(path, {"action": "feed_revoke", "feed_id": listed["feed_id"]})
    assert asked.status_code == 200 and "Có, thu hồi" in asked.body.decode()
    assert _read(client, url).status_code == 200  # the first press only asks
    revoked = browser.post(path, {"action": "feed_revoke", "feed_id": listed["feed_id"], "confirm": "yes"})
    assert revoked.status_code == 200 and "Đã thu hồi" in revoked.body.decode()
    assert _read(client, url).status_code == 404
    refused = browser.post(path, {"action": "feed_create", "days": "999"})
    assert refused.status_code == 422
