"""Signed link tokens: the ``{token}`` of ``/s/{token}`` printed as a QR code or sent in an email.

A token names one survey link (business, touchpoint, channel, metric and an optional link id such
as a receipt number) and is signed with HMAC-SHA256 under a secret of the business, so a till can
mint one offline and the server can trust it without a database read. Pure stdlib + pydantic.

Format, version 1
=================

All integers are unsigned and big-endian. ``[...]`` is present only when its flag is set.

====================  =====================================================================
byte 0                version, always ``1``
byte 1                key id, 0..255 (which of the business's secrets signed the token)
byte 2                flags:
                      bits 0-1  channel index: qr=0, receipt=1, email=2, web=3
                      bits 2-3  metric index: nps=0, csat=1, ces=2 (3 is invalid)
                      bit 4     kind: 0 = touchpoint link (many responses), 1 = minted link (one)
                      bit 5     has_expiry
                      bit 6     has_labels (issue #15; only on a minted link)
                      bit 7     zero (reserved)
bytes 3-6             issued_at, u32, unix seconds
[4 bytes]             expires_at, u32, unix seconds (only when has_expiry)
1 byte + n bytes      business_id: its UTF-8 length n (1..64), then its UTF-8 bytes
1 byte + n bytes      touchpoint_id: likewise (1..64)
1 byte + n bytes      link_id: likewise, may be empty (0..64)
[1 byte]              label count, 1..4 (only when has_labels)
[pairs]               per label, sorted by name, no name twice: 1 byte + n bytes of its name
                      (``^[a-z][a-z0-9_]{0,15}$``), then 1 byte + n bytes of its value (UTF-8,
                      NFC, 1..32 characters on one line, no control characters, no surrounding
                      spaces)
last 16 bytes         MAC = HMAC-SHA256(secret, every preceding byte), first 16 bytes
====================  =====================================================================

Labels (``{"table": "5", "shift": "tối"}``) say where and when the link was handed out; the answer keeps
them (overlaid on its touchpoint's). A token without labels is byte for byte what it was before labels
existed, so every token already printed verifies and re-signs to itself.

token = base64url (RFC 4648 section 5, alphabet ``A-Z a-z 0-9 - _``) of all the bytes, without
``=`` padding. A token is at most 256 characters (so the three ids together may use at most 162
UTF-8 bytes with an expiry, 166 without, less what labels take: 1 + the sum of 2 + name + value
bytes). A link with a 10-character business id, 8-character
touchpoint id, a 20-character receipt number and an expiry is 68 bytes, 91 characters.

The server rejects, as ``InvalidToken``: more than 256 characters; any character outside the
alphabet (including ``=``, ``+``, ``/`` and whitespace); non-canonical base64 (unused low bits of
the last character not zero); an unknown version; reserved flag bits set; metric index 3; a length
that overruns the buffer; bytes left over between link_id (or the last label) and the MAC; ids that
are not UTF-8; an empty business_id or touchpoint_id; labels on a touchpoint link; a label count of 0
or over 4; a label name or value that breaks its rule or is not in canonical form; names not in
strictly increasing order; an unknown key id; a wrong MAC. A correctly signed token whose
``expires_at`` is at or before the current time is ``Expired``. Exactly one byte string encodes a
given set of claims, so every token that verifies re-signs to itself.

Since issue #11 (:func:`check_lifetime`): a minted token (bit 4 set) must carry an expiry at most 365
days (plus one day of clock skew) ahead of the server's clock, or it is refused (``InvalidToken`` with
code ``token_expiry_required`` / ``token_expiry_too_far``); key ids 128..255 are POS keys, handed to
tills, and a touchpoint token (bit 4 clear) signed with one is refused (``pos_key_not_allowed``).

Minting on a till, Python (stdlib only)::

    # --- python recipe ---
    import base64, hashlib, hmac, struct, unicodedata

    CHANNELS = ("qr", "receipt", "email", "web")
    METRICS = ("nps", "csat", "ces")

    def field(text):
        raw = text.encode("utf-8")
        return bytes([len(raw)]) + raw

    def mint(secret, key_id, business_id, touchpoint_id, channel, metric, link_id="",
             minted=True, issued_at=0, expires_at=None, labels=None):
        pairs = sorted((labels or {}).items())  # e.g. {"table": "5", "shift": "tối"}
        flags = (CHANNELS.index(channel) | METRICS.index(metric) << 2 | int(minted) << 4
                 | int(expires_at is not None) << 5 | int(bool(pairs)) << 6)
        out = bytes([1, key_id, flags]) + struct.pack(">I", issued_at)
        if expires_at is not None:
            out += struct.pack(">I", expires_at)
        out += field(business_id) + field(touchpoint_id) + field(link_id)
        if pairs:
            out += bytes([len(pairs)]) + b"".join(
                field(name) + field(unicodedata.normalize("NFC", value)) for name, value in pairs)
        out += hmac.new(secret, out, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(out).rstrip(b"=").decode("ascii")
    # --- end ---

Minting on a till, JavaScript (Node 16+; ``secret`` is a Buffer of the secret's raw bytes)::

    // --- javascript recipe ---
    const crypto = require("node:crypto");
    const CHANNELS = ["qr", "receipt", "email", "web"], METRICS = ["nps", "csat", "ces"];

    function u32(n) { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; }
    function field(text) { const raw = Buffer.from(text, "utf8"); return [Buffer.from([raw.length]), raw]; }

    function mint(secret, { keyId, businessId, touchpointId, channel, metric, linkId = "",
                            minted = true, issuedAt = 0, expiresAt = null, labels = {} }) {
      const hasExpiry = expiresAt !== null && expiresAt !== undefined;
      const pairs = Object.entries(labels || {}).sort(([a], [b]) => (a < b ? -1 : 1)); // {table: "5"}
      const flags = CHANNELS.indexOf(channel) | (METRICS.indexOf(metric) << 2)
                  | (minted ? 16 : 0) | (hasExpiry ? 32 : 0) | (pairs.length ? 64 : 0);
      const parts = [Buffer.from([1, keyId, flags]), u32(issuedAt)];
      if (hasExpiry) parts.push(u32(expiresAt));
      parts.push(...field(businessId), ...field(touchpointId), ...field(linkId));
      if (pairs.length) parts.push(Buffer.from([pairs.length]));
      for (const [name, value] of pairs) parts.push(...field(name), ...field(value.normalize("NFC")));
      const body = Buffer.concat(parts);
      const mac = crypto.createHmac("sha256", secret).update(body).digest().subarray(0, 16);
      return Buffer.concat([body, mac]).toString("base64url");  // "base64url" never pads
    }
    // --- end ---

The recipes do not validate: the caller keeps the ids and labels within the limits above (labels
only on a minted link; the recipes NFC-normalise values, not surrounding spaces), the times within
0..2**32-1 and ``issued_at`` at the current unix time (``Math.floor(Date.now() / 1000)``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from chalicelib.domain import keys as _keys
from chalicelib.domain import labels as _labels
from chalicelib.errors import Expired, InvalidToken

Channel = Literal["qr", "receipt", "email", "web"]
Metric = Literal["nps", "csat", "ces"]
CHANNELS: tuple[Channel, ...] = ("qr", "receipt", "email", "web")
METRICS: tuple[Metric, ...] = ("nps", "csat", "ces")

VERSION = 1
MAC_BYTES = 16
MAX_ID_BYTES = 64
MAX_TOKEN_CHARS = 256
MIN_SECRET_BYTES = 16
# Bytes the base64url text of MAX_TOKEN_CHARS characters can hold.
MAX_TOKEN_BYTES = MAX_TOKEN_CHARS * 3 // 4

_U32_MAX = 2**32 - 1
_HEADER = struct.Struct(">BBBI")  # version, key id, flags, issued_at
_U32 = struct.Struct(">I")
_CHANNEL_MASK, _METRIC_SHIFT, _METRIC_MASK = 0b11, 2, 0b11
_MINTED, _HAS_EXPIRY, _HAS_LABELS, _RESERVED = 1 << 4, 1 << 5, 1 << 6, 1 << 7
# Header, three empty-string length bytes with non-empty business and touchpoint ids, MAC.
_MIN_TOKEN_BYTES = _HEADER.size + 3 + 2 + MAC_BYTES

_INVALID = "This link is not valid."
_EXPIRED = "This link has expired."


class LinkClaims(BaseModel, frozen=True, strict=True, extra="forbid"):
    """What a token says. Building one validates it: every LinkClaims can be signed."""

    business_id: str
    touchpoint_id: str
    channel: Channel
    metric: Metric
    link_id: str = ""  # receipt number or random id; empty for a static touchpoint link
    minted: bool = False  # True: a link minted for one response; False: a touchpoint link
    issued_at: int = Field(ge=0, le=_U32_MAX)
    expires_at: int | None = Field(default=None, ge=0, le=_U32_MAX)
    key_id: int = Field(default=0, ge=0, le=255)
    # Issue #15: where and when a minted link was handed out ({"table": "5"}); a touchpoint link has none
    # (its labels are the touchpoint's, read when it is answered).
    labels: dict[str, str] = {}

    @field_validator("business_id", "touchpoint_id")
    @classmethod
    def _required_id(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return _checked_id(value)

    @field_validator("link_id")
    @classmethod
    def _optional_id(cls, value: str) -> str:
        return _checked_id(value)

    @field_validator("labels")
    @classmethod
    def _canonical_labels(cls, value: dict[str, str]) -> dict[str, str]:
        # Sorted here (a dict's order means nothing); a value must already be clean, so that what is
        # signed is exactly what was asked for.
        ordered = {name: value[name] for name in sorted(value)}
        if not _labels.is_canonical(ordered):
            raise ValueError(
                f"labels: at most {_labels.MAX_LABELS}, names {_labels.NAME_PATTERN}, values of "
                f"1-{_labels.MAX_VALUE_CHARS} characters on one line, NFC, without surrounding spaces"
            )
        return ordered

    @model_validator(mode="after")
    def _fits_a_token(self) -> LinkClaims:
        if self.labels and not self.minted:
            raise ValueError("only a minted link carries labels; a touchpoint link takes its touchpoint's")
        if _token_bytes(self) > MAX_TOKEN_BYTES:
            raise ValueError(f"the ids together are too long for a {MAX_TOKEN_CHARS}-character token")
        return self


def _checked_id(value: str) -> str:
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:  # lone surrogates
        raise ValueError("must be valid Unicode text") from None
    if size > MAX_ID_BYTES:
        raise ValueError(f"must be at most {MAX_ID_BYTES} bytes of UTF-8")
    return value


def _token_bytes(claims: LinkClaims) -> int:
    texts = [claims.business_id, claims.touchpoint_id, claims.link_id, *_label_texts(claims.labels)]
    return (_HEADER.size + (_U32.size if claims.expires_at is not None else 0) + (1 if claims.labels else 0)
            + sum(1 + len(text.encode("utf-8")) for text in texts) + MAC_BYTES)


def _label_texts(labels: Mapping[str, str]) -> list[str]:
    return [text for name in sorted(labels) for text in (name, labels[name])]


def new_secret() -> bytes:
    """A fresh 256-bit signing secret for a business."""
    return secrets.token_bytes(32)


def sign(claims: LinkClaims, secret: bytes) -> str:
    """The token for ``claims`` under ``secret`` (which must be the business's key ``claims.key_id``)."""
    if not isinstance(secret, bytes | bytearray) or len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"secret must be at least {MIN_SECRET_BYTES} bytes")
    body = _encode_body(claims)
    return _keys.b64url(body + _mac(secret, body))


def peek(token: str) -> LinkClaims:
    """The claims of ``token`` WITHOUT checking its signature or expiry.

    Only for deciding whose keys to load before :func:`verify`; never trust what it returns.
    Raises InvalidToken if the token is malformed.
    """
    return _parse(_unb64url(token))


def verify(token: str, keys: Mapping[int, bytes], now: int) -> LinkClaims:
    """The claims of ``token`` once its MAC checks out under ``keys[key id]`` and it has not expired.

    ``keys`` maps key ids to the business's secrets; during a rotation it holds both the old and the
    new key. Raises InvalidToken (malformed, unknown key id, wrong MAC) or, for a genuine token whose
    ``expires_at`` is at or before ``now``, Expired. The signature is checked before anything else
    is believed, so a forged token never reports that it expired.
    """
    raw = _unb64url(token)
    if len(raw) < _MIN_TOKEN_BYTES or raw[0] != VERSION:
        raise InvalidToken(_INVALID)
    secret = keys.get(raw[1])
    if secret is None:
        raise InvalidToken(_INVALID)
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if not hmac.compare_digest(_mac(secret, body), mac):
        raise InvalidToken(_INVALID)
    claims = _parse(raw)
    if claims.expires_at is not None and now >= claims.expires_at:
        raise Expired(_EXPIRED)
    check_lifetime(claims, now)
    return claims


# ---- #11 item 7: minted tokens expire, and a till's key signs only what a till may sign -----------------

MAX_MINTED_DAYS = 365
DEFAULT_MINTED_DAYS = 90
# A till's clock may run a little fast: an expiry this much past the limit is still accepted.
CLOCK_SKEW_SECONDS = 86400
# Key ids 128..255 are POS keys (handed to tills); 0..127 never leave the server and are the only ones
# that sign printed touchpoint QR codes. Retiring a stolen till's key then leaves every table card valid.
POS_KEY_IDS = range(128, 256)
SERVER_KEY_IDS = range(0, 128)
_DAY = 86400


def is_pos_key(key_id: int) -> bool:
    return key_id in POS_KEY_IDS


def check_lifetime(claims: LinkClaims, now: int) -> None:
    """Refuse (InvalidToken, with its own code) a genuine token the rules no longer allow: a minted link
    without an expiry or with one more than MAX_MINTED_DAYS ahead (its one-answer claim could not be kept
    that long), and a touchpoint link signed with a POS key (a till mints receipts, never table cards)."""
    if not claims.minted:
        if is_pos_key(claims.key_id):
            raise InvalidToken(
                "A till's key cannot sign a touchpoint link; use the touchpoint's QR code.", code="pos_key_not_allowed"
            )
        return
    if claims.expires_at is None:
        raise InvalidToken(
            f"This link has no expiry: minted and POS links must expire within {MAX_MINTED_DAYS} days.",
            code="token_expiry_required",
        )
    if claims.expires_at > now + MAX_MINTED_DAYS * _DAY + CLOCK_SKEW_SECONDS:
        raise InvalidToken(
            f"This link expires too far ahead: minted and POS links must expire within {MAX_MINTED_DAYS} days.",
            code="token_expiry_too_far",
        )


def claim_expires_at(claims: LinkClaims, now: int, edit_window_seconds: int) -> int:
    """When the one-answer claim of a response to ``claims`` may be dropped (its TTL): never before the
    token expires plus the edit window plus a day, so a receipt can never be answered twice. A touchpoint
    link's claims are per page view and need only outlive the edit window."""
    floor = now + max(2 * _DAY, edit_window_seconds + _DAY)
    if claims.expires_at is None:
        return floor
    return max(floor, claims.expires_at + edit_window_seconds + _DAY)


# ---- encoding ------------------------------------------------------------------------------------


def _encode_body(claims: LinkClaims) -> bytes:
    flags = CHANNELS.index(claims.channel) | METRICS.index(claims.metric) << _METRIC_SHIFT
    if claims.minted:
        flags |= _MINTED
    if claims.expires_at is not None:
        flags |= _HAS_EXPIRY
    if claims.labels:
        flags |= _HAS_LABELS
    out = bytearray(_HEADER.pack(VERSION, claims.key_id, flags, claims.issued_at))
    if claims.expires_at is not None:
        out += _U32.pack(claims.expires_at)
    texts = [claims.business_id, claims.touchpoint_id, claims.link_id]
    if claims.labels:
        texts += _label_texts(claims.labels)
    for index, text in enumerate(texts):
        if index == 3:  # the label count goes between link_id and the first label
            out.append(len(claims.labels))
        raw = text.encode("utf-8")
        out.append(len(raw))
        out += raw
    return bytes(out)


def _mac(secret: bytes, body: bytes) -> bytes:
    return hmac.new(secret, body, hashlib.sha256).digest()[:MAC_BYTES]


def _unb64url(token: str) -> bytes:
    """Strict base64url (:func:`keys.unb64url`), its length bounded before anything is decoded."""
    raw = _keys.unb64url(token) if isinstance(token, str) and len(token) <= MAX_TOKEN_CHARS else None
    if raw is None:
        raise InvalidToken(_INVALID)
    return raw


# ---- decoding ------------------------------------------------------------------------------------


def _parse(raw: bytes) -> LinkClaims:
    """Claims from a token's bytes (MAC not checked); InvalidToken for anything out of place."""
    if len(raw) < _MIN_TOKEN_BYTES:
        raise InvalidToken(_INVALID)
    version, key_id, flags, issued_at = _HEADER.unpack_from(raw, 0)
    metric_index = flags >> _METRIC_SHIFT & _METRIC_MASK
    if version != VERSION or flags & _RESERVED or metric_index >= len(METRICS):
        raise InvalidToken(_INVALID)
    end = len(raw) - MAC_BYTES
    pos = _HEADER.size
    expires_at = None
    if flags & _HAS_EXPIRY:
        if pos + _U32.size > end:
            raise InvalidToken(_INVALID)
        (expires_at,) = _U32.unpack_from(raw, pos)
        pos += _U32.size
    ids = []
    for _ in range(3):
        text, pos = _read_text(raw, pos, end, MAX_ID_BYTES)
        ids.append(text)
    labels: dict[str, str] = {}
    if flags & _HAS_LABELS:
        if pos >= end or not 1 <= raw[pos] <= _labels.MAX_LABELS:
            raise InvalidToken(_INVALID)
        count, pos = raw[pos], pos + 1
        for _ in range(count):
            name, pos = _read_text(raw, pos, end, _labels.MAX_NAME_CHARS)
            value, pos = _read_text(raw, pos, end, 4 * _labels.MAX_VALUE_CHARS)
            if labels and name <= max(labels):  # sorted, each name once: one encoding per set of labels
                raise InvalidToken(_INVALID)
            labels[name] = value
        if not _labels.is_canonical(labels):
            raise InvalidToken(_INVALID)
    if pos != end:  # bytes between link_id (or the last label) and the MAC
        raise InvalidToken(_INVALID)
    business_id, touchpoint_id, link_id = ids
    try:
        return LinkClaims(
            business_id=business_id,
            touchpoint_id=touchpoint_id,
            channel=CHANNELS[flags & _CHANNEL_MASK],
            metric=METRICS[metric_index],
            link_id=link_id,
            minted=bool(flags & _MINTED),
            issued_at=issued_at,
            expires_at=expires_at,
            key_id=key_id,
            labels=labels,
        )
    except ValidationError:  # empty business or touchpoint id, labels on a touchpoint link
        raise InvalidToken(_INVALID) from None


def _read_text(raw: bytes, pos: int, end: int, max_bytes: int) -> tuple[str, int]:
    """The length-prefixed UTF-8 text at ``pos`` and the position after it."""
    if pos >= end:
        raise InvalidToken(_INVALID)
    size = raw[pos]
    pos += 1
    if size > max_bytes or pos + size > end:
        raise InvalidToken(_INVALID)
    try:
        return raw[pos:pos + size].decode("utf-8"), pos + size
    except UnicodeDecodeError:
        raise InvalidToken(_INVALID) from None
