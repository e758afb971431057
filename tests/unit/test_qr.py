"""QR codes drawn without any network: they decode back to the link, keep a quiet zone, escape text."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image

from chalicelib.services.links import TouchpointLink
from chalicelib.web import qr

LINK = TouchpointLink(
    url="https://surveys.example/s/AQEAaQ8xgAphYmNkZWZnaGlqCGFiY2RlZmdoAFGjvbIe6VC3lP1PqJ2yd5k",
    business_name="Phở <Hà> & Nội",
    touchpoint_name="Bàn 7",
    metric="csat",
    locale="vi",
)


def test_the_png_decodes_to_the_link_at_error_correction_m_or_better() -> None:
    image = Image.open(io.BytesIO(qr.qr_png(LINK, scale=8)))
    (found,) = zxingcpp.read_barcodes(image)
    assert found.text == LINK.url and found.ec_level in ("M", "Q", "H")


def test_the_quiet_zone_is_four_white_modules() -> None:
    image = Image.open(io.BytesIO(qr.qr_png(LINK, scale=1))).convert("L")
    width, _ = image.size
    edge = [image.getpixel((x, y)) for y in range(4) for x in range(width)]
    assert set(edge) == {255}
    assert 0 in [image.getpixel((x, 4)) for x in range(width)]  # the symbol starts right after


def test_the_card_draws_the_same_modules_as_the_code() -> None:
    code = qr._make(LINK.url)
    path, modules = qr._modules_path(code)
    assert modules == code.symbol_size(scale=1, border=qr.QUIET_ZONE)[0]
    dark = sum(sum(1 for v in row if v) for row in code.matrix)
    drawn = sum(int(run.split("h")[1].split("v")[0]) for run in path.split("M")[1:])
    assert drawn == dark


def test_the_card_text_is_escaped_and_in_the_asked_language() -> None:
    card = qr.card_svg(LINK)
    assert "Phở &lt;Hà&gt; &amp; Nội" in card and "<Hà>" not in card and 'lang="vi"' in card
    english = qr.card_svg(LINK, "en")
    assert "How satisfied were you with Phở &lt;Hà&gt; &amp; Nội?" in english
    assert 'width="105mm" height="148mm"' in english
