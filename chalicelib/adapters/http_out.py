"""The one HTTP client for URLs an owner typed (issue #16 webhooks and Slack), built against server-side
request forgery: the host is resolved here, every address it resolves to is checked
(``domain.webhooks.address_refusal``), and the connection goes to the checked address itself, so a DNS
answer that changes between the check and the connect (rebinding) cannot reach an internal service. TLS
still verifies the certificate for the host name (SNI). Redirects are not followed (a 3xx is a failure),
the body sent is at most 64 KB, at most 4 KB of the answer is read, and the whole exchange has a timeout.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from functools import cache
from urllib.parse import urlsplit

from chalicelib.domain.webhooks import (
    MAX_BODY_BYTES,
    MAX_URL,
    TIMEOUT_SECONDS,
    HostileUrl,
    HttpResult,
    address_refusal,
    ip_literal,
)

_READ_AT_MOST = 4096

Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (what the operating system's resolver answers)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def check_url(raw: str, *, allow_http: bool = False) -> str:
    """The URL as given when its form is acceptable; the addresses it resolves to are checked by the sender
    (at registration and before every delivery, ``address_refusal``)."""
    if not isinstance(raw, str) or len(raw) > MAX_URL or any(c.isspace() or ord(c) < 32 for c in raw):
        raise HostileUrl("must be a URL of at most 2000 characters, without spaces")
    parts = urlsplit(raw)
    if parts.scheme != "https" and not (allow_http and parts.scheme == "http"):
        raise HostileUrl("must start with https://")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise HostileUrl("must not carry a user name or password")
    try:
        port = parts.port
    except ValueError:
        raise HostileUrl("has an invalid port") from None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise HostileUrl("must name a host")
    if port is not None and not 1 <= port <= 65535:
        raise HostileUrl("has an invalid port")
    literal = ip_literal(host)
    if literal is not None:
        refusal = address_refusal(literal, allow_loopback=allow_http)
        if refusal:
            raise HostileUrl(refusal)
    elif (host in ("localhost",) or host.endswith((".localhost", ".internal")) or "." not in host) and not (
        allow_http and host == "localhost"
    ):
        raise HostileUrl("must name a public host")
    return raw


@cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


class PinnedHttpSender:
    def __init__(self, *, allow_loopback: bool, resolver: Resolver = resolve, timeout: float = TIMEOUT_SECONDS):
        self._allow_loopback = allow_loopback
        self._resolve = resolver
        self._timeout = timeout

    def checked_address(self, url: str) -> str:
        """The address a delivery to ``url`` would connect to; HostileUrl when the URL's form is refused
        (``check_url``) or any address it resolves to is (one private answer among public ones is enough:
        the resolver may pick it next time)."""
        check_url(url, allow_http=self._allow_loopback)
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = self._resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise HostileUrl(f"the host does not resolve ({type(exc).__name__})") from None
        if not addresses:
            raise HostileUrl("the host does not resolve")
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone ("%eth0") is not part of it
            refusal = address_refusal(ip, allow_loopback=self._allow_loopback)
            if refusal:
                raise HostileUrl(refusal)
        return addresses[0]

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> HttpResult:
        started = time.monotonic()

        def took() -> int:
            return int((time.monotonic() - started) * 1000)

        if len(body) > MAX_BODY_BYTES:
            return HttpResult(None, 0, "body over 64 KB")
        try:
            address = self.checked_address(url)
        except HostileUrl as exc:
            return HttpResult(None, took(), f"refused: {exc}")
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection = _connection(parts.scheme, host, address, port, self._timeout)
        try:
            connection.request("POST", path, body=body, headers={**headers, "Host": parts.netloc})
            answer = connection.getresponse()
            answer.read(_READ_AT_MOST)
            return HttpResult(answer.status, took(), None if 200 <= answer.status < 300 else f"HTTP {answer.status}")
        except (OSError, http.client.HTTPException) as exc:
            kind = "timeout" if isinstance(exc, TimeoutError | socket.timeout) else type(exc).__name__
            return HttpResult(None, took(), kind)
        finally:
            connection.close()


def _connection(scheme: str, host: str, address: str, port: int, timeout: float) -> http.client.HTTPConnection:
    """A connection to ``address`` (already checked) that speaks to ``host``: TLS verifies the host name."""
    if scheme == "https":
        return _PinnedHttps(host, address, port, timeout)
    return http.client.HTTPConnection(address, port, timeout=timeout)


class _PinnedHttps(http.client.HTTPSConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=_tls())
        self._address = address

    def connect(self) -> None:
        # The TCP connection goes to the checked address; the TLS handshake names and verifies the host.
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = _tls().wrap_socket(sock, server_hostname=self.host)
