"""The one definition of the DynamoDB table: infra/ renders it into CloudFormation, the local run and
the tests create it from the same dict, so keys, index, stream and TTL cannot drift apart.

Single-table design. Keys (``{biz}`` a business id, ``{day}`` the business's local YYYY-MM-DD):

| item            | PK                         | SK                        | GSI1PK / GSI1SK             |
|-----------------|----------------------------|---------------------------|-----------------------------|
| business        | ``B#{biz}``                | ``META``                  |                             |
| touchpoint      | ``B#{biz}``                | ``TP#{tp}``               |                             |
| response        | ``R#{biz}#{day}``          | ``{created_utc}#{rid}``   | ``E#{biz}#{email_hmac}`` (with email)|
|                 |                            |                           | GSI2 ``P#{biz}#{phone_hmac}`` (phone)|
| link / claim    | ``C#{biz}#{claim}``        | ``C``                     | ``E#{biz}#{email_hmac}`` (with email)|
| idempotency     | ``I#{scope}#{key}``        | ``I``                     |                             |
| funnel counters | ``F#{biz}#{day}``          | ``TP#{tp}``               |                             |
| voucher counts  | ``F#{biz}#{day}``          | ``V`` (issued, redeemed)  |                             |
| apology         | ``A#{biz}#{day}``          | ``{response_id}``         |                             |
| business index  | ``BIZREG#{n}``             | ``{biz}``                 |                             |
| daily report    | ``D#{biz}``                | ``{day}``                 |                             |

Daily reports (``chalicelib/services/reports.py``, ``docs/reports.md``): the hourly job must find every
business without a Scan, so each business is also written, at creation, to one of ``REGISTRY_SHARDS``
index partitions ``BIZREG#{n}`` (``n`` from a hash of the id) with its time zone and the last day reported;
the job Queries the shards. A report is stored under ``D#{biz}`` / ``{day}`` (the report zlib-compressed,
plus the day's compact score tally), so the trailing 7 / 28 day windows and the dashboard's 30-day trend
are one Query each instead of re-reading a month of responses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

TTL_ATTRIBUTE = "expires_at"
GSI1 = "GSI1"
# Issue #16: a customer's phone number, found for erasure the way GSI1 finds an email address. An answer
# may carry both, so the phone needs an index of its own.
GSI2 = "GSI2"

KEY_SCHEMA = [
    {"AttributeName": "PK", "KeyType": "HASH"},
    {"AttributeName": "SK", "KeyType": "RANGE"},
]
ATTRIBUTE_DEFINITIONS = [
    {"AttributeName": "PK", "AttributeType": "S"},
    {"AttributeName": "SK", "AttributeType": "S"},
    {"AttributeName": "GSI1PK", "AttributeType": "S"},
    {"AttributeName": "GSI1SK", "AttributeType": "S"},
    {"AttributeName": "GSI2PK", "AttributeType": "S"},
    {"AttributeName": "GSI2SK", "AttributeType": "S"},
]
GLOBAL_SECONDARY_INDEXES = [
    {
        "IndexName": GSI1,
        "KeySchema": [
            {"AttributeName": "GSI1PK", "KeyType": "HASH"},
            {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
        ],
        # Erasure only needs the keys to find what to erase.
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    },
    {
        "IndexName": GSI2,
        "KeySchema": [
            {"AttributeName": "GSI2PK", "KeyType": "HASH"},
            {"AttributeName": "GSI2SK", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    },
]
STREAM_SPECIFICATION = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


def create_table_kwargs(table_name: str) -> dict[str, Any]:
    """Arguments for boto3's ``create_table`` (local run, tests)."""
    return {
        "TableName": table_name,
        "KeySchema": KEY_SCHEMA,
        "AttributeDefinitions": ATTRIBUTE_DEFINITIONS,
        "GlobalSecondaryIndexes": GLOBAL_SECONDARY_INDEXES,
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": STREAM_SPECIFICATION,
    }


def cloudformation_table(*, deletion_protection: bool) -> dict[str, Any]:
    """The same table as a CloudFormation resource (rendered by ``infra/render.py``)."""
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain" if deletion_protection else "Delete",
        "UpdateReplacePolicy": "Retain" if deletion_protection else "Delete",
        "Properties": {
            "KeySchema": KEY_SCHEMA,
            "AttributeDefinitions": ATTRIBUTE_DEFINITIONS,
            "GlobalSecondaryIndexes": GLOBAL_SECONDARY_INDEXES,
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamViewType": STREAM_SPECIFICATION["StreamViewType"]},
            "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "DeletionProtectionEnabled": deletion_protection,
            "SSESpecification": {"SSEEnabled": True},
        },
    }


class KeyFormat:
    """One key pattern: a prefix (none for a few sort keys) and the named parts joined by ``#``. Every
    partition key, sort key and claim key of the table is one of these below, so the item types and their
    keys are read in one place (``docs/data-model.md`` lists them with their attributes and access
    patterns)."""

    def __init__(self, prefix: str, *parts: str):
        self.prefix = prefix
        self.parts = parts

    def _join(self, values: Sequence[object]) -> str:
        return "#".join([self.prefix, *map(str, values)] if self.prefix else map(str, values))

    @property
    def pattern(self) -> str:
        """The pattern as the docs write it, e.g. ``V#{business_id}#{code}``."""
        return self._join([f"{{{part}}}" for part in self.parts])

    def __call__(self, *values: str | int) -> str:
        if len(values) != len(self.parts):
            raise TypeError(f"{self.pattern} takes {len(self.parts)} parts, got {len(values)}")
        return self._join(values)

    def begins(self, *values: str | int) -> str:
        """The start shared by every key of this pattern whose first parts are ``values`` (``begins_with``)."""
        return self._join([*values, ""])

    def split(self, key: str) -> list[str]:
        """The parts of a key of this pattern, in order (the last part may hold ``#``)."""
        rest = self.rest(key)
        return rest.split("#", len(self.parts) - 1) if rest is not None else []

    def rest(self, key: str, *values: str | int) -> str | None:
        """What follows ``begins(*values)`` in ``key``, or None when ``key`` does not start so."""
        start = self.begins(*values)
        return key[len(start) :] if key.startswith(start) else None


# ---- partition keys -----------------------------------------------------------------------------------
business_pk = KeyFormat("B", "business_id")
response_pk = KeyFormat("R", "business_id", "day")
claim_pk = KeyFormat("C", "business_id", "claim")
email_gsi_pk = KeyFormat("E", "business_id", "email_hash")
phone_gsi_pk = KeyFormat("P", "business_id", "phone_hash")  # GSI2PK, issue #16
idempotency_pk = KeyFormat("I", "scope", "key")
funnel_pk = KeyFormat("F", "business_id", "day")
# A one-minute submission counter (``chalicelib.domain.limits``), SK ``RL``, dropped by TTL.
rate_limit_pk = KeyFormat("RL", "key")

# ---- sort keys ------------------------------------------------------------------------------------------
BUSINESS_SK = "META"
CLAIM_SK = "C"
IDEMPOTENCY_SK = "I"
RATE_LIMIT_SK = "RL"
VOUCHER_SK = "V"  # a voucher, its per-response and per-email markers, and the funnel's voucher counts
touchpoint_sk = KeyFormat("TP", "touchpoint_id")  # under business_pk, and the funnel's per-touchpoint opens
response_sk = KeyFormat("", "created_at", "response_id")  # ``{created_at}#{response_id}``, oldest first

# ---- claim keys (the ``{claim}`` of claim_pk): what makes one answer the only one -----------------------
link_claim = KeyFormat("L", "touchpoint_id", "link_id")  # a minted one-answer link (receipt, email)
nonce_claim = KeyFormat("N", "nonce_id")  # one page view of a shared QR or a widget
touchpoint_respondent_claim = KeyFormat("T", "touchpoint_id", "day", "respondent")  # once a day per browser
site_respondent_claim = KeyFormat("W", "touchpoint_id", "day", "respondent")  # the same, through a site key

# ---- sort keys on the email index (GSI1SK), beside the response's own sort key ---------------------------
link_gsi_sk = KeyFormat("L", "link_id")
voucher_gsi_sk = KeyFormat("V", "code")
apology_gsi_sk = KeyFormat("A", "response_id")
APOLOGY_POINTER_GSI_SK = "AE"


# ---- daily reports ----------------------------------------------------------------------------------

REGISTRY_SHARDS = 10


def registry_shard(business_id: str) -> int:
    import hashlib

    return int.from_bytes(hashlib.sha256(business_id.encode()).digest()[:4], "big") % REGISTRY_SHARDS


registry_pk = KeyFormat("BIZREG", "shard")  # SK the business id
report_pk = KeyFormat("D", "business_id")  # SK the day
# #11 item 7: a signed-out dashboard session (SK ``X``), dropped by TTL when the session would have expired.
revoked_session_pk = KeyFormat("DX", "business_id", "session_id")
REVOKED_SESSION_SK = "X"
apology_pk = KeyFormat("A", "business_id", "day")  # SK the response id


# ---- the closed loop by email (chalicelib/services/followups.py, docs/email.md) ---------------------
# Apology records use ``apology_pk`` above: ``A#{biz}#{day}`` / ``{response_id}`` with email_hash, metric,
# score, touchpoint_id, sent_at and, once the customer answered again happier, recovered_at.
ledger_pk = KeyFormat("M", "dedupe_key")  # one item per email that should go out, status sending/sent/queued
LEDGER_SK = "M"
suppression_pk = KeyFormat("S", "email_hash")  # SK ``*`` (bounce, complaint) or a business id (unsubscribe)
SUPPRESSED_EVERYWHERE = "*"
voucher_pk = KeyFormat("V", "business_id", "code")
voucher_of_response_pk = KeyFormat("VR", "business_id", "response_id", "kind")  # issuing is idempotent
voucher_per_email_pk = KeyFormat("VE", "business_id", "email_hash")  # the last voucher, for per_email_days
apology_pointer_pk = KeyFormat("AE", "business_id", "email_hash")  # the latest apology, for recovery
APOLOGY_POINTER_SK = "A"
alert_window_pk = KeyFormat("AW", "business_id", "window")  # a 5-minute owner-alert counter and batch
ALERT_WINDOW_SK = "AW"
# The ``{dedupe_key}`` of ledger_pk: what makes an email the only one of its kind (an owner's copy adds
# ``#{index}`` of the owner, a single alert past its window ``#more``).
voucher_mail = KeyFormat("voucher", "business_id", "response_id")
apology_mail = KeyFormat("apology", "business_id", "response_id")
alert_mail = KeyFormat("alert", "business_id", "response_id")
alert_batch_mail = KeyFormat("alert-batch", "business_id", "window")
cap_notice_mail = KeyFormat("cap-notice", "business_id", "day")
digest_mail = KeyFormat("digest", "business_id", "day", "owner_hash")

# ---- issue #11 item 4: daily caps on automatic customer emails ------------------------------------------
# ``CAP#{key}`` / ``C`` with a counter ``n``, counted in the same transaction as the email's ledger claim;
# items expire two days later. ``identity`` is a keyed hash of the normalised address, never the address.
cap_pk = KeyFormat("CAP", "key")
CAP_SK = "C"
person_business_cap = KeyFormat("", "business_id", "identity", "day")  # per person per business
person_cap = KeyFormat("*", "identity", "utc_day")  # per person, all businesses
business_cap = KeyFormat("B", "business_id", "day")  # per business

# ---- issue #14: the complaint inbox (chalicelib/services/cases.py, docs/cases.md) ------------------------
# A case per unhappy response, under one partition per business so the inbox lists newest first with a
# Query (no Scan); its SK is the response's own sort key ``{created_at}#{response_id}``. With a consented
# address it carries GSI1PK ``E#{biz}#{email_hash}`` / GSI1SK ``K#{response_id}``: the erasure Query finds it
# and removes the owner's reply texts with the address. A pointer per response id holds the case's sort key
# and the response's day, so reply and resolve find the case from the id in the URL with one read.
case_pk = KeyFormat("K", "business_id")  # SK response_sk
case_ref_pk = KeyFormat("KR", "business_id", "response_id")  # SK ``K``
CASE_REF_SK = "K"
case_gsi_sk = KeyFormat("K", "response_id")
reply_mail = KeyFormat("reply", "business_id", "response_id", "number")  # the n-th reply of a case (1-5)

# ---- issue #14: the owner console's sign-in by emailed link (chalicelib/services/signin.py) --------------
# A link: ``SI#{biz}#{token_hash}`` / ``SI`` with the owner address it was sent to and ``expires_at`` (TTL,
# also checked on use); the token itself is never stored, only its keyed hash. Consumed by a conditional
# delete. The cap on sign-in emails: ``SC#{biz}#{window}`` / ``SC`` with a counter ``n``, dropped by TTL.
signin_link_pk = KeyFormat("SI", "business_id", "token_hash")
SIGNIN_LINK_SK = "SI"
signin_count_pk = KeyFormat("SC", "business_id", "window")
SIGNIN_COUNT_SK = "SC"
signin_mail = KeyFormat("signin", "business_id", "token_hash")  # the ledger's dedupe key of one link's email

# ---- issue #16: the Google Sheets feeds -----------------------------------------------------------------
# A feed lives under its business's partition (``business_pk``), so listing a business's feeds is one Query
# and a revoked feed is simply gone; its read counter of the current hour is on the item.
feed_sk = KeyFormat("FEED", "feed_id")

# ---- issue #16: ratings through Zalo (chalicelib/services/zalo_ratings.py, docs/zalo-ratings.md) -----------
# A rating request: ``ZR#{biz}`` / ``{request_id}`` (the request id is the ZNS tracking id; a receipt's is
# derived from the receipt, so the item itself makes a receipt ask once), with the phone's keyed hash only.
# The poll finds the businesses to poll without a Scan: ``ZRDAY#{utc_day}`` / ``{biz}``, written with each
# request; its watermark: ``ZRW#{biz}`` / ``W``. A rating is stored once by the answer's claim
# ``zalo#{tracking_id}``. Daily caps are ``CAP#`` counters like the mail caps (per phone, per business).
zalo_request_pk = KeyFormat("ZR", "business_id")  # SK request_id
zalo_day_pk = KeyFormat("ZRDAY", "day")  # SK business_id
zalo_watermark_pk = KeyFormat("ZRW", "business_id")
ZALO_WATERMARK_SK = "W"
zalo_rating_claim = KeyFormat("zalo", "tracking_id")
zalo_phone_cap = KeyFormat("ZP", "business_id", "identity", "day")
zalo_business_cap = KeyFormat("ZB", "business_id", "day")
# A phone erased by the owner (``DELETE .../respondents?phone=``): ``ZRX#{biz}#{phone_hash}`` / ``X``; a rating
# request to it is refused. Written for every hash an erasure forgets (an email hash's marker is never read).
zalo_erased_pk = KeyFormat("ZRX", "business_id", "identity")
ZALO_ERASED_SK = "X"
# ---- issue #16: owners' webhooks ------------------------------------------------------------------------
# An endpoint under its business (``business_pk``): listing a business's endpoints is one Query. Its
# delivery log is a partition of its own, newest first, each attempt dropped by TTL after two weeks.
webhook_sk = KeyFormat("WH", "webhook_id")
webhook_log_pk = KeyFormat("WHL", "business_id", "webhook_id")
webhook_log_sk = KeyFormat("", "at", "event_id", "attempt", "nonce")  # nonce: two attempts in one instant
# The ledger's dedupe key of an email that tells the owner something once (a paused endpoint).
owner_notice_mail = KeyFormat("notice", "business_id", "subject")

# ---- issue #16: Zalo ---------------------------------------------------------------------------------------
# A business's Zalo connection (app id, template ids, token expiry, refresh lock) under ``business_pk``; its
# tokens and app secret are in Secrets Manager, never in the table.
ZALO_SK = "ZALO"
# The ledger's dedupe key of a ZNS message (#16), beside the email's: one voucher or apology per answer.
zalo_mail = KeyFormat("zns", "business_id", "kind", "response_id")
