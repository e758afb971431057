"""Signed link tokens: round trips, tamper resistance, expiry, key rotation, strict parsing, known answers."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import shutil
import struct
import subprocess
import textwrap
import unicodedata

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from chalicelib.domain import tokens
from chalicelib.domain.tokens import (
    CHANNELS,
    MAX_TOKEN_CHARS,
    METRICS,
    LinkClaims,
    new_secret,
    peek,
    sign,
    verify,
)
from chalicelib.errors import Expired, InvalidToken

SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(100, 132))
B64URL_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
NOW = 1_717_200_000
DAY = 86_400

# ---- known-answer vectors (for the Python and JavaScript till recipes) ---------------------------------
# secret = bytes 0x00..0x1f. The hex is the signed bytes before base64url, to debug a recipe byte by byte.

KNOWN_ANSWERS = [
    {
        "claims": {
            "business_id": "bizabc1234",
            "touchpoint_id": "tp000001",
            "channel": "receipt",
            "metric": "csat",
            "link_id": "HD-2024-000012345678",
            "minted": True,
            "issued_at": 1_717_200_000,
            "expires_at": 1_719_792_000,
            "key_id": 1,
        },
        "hex": "010135665a64806681f1800a62697a616263313233340874703030303030311448442d323032342d30303030"
        "3132333435363738c46a959327f119848a8655a6a02e07e7",
        "token": "AQE1ZlpkgGaB8YAKYml6YWJjMTIzNAh0cDAwMDAwMRRIRC0yMDI0LTAwMDAxMjM0NTY3"
        "OMRqlZMn8RmEioZVpqAuB-c",
    },
    {
        "claims": {
            "business_id": "quancafe01",
            "touchpoint_id": "bàn-07",
            "channel": "qr",
            "metric": "nps",
            "link_id": "",
            "minted": False,
            "issued_at": 1_717_200_000,
            "expires_at": None,
            "key_id": 0,
        },
        "hex": "010000665a64800a7175616e6361666530310762c3a06e2d303700fad512a29c50c90d4bbf98891b98b137",
        "token": "AQAAZlpkgApxdWFuY2FmZTAxB2LDoG4tMDcA-tUSopxQyQ1Lv5iJG5ixNw",
    },
]

# ---- strategies ------------------------------------------------------------------------------------

# Any Unicode text without lone surrogates; sizes keep the three ids within one token's byte budget
# (16 + 16 + 8 characters of at most 4 UTF-8 bytes each = 160 bytes <= 162).
id_text = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=16)
u32 = st.integers(min_value=0, max_value=2**32 - 1)

claims_strategy = st.builds(
    LinkClaims,
    business_id=id_text,
    touchpoint_id=id_text,
    channel=st.sampled_from(CHANNELS),
    metric=st.sampled_from(METRICS),
    link_id=st.text(st.characters(exclude_categories=("Cs",)), max_size=8),
    minted=st.booleans(),
    issued_at=u32,
    expires_at=st.none() | u32,
    key_id=st.integers(min_value=0, max_value=255),
)


def claims(**overrides) -> LinkClaims:
    values = {
        "business_id": "bizabc1234",
        "touchpoint_id": "tp000001",
        "channel": "receipt",
        "metric": "csat",
        "link_id": "HD-2024-000012345678",
        "minted": True,
        "issued_at": NOW,
        "expires_at": NOW + 30 * DAY,
        "key_id": 1,
    }
    values.update(overrides)
    return LinkClaims(**values)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_bytes(body: bytes, secret: bytes = SECRET) -> str:
    """A token of arbitrary bytes with a correct MAC: anything it is rejected for is its structure."""
    return b64url(body + hmac.new(secret, body, hashlib.sha256).digest()[:16])


def body(version=1, key_id=1, flags=0b0001_0101, issued_at=NOW, expires_at=None, ids=(b"biz1", b"tp1", b"")):
    out = bytes([version, key_id, flags]) + struct.pack(">I", issued_at)
    if expires_at is not None:
        out += struct.pack(">I", expires_at)
    for raw in ids:
        out += bytes([len(raw)]) + raw
    return out


def assert_only_invalid(token: str) -> None:
    with pytest.raises(InvalidToken):
        peek(token)
    with pytest.raises(InvalidToken):
        verify(token, {1: SECRET}, NOW)


# ---- round trips -----------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("minted", [False, True])
@pytest.mark.parametrize("expires_at", [None, NOW + DAY])
def test_a_signed_link_verifies_to_the_same_claims(channel, metric, minted, expires_at):
    original = claims(channel=channel, metric=metric, minted=minted, expires_at=expires_at,
                      link_id="R-1" if minted else "")
    token = sign(original, SECRET)
    assert peek(token) == original
    if minted and expires_at is None:  # #11: a minted link without an expiry is refused
        with pytest.raises(InvalidToken) as refused:
            verify(token, {1: SECRET}, NOW)
        assert refused.value.code == "token_expiry_required"
        return
    assert verify(token, {1: SECRET}, NOW) == original


@given(claims_strategy)
def test_any_valid_claims_survive_sign_and_verify(original):
    token = sign(original, SECRET)
    assert len(token) <= MAX_TOKEN_CHARS
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert peek(token) == original
    if original.expires_at is None or original.expires_at > 0:
        now = 0 if original.expires_at is None else original.expires_at - 1
        refused = (original.minted and original.expires_at is None) or (
            not original.minted and tokens.is_pos_key(original.key_id)
        )
        if refused:  # the #11 rules: minted links expire, POS keys sign minted links only
            with pytest.raises(InvalidToken):
                verify(token, {original.key_id: SECRET}, now)
        else:
            assert verify(token, {original.key_id: SECRET}, now) == original


def test_a_receipt_link_fits_in_120_characters():
    token = sign(claims(business_id="bizabc1234", touchpoint_id="tp000001", link_id="HD-2024-000012345678"),
                 SECRET)
    print(f"receipt link token: {len(token)} characters")
    assert len(token) == 91
    assert len(token) <= 120


def test_ids_of_64_bytes_each_are_accepted_but_not_all_three_at_once():
    for field in ("business_id", "touchpoint_id", "link_id"):
        token = sign(claims(**{field: "x" * 64}), SECRET)
        assert getattr(peek(token), field) == "x" * 64
    with pytest.raises(ValidationError):  # 3 x 64 bytes does not fit a 256-character token
        claims(business_id="x" * 64, touchpoint_id="x" * 64, link_id="x" * 64)


@pytest.mark.parametrize(
    "overrides",
    [
        {"business_id": ""},
        {"touchpoint_id": ""},
        {"link_id": "x" * 65},
        {"link_id": "ộ" * 22},  # 66 bytes in 22 characters
        {"business_id": "\ud800"},
        {"key_id": 256},
        {"key_id": -1},
        {"issued_at": 2**32},
        {"issued_at": -1},
        {"expires_at": 2**32},
        {"channel": "sms"},
        {"metric": "ces2"},
        {"issued_at": "1717200000"},
        {"minted": 1},
        {"extra": "field"},
    ],
)
def test_claims_that_cannot_be_encoded_are_refused_when_built(overrides):
    with pytest.raises(ValidationError):
        claims(**overrides)


def test_claims_are_immutable():
    with pytest.raises(ValidationError):
        claims().link_id = "other"  # type: ignore[misc]


@pytest.mark.parametrize("secret", [b"", b"short", "a string secret of enough length"])
def test_signing_refuses_a_missing_or_weak_secret(secret):
    with pytest.raises(ValueError, match="secret"):
        sign(claims(), secret)


def test_new_secrets_are_32_random_bytes():
    first, second = new_secret(), new_secret()
    assert isinstance(first, bytes) and len(first) == 32
    assert first != second


# ---- tampering -------------------------------------------------------------------------------------


@given(claims_strategy, st.data())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_changing_any_single_character_invalidates_the_link(original, data):
    token = sign(original, SECRET)
    position = data.draw(st.integers(min_value=0, max_value=len(token) - 1), label="position")
    replacement = data.draw(st.sampled_from(B64URL_CHARS.replace(token[position], "")), label="replacement")
    tampered = token[:position] + replacement + token[position + 1:]
    with pytest.raises(InvalidToken):
        verify(tampered, {original.key_id: SECRET}, 0)


def test_changing_every_character_of_a_receipt_link_invalidates_it():
    token = sign(claims(), SECRET)
    for position, char in enumerate(token):
        for replacement in B64URL_CHARS.replace(char, ""):
            tampered = token[:position] + replacement + token[position + 1:]
            with pytest.raises(InvalidToken):
                verify(tampered, {1: SECRET}, NOW)


def test_flipping_only_the_unused_bits_of_the_last_character_is_caught():
    # 68 bytes = 22 groups of 3 + 2 bytes: the last character carries 4 data bits and 2 unused bits.
    token = sign(claims(), SECRET)
    index = B64URL_CHARS.index(token[-1])
    sloppy = token[:-1] + B64URL_CHARS[index | 0b01]
    assert sloppy != token
    # A lenient decoder reads both as the same bytes, so the MAC alone would not notice.
    assert base64.urlsafe_b64decode(sloppy + "=") == base64.urlsafe_b64decode(token + "=")
    assert_only_invalid(sloppy)


def test_a_truncated_link_never_verifies():
    token = sign(claims(), SECRET)
    for length in range(len(token)):
        assert_only_invalid(token[:length])


def test_appended_characters_or_padding_are_rejected():
    token = sign(claims(), SECRET)
    for suffix in ("A", "AA", "AAAA", "=", "==", "\n", " ", "."):
        assert_only_invalid(token + suffix)
    for prefix in (" ", "\t", "A"):
        assert_only_invalid(prefix + token)


def test_standard_base64_characters_are_not_accepted_for_their_url_safe_twins():
    token = sign(claims(link_id="\xfb\xff" * 10), SECRET)
    assert "-" in token or "_" in token
    assert_only_invalid(token.replace("-", "+").replace("_", "/"))


def test_a_link_signed_by_another_business_fails():
    token = sign(claims(), OTHER_SECRET)
    with pytest.raises(InvalidToken):
        verify(token, {1: SECRET}, NOW)


def test_moving_the_mac_to_other_claims_fails():
    real = sign(claims(link_id="R-0001"), SECRET)
    forged_body = base64.urlsafe_b64decode(sign(claims(link_id="R-0002"), SECRET) + "=")[:-16]
    stolen_mac = base64.urlsafe_b64decode(real + "=")[-16:]
    with pytest.raises(InvalidToken):
        verify(b64url(forged_body + stolen_mac), {1: SECRET}, NOW)


# ---- expiry ----------------------------------------------------------------------------------------


def test_a_link_works_until_the_second_before_it_expires():
    token = sign(claims(expires_at=NOW + DAY), SECRET)
    assert verify(token, {1: SECRET}, NOW + DAY - 1).expires_at == NOW + DAY


@pytest.mark.parametrize("late", [0, 1, 365 * DAY])
def test_an_expired_link_reports_expired(late):
    token = sign(claims(expires_at=NOW + DAY), SECRET)
    with pytest.raises(Expired):
        verify(token, {1: SECRET}, NOW + DAY + late)


def test_an_expired_and_forged_link_reports_invalid_not_expired():
    forged = sign(claims(expires_at=NOW), OTHER_SECRET)
    with pytest.raises(InvalidToken):
        verify(forged, {1: SECRET}, NOW + DAY)
    genuine = sign(claims(expires_at=NOW), SECRET)
    tampered = genuine[:-3] + ("A" if genuine[-3] != "A" else "B") + genuine[-2:]
    with pytest.raises(InvalidToken):
        verify(tampered, {1: SECRET}, NOW + DAY)


def test_a_touchpoint_link_without_expiry_never_expires():
    token = sign(claims(expires_at=None, minted=False, link_id=""), SECRET)
    assert verify(token, {1: SECRET}, 2**40).expires_at is None


def test_peek_does_not_check_expiry_or_signature():
    token = sign(claims(expires_at=NOW), OTHER_SECRET)
    assert peek(token) == claims(expires_at=NOW)


# ---- keys ------------------------------------------------------------------------------------------


def test_an_old_key_verifies_during_rotation_and_stops_once_removed():
    old, new = new_secret(), new_secret()
    token = sign(claims(key_id=1), old)
    assert verify(token, {1: old, 2: new}, NOW) == claims(key_id=1)
    assert verify(sign(claims(key_id=2), new), {1: old, 2: new}, NOW) == claims(key_id=2)
    with pytest.raises(InvalidToken):
        verify(token, {2: new}, NOW)


def test_an_unknown_key_id_fails():
    token = sign(claims(key_id=7), SECRET)
    with pytest.raises(InvalidToken):
        verify(token, {1: SECRET, 2: SECRET}, NOW)
    with pytest.raises(InvalidToken):
        verify(token, {}, NOW)


def test_the_key_id_is_bound_by_the_signature():
    # Two keys with the same secret: relabelling the key id byte still breaks the MAC.
    raw = bytearray(base64.urlsafe_b64decode(sign(claims(key_id=1), SECRET) + "="))
    raw[1] = 2
    with pytest.raises(InvalidToken):
        verify(b64url(bytes(raw)), {1: SECRET, 2: SECRET}, NOW)


def test_peek_reads_the_business_without_any_secret():
    token = sign(claims(business_id="quancafe01", key_id=3), new_secret())
    seen = peek(token)
    assert (seen.business_id, seen.key_id) == ("quancafe01", 3)


# ---- strict parsing of correctly signed but malformed bytes ----------------------------------------


def test_the_helper_builds_a_token_the_server_accepts():
    token = signed_bytes(body(flags=0b0011_0101, expires_at=NOW + DAY))
    assert verify(token, {1: SECRET}, NOW) == LinkClaims(
        business_id="biz1", touchpoint_id="tp1", channel="receipt", metric="csat", minted=True,
        issued_at=NOW, expires_at=NOW + DAY, key_id=1)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(body(version=0), id="version 0"),
        pytest.param(body(version=2), id="version 2"),
        pytest.param(body(flags=0b0100_0000), id="reserved bit 6"),
        pytest.param(body(flags=0b1000_0000), id="reserved bit 7"),
        pytest.param(body(flags=0b0000_1100), id="metric index 3"),
        pytest.param(body(flags=0b0010_0000), id="has_expiry without expiry bytes"),
        pytest.param(body(expires_at=NOW), id="expiry without has_expiry flag"),
        pytest.param(body() + b"\x00", id="trailing byte"),
        pytest.param(body(ids=(b"", b"tp1", b"")), id="empty business id"),
        pytest.param(body(ids=(b"biz1", b"", b"")), id="empty touchpoint id"),
        pytest.param(body(ids=(b"biz1", b"tp1", b"\xff\xfe")), id="invalid utf-8"),
        pytest.param(body(ids=(b"biz1", b"tp1", b"\xed\xa0\x80")), id="utf-8 encoded surrogate"),
        pytest.param(body(ids=(b"biz1", b"tp1", b"x" * 65)), id="id over 64 bytes"),
        pytest.param(body(ids=(b"biz1", b"tp1")) + b"\x10", id="link id swallows the mac"),
        pytest.param(body(ids=(b"biz1",)), id="missing ids"),
        pytest.param(b"\x01\x01", id="header only"),
        pytest.param(b"", id="nothing"),
    ],
)
def test_malformed_bytes_are_invalid_even_with_a_correct_mac(raw):
    assert_only_invalid(signed_bytes(raw))


def test_overlong_input_is_rejected_before_decoding():
    assert_only_invalid("A" * (MAX_TOKEN_CHARS + 1))
    assert_only_invalid(sign(claims(), SECRET) + "A" * MAX_TOKEN_CHARS)
    assert_only_invalid("A" * 100_000)


def test_overlong_input_is_not_even_decoded(monkeypatch):
    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded an overlong token")

    monkeypatch.setattr(base64, "b64decode", no_decoding)  # what every base64 decoder calls
    assert_only_invalid("A" * (MAX_TOKEN_CHARS + 4))


@pytest.mark.parametrize("value", [None, 42, b"AQE", ["AQE"], "", "é", "AQE\x00", "A\u0660B"])
def test_non_tokens_are_invalid(value):
    assert_only_invalid(value)  # type: ignore[arg-type]


@given(st.text())
@example("")
@example("====")
@example("AQ")
@example("A" * 257)
def test_arbitrary_text_never_raises_anything_but_invalid_token(text):
    with contextlib.suppress(InvalidToken, Expired):
        verify(text, {k: SECRET for k in range(256)}, NOW)
    with contextlib.suppress(InvalidToken):
        peek(text)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_as_base64url_never_raise_anything_but_invalid_token(raw):
    token = b64url(raw)
    with pytest.raises(InvalidToken):
        verify(token, {k: SECRET for k in range(256)}, NOW)
    with contextlib.suppress(InvalidToken):
        peek(token)


@given(st.binary(max_size=180), st.data())
def test_correctly_signed_arbitrary_bytes_either_fail_cleanly_or_re_sign_to_themselves(raw, data):
    # Starting with a plausible header makes the parser get past its first checks most of the time.
    flags = bytes([raw[0] & 0x3F if raw else 0])
    header = data.draw(st.sampled_from([b"", b"\x01\x01", b"\x01\x01" + flags]))
    token = signed_bytes(header + raw)
    try:
        claims_ = verify(token, {1: SECRET}, 0)
    except (InvalidToken, Expired):
        return
    assert sign(claims_, SECRET) == token  # one encoding per claims: no malleability


@given(claims_strategy)
def test_a_token_is_the_only_encoding_of_its_claims(original):
    token = sign(original, SECRET)
    assert sign(peek(token), SECRET) == token


# ---- known answers and the till recipes ------------------------------------------------------------


@pytest.mark.parametrize("vector", KNOWN_ANSWERS, ids=["receipt with expiry", "static qr, vietnamese"])
def test_known_answer_vectors(vector):
    expected_claims = LinkClaims(**vector["claims"])
    token = sign(expected_claims, SECRET)
    assert token == vector["token"]
    assert base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).hex() == vector["hex"]
    assert verify(vector["token"], {vector["claims"]["key_id"]: SECRET}, NOW) == expected_claims


def _recipe(language: str) -> str:
    pattern = rf"--- {language} recipe ---\n(.*?)\n\s*(?://|#) --- end ---"
    match = re.search(pattern, tokens.__doc__ or "", re.S)
    assert match, f"the module docstring lost its {language} recipe"
    return textwrap.dedent(match.group(1))


def test_the_documented_python_recipe_mints_the_known_answers():
    namespace: dict = {}
    exec(_recipe("python"), namespace)  # noqa: S102 - our own docstring
    for vector in KNOWN_ANSWERS:
        c = vector["claims"]
        token = namespace["mint"](SECRET, c["key_id"], c["business_id"], c["touchpoint_id"], c["channel"],
                                  c["metric"], link_id=c["link_id"], minted=c["minted"],
                                  issued_at=c["issued_at"], expires_at=c["expires_at"])
        assert token == vector["token"]


@given(claims_strategy)
def test_the_documented_python_recipe_agrees_with_sign(original):
    namespace: dict = {}
    exec(_recipe("python"), namespace)  # noqa: S102 - our own docstring
    c = original
    token = namespace["mint"](SECRET, c.key_id, c.business_id, c.touchpoint_id, c.channel, c.metric,
                              link_id=c.link_id, minted=c.minted, issued_at=c.issued_at,
                              expires_at=c.expires_at)
    assert token == sign(original, SECRET)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_documented_javascript_recipe_mints_the_known_answers():
    cases = [vector["claims"] for vector in KNOWN_ANSWERS] + [
        claims(touchpoint_id="Bàn số 7 – tầng 2", link_id="đơn/2024#ộ", expires_at=2**32 - 1,
               key_id=255).model_dump(),
        claims(channel="web", metric="ces", minted=False, link_id="", expires_at=None, key_id=0).model_dump(),
    ]
    expected = [sign(LinkClaims(**case), SECRET) for case in cases]
    assert expected[:2] == [vector["token"] for vector in KNOWN_ANSWERS]
    camel = [
        {"keyId": c["key_id"], "businessId": c["business_id"], "touchpointId": c["touchpoint_id"],
         "channel": c["channel"], "metric": c["metric"], "linkId": c["link_id"], "minted": c["minted"],
         "issuedAt": c["issued_at"], "expiresAt": c["expires_at"]}
        for c in cases
    ]
    script = _recipe("javascript") + (
        f"\nconst secret = Buffer.from({json.dumps(SECRET.hex())}, 'hex');"
        f"\nconsole.log(JSON.stringify({json.dumps(camel)}.map((c) => mint(secret, c))));\n"
    )
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(result.stdout) == expected


# ---- #11 item 7: minted and POS links carry an expiry; POS keys are not QR keys ---------------------------


def test_a_receipt_link_without_an_expiry_is_refused_with_its_own_code():
    token = sign(claims(expires_at=None), SECRET)
    with pytest.raises(InvalidToken) as refused:
        verify(token, {1: SECRET}, NOW)
    assert refused.value.code == "token_expiry_required"
    assert "365" in refused.value.message


def test_a_receipt_link_may_expire_up_to_365_days_ahead_and_not_further():
    limit = NOW + tokens.MAX_MINTED_DAYS * DAY + tokens.CLOCK_SKEW_SECONDS
    assert verify(sign(claims(expires_at=NOW + 365 * DAY), SECRET), {1: SECRET}, NOW).expires_at == NOW + 365 * DAY
    assert verify(sign(claims(expires_at=limit), SECRET), {1: SECRET}, NOW).expires_at == limit
    for too_far in (limit + 1, NOW + 400 * DAY, 2**32 - 1):
        with pytest.raises(InvalidToken) as refused:
            verify(sign(claims(expires_at=too_far), SECRET), {1: SECRET}, NOW)
        assert refused.value.code == "token_expiry_too_far"


def test_a_pos_key_signs_receipt_links_but_never_a_touchpoint_link():
    receipt = sign(claims(key_id=200, expires_at=NOW + 90 * DAY), SECRET)
    assert verify(receipt, {200: SECRET}, NOW).key_id == 200
    table_card = sign(claims(key_id=200, minted=False, link_id="", expires_at=None), SECRET)
    with pytest.raises(InvalidToken) as refused:
        verify(table_card, {200: SECRET}, NOW)
    assert refused.value.code == "pos_key_not_allowed"
    assert tokens.is_pos_key(128) and tokens.is_pos_key(255) and not tokens.is_pos_key(127)


@pytest.mark.parametrize("window_hours", [1, 24, 24 * 30])
@pytest.mark.parametrize("days", [1, 90, 365])
def test_a_receipt_s_one_answer_claim_lives_until_the_link_expires_plus_the_edit_window(window_hours, days):
    window = window_hours * 3600
    receipt = claims(expires_at=NOW + days * DAY)
    ttl = tokens.claim_expires_at(receipt, NOW, window)
    # While the link can be opened, or its answer still edited, the claim must still be there.
    assert ttl >= receipt.expires_at + window
    assert ttl >= NOW + window
    # A touchpoint link's claim (one page view) only needs to outlive the edit window.
    table = claims(minted=False, link_id="", expires_at=None)
    assert tokens.claim_expires_at(table, NOW, window) >= NOW + window


# ---- issue #15: minted links carry the owner's labels -------------------------------------------------------

label_names = st.from_regex(r"\A[a-z][a-z0-9_]{0,15}\Z")
label_values = st.text(
    st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=6
).map(lambda v: unicodedata.normalize("NFC", v).strip()).filter(lambda v: v and len(v.encode()) <= 24)
labelled_claims = st.builds(
    LinkClaims,
    # Worst case within one token: 7 + 4 + 3 ids of 6 x 4 bytes + 1 + 2 labels of (2 + 16 + 6 x 4) + 16 = 187.
    business_id=st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=6),
    touchpoint_id=st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=6),
    channel=st.sampled_from(CHANNELS),
    metric=st.sampled_from(METRICS),
    link_id=st.text(st.characters(exclude_categories=("Cs",)), max_size=6),
    minted=st.just(True),
    issued_at=u32,
    expires_at=st.integers(min_value=NOW + 1, max_value=NOW + 365 * DAY),  # what the server accepts at NOW
    key_id=st.integers(min_value=0, max_value=255),
    labels=st.dictionaries(label_names, label_values, min_size=1, max_size=2),
)
LABELS = {"table": "5", "shift": "tối", "area": "Sân vườn"}
# A receipt link with three labels, signed under SECRET: known answer for both recipes.
LABELLED = {
    **KNOWN_ANSWERS[0]["claims"],
    "labels": {"area": "Sân vườn", "shift": "tối", "table": "5"},
}


@given(labelled_claims)
def test_a_labelled_link_verifies_to_the_same_claims_and_re_signs_to_itself(original):
    token = sign(original, SECRET)
    assert len(token) <= MAX_TOKEN_CHARS
    assert verify(token, {original.key_id: SECRET}, NOW) == original
    assert peek(token).labels == original.labels
    assert sign(peek(token), SECRET) == token


def test_a_link_without_labels_is_byte_for_byte_what_it_was_before_labels():
    for vector in KNOWN_ANSWERS:
        assert sign(LinkClaims(**vector["claims"], labels={}), SECRET) == vector["token"]
        assert verify(vector["token"], {vector["claims"]["key_id"]: SECRET}, NOW).labels == {}


def test_labels_are_sorted_by_name_after_link_id_and_flagged_by_bit_6():
    token = sign(LinkClaims(**LABELLED), SECRET)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert raw[2] & 0b0100_0000 and not raw[2] & 0b1000_0000
    unlabelled = base64.urlsafe_b64decode(KNOWN_ANSWERS[0]["token"] + "=" * (-len(KNOWN_ANSWERS[0]["token"]) % 4))
    prefix = unlabelled[:-16]
    assert raw[3:len(prefix)] == prefix[3:]  # header (but the flag), ids: unchanged
    pairs = b"".join(bytes([len(t.encode())]) + t.encode() for t in ("area", "Sân vườn", "shift", "tối", "table", "5"))
    assert raw[len(prefix):-16] == bytes([3]) + pairs


def test_changing_any_character_of_a_labelled_link_invalidates_it():
    token = sign(LinkClaims(**LABELLED), SECRET)
    for i, char in enumerate(token):
        for other in ("A", "z", "-"):
            if other != char:
                with pytest.raises(InvalidToken):
                    verify(token[:i] + other + token[i + 1:], {1: SECRET}, NOW)


@pytest.mark.parametrize(
    "labels",
    [
        {"Table": "5"},  # upper case
        {"1table": "5"},
        {"x" * 17: "5"},
        {"table": ""},
        {"table": " 5"},  # surrounding space: not canonical
        {"table": "5\n"},
        {"table": "a\tb"},
        {"table": "x" * 33},
        {"area": unicodedata.normalize("NFD", "Sân vườn")},  # not NFC
        {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"},
    ],
)
def test_labels_that_break_a_rule_cannot_be_signed(labels):
    with pytest.raises(ValidationError):
        claims(labels=labels)


def test_a_touchpoint_link_carries_no_labels():
    with pytest.raises(ValidationError):
        claims(minted=False, expires_at=None, labels={"table": "5"})


def test_labels_that_overrun_a_256_character_token_cannot_be_signed():
    with pytest.raises(ValidationError):
        claims(labels={name: "ệ" * 32 for name in ("area", "shift", "table", "till")})


def _labelled_body(pairs, count=None, flags=0b0111_0101, ids=(b"biz1", b"tp1", b"HD1")):
    out = body(flags=flags, expires_at=NOW + DAY, ids=ids)
    out += bytes([len(pairs) if count is None else count])
    for name, value in pairs:
        out += bytes([len(name)]) + name + bytes([len(value)]) + value
    return out


@pytest.mark.parametrize(
    "raw",
    [
        _labelled_body([(b"shift", b"t\xe1\xbb\x91i"), (b"table", b"5")]),  # a well-formed control case
    ],
)
def test_hand_built_labelled_bytes_verify(raw):
    assert verify(signed_bytes(raw), {1: SECRET}, NOW).labels == {"shift": "tối", "table": "5"}


@pytest.mark.parametrize(
    "raw",
    [
        _labelled_body([(b"table", b"5"), (b"shift", b"1")]),  # names out of order
        _labelled_body([(b"table", b"5"), (b"table", b"6")]),  # a name twice
        _labelled_body([], count=0),  # flagged, but no label
        _labelled_body([(b"a", b"1"), (b"b", b"2"), (b"c", b"3"), (b"d", b"4"), (b"e", b"5")]),  # five
        _labelled_body([(b"table", b"5")], count=2),  # count overruns
        _labelled_body([(b"Table", b"5")]),
        _labelled_body([(b"table", b"")]),
        _labelled_body([(b"table", b" 5")]),
        _labelled_body([(b"table", b"\xff")]),  # not UTF-8
        _labelled_body([(b"area", "Sân".encode())]) + b"\x00",  # bytes left before the MAC
        _labelled_body([(b"area", unicodedata.normalize("NFD", "Sân").encode())]),  # not NFC
        _labelled_body([(b"table", b"5")], flags=0b0101_0101),  # labels on a touchpoint link
        _labelled_body([(b"table", b"5")], flags=0b1111_0101),  # reserved bit 7
        _labelled_body([(b"table", b"5")])[:-3],  # truncated pair
        body(flags=0b0111_0101, expires_at=NOW + DAY, ids=(b"biz1", b"tp1", b"HD1")),  # flag without a count
    ],
)
def test_malformed_labels_are_invalid_even_with_a_correct_mac(raw):
    assert_only_invalid(signed_bytes(raw))


def test_the_documented_recipes_mint_a_labelled_link_the_server_accepts():
    expected = sign(LinkClaims(**LABELLED), SECRET)
    namespace: dict = {}
    exec(_recipe("python"), namespace)  # noqa: S102 - our own docstring
    c = LABELLED
    # The recipe sorts the labels and composes a value typed with combining marks.
    typed = {"table": "5", "shift": unicodedata.normalize("NFD", "tối"), "area": "Sân vườn"}
    token = namespace["mint"](SECRET, c["key_id"], c["business_id"], c["touchpoint_id"], c["channel"],
                              c["metric"], link_id=c["link_id"], issued_at=c["issued_at"],
                              expires_at=c["expires_at"], labels=typed)
    assert token == expected
    assert verify(token, {c["key_id"]: SECRET}, NOW).labels == LABELLED["labels"]
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the JavaScript recipe was not run")
    camel = {"keyId": c["key_id"], "businessId": c["business_id"], "touchpointId": c["touchpoint_id"],
             "channel": c["channel"], "metric": c["metric"], "linkId": c["link_id"], "issuedAt": c["issued_at"],
             "expiresAt": c["expires_at"], "labels": typed}
    script = _recipe("javascript") + (
        f"\nconsole.log(mint(Buffer.from({json.dumps(SECRET.hex())}, 'hex'), {json.dumps(camel)}));\n"
    )
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30, check=True)
    assert result.stdout.strip() == expected


@given(labelled_claims)
@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
def test_the_documented_python_recipe_agrees_with_sign_on_labelled_links(original):
    namespace: dict = {}
    exec(_recipe("python"), namespace)  # noqa: S102 - our own docstring
    c = original
    token = namespace["mint"](SECRET, c.key_id, c.business_id, c.touchpoint_id, c.channel, c.metric,
                              link_id=c.link_id, minted=c.minted, issued_at=c.issued_at,
                              expires_at=c.expires_at, labels=dict(c.labels))
    assert token == sign(original, SECRET)


@given(st.binary(max_size=60), st.data())
def test_correctly_signed_bytes_with_the_labels_flag_either_fail_cleanly_or_re_sign_to_themselves(raw, data):
    # A valid minted header with an expiry and ids, the labels flag set, then arbitrary label bytes.
    flags = data.draw(st.sampled_from([0b0111_0101, 0b0101_0101, 0b0100_0101]))
    count = data.draw(st.integers(min_value=0, max_value=6))
    token = signed_bytes(body(flags=flags, expires_at=NOW + DAY, ids=(b"biz1", b"tp1", b"HD1")) + bytes([count]) + raw)
    try:
        claims_ = verify(token, {1: SECRET}, NOW)
    except (InvalidToken, Expired):
        return
    assert claims_.labels and sign(claims_, SECRET) == token
