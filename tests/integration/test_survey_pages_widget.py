"""GET /widget.js is cacheable and versioned; the widget's start-up check answers only allowed sites."""

from __future__ import annotations

from chalice.test import Client

from chalicelib.web.widget import widget_file
from tests.integration.conftest import Biz

SHOP = {"Origin": "https://shop.example"}


def test_the_widget_is_served_as_javascript_with_caching_headers_and_a_version(client: Client) -> None:
    answer = client.http.get("/widget.js")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/javascript")
    assert answer.headers["Cache-Control"].startswith("public, max-age=3600")
    version = answer.headers["X-Widget-Version"]
    assert version == widget_file().version and answer.body.decode().startswith(f"/*! surveys widget {version}")
    pinned = client.http.get(f"/widget.js?v={version}")
    assert "immutable" in pinned.headers["Cache-Control"]
    again = client.http.get("/widget.js", headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304 and again.body == b""
    assert client.http.get("/widget.js?v=<x>").status_code == 422


def test_the_widget_is_small(client: Client) -> None:
    assert widget_file().gzipped_bytes <= 5 * 1024


def test_the_start_up_check_answers_an_allowed_site_with_cors(client: Client, biz: Biz) -> None:
    answer = client.http.get(f"/v1/sites/{biz.site_key}?metric=nps", headers=SHOP)
    assert answer.status_code == 200
    config = answer.json_body
    assert config.pop("nonce")  # this page view's proof for its answer (#11 item 1)
    chips = config.pop("reasons")  # #15: the default chips of the metric, in the business's language
    assert chips["unhappy"][0] == {"key": "wait", "label": "Chờ lâu"}
    assert chips["happy"][0] == {"key": "wait", "label": "Nhanh"}
    assert config == {"business_name": "Cà Phê Sài Gòn", "locale": "vi", "metric": "nps", "touchpoint_id": None}
    assert answer.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert answer.headers["Vary"] == "Origin"
    # A fresh single-use nonce each time: no cache may hand one page view's nonce to another.
    assert answer.headers["Cache-Control"] == "no-store"
    again = client.http.get(f"/v1/sites/{biz.site_key}?metric=nps", headers=SHOP)
    assert again.json_body["nonce"] != answer.json_body["nonce"]


def test_the_start_up_check_refuses_other_sites_and_wrong_keys(client: Client, biz: Biz) -> None:
    other = client.http.get(f"/v1/sites/{biz.site_key}", headers={"Origin": "https://evil.example"})
    assert other.status_code == 403 and other.json_body["error"]["code"] == "origin_not_allowed"
    forged = biz.site_key[:-1] + ("x" if not biz.site_key.endswith("x") else "y")
    wrong = client.http.get(f"/v1/sites/{forged}", headers=SHOP)
    assert wrong.status_code == 401 and wrong.json_body["error"]["code"] == "invalid_site_key"
    # No business allows this origin for a key that does not exist: no CORS header (#11 item 5), and the
    # answer says nothing about the business.
    assert "Access-Control-Allow-Origin" not in wrong.headers
    assert "Access-Control-Allow-Origin" not in other.headers
    assert "Cà Phê" not in wrong.body.decode()
    no_origin = client.http.get(f"/v1/sites/{biz.site_key}")
    assert no_origin.status_code == 403 and "Access-Control-Allow-Origin" not in no_origin.headers


def test_the_start_up_check_validates_the_touchpoint(client: Client, biz: Biz) -> None:
    web = biz.touchpoints["web"]["touchpoint_id"]
    assert client.http.get(f"/v1/sites/{biz.site_key}?metric=ces&touchpoint_id={web}", headers=SHOP).status_code == 200
    mismatch = client.http.get(f"/v1/sites/{biz.site_key}?metric=nps&touchpoint_id={web}", headers=SHOP)
    assert mismatch.status_code == 422
    missing = client.http.get(f"/v1/sites/{biz.site_key}?touchpoint_id=zzzzzzzz", headers=SHOP)
    assert missing.status_code == 404
    assert client.http.get(f"/v1/sites/{biz.site_key}?metric=stars", headers=SHOP).status_code == 422
