"""QR codes and table cards an owner prints: they scan back to the touchpoint's exact link."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from typing import Any

import zxingcpp
from chalice.test import Client
from PIL import Image

from tests.integration.conftest import Biz, make_business

SVG = "{http://www.w3.org/2000/svg}"
# API Gateway (and chalice, which mirrors it) sends a binary body only to a client that accepts it.
PNG = {"Accept": "image/png"}


def _xml(body: bytes) -> ET.Element:
    return ET.fromstring(body)  # noqa: S314 - our own SVG, parsed to prove it is well-formed


def _png(answer: Any) -> Image.Image:
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/png"
    assert answer.body.startswith(b"\x89PNG\r\n\x1a\n")
    return Image.open(io.BytesIO(answer.body))


def _path(biz: Biz, tp: str, name: str) -> str:
    return f"/v1/businesses/{biz.business_id}/touchpoints/{biz.touchpoints[tp]['touchpoint_id']}/{name}"


def test_the_png_decodes_to_the_exact_touchpoint_url_with_error_correction_m_or_better(
    client: Client, biz: Biz
) -> None:
    answer = client.http.get(_path(biz, "table", "qr.png"), headers=PNG | biz.auth)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/png"
    image = _png(answer).convert("L")
    (found,) = zxingcpp.read_barcodes(image)
    assert found.text == biz.touchpoints["table"]["url"]
    assert found.ec_level in ("M", "Q", "H")
    # Quiet zone: four modules (scale 10: 40 px) of white on every side.
    width, height = image.size
    border = [image.getpixel((x, y)) for x in range(width) for y in (*range(40), *range(height - 40, height))]
    border += [image.getpixel((x, y)) for y in range(height) for x in (*range(40), *range(width - 40, width))]
    assert set(border) == {255}


def test_the_qr_code_is_the_same_every_time_it_is_asked_for(client: Client, biz: Biz) -> None:
    first = client.http.get(_path(biz, "receipt", "qr.svg"), headers=biz.auth)
    again = client.http.get(_path(biz, "receipt", "qr.svg"), headers=biz.auth)
    assert first.status_code == 200 and first.headers["Content-Type"].startswith("image/svg+xml")
    assert first.body == again.body
    root = _xml(first.body)
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == biz.touchpoints["receipt"]["url"]


def test_a_bigger_png_is_available_for_print_and_silly_sizes_are_refused(client: Client, biz: Biz) -> None:
    big = client.http.get(_path(biz, "table", "qr.png") + "?scale=20", headers=PNG | biz.auth)
    small = client.http.get(_path(biz, "table", "qr.png") + "?scale=5", headers=PNG | biz.auth)
    assert _png(big).size[0] == 4 * _png(small).size[0]
    for bad in ("0", "41", "x"):
        assert client.http.get(_path(biz, "table", "qr.png") + f"?scale={bad}", headers=biz.auth).status_code == 422


def test_the_a6_card_has_the_business_name_and_the_question_in_its_language(client: Client, biz: Biz) -> None:
    vi = client.http.get(_path(biz, "table", "card.svg"), headers=biz.auth)
    en = client.http.get(_path(biz, "table", "card.svg") + "?lang=en", headers=biz.auth)
    assert vi.status_code == en.status_code == 200
    root = _xml(vi.body)
    assert (root.get("width"), root.get("height")) == ("105mm", "148mm") and root.get("lang") == "vi"
    text = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "Cà Phê Sài Gòn" in text and "giới thiệu" in text and "Quét mã" in text
    english = " ".join(t.text or "" for t in _xml(en.body).iter(f"{SVG}text"))
    assert "How likely are you to recommend" in english and "Scan with your phone camera" in english


def test_card_text_is_escaped(client: Client) -> None:
    evil = make_business(client, name="A & <B>")
    answer = client.http.get(_path(evil, "table", "card.svg"), headers=evil.auth)
    assert b"A &amp; &lt;B&gt;" in answer.body
    _xml(answer.body)  # still well-formed XML


def test_qr_codes_are_for_the_owner_only(client: Client, biz: Biz) -> None:
    other = make_business(client, name="Quán Khác")
    for name in ("qr.svg", "qr.png", "card.svg"):
        assert client.http.get(_path(biz, "table", name)).status_code == 401
        assert client.http.get(_path(biz, "table", name), headers=other.auth).status_code == 404
    unknown = f"/v1/businesses/{biz.business_id}/touchpoints/zzzzzzzz/qr.png"
    assert client.http.get(unknown, headers=biz.auth).status_code == 404
