"""A fake Zalo (issue #16) on loopback, for `make run` and the tests: it speaks the three calls we make
(``chalicelib/domain/zalo.py`` describes them) the way Zalo answers them, writes every request it gets as
a JSON file to the outbox (``zalo-<utc>-<n>.json``: method, path, headers without secrets, body, answer),
and can be told to fail: ``POST /_fail {"error": -118, "message": "...", "times": 2}`` (or ``fail_next``).
Ratings appear for the rating API when injected: ``POST /_rate {"tracking_id", "rate", "note", "feedbacks"}``.

Its tokens behave like Zalo's: an access token lives ``expires_in`` seconds (``/_expire`` ends them all), and
a refresh token works once.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

_SECRET_HEADERS = {"access_token", "secret_key"}


@dataclass
class FakeZalo:
    outbox: Path | None = None
    port: int = 0
    expires_in: int = 90000
    requests: list[dict[str, Any]] = field(default_factory=list)
    ratings: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[int, str]] = field(default_factory=list)
    refreshes: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._access: dict[str, float] = {}  # access token -> expiry (epoch seconds)
        self._refresh_ok: set[str] = set()
        self._refresh_used: set[str] = set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self, None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                fake._handle(self, self.rfile.read(min(length, 1 << 20)))

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeZalo:
        threading.Thread(target=self._server.serve_forever, name="fake-zalo", daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    # ---- what a test or a person tells it -----------------------------------------------------------------

    def accept_refresh_token(self, token: str) -> None:
        """An OA refresh token as Zalo's console hands it to the owner (connecting uses it)."""
        with self._lock:
            self._refresh_ok.add(token)

    def fail_next(self, code: int, message: str = "", times: int = 1) -> None:
        with self._lock:
            self.failures.extend([(code, message or f"fake error {code}")] * times)

    def rate(self, tracking_id: str, rate: int, note: str = "", feedbacks: tuple[str, ...] = ()) -> None:
        with self._lock:
            self.ratings.append(_rating(tracking_id, rate, note, feedbacks))

    def expire_access_tokens(self) -> None:
        with self._lock:
            self._access = {token: 0.0 for token in self._access}

    def sent(self) -> list[dict[str, Any]]:
        """The ZNS messages it accepted, as their JSON bodies."""
        return [r["body"] for r in self.requests if r["path"] == "/message/template" and r["answer"].get("error") == 0]

    # ---- the HTTP side ----------------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, raw: bytes | None) -> None:
        parts = urlsplit(handler.path)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        body: Any = None
        if raw:
            if headers.get("content-type", "").startswith("application/json"):
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
            else:
                body = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        answer = self._answer(handler.command, parts.path, parse_qs(parts.query), headers, body)
        self._record(handler.command, parts.path, headers, body, answer)
        data = json.dumps(answer, ensure_ascii=False).encode()
        handler.send_response(200)  # Zalo answers its errors with 200 and an error code
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: Any
    ) -> dict[str, Any]:
        with self._lock:
            if path == "/_fail" and isinstance(body, dict):
                failure = (int(body.get("error", -1)), str(body.get("message", "")))
                self.failures.extend([failure] * int(body.get("times", 1)))
                return {"error": 0}
            if path == "/_rate" and isinstance(body, dict):
                self.ratings.append(_rating(str(body.get("tracking_id", "")), int(body.get("rate", 5)),
                                            str(body.get("note", "")), tuple(body.get("feedbacks") or ())))
                return {"error": 0}
            if path == "/_expire":
                self._access = {token: 0.0 for token in self._access}
                return {"error": 0}
            if path == "/v4/oa/access_token":
                return self._refresh(headers, body if isinstance(body, dict) else {})
            if self.failures:
                code, message = self.failures.pop(0)
                return {"error": code, "message": message}
            token = headers.get("access_token", "")
            if self._access.get(token, 0.0) < time.time():
                return {"error": -124, "message": "Access token invalid"}
            if path == "/message/template" and method == "POST":
                return self._send(body if isinstance(body, dict) else {})
            if path == "/rating/get":
                return self._ratings(query)
            return {"error": -1, "message": "unknown endpoint"}

    def _refresh(self, headers: dict[str, str], form: dict[str, str]) -> dict[str, Any]:
        token = form.get("refresh_token", "")
        if not headers.get("secret_key") or form.get("grant_type") != "refresh_token" or not form.get("app_id"):
            return {"error": -14002, "error_name": "Invalid parameter", "error_description": "missing field"}
        if token in self._refresh_used or token not in self._refresh_ok:
            return {"error": -14014, "error_name": "Invalid refresh token",
                    "error_description": "refresh token is invalid"}
        self._refresh_used.add(token)
        self._refresh_ok.discard(token)
        number = next(self._numbers)
        access, refresh = f"at-{number}", f"rt-{number}"
        self._access[access] = time.time() + self.expires_in
        self._refresh_ok.add(refresh)
        self.refreshes += 1
        return {"access_token": access, "refresh_token": refresh, "expires_in": str(self.expires_in)}

    def _send(self, body: dict[str, Any]) -> dict[str, Any]:
        phone = str(body.get("phone", ""))
        if not phone.isdigit() or not phone.startswith("84"):
            return {"error": -108, "message": "Phone number invalid"}
        if not body.get("template_id") or not isinstance(body.get("template_data"), dict):
            return {"error": -107, "message": "Template ID invalid"}
        number = next(self._numbers)
        return {
            "error": 0, "message": "Success",
            "data": {"msg_id": f"zns-{number}", "sent_time": str(int(time.time() * 1000)),
                     "quota": {"dailyQuota": "500", "remainingQuota": str(500 - len(self.sent()) - 1)}},
        }

    def _ratings(self, query: dict[str, list[str]]) -> dict[str, Any]:
        since = int((query.get("from_time") or ["0"])[0])
        until = int((query.get("to_time") or [str(1 << 62)])[0])
        offset = int((query.get("offset") or ["0"])[0])
        limit = int((query.get("limit") or ["100"])[0])
        found = [r for r in self.ratings if since <= int(r["submitDate"]) <= until]
        return {"error": 0, "message": "Success", "data": {"total": len(found), "data": found[offset : offset + limit]}}

    def _record(self, method: str, path: str, headers: dict[str, str], body: Any, answer: dict[str, Any]) -> None:
        entry = {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "method": method, "path": path,
            "headers": {k: ("…" if k in _SECRET_HEADERS else v) for k, v in headers.items()},
            "body": body, "answer": answer,
        }
        with self._lock:
            self.requests.append(entry)
            number = len(self.requests)
        if self.outbox is not None and not path.startswith("/_"):
            self.outbox.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            text = json.dumps(entry, ensure_ascii=False, indent=2)
            (self.outbox / f"zalo-{stamp}-{number:04d}.json").write_text(text)


def _rating(tracking_id: str, rate: int, note: str, feedbacks: tuple[str, ...]) -> dict[str, Any]:
    return {
        "trackingId": tracking_id, "msgId": f"msg-{tracking_id}", "rate": rate, "note": note,
        "feedbacks": list(feedbacks), "submitDate": str(int(time.time() * 1000)),
    }
