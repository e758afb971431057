"""CSV export of responses, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from chalice import Response

from chalicelib.domain.models import ResponseItem, ResponsesPage

if TYPE_CHECKING:
    from chalicelib.services.feeds import FeedRead

COLUMNS = list(ResponseItem.model_fields)
# A cell starting with one of these is run as a formula by Excel and LibreOffice (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    elif isinstance(value, dict):
        # One column whatever labels an owner defines: "table=5; shift=evening".
        value = "; ".join(f"{k}={v}" for k, v in sorted(value.items()))
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def responses_csv(items: list[ResponseItem]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for item in items:
        row = item.model_dump()
        writer.writerow([_cell(row[c]) for c in COLUMNS])
    # A BOM so Excel reads Vietnamese as UTF-8.
    return "\ufeff" + out.getvalue()


def csv_response(page: ResponsesPage, business_id: str) -> Response:
    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="responses-{business_id}.csv"',
        "Cache-Control": "no-store",
    }
    if page.next_cursor:
        # CSV has no room for a cursor: the next page is named in a header, as in RFC 8288 paging.
        headers["X-Next-Cursor"] = page.next_cursor
    return Response(body=responses_csv(page.items), status_code=200, headers=headers)


def feed_response(read: FeedRead) -> Response:
    """A Google Sheets feed (issue #16): the export's CSV, shown inline. No BOM: IMPORTDATA reads UTF-8 and
    would put the BOM into the first header cell. Cached a few minutes, privately: one sheet's many
    recalculations cost one read, and no shared cache keeps a revoked feed alive for long."""
    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'inline; filename="answers-{read.business_id}-{read.feed_id}.csv"',
        "Cache-Control": "private, max-age=300",
        "X-Robots-Tag": "noindex",
    }
    if read.truncated:
        headers["X-Truncated"] = "true"
    return Response(body=responses_csv(read.items).removeprefix("\ufeff"), status_code=200, headers=headers)
