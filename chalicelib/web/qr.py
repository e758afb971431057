"""QR codes of a touchpoint's link (SVG, PNG) and a printable A6 table card (SVG).

segno is imported inside the functions that draw, so the routes that never draw a code never load it.
Error correction is M at least (segno raises it when the same symbol size allows), with the standard
four-module quiet zone: a code on a wet table or a crumpled receipt still scans.
"""

from __future__ import annotations

import io
import textwrap
from html import escape
from typing import Annotated, Any, Literal

from chalice import Response
from pydantic import Field

from chalicelib.domain.models import Strict
from chalicelib.services.links import TouchpointLink
from chalicelib.web import i18n

QUIET_ZONE = 4  # modules; ISO/IEC 18004 asks for four
ERROR_LEVEL = "m"

# A6 portrait, in millimetres.
CARD_W, CARD_H = 105, 148
CARD_QR_MM = 68

class QrQuery(Strict):
    scale: Annotated[int, Field(ge=1, le=40, description="Pixels (PNG) or user units (SVG) per module")] = 10


class CardQuery(Strict):
    lang: Literal["vi", "en"] | None = None


def _make(url: str) -> Any:
    import segno

    # boost_error: a higher level whenever it fits the same symbol, never a lower one than M.
    return segno.make(url, error=ERROR_LEVEL, boost_error=True, micro=False)


def qr_svg(link: TouchpointLink, scale: int = 10) -> str:
    code = _make(link.url)
    out = io.BytesIO()
    code.save(
        out,
        kind="svg",
        scale=scale,
        border=QUIET_ZONE,
        xmldecl=True,
        title=link.url,
        desc=f"{link.business_name} · {link.touchpoint_name}",
        dark="#000",
        light="#fff",  # an explicit white quiet zone: a transparent one vanishes on dark paper
    )
    return out.getvalue().decode("utf-8")


def qr_png(link: TouchpointLink | str, scale: int = 10) -> bytes:
    """A PNG of a touchpoint's link, or of any URL (the voucher email's till link, issue #14)."""
    code = _make(link if isinstance(link, str) else link.url)
    out = io.BytesIO()
    code.save(out, kind="png", scale=scale, border=QUIET_ZONE, dark="#000", light="#fff")
    return out.getvalue()


def _modules_path(code: Any) -> tuple[str, int]:
    """One SVG path of the dark modules (runs per row), and the symbol's width with its quiet zone."""
    rows = list(code.matrix_iter(border=QUIET_ZONE))
    parts = []
    for y, row in enumerate(rows):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                parts.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return "".join(parts), len(rows)


def card_svg(link: TouchpointLink, lang: str | None = None) -> str:
    """An A6 card to print and stand on a table: business name, the question in the card's language,
    the QR code, and a hint to scan it. Text is escaped; fonts are the printer's own sans-serif."""
    locale = i18n.supported(lang) if lang in i18n.LOCALES else link.locale
    question = i18n.SURVEY[locale][link.metric].format(name=link.business_name)
    code = _make(link.url)
    path, modules = _modules_path(code)
    x0 = (CARD_W - CARD_QR_MM) / 2
    qr_top = 44
    lines = textwrap.wrap(question, width=34)[:4]
    name = escape(link.business_name)
    question_lines = "".join(
        f'<text x="{CARD_W / 2}" y="{24 + i * 6.2:.1f}" font-size="5" text-anchor="middle">{escape(line)}</text>'
        for i, line in enumerate(lines)
    )
    hint = i18n.CARD[locale]
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CARD_W}mm" height="{CARD_H}mm" '
        f'viewBox="0 0 {CARD_W} {CARD_H}" lang="{locale}" role="img" aria-label="{escape(question)}">'
        f"<title>{name} · {escape(link.touchpoint_name)}</title>"
        f'<rect width="{CARD_W}" height="{CARD_H}" fill="#fff"/>'
        f'<g font-family="Helvetica, Arial, \'Noto Sans\', sans-serif" fill="#111">'
        f'<text x="{CARD_W / 2}" y="14" font-size="7" font-weight="700" text-anchor="middle">{name}</text>'
        f"{question_lines}"
        f'<text x="{CARD_W / 2}" y="{qr_top + CARD_QR_MM + 9}" font-size="4.6" font-weight="700" '
        f'text-anchor="middle">{escape(hint["scan"])}</text>'
        f'<text x="{CARD_W / 2}" y="{qr_top + CARD_QR_MM + 15}" font-size="3.6" text-anchor="middle" '
        f'fill="#333">{escape(hint["time"])}</text>'
        f'<text x="{CARD_W / 2}" y="{CARD_H - 6}" font-size="3" text-anchor="middle" fill="#444">'
        f"{escape(link.touchpoint_name)}</text></g>"
        f'<g transform="translate({x0} {qr_top}) scale({CARD_QR_MM / modules:.6f})">'
        f'<rect width="{modules}" height="{modules}" fill="#fff"/>'
        f'<path d="{path}" fill="#000" shape-rendering="crispEdges"/></g>'
        "</svg>"
    )


def svg_response(svg: str, filename: str) -> Response:
    return _image(svg, "image/svg+xml; charset=utf-8", filename)


def png_response(png: bytes, filename: str) -> Response:
    return _image(png, "image/png", filename)


def _image(body: str | bytes, content_type: str, filename: str) -> Response:
    headers: dict[str, str | list[str]] = {
        "Content-Type": content_type,
        "Content-Disposition": f'inline; filename="{filename}"',
        # Owner-only images: cacheable by the owner's browser, never by a shared cache.
        "Cache-Control": "private, max-age=300",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body=body, status_code=200, headers=headers)
