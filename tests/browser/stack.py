"""The real app on loopback for a real browser: chalice's local server in a thread against moto in-process,
plus two tiny static "shop websites" on their own ports (one allowed origin, one not).

Used by tests/browser/conftest.py and by bench/pages_tap.py. Everything binds 127.0.0.1 on random ports.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from chalice.local import ChaliceRequestHandler, LocalDevServer, ThreadedHTTPServer

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / ".local" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


class _QuietHandler(ChaliceRequestHandler):
    def log_message(self, *args: Any) -> None:  # one line per request would drown the test output
        pass


class _QuietServer(ThreadedHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A browser closing a connection early (navigation, test end) is not an error of the app.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StaticSite:
    """A website on its own origin that serves pages registered in memory."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path.split("?")[0])
                data = (body or "not found").encode()
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Stack:
    api: str
    shop: StaticSite
    other: StaticSite
    services: Any
    business_id: str
    owner_key: str
    site_key: str
    touchpoints: dict[str, Any] = field(default_factory=dict)

    def caller(self) -> Any:
        return self.services.access.authenticate(f"Bearer {self.owner_key}", self.business_id)

    def responses(self) -> list[Any]:
        from chalicelib.domain.models import ResponsesQuery

        return self.services.insights.list_responses(self.caller(), ResponsesQuery()).items

    def mint(self, touchpoint: str, count: int = 1) -> list[str]:
        from chalicelib.domain.models import LinksIn

        tp = self.touchpoints[touchpoint].touchpoint_id
        minted = self.services.links.mint(self.caller(), LinksIn(touchpoint_id=tp, count=count))
        return [link.token for link in minted.links]

    def widget_page(self, site: StaticSite, path: str, attrs: str, head: str = "", body: str = "") -> str:
        """Register a page on ``site`` that embeds the widget with the given data attributes; its URL."""
        site.pages[path] = (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>{head}</head>'
            f'<body><h1>Bánh mì shop</h1><p>Our menu.</p>{body}'
            f'<script async src="{self.api}/widget.js" {attrs}></script></body></html>'
        )
        return site.origin + path


@contextmanager
def running_stack() -> Iterator[Stack]:
    """Start everything; restore the environment and the app's wiring afterwards."""
    import boto3
    from chalice.config import Config
    from moto import mock_aws

    from chalicelib import tables, wiring
    from chalicelib.adapters.dynamodb import DynamoStore
    from chalicelib.domain.models import TouchpointIn
    from chalicelib.local.seed import demo_cafe
    from chalicelib.ports import SystemClock
    from chalicelib.settings import get_settings

    port = free_port()
    shop, other = StaticSite(), StaticSite()
    saved = {k: os.environ.get(k) for k in ("PUBLIC_BASE_URL", "RATE_LIMIT_PER_IP", "STAGE")}
    os.environ.update(PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", RATE_LIMIT_PER_IP="10000", STAGE="test")
    mock = mock_aws()
    mock.start()
    server = None
    try:
        get_settings.cache_clear()
        settings = get_settings()
        boto3.client("dynamodb").create_table(**tables.create_table_kwargs(settings.table_name))
        wiring.reset()
        get_settings.cache_clear()
        built = wiring.build(get_settings(), DynamoStore(settings.table_name), SystemClock())
        wiring.install(built)
        created = built.access.create_business(demo_cafe(allowed_origins=[shop.origin]))  # `make run`'s café
        stack = Stack(
            api=f"http://127.0.0.1:{port}",
            shop=shop,
            other=other,
            services=built,
            business_id=created.business_id,
            owner_key=created.owner_key,
            site_key=created.site_key,
        )
        caller = stack.caller()
        for key, channel, metric in [("table", "qr", "nps"), ("receipt", "receipt", "csat"), ("web", "web", "ces")]:
            stack.touchpoints[key] = built.links.create_touchpoint(
                caller, TouchpointIn(name=f"{key} touchpoint", channel=channel, metric=metric)
            )
        from app import app

        server = LocalDevServer(
            app,
            Config(chalice_stage="local", function_name="api_handler"),
            "127.0.0.1",
            port,
            handler_cls=_QuietHandler,
            server_cls=_QuietServer,
        )
        threading.Thread(target=server.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        yield stack
    finally:
        if server is not None:
            server.server.shutdown()
            server.server.server_close()
        shop.stop()
        other.stop()
        mock.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        wiring.reset()


def launch_chromium(playwright: Any) -> Any:
    executable = shutil.which("chromium")
    if executable is None:
        raise RuntimeError("Debian's chromium is needed: `make browser` installs it (apt-get install chromium).")
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
