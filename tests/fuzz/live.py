"""The real app on a real loopback socket, AWS emulated in-process, for tools that speak HTTP.

Schemathesis and ``bench/load.py`` drive the API the way a phone or a till would: over HTTP, through
chalice's local server (which builds the same API Gateway events Lambda receives), into the real
handlers, services and DynamoDB adapter. ``mock_aws()`` patches botocore for every thread, so the
server's request threads reach the emulated table without an emulator process or port.
"""

from __future__ import annotations

import html
import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import requests
from moto import mock_aws

ADMIN_KEY_ENV = "ADMIN_KEY"


@dataclass
class ServerStats:
    """Thread CPU seconds the server spent per request, and how much of it was the emulated AWS."""

    requests: int = 0
    cpu: float = 0.0
    emulator_cpu: float = 0.0
    emulator_calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.requests, self.cpu, self.emulator_cpu, self.emulator_calls = 0, 0.0, 0.0, 0


STATS = ServerStats()


@dataclass
class LiveApi:
    """A served app and one seeded business whose keys, touchpoints and links the callers can use."""

    url: str
    admin_key: str
    business_id: str = ""
    owner_key: str = ""
    site_key: str = ""
    origin: str = "https://shop.example"
    touchpoints: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> touchpoint_id, url, token
    # issue #14: the one touchpoint DELETE .../touchpoints/{id} retires, so the others stay in use
    spare_touchpoint: dict[str, str] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)  # minted one-response tokens
    unsubscribe_tokens: list[str] = field(default_factory=list)  # as the business's emails would carry
    case_ids: list[str] = field(default_factory=list)  # response ids of complaint-inbox cases (issue #14)

    @property
    def owner_auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.owner_key}"}

    @property
    def admin_auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    def page_nonce(self, token: str) -> str | None:
        """The nonce a phone gets with one view of a touchpoint link's page (#11 item 1); None for a minted
        link, whose page carries none."""
        page = requests.get(f"{self.url}/s/{token}", timeout=30)
        found = re.search(r'<input type="hidden" name="nonce" value="([^"]+)">', page.text)
        return html.unescape(found.group(1)) if found else None

    def site_nonce(self) -> str | None:
        """The nonce the widget gets with its site config."""
        config = requests.get(f"{self.url}/v1/sites/{self.site_key}", headers={"Origin": self.origin}, timeout=30)
        return config.json().get("nonce") if config.status_code == 200 else None

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
        return requests.post(
            self.url + path,
            data=json.dumps(body),
            headers={"Content-Type": "application/json", **(headers or {})},
            timeout=30,
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _one_emulated_call_at_a_time() -> Iterator[None]:
    """Serialize moto, not the app: its in-memory backends are not thread-safe.

    Under concurrent requests one thread's call iterates a table's items while another thread writes
    to it, and moto raises "dictionary changed size during iteration" (the app would answer 500 for
    the emulator's sake). DynamoDB itself serves concurrent callers; the app's threads still overlap
    everywhere else.
    """
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.process_request
    lock = threading.Lock()

    def process_request(self: Any, request: Any) -> Any:
        with lock:
            start = time.thread_time()
            try:
                return original(self, request)
            finally:
                spent = time.thread_time() - start
                with STATS.lock:
                    STATS.emulator_cpu += spent
                    STATS.emulator_calls += 1

    BotocoreStubber.process_request = process_request  # type: ignore[method-assign]
    try:
        yield
    finally:
        BotocoreStubber.process_request = original  # type: ignore[method-assign]


def _create_aws_resources() -> None:
    from chalicelib import tables
    from chalicelib.settings import get_settings

    settings = get_settings()
    boto3.client("dynamodb").create_table(**tables.create_table_kwargs(settings.table_name))
    # What a deployment creates next to the table: queues the mail and report paths may write to,
    # and a verified sender (moto's SES refuses mail from an unverified one).
    sqs = boto3.client("sqs")
    for name in {settings.reports_queue_name, settings.mail_dlq_name, settings.alert_queue_name}:
        sqs.create_queue(QueueName=name)
    boto3.client("ses").verify_domain_identity(Domain=settings.mail_from.rsplit("@", 1)[1])


@contextmanager
def live_api(env: dict[str, str] | None = None, *, seed: bool = True, links: int = 20) -> Iterator[LiveApi]:
    """Serve ``app`` on 127.0.0.1:<free port> until the block ends; ``env`` overrides settings meanwhile."""
    from chalice.config import Config
    from chalice.local import ChaliceRequestHandler, LocalDevServer

    class QuietHandler(ChaliceRequestHandler):
        # Headers and body leave in separate writes: without TCP_NODELAY a keep-alive client waits out
        # the 40 ms delayed ACK on every request, which would measure the kernel, not the app.
        disable_nagle_algorithm = True

        def handle_one_request(self) -> None:
            start = time.thread_time()
            super().handle_one_request()
            spent = time.thread_time() - start
            with STATS.lock:
                STATS.requests += 1
                STATS.cpu += spent

        def log_message(self, *args: Any) -> None:  # one stderr line per request would swamp the output
            pass

    from chalicelib import wiring
    from chalicelib.local import emulator

    # The emulator as `make run` has it: failed transactions undone item by item, no table copies, no
    # instance tracking (chalicelib/local/emulator.py).
    emulator.install()
    # Issue #16: Zalo is the local fake, as in `make run`: no request may leave the machine, and a refresh
    # token the fake never issued is refused (422), as Zalo would.
    from chalicelib.local.fake_zalo import FakeZalo

    fake_zalo = FakeZalo().start()
    env = {"ZALO_API_URL": fake_zalo.url, "ZALO_OAUTH_URL": fake_zalo.url, **(env or {})}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    wiring.reset()
    try:
        with mock_aws(), _one_emulated_call_at_a_time():
            _create_aws_resources()
            from app import app

            port = free_port()
            config = Config(chalice_stage="local", function_name="api_handler")
            server = LocalDevServer(app, config, "127.0.0.1", port, handler_cls=QuietHandler)
            thread = threading.Thread(target=server.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            thread.start()
            try:
                api = LiveApi(url=f"http://127.0.0.1:{port}", admin_key=os.environ[ADMIN_KEY_ENV])
                if seed:
                    seed_business(api, links=links)
                yield api
            finally:
                server.server.shutdown()
                server.server.server_close()
                thread.join(timeout=5)
    finally:
        fake_zalo.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        wiring.reset()


def seed_business(api: LiveApi, *, links: int = 20) -> None:
    """One café with a table QR (NPS), a receipt touchpoint (CSAT), a web one (CES) and minted links."""
    created = api.post(
        "/v1/businesses",
        {
            "name": "Cà Phê Sài Gòn",
            "owner_emails": ["owner@caphe.example"],
            "timezone": "Asia/Ho_Chi_Minh",
            "locale": "vi",
            "allowed_origins": [api.origin],
            "voucher": {"description": "Giảm 10% lần sau", "valid_days": 30, "per_email_days": 30},
        },
        api.admin_auth,
    )
    created.raise_for_status()
    body = created.json()
    api.business_id, api.owner_key, api.site_key = body["business_id"], body["owner_key"], body["site_key"]
    from chalicelib.services.mail import unsubscribe_token
    from chalicelib.settings import get_settings

    secret = get_settings().app_secret
    api.unsubscribe_tokens = [
        unsubscribe_token(secret, api.business_id, address) for address in ("khach@mail.example", "owner@caphe.example")
    ]
    for name, channel, metric in [("table", "qr", "nps"), ("receipt", "receipt", "csat"), ("web", "web", "ces")]:
        answer = api.post(
            f"/v1/businesses/{api.business_id}/touchpoints",
            {"name": name, "channel": channel, "metric": metric},
            api.owner_auth,
        )
        answer.raise_for_status()
        api.touchpoints[name] = answer.json()
    spare = api.post(
        f"/v1/businesses/{api.business_id}/touchpoints", {"name": "spare", "channel": "qr", "metric": "csat"},
        api.owner_auth,
    )
    spare.raise_for_status()
    api.spare_touchpoint = spare.json()
    if links:
        minted = api.post(
            f"/v1/businesses/{api.business_id}/links",
            {"touchpoint_id": api.touchpoints["receipt"]["touchpoint_id"], "count": links},
            api.owner_auth,
        )
        minted.raise_for_status()
        api.links = [link["token"] for link in minted.json()["links"]]

    seed_case(api)


def seed_case(api: LiveApi) -> None:
    """An unhappy answer with a consented address, handled as the stream Lambda would: a real case of the
    complaint inbox, so the case routes get past their 404."""
    from chalicelib import wiring
    from chalicelib.domain.calendar import local_day
    from chalicelib.ports import DayQuery

    if not api.links:
        return
    created = api.post(
        "/v1/responses",
        {"token": api.links.pop(), "score": 1, "email": "khach@mail.example", "consent": True, "comment": "Chờ lâu"},
    )
    created.raise_for_status()
    response_id = created.json()["response_id"]
    services = wiring.services()
    day = local_day(services.clock.now(), "Asia/Ho_Chi_Minh").isoformat()
    for response in services.store.query_day(DayQuery(api.business_id, day)).items:
        if response.response_id == response_id:
            services.followups.handle(response)
    api.case_ids = [response_id]
