"""Server-side request forgery (issue #16): the URLs an owner may register for webhooks, and the addresses a
delivery may connect to, as a deployed stage decides them (https only, no loopback)."""

from __future__ import annotations

import pytest

from chalicelib.adapters.http_out import PinnedHttpSender, check_url
from chalicelib.domain import webhooks
from chalicelib.domain.webhooks import HostileUrl

HOSTILE = {
    "http://hooks.example.com/x": "https",
    "ftp://hooks.example.com/x": "https",
    "https://user:pw@hooks.example.com/x": "user name",
    "https://hooks.example.com@10.0.0.1/x": "user name",
    "https://127.0.0.1/x": "private",
    "https://127.1/x": "private",
    "https://2130706433/x": "private",
    "https://017700000001/x": "private",
    "https://0x7f000001/x": "private",
    "https://0x7f.0.0.1/x": "private",
    "https://[::1]/x": "private",
    "https://[::ffff:127.0.0.1]/x": "private",
    "https://[::ffff:a9fe:a9fe]/x": "metadata",
    "https://169.254.169.254/latest/meta-data/": "metadata",
    "https://[fd00:ec2::254]/": "metadata",
    "https://169.254.1.1/x": "private",
    "https://10.0.0.1/x": "private",
    "https://172.31.255.255/x": "private",
    "https://192.168.0.10/x": "private",
    "https://100.64.0.1/x": "private",  # carrier-grade NAT space
    "https://0.0.0.0/x": "private",
    "https://224.0.0.1/x": "private",
    "https://[fe80::1]/x": "private",
    "https://[fc00::1]/x": "private",
    "https://localhost/x": "public host",
    "https://db.localhost/x": "public host",
    "https://metadata.google.internal/x": "public host",
    "https://intranet/x": "public host",
    "https://hooks.example.com:0/x": "port",
    "https://hooks.example.com:99999/x": "port",
    "https://hooks.example.com/a b": "spaces",
}


@pytest.mark.parametrize(("url", "why"), HOSTILE.items())
def test_a_deployed_stage_refuses_each_hostile_url_with_the_reason(url: str, why: str) -> None:
    with pytest.raises(HostileUrl, match=why):
        check_url(url)


@pytest.mark.parametrize("url", ["https://hooks.slack.com/services/T0/B0/xyz", "https://shop.example.vn:8443/hook?x=1"])
def test_public_https_urls_are_accepted(url: str) -> None:
    assert check_url(url) == url


def test_local_mode_lets_a_loopback_receiver_in_and_never_the_metadata_service() -> None:
    assert check_url("http://127.0.0.1:8080/hook", allow_http=True)
    assert check_url("http://localhost:8080/hook", allow_http=True)
    with pytest.raises(HostileUrl, match="metadata"):
        check_url("http://169.254.169.254/", allow_http=True)


@pytest.mark.parametrize(
    ("answers", "refused"),
    [
        (["93.184.216.34"], False),
        (["10.0.0.7"], True),
        (["93.184.216.34", "192.168.1.1"], True),  # one inside address among public ones is enough
        (["::ffff:127.0.0.1"], True),
        (["fe80::1%eth0"], True),
        ([], True),
    ],
)
def test_a_name_is_checked_by_every_address_it_resolves_to(answers: list[str], refused: bool) -> None:
    sender = PinnedHttpSender(allow_loopback=False, resolver=lambda host, port: answers)
    if refused:
        with pytest.raises(HostileUrl):
            sender.checked_address("https://hooks.example.com/x")
    else:
        assert sender.checked_address("https://hooks.example.com/x") == "93.184.216.34"


def test_a_refused_address_at_delivery_time_is_a_failed_attempt_with_no_connection_made() -> None:
    sender = PinnedHttpSender(allow_loopback=False, resolver=lambda host, port: ["169.254.169.254"])
    result = sender.post("https://hooks.example.com/x", b"{}", {})
    assert result.status is None and result.error == "refused: points at the cloud metadata service"
    assert sender.post("https://hooks.example.com/x", b"x" * (webhooks.MAX_BODY_BYTES + 1), {}).error == (
        "body over 64 KB"
    )


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body_and_the_secret_is_derived_per_version() -> None:
    import hashlib
    import hmac

    body = webhooks.envelope("evt_1", "response.created", "2026-11-28T08:00:00Z", {"score": 9})
    assert body == b'{"id":"evt_1","type":"response.created","created_at":"2026-11-28T08:00:00Z","version":1,' \
                   b'"data":{"score":9}}'
    mac = hmac.new(b"whsec_x", b"1764316800." + body, hashlib.sha256).hexdigest()
    assert webhooks.signature("whsec_x", 1764316800, body) == f"t=1764316800,v1={mac}"
    one, two = (webhooks.secret("a" * 32, "biz", "wh", v) for v in (1, 2))
    assert one != two and one.startswith("whsec_") and one == webhooks.secret("a" * 32, "biz", "wh", 1)


def test_backoff_doubles_from_thirty_seconds_to_sqs_maximum_delay() -> None:
    assert [webhooks.backoff_seconds(a) for a in (1, 2, 3, 4, 5, 6, 7, 50)] == [30, 60, 120, 240, 480, 900, 900, 900]
