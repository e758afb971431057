"""A corpus of bad requests through the real handlers: each gets its contract status and error shape,
never a 5xx, and leaves every item in the table exactly as it was."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from chalice.test import Client

from tests.clock import FakeClock
from tests.integration.conftest import ADMIN, Biz, make_business, post_json, send_answer, table_items, with_nonce

JSON = {"Content-Type": "application/json"}


@dataclass
class Bad:
    name: str
    method: str
    path: str
    status: int
    body: Any = None  # dict/list -> JSON; str/bytes -> sent as is; None -> no body
    headers: dict[str, str] = field(default_factory=dict)
    code: str | None = None  # the error code, where the contract fixes one

    def send(self, client: Client) -> Any:
        headers = dict(self.headers)
        body: bytes | str = b""
        if isinstance(self.body, dict | list):
            body = json.dumps(self.body)
            headers.setdefault("Content-Type", "application/json")
        elif self.body is not None:
            body = self.body
        return client.http.request(self.method, self.path, headers=headers, body=body)


def _unb64(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _corpus(biz: Biz, other: Biz, expired_token: str, closed_token: str, response_id: str, edit_token: str) -> list:
    table = biz.touchpoints["table"]["token"]
    receipt = biz.touchpoints["receipt"]["token"]  # a CSAT touchpoint
    web_token = biz.touchpoints["web"]["token"]  # a CES touchpoint
    forged = table[:-3] + ("AAA" if table[-3:] != "AAA" else "BBB")
    foreign = other.touchpoints["table"]["token"]
    biz_path = f"/v1/businesses/{biz.business_id}"
    owner = biz.auth
    other_owner = other.auth
    site = biz.site_key
    origin = {"Origin": "https://shop.example"}
    tp = biz.touchpoints["receipt"]["touchpoint_id"]
    ok_business = {
        "name": "Quán Mới",
        "owner_emails": ["o@new.example"],
        "timezone": "Asia/Ho_Chi_Minh",
        "locale": "vi",
    }

    cases: list[Bad] = []

    def resp(name: str, status: int, body: Any, headers: dict | None = None, code: str | None = None) -> None:
        # Each case carries a valid page-view nonce where one could be had, so it is refused for its own
        # fault; the nonce cases below set theirs.
        if isinstance(body, dict):
            body = with_nonce(body, (headers or {}).get("Origin"))
        cases.append(Bad(name, "POST", "/v1/responses", status, body, {**JSON, **(headers or {})}, code))

    # -- POST /v1/responses: not JSON at all (400)
    for i, raw in enumerate(
        [
            "{",
            "[",
            "nul",
            "{'score': 9}",
            '{"score": 9,}',
            '{"score": NaN}',
            '{"score": Infinity}',
            '{"score": 9} trailing',
            "\ufeff{}x",
            '{"a":' + "[" * 50,
        ]
    ):
        resp(f"malformed json #{i}", 400, raw, code="malformed_request")
    resp("empty body", 400, "", code="malformed_request")
    resp("blank body", 400, "   \n", code="malformed_request")
    cases.append(Bad("not utf-8", "POST", "/v1/responses", 400, b"\xff\xfe{\x00}", JSON, "malformed_request"))
    resp("deeply nested json", 400, "[" * 5000 + "]" * 5000)
    # -- JSON, but not an object (422)
    for raw in ("[]", "1", '"score"', "null", "true"):
        resp(f"json {raw} is not an object", 422, raw, code="invalid_input")
    # -- wrong types and values (422)
    wrong: list[tuple[str, dict]] = [
        ("score as string", {"token": table, "score": "9"}),
        ("score as float", {"token": table, "score": 9.5}),
        ("score as bool", {"token": table, "score": True}),
        ("score null", {"token": table, "score": None}),
        ("score missing", {"token": table}),
        ("score huge", {"token": table, "score": 10**30}),
        ("consent as string", {"token": table, "score": 9, "consent": "yes"}),
        ("metric unknown", {"site_key": site, "metric": "NPS", "score": 9}),
        ("locale unknown", {"token": table, "score": 9, "locale": "fr"}),
        ("comment too long", {"token": table, "score": 9, "comment": "x" * 2001}),
        ("comment with NUL", {"token": table, "score": 9, "comment": "ngon\x00"}),
        ("comment as list", {"token": table, "score": 9, "comment": ["a"]}),
        ("email without domain", {"token": table, "score": 9, "email": "a@b", "consent": True}),
        ("email with CRLF", {"token": table, "score": 9, "email": "a@b.vn\r\nBcc: x@y.z", "consent": True}),
        ("email display name", {"token": table, "score": 9, "email": "Bob <bob@b.vn>", "consent": True}),
        ("email over 254", {"token": table, "score": 9, "email": "a" * 60 + "@" + "b" * 190 + ".vn", "consent": True}),
        ("email without consent", {"token": table, "score": 9, "email": "khach@b.vn"}),
        ("unknown field", {"token": table, "score": 9, "admin": True}),
        ("token too long", {"token": "A" * 300, "score": 9}),
        ("token as number", {"token": 12345, "score": 9}),
        ("site key too long", {"site_key": "s" * 200, "metric": "nps", "score": 9}),
        ("respondent id with spaces", {"token": table, "score": 9, "respondent_id": "a b"}),
        ("touchpoint id uppercase", {"site_key": site, "metric": "nps", "score": 9, "touchpoint_id": "ABCDEFGH"}),
        ("both token and site key", {"token": table, "site_key": site, "metric": "nps", "score": 9}),
        ("neither token nor site key", {"metric": "nps", "score": 9}),
        ("nps score 11", {"token": table, "score": 11}),
        ("nps score -1", {"token": table, "score": -1}),
        ("csat score 0", {"token": receipt, "score": 0}),
        ("csat score 6", {"token": receipt, "score": 6}),
        ("ces score 8", {"token": web_token, "score": 8}),
        ("ces score 0", {"token": web_token, "score": 0}),
        ("token metric overridden", {"token": table, "score": 4, "metric": "csat"}),
        ("token touchpoint overridden", {"token": table, "score": 4, "touchpoint_id": "abcdefgh"}),
        ("site key without metric", {"site_key": site, "score": 9}),
    ]
    for name, body in wrong:
        resp(name, 422, body, origin)
    resp(
        "idempotency key with spaces",
        422,
        {"token": table, "score": 9},
        {"Idempotency-Key": "a b c"},
        "invalid_idempotency_key",
    )
    resp(
        "idempotency key too long",
        422,
        {"token": table, "score": 9},
        {"Idempotency-Key": "k" * 101},
        "invalid_idempotency_key",
    )
    # -- forged, foreign, expired, closed (401, 410, 409)
    resp("forged token", 401, {"token": forged, "score": 9}, code="invalid_token")
    resp("truncated token", 401, {"token": table[:40], "score": 9}, code="invalid_token")
    resp("token with padding", 401, {"token": table + "==", "score": 9}, code="invalid_token")
    resp("random token", 401, {"token": "AQEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "score": 9}, code="invalid_token")
    resp(
        "another business's claims under this business's signature",
        401,
        {"token": _b64(_unb64(foreign)[:-16] + _unb64(table)[-16:]), "score": 9},
        code="invalid_token",
    )
    resp("expired receipt link", 410, {"token": expired_token, "score": 4}, code="expired")
    resp("edit window closed", 409, {"token": closed_token, "score": 4}, code="edit_window_closed")
    # -- page-view nonces (#11 items 1 and 3): missing, forged, foreign, issued for another kind (422)
    site_nonce = with_nonce({"site_key": site}, origin["Origin"])["nonce"]
    table_nonce = with_nonce({"token": table})["nonce"]
    other_nonce = with_nonce({"token": foreign})["nonce"]
    body_mac, _, mac = table_nonce.partition(".")
    forged_nonce = body_mac + "." + ("A" * len(mac) if mac[0] != "A" else "B" * len(mac))
    for name, body, code in [
        ("touchpoint link without a nonce", {"token": table, "score": 9, "nonce": None}, "nonce_required"),
        ("touchpoint link with an empty nonce", {"token": table, "score": 9, "nonce": ""}, "nonce_required"),
        ("touchpoint link with a forged nonce", {"token": table, "score": 9, "nonce": forged_nonce}, "invalid_nonce"),
        ("touchpoint link with garbage", {"token": table, "score": 9, "nonce": "<script>"}, "invalid_nonce"),
        ("another café's nonce", {"token": table, "score": 9, "nonce": other_nonce}, "invalid_nonce"),
        ("another touchpoint's nonce", {"token": web_token, "score": 5, "nonce": table_nonce}, "invalid_nonce"),
        ("a widget nonce on a link", {"token": table, "score": 9, "nonce": site_nonce}, "invalid_nonce"),
        ("nonce too long", {"token": table, "score": 9, "nonce": "n" * 300}, None),
        ("nonce as number", {"token": table, "score": 9, "nonce": 5}, None),
    ]:
        resp(name, 422, body, code=code)
    for name, body, code in [
        ("site key without a nonce", {"site_key": site, "metric": "nps", "score": 9, "nonce": None}, "nonce_required"),
        ("a page's nonce on a site key", {"site_key": site, "metric": "nps", "score": 9, "nonce": table_nonce}, None),
    ]:
        resp(name, 422, body, origin, code or "invalid_nonce")
    # -- site keys and origins (401, 403)
    resp("unknown site key", 401, {"site_key": "sk_zzzzzzzzzz_0000000000000000", "metric": "nps", "score": 9}, origin)
    resp(
        "site key of the right shape, wrong secret",
        401,
        {"site_key": site[:-4] + "0000", "metric": "nps", "score": 9},
        origin,
    )
    resp(
        "origin not allowed",
        403,
        {"site_key": site, "metric": "nps", "score": 9},
        {"Origin": "https://evil.example"},
        "origin_not_allowed",
    )
    resp("no origin", 403, {"site_key": site, "metric": "nps", "score": 9}, code="origin_not_allowed")
    resp(
        "origin with a path trick",
        403,
        {"site_key": site, "metric": "nps", "score": 9},
        {"Origin": "https://shop.example.evil.example"},
        "origin_not_allowed",
    )
    resp(
        "unknown touchpoint for the site",
        404,
        {"site_key": site, "metric": "nps", "score": 9, "touchpoint_id": "zzzzzzzz"},
        origin,
    )
    # -- size and media type (413, 415)
    resp("body over 16 KiB", 413, {"token": table, "score": 9, "comment": "x" * 17000}, code="payload_too_large")
    cases.append(
        Bad(
            "declared length over 16 KiB",
            "POST",
            "/v1/responses",
            413,
            '{"score": 9}',
            {**JSON, "Content-Length": "999999"},
            "payload_too_large",
        )
    )
    cases.append(
        Bad(
            "xml body",
            "POST",
            "/v1/responses",
            415,
            "<score>9</score>",
            {"Content-Type": "application/xml"},
            "unsupported_media_type",
        )
    )
    cases.append(
        Bad(
            "form body to the JSON api",
            "POST",
            "/v1/responses",
            415,
            "score=9",
            {"Content-Type": "application/x-www-form-urlencoded"},
            "unsupported_media_type",
        )
    )
    # -- the comment route
    comment = f"/v1/responses/{response_id}/comment"
    cases += [
        Bad(
            "comment: wrong edit token",
            "POST",
            comment,
            401,
            {"edit_token": "x.y", "comment": "hi"},
            JSON,
            "invalid_edit_token",
        ),
        Bad(
            "comment: edit token of another response",
            "POST",
            "/v1/responses/aaaaaaaaaaaaaaaa/comment",
            401,
            {"edit_token": edit_token, "comment": "hi"},
            JSON,
            "invalid_edit_token",
        ),
        Bad("comment: malformed json", "POST", comment, 400, "{", JSON, "malformed_request"),
        Bad("comment: too long", "POST", comment, 422, {"edit_token": edit_token, "comment": "x" * 2001}, JSON),
        Bad(
            "comment: email without consent",
            "POST",
            comment,
            422,
            {"edit_token": edit_token, "email": "k@b.vn"},
            JSON,
            "consent_required",
        ),
        Bad("comment: nothing to save", "POST", comment, 422, {"edit_token": edit_token}, JSON, "nothing_to_save"),
        Bad("comment: unknown field", "POST", comment, 422, {"edit_token": edit_token, "score": 1}, JSON),
        Bad("comment: missing edit token", "POST", comment, 422, {"comment": "hi"}, JSON),
    ]

    # -- creating businesses
    def biz_case(name: str, status: int, body: Any, headers: dict | None = None) -> None:
        cases.append(
            Bad(name, "POST", "/v1/businesses", status, body, {**JSON, **(ADMIN if headers is None else headers)})
        )

    biz_case("business: no key", 401, ok_business, {})
    biz_case("business: owner key is not admin", 401, ok_business, owner)
    biz_case("business: wrong admin key", 401, ok_business, {"Authorization": "Bearer nope"})
    biz_case("business: basic auth", 401, ok_business, {"Authorization": "Basic dGVzdDp0ZXN0"})
    biz_case("business: malformed json", 400, "{")
    for name, patch in [
        ("unknown time zone", {"timezone": "Mars/Olympus"}),
        ("time zone abbreviation", {"timezone": "ICT"}),
        ("locale fr", {"locale": "fr"}),
        ("no owner emails", {"owner_emails": []}),
        ("eleven owner emails", {"owner_emails": [f"o{i}@x.vn" for i in range(11)]}),
        ("owner email invalid", {"owner_emails": ["not-an-email"]}),
        ("blank name", {"name": "   "}),
        ("name with newline", {"name": "Quán\nBcc: x"}),
        ("name too long", {"name": "x" * 121}),
        ("origin with javascript scheme", {"allowed_origins": ["javascript:alert(1)"]}),
        ("origin with a path", {"allowed_origins": ["https://shop.example/path"]}),
        ("voucher valid_days 0", {"voucher": {"description": "10%", "valid_days": 0}}),
        ("voucher without description", {"voucher": {"valid_days": 10}}),
        ("sender email invalid", {"sender_email": "x"}),
        ("unknown field", {"plan": "gold"}),
    ]:
        biz_case(f"business: {name}", 422, {**ok_business, **patch})
    biz_case("business: name missing", 422, {k: v for k, v in ok_business.items() if k != "name"})
    # -- touchpoints and links
    cases += [
        Bad(
            "touchpoint: no key",
            "POST",
            f"{biz_path}/touchpoints",
            401,
            {"name": "x", "channel": "qr", "metric": "nps"},
        ),
        Bad(
            "touchpoint: another business's key",
            "POST",
            f"{biz_path}/touchpoints",
            404,
            {"name": "x", "channel": "qr", "metric": "nps"},
            other_owner,
        ),
        Bad(
            "touchpoint: unknown business with the admin key",
            "POST",
            "/v1/businesses/zzzzzzzzzz/touchpoints",
            404,
            {"name": "x", "channel": "qr", "metric": "nps"},
            ADMIN,
        ),
        Bad(
            "touchpoint: channel sms",
            "POST",
            f"{biz_path}/touchpoints",
            422,
            {"name": "x", "channel": "sms", "metric": "nps"},
            owner,
        ),
        Bad(
            "touchpoint: metric unknown",
            "POST",
            f"{biz_path}/touchpoints",
            422,
            {"name": "x", "channel": "qr", "metric": "ces2"},
            owner,
        ),
        Bad(
            "touchpoint: name missing",
            "POST",
            f"{biz_path}/touchpoints",
            422,
            {"channel": "qr", "metric": "nps"},
            owner,
        ),
        Bad("touchpoint: malformed json", "POST", f"{biz_path}/touchpoints", 400, "{]", owner),
        Bad("links: count 0", "POST", f"{biz_path}/links", 422, {"touchpoint_id": tp, "count": 0}, owner),
        Bad("links: count 1001", "POST", f"{biz_path}/links", 422, {"touchpoint_id": tp, "count": 1001}, owner),
        Bad("links: unknown touchpoint", "POST", f"{biz_path}/links", 404, {"touchpoint_id": "zzzzzzzz"}, owner),
        Bad("links: touchpoint id with symbols", "POST", f"{biz_path}/links", 422, {"touchpoint_id": "../../x"}, owner),
        Bad(
            "links: receipt id with spaces",
            "POST",
            f"{biz_path}/links",
            422,
            {"touchpoint_id": tp, "receipt_id": "HD 1"},
            owner,
        ),
        Bad(
            "links: receipt id with count 2",
            "POST",
            f"{biz_path}/links",
            422,
            {"touchpoint_id": tp, "receipt_id": "HD-1", "count": 2},
            owner,
        ),
        Bad(
            "links: expires in 0 days",
            "POST",
            f"{biz_path}/links",
            422,
            {"touchpoint_id": tp, "expires_in_days": 0},
            owner,
        ),
        Bad(
            "links: expires in 366 days",
            "POST",
            f"{biz_path}/links",
            422,
            {"touchpoint_id": tp, "expires_in_days": 366},
            owner,
        ),
        Bad("links: another business's key", "POST", f"{biz_path}/links", 404, {"touchpoint_id": tp}, other_owner),
    ]
    # -- reading (GET) routes
    for name, query, status in [
        ("from not a date", "from=yesterday", 422),
        ("to impossible date", "to=2026-02-30", 422),
        ("limit 0", "limit=0", 422),
        ("limit not a number", "limit=abc", 422),
        ("limit 1001", "limit=1001", 422),
        ("metric unknown", "metric=foo", 422),
        ("format xml", "format=xml", 422),
        ("unknown parameter", "page=2", 422),
        ("cursor garbage", "cursor=abc.def", 400),
        ("from after to", "from=2026-11-20&to=2026-11-01", 422),
        ("range over a year", "from=2024-01-01&to=2026-11-20", 422),
    ]:
        cases.append(Bad(f"responses: {name}", "GET", f"{biz_path}/responses?{query}", status, None, owner))
    cases += [
        Bad("responses: no key", "GET", f"{biz_path}/responses", 401),
        Bad("responses: another business's key", "GET", f"{biz_path}/responses", 404, None, other_owner),
        Bad("metrics: group by week", "GET", f"{biz_path}/metrics?group_by=week", 422, None, owner),
        Bad("metrics: from not a date", "GET", f"{biz_path}/metrics?from=20261101", 422, None, owner),
        Bad("metrics: no key", "GET", f"{biz_path}/metrics", 401),
        Bad("erase: email missing", "DELETE", f"{biz_path}/respondents", 422, None, owner),
        Bad("erase: email invalid", "DELETE", f"{biz_path}/respondents?email=nope", 422, None, owner),
        Bad("erase: another business's key", "DELETE", f"{biz_path}/respondents?email=k@b.vn", 404, None, other_owner),
        Bad("erase: no key", "DELETE", f"{biz_path}/respondents?email=k@b.vn", 401),
        Bad("method not allowed", "DELETE", "/v1/responses", 405),
    ]
    # -- survey pages (HTML errors)
    cases += [
        Bad("page: forged token", "GET", f"/s/{forged}", 404),
        Bad("page: garbage token", "GET", "/s/<script>", 404),
        Bad("page: expired token", "GET", f"/s/{expired_token}", 410),
        Bad("page: score out of range", "GET", f"/s/{table}?score=99", 422),
        Bad("page: score not a number", "GET", f"/s/{table}?score=nine", 422),
        Bad("page: score with a sign", "GET", f"/s/{table}?score=%2B9", 422),
        Bad(
            "page post: forged token",
            "POST",
            f"/s/{forged}",
            404,
            "score=9",
            {"Content-Type": "application/x-www-form-urlencoded"},
        ),
        Bad(
            "page post: no score",
            "POST",
            f"/s/{table}",
            422,
            "x=1",
            {"Content-Type": "application/x-www-form-urlencoded"},
        ),
        Bad(
            "page post: score out of range",
            "POST",
            f"/s/{table}",
            422,
            "score=11",
            {"Content-Type": "application/x-www-form-urlencoded"},
        ),
        Bad("page post: json body", "POST", f"/s/{table}", 415, '{"score": 9}', JSON),
        Bad(
            "page post: expired",
            "POST",
            f"/s/{expired_token}",
            410,
            "score=9",
            {"Content-Type": "application/x-www-form-urlencoded"},
        ),
    ]
    return cases


def test_a_corpus_of_bad_requests_gets_contract_errors_and_changes_nothing(
    client: Client, biz: Biz, aws: Any, clock: FakeClock
) -> None:
    other = make_business(client, name="Quán Khác")
    receipt_tp = biz.touchpoints["receipt"]["touchpoint_id"]

    def mint(days: int) -> str:
        return post_json(
            client,
            f"/v1/businesses/{biz.business_id}/links",
            {"touchpoint_id": receipt_tp, "expires_in_days": days},
            biz.auth,
        ).json_body["links"][0]["token"]

    expired_token, closed_token = mint(1), mint(30)
    answered = post_json(client, "/v1/responses", {"token": closed_token, "score": 5}).json_body
    fresh = send_answer(client, {"token": biz.touchpoints["table"]["token"], "score": 8}).json_body
    # Past the edit window of the receipt answer and past the expiry of the other receipt link.
    clock.advance(days=1, hours=1)
    fresh_again = send_answer(client, {"token": biz.touchpoints["table"]["token"], "score": 8})
    assert fresh_again.status_code == 201
    corpus = _corpus(
        biz,
        other,
        expired_token,
        closed_token,
        fresh_again.json_body["response_id"],
        fresh_again.json_body["edit_token"],
    )
    assert answered and fresh
    assert len(corpus) >= 100, len(corpus)

    failures: list[str] = []
    for case in corpus:
        before = table_items(aws)
        answer = case.send(client)
        after = table_items(aws)
        problems = []
        if answer.status_code != case.status:
            problems.append(f"status {answer.status_code} != {case.status}: {answer.body[:200]!r}")
        if after != before:
            problems.append("the table changed")
        content_type = answer.headers.get("Content-Type", "")
        if case.path.startswith("/s/"):
            if not content_type.startswith("text/html") or b"Traceback" in answer.body:
                problems.append(f"not a friendly HTML page: {content_type}")
        else:
            try:
                error = json.loads(answer.body)["error"]
                assert isinstance(error["message"], str) and error["message"]
                assert error["code"].replace("_", "").isalpha() and error["code"].islower()
                if case.code is not None and error["code"] != case.code:
                    problems.append(f"code {error['code']} != {case.code}")
            except (ValueError, KeyError, TypeError, AssertionError):
                problems.append(f"not the contract's error shape: {answer.body[:200]!r}")
        if problems:
            failures.append(f"{case.name}: " + "; ".join(problems))
    assert failures == [], "\n".join(failures)


def test_a_survey_link_with_tracking_parameters_still_opens(client: Client, biz: Biz) -> None:
    page = client.http.get("/s/" + biz.touchpoints["table"]["token"] + "?utm_source=newsletter&utm_medium=email")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")


def test_unicode_edge_cases_in_comments_are_kept_as_written_and_nfd_becomes_nfc(client: Client, biz: Biz, aws) -> None:
    token = biz.touchpoints["table"]["token"]
    texts = {
        "nfd": ("Ca\u0300 phe\u0302 ngon", "C\u00e0 ph\u00ea ngon"),
        "emoji": ("Ngon quá 😋☕️👍🏽", "Ngon quá 😋☕️👍🏽"),
        "rtl": ("שלום مرحبا", "שלום مرحبا"),
        "zero width": ("ca\u200bphe\u200d", "ca\u200bphe\u200d"),
    }
    for i, (sent, kept) in enumerate(texts.values()):
        answer = send_answer(client, {"token": token, "score": 9, "comment": sent}, {"User-Agent": f"u{i}"})
        assert answer.status_code == 201
        stored = [
            r
            for r in table_items(aws)
            if r["PK"]["S"].startswith("R#") and r["response_id"]["S"] == answer.json_body["response_id"]
        ]
        assert stored[0]["comment"]["S"] == kept
    refused = send_answer(client, {"token": token, "score": 9, "comment": "a\x1bb"}, {"User-Agent": "x"})
    assert refused.status_code == 422
