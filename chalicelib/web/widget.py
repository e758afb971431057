"""``GET /widget.js``: the embeddable widget, served as the file in ``static/`` with caching headers.

The file is read once per container. Its version (from the file's first line) and a content hash are
sent as headers; ``?v=<version>`` in the script URL makes the response immutable for a year, the bare
URL is cached for an hour and revalidated with its ETag, so a fix reaches every site within the hour.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from chalice import Response
from pydantic import Field

from chalicelib.domain.models import Strict

PATH = Path(__file__).resolve().parent / "static" / "widget.js"
_VERSION = re.compile(r"surveys widget (\d+\.\d+\.\d+)")


class WidgetQuery(Strict):
    v: Annotated[str | None, Field(max_length=20, pattern=r"^[0-9A-Za-z.-]+$")] = None


@dataclass(frozen=True)
class WidgetFile:
    body: str
    version: str
    etag: str
    gzipped_bytes: int


@lru_cache(maxsize=1)
def widget_file() -> WidgetFile:
    body = PATH.read_text(encoding="utf-8")
    match = _VERSION.search(body.splitlines()[0])
    version = match.group(1) if match else "0.0.0"
    digest = hashlib.sha256(body.encode()).hexdigest()[:16]
    return WidgetFile(body, version, f'"{version}-{digest}"', len(gzip.compress(body.encode(), 9)))


def respond(request: Any, query: WidgetQuery) -> Response:
    f = widget_file()
    if query.v is not None and query.v == f.version:
        cache = "public, max-age=31536000, immutable"
    else:
        cache = "public, max-age=3600, stale-while-revalidate=86400"
    headers: dict[str, str | list[str]] = {
        "Content-Type": "application/javascript; charset=utf-8",
        "Cache-Control": cache,
        "ETag": f.etag,
        "X-Widget-Version": f.version,
        "X-Content-Type-Options": "nosniff",
        # Any site may load the script, also with crossorigin/integrity attributes (SRI).
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    inm = (request.headers.get("if-none-match") or "")[:200]
    if f.etag in [tag.strip().removeprefix("W/") for tag in inm.split(",")]:
        return Response(body="", status_code=304, headers=headers)
    return Response(body=f.body, status_code=200, headers=headers)
