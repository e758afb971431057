"""Page-view nonces (#11 item 1): signed, short-lived, bound to where they were issued. Pure code."""

from __future__ import annotations

import json

import pytest

from chalicelib.domain import keys, nonces
from chalicelib.errors import Expired, InvalidInput

SECRET = "unit-secret-0123456789abcdef-0123456789abcdef"
NOW = 1_800_000_000


def _issue(kind: nonces.Kind = "link", business: str = "biz001", subject: str = "tp000001", ttl: int = 7200) -> str:
    return nonces.issue(SECRET, kind, business, subject, NOW, ttl)


def _code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.code


def test_a_nonce_verifies_where_it_was_issued_until_it_expires() -> None:
    nonce = _issue()
    found = nonces.verify(SECRET, nonce, "link", "biz001", "tp000001", NOW + 7199)
    assert (found.kind, found.business_id, found.subject, found.expires_at) == (
        "link",
        "biz001",
        "tp000001",
        NOW + 7200,
    )
    assert len(nonce) <= nonces.MAX_NONCE_CHARS
    with pytest.raises(Expired) as late:
        nonces.verify(SECRET, nonce, "link", "biz001", "tp000001", NOW + 7200)
    assert _code(late) == "nonce_expired"


def test_every_page_view_gets_its_own_nonce() -> None:
    ids = {nonces.verify(SECRET, _issue(), "link", "biz001", "tp000001", NOW).nonce_id for _ in range(200)}
    assert len(ids) == 200


@pytest.mark.parametrize(
    ("kind", "business", "subject"),
    [("site", "biz001", "tp000001"), ("link", "biz002", "tp000001"), ("link", "biz001", "tp000002")],
)
def test_a_nonce_is_no_proof_for_another_business_touchpoint_or_kind(kind: str, business: str, subject: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        nonces.verify(SECRET, _issue(), kind, business, subject, NOW)  # type: ignore[arg-type]
    assert _code(refused) == "invalid_nonce"


def test_a_missing_nonce_says_so() -> None:
    for missing in (None, ""):
        with pytest.raises(InvalidInput) as refused:
            nonces.verify(SECRET, missing, "link", "biz001", "tp000001", NOW)
        assert _code(refused) == "nonce_required"


def test_a_forged_or_re_signed_nonce_is_refused_before_its_expiry_is_believed() -> None:
    nonce = _issue(ttl=60)
    body, mac = nonce.split(".")
    payload = json.loads(keys.unb64url(body) or b"")
    payload[4] = NOW + 10**6
    stretched = keys.b64url(json.dumps(payload, separators=(",", ":")).encode()) + "." + mac  # the old MAC
    other_secret = keys.seal("another-secret-0123456789abcdef-0123456789", "page-nonce", payload)
    for forged in (stretched, other_secret, body + "." + mac[::-1], "<script>", "a.b", nonce + "x", "x" * 400):
        with pytest.raises(InvalidInput) as refused:
            nonces.verify(SECRET, forged, "link", "biz001", "tp000001", NOW + 120)
        assert _code(refused) == "invalid_nonce"


def test_a_widget_nonce_is_bound_to_its_site_key() -> None:
    subject = nonces.site_subject(SECRET, "sk_biz001_0123456789abcdef")
    nonce = _issue("site", subject=subject)
    assert nonces.verify(SECRET, nonce, "site", "biz001", subject, NOW).kind == "site"
    rotated = nonces.site_subject(SECRET, "sk_biz001_fedcba9876543210")
    with pytest.raises(InvalidInput):
        nonces.verify(SECRET, nonce, "site", "biz001", rotated, NOW)
