#!/usr/bin/env python3
"""Mint a receipt's survey link on the till, offline (Python 3.8+, standard library only).

The till keeps the business's POS secret (GET /v1/businesses/{biz}/pos-secret) and signs one token per
receipt, so printing a receipt never waits for the network. Print the URL as a QR code.

    export SURVEYS_POS_SECRET=...   # "secret" from the pos-secret route (base64url)
    python3 pos_mint.py --base-url https://surveys.example --key-id 128 --business BIZ \\
        --touchpoint TP --metric csat --receipt HD-2026-000123 --label till=2 --label shift=tối
"""

import argparse
import base64
import hashlib
import hmac
import os
import struct
import sys
import time
import unicodedata

CHANNELS = ("qr", "receipt", "email", "web")
METRICS = ("nps", "csat", "ces")


def field(text):
    raw = text.encode("utf-8")
    return bytes([len(raw)]) + raw


def mint(secret, key_id, business_id, touchpoint_id, channel, metric, link_id, issued_at, days=90, labels=None):
    """The token format of chalicelib/domain/tokens.py, version 1 (HMAC-SHA256, 16-byte MAC).
    A receipt link always expires: the server refuses one without an expiry or more than 365 days ahead.
    ``labels`` (at most 4, e.g. {"till": "2", "shift": "tối"}) are signed into the link, sorted by name."""
    if not 1 <= days <= 365:
        raise ValueError("days must be 1..365")
    pairs = sorted((labels or {}).items())
    flags = CHANNELS.index(channel) | METRICS.index(metric) << 2 | 1 << 4 | 1 << 5  # minted, has expiry
    flags |= int(bool(pairs)) << 6  # has labels
    out = bytes([1, key_id, flags]) + struct.pack(">II", issued_at, issued_at + days * 86400)
    for text in (business_id, touchpoint_id, link_id):
        out += field(text)
    if pairs:  # the label count, then each name and value
        out += bytes([len(pairs)])
        for name, value in pairs:
            out += field(name) + field(unicodedata.normalize("NFC", value))
    out += hmac.new(secret, out, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(out).rstrip(b"=").decode("ascii")


def main():
    p = argparse.ArgumentParser(description="Mint a signed survey link for one receipt, offline.")
    p.add_argument("--base-url", default="https://surveys.example", help="the API's public address")
    p.add_argument("--key-id", type=int, required=True, help='"key_id" from the pos-secret route')
    p.add_argument("--business", required=True)
    p.add_argument("--touchpoint", required=True, help="a touchpoint of channel receipt")
    p.add_argument("--metric", required=True, choices=METRICS, help="the touchpoint's metric")
    p.add_argument("--channel", default="receipt", choices=CHANNELS)
    p.add_argument("--receipt", required=True, help="the receipt number: one receipt, one answer")
    p.add_argument("--days", type=int, default=90, help="how long the link takes an answer (1-365)")
    p.add_argument("--now", type=int, default=None, help="unix time (tests); default: the till's clock")
    p.add_argument("--label", action="append", default=[], metavar="NAME=VALUE",
                   help="a label of where and when (till=2, shift=tối); up to 4, names a-z 0-9 _")
    args = p.parse_args()
    labels = dict(item.partition("=")[::2] for item in args.label)
    if len(labels) != len(args.label) or len(labels) > 4 or not all(labels.values()):
        sys.exit("--label is NAME=VALUE, at most 4, each name once.")
    secret_text = os.environ.get("SURVEYS_POS_SECRET", "")
    if not secret_text:
        sys.exit("Set SURVEYS_POS_SECRET to the secret from GET /v1/businesses/{biz}/pos-secret.")
    secret = base64.urlsafe_b64decode(secret_text + "=" * (-len(secret_text) % 4))
    now = int(time.time()) if args.now is None else args.now
    if not 1 <= args.days <= 365:
        sys.exit("--days must be 1..365: the server refuses a receipt link without an expiry or past a year.")
    token = mint(secret, args.key_id, args.business, args.touchpoint, args.channel, args.metric,
                 link_id=args.receipt, issued_at=now, days=args.days, labels=labels)
    print(args.base_url.rstrip("/") + "/s/" + token)


if __name__ == "__main__":
    main()
