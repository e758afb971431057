"""The one definition of the DynamoDB table: infra/ renders it into CloudFormation, the local run and
the tests create it from the same dict, so keys, index, stream and TTL cannot drift apart.

Single-table design. Keys (``{biz}`` a business id, ``{day}`` the business's local YYYY-MM-DD):

| item            | PK                         | SK                        | GSI1PK / GSI1SK             |
|-----------------|----------------------------|---------------------------|-----------------------------|
| business        | ``B#{biz}``                | ``META``                  |                             |
| touchpoint      | ``B#{biz}``                | ``TP#{tp}``               |                             |
| response        | ``R#{biz}#{day}``          | ``{created_utc}#{rid}``   | ``E#{biz}#{email_hmac}`` (with email)|
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

from typing import Any

TTL_ATTRIBUTE = "expires_at"
GSI1 = "GSI1"

KEY_SCHEMA = [
    {"AttributeName": "PK", "KeyType": "HASH"},
    {"AttributeName": "SK", "KeyType": "RANGE"},
]
ATTRIBUTE_DEFINITIONS = [
    {"AttributeName": "PK", "AttributeType": "S"},
    {"AttributeName": "SK", "AttributeType": "S"},
    {"AttributeName": "GSI1PK", "AttributeType": "S"},
    {"AttributeName": "GSI1SK", "AttributeType": "S"},
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
    }
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


def business_pk(business_id: str) -> str:
    return f"B#{business_id}"


def response_pk(business_id: str, day: str) -> str:
    return f"R#{business_id}#{day}"


def claim_pk(business_id: str, claim: str) -> str:
    return f"C#{business_id}#{claim}"


def email_gsi_pk(business_id: str, email_hash: str) -> str:
    return f"E#{business_id}#{email_hash}"


def idempotency_pk(scope: str, key: str) -> str:
    return f"I#{scope}#{key}"


def funnel_pk(business_id: str, day: str) -> str:
    return f"F#{business_id}#{day}"


def rate_limit_pk(key: str) -> str:
    """A one-minute submission counter (``chalicelib.domain.limits``), SK ``RL``, dropped by TTL."""
    return f"RL#{key}"


# ---- daily reports ----------------------------------------------------------------------------------

REGISTRY_SHARDS = 10


def registry_shard(business_id: str) -> int:
    import hashlib

    return int.from_bytes(hashlib.sha256(business_id.encode()).digest()[:4], "big") % REGISTRY_SHARDS


def registry_pk(shard: int) -> str:
    return f"BIZREG#{shard}"


def report_pk(business_id: str) -> str:
    return f"D#{business_id}"


# #11 item 7: a signed-out dashboard session (SK ``X``), dropped by TTL when the session would have expired.
def revoked_session_pk(business_id: str, session_id: str) -> str:
    return f"DX#{business_id}#{session_id}"


def apology_pk(business_id: str, day: str) -> str:
    return f"A#{business_id}#{day}"


# ---- the closed loop by email (chalicelib/services/followups.py, docs/email.md) ---------------------
# | item               | PK                          | SK              | notes                                   |
# | sent-email ledger  | ``M#{dedupe_key}``          | ``M``           | status sending/sent/queued, TTL 90 d    |
# | suppression        | ``S#{email_hmac}``          | ``*`` or biz id | ``*`` bounce/complaint, biz unsubscribe |
# | voucher            | ``V#{biz}#{code}``          | ``V``           | valid_until; TTL 180 d after it         |
# | voucher of a resp. | ``VR#{biz}#{rid}#{kind}``   | ``V``           | makes issuing idempotent per response   |
# | voucher per email  | ``VE#{biz}#{email_hmac}``   | ``V``           | last answer voucher, for per_email_days |
# | apology pointer    | ``AE#{biz}#{email_hmac}``   | ``A``           | latest apology, finds it for recovery   |
# | alert window       | ``AW#{biz}#{window}``       | ``AW``          | 5-minute owner-alert counter and batch  |
# Apology records use ``apology_pk`` above: ``A#{biz}#{day}`` / ``{response_id}`` with email_hash, metric,
# score, touchpoint_id, sent_at and, once the customer answered again happier, recovered_at.


def ledger_pk(dedupe_key: str) -> str:
    return f"M#{dedupe_key}"


def suppression_pk(email_hash: str) -> str:
    return f"S#{email_hash}"


def voucher_pk(business_id: str, code: str) -> str:
    return f"V#{business_id}#{code}"


def voucher_of_response_pk(business_id: str, response_id: str, kind: str) -> str:
    return f"VR#{business_id}#{response_id}#{kind}"


def voucher_per_email_pk(business_id: str, email_hash: str) -> str:
    return f"VE#{business_id}#{email_hash}"


def apology_pointer_pk(business_id: str, email_hash: str) -> str:
    return f"AE#{business_id}#{email_hash}"


def alert_window_pk(business_id: str, window: int) -> str:
    return f"AW#{business_id}#{window}"
