"""Pydantic models: what the API accepts, what it answers, and the entities the services keep.

Pure: no I/O. The OpenAPI description is generated from these, so they are the contract.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Annotated, Any, ClassVar, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    model_validator,
)

from chalicelib.domain import addresses, phones, reasons, tokens, topics
from chalicelib.domain import labels as _labels

Metric = Literal["nps", "csat", "ces"]
LinkChannel = Literal["qr", "receipt", "email", "web"]  # the channels a link (token) can name
# Issue #16: "zalo" answers come from Zalo's rating API into a touchpoint made for them; it has no link.
Channel = Literal["qr", "receipt", "email", "web", "zalo"]
Locale = Literal["vi", "en"]

MAX_COMMENT_CHARS = 2000
MAX_LINKS_PER_REQUEST = 1000

_ID_RE = re.compile(r"^[0-9a-z]{6,16}$")
_RECEIPT_RE = re.compile(r"^[A-Za-z0-9._:/#-]{1,40}$")
# C0/C1 controls except tab and newline have no place in a human comment or name.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def is_object_id(value: str) -> bool:
    """An id this service made (businesses, touchpoints): what a path parameter must look like."""
    return bool(_ID_RE.match(value))


def _email(value: str) -> str:
    if not addresses.is_plain_address(value):
        raise ValueError("must be a plain email address like name@example.com")
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def _text(value: str) -> str:
    # NFC so that Vietnamese typed on different keyboards (precomposed or combining) compares equal.
    value = unicodedata.normalize("NFC", value)
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _single_line(value: str) -> str:
    value = _text(value).strip()
    if "\n" in value or "\t" in value:
        raise ValueError("must be a single line")
    if not value:
        raise ValueError("must not be blank")
    return value


def _timezone(value: str) -> str:
    if value not in _ZONES():
        raise ValueError("must be an IANA time zone such as Asia/Ho_Chi_Minh")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone such as Asia/Ho_Chi_Minh") from None
    return value


_zones_cache: set[str] = set()


def _ZONES() -> set[str]:  # noqa: N802 - reads like the constant it caches
    if not _zones_cache:
        _zones_cache.update(available_timezones())
    return _zones_cache


def _origin(value: str) -> str:
    value = addresses.normalize_origin(value)
    if not addresses.is_origin(value):
        raise ValueError("must be an origin like https://shop.example (scheme, host, optional port)")
    return value


def _phone(value: str) -> str:
    return phones.normalize(value)


Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
# Issue #16: stored and sent as E.164 (``+84912345678``), however the customer typed it.
Phone = Annotated[str, Field(max_length=phones.MAX_INPUT_CHARS), AfterValidator(_phone)]
Comment = Annotated[str, Field(max_length=MAX_COMMENT_CHARS), AfterValidator(_text)]
Name = Annotated[str, Field(min_length=1, max_length=120), AfterValidator(_single_line)]
TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_timezone)]
Origin = Annotated[str, Field(max_length=200), AfterValidator(_origin)]
ObjectId = Annotated[str, Field(pattern=_ID_RE.pattern, description="A 6-16 character lowercase id")]
ReceiptId = Annotated[str, Field(pattern=_RECEIPT_RE.pattern, description="The POS receipt number")]
Score = Annotated[StrictInt, Field(ge=0, le=10, description="0-10 for NPS, 1-5 for CSAT, 1-7 for CES")]
# A chosen reason: which keys an answer may name depends on its touchpoint and mood (422 unknown_reason).
ReasonKey = Annotated[str, Field(min_length=1, max_length=40, description="A reason chip's key")]
ChosenReasons = Annotated[
    list[ReasonKey],
    Field(max_length=reasons.MAX_CHIPS, description="Reason chips chosen, offered for the answer's mood"),
]


_DAY_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _iso_day(value: object) -> object:
    # Only YYYY-MM-DD: pydantic alone would also read "0" or "0.0" as 1970-01-01 (a Unix timestamp).
    if isinstance(value, str) and not _DAY_RE.match(value):
        raise ValueError("must be a date like 2026-11-23")
    return value


# From 2000 on: a listing walks back one day at a time from `to`, and a range starting at 0001-01-01
# stepped below date.min (a 500, found by schemathesis). No response predates the service anyway.
def _day_in_range(value: date) -> date:
    if not date(2000, 1, 1) <= value <= date(2999, 12, 31):
        raise ValueError("must be a date from 2000-01-01 to 2999-12-31")
    return value


Day = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_day_in_range)]


# Issue #15: the owner's labels of where and when ({"table": "5", "shift": "tối"}): domain/labels.py.
LabelName = Annotated[str, Field(pattern=_labels.NAME_PATTERN)]
# The length is checked by clean_value after NFC (Vietnamese typed with combining marks is longer until
# composed); the schema still tells clients the limit.
LabelValue = Annotated[
    str, Field(json_schema_extra={"minLength": 1, "maxLength": _labels.MAX_VALUE_CHARS}),
    AfterValidator(_labels.clean_value),
]
Labels = Annotated[
    dict[LabelName, LabelValue],
    Field(max_length=_labels.MAX_LABELS, description="Up to 4 labels such as table, area, staff, shift, till"),
    AfterValidator(_labels.cleaned),
]


def _empty_to_none(value: object) -> object:
    return None if value == "" else value


class Out(BaseModel):
    # Validators are built on first use, so a cold start pays only for the models its route touches.
    model_config = ConfigDict(defer_build=True)


class Strict(Out):
    # Unknown fields are refused: a typo in a POS integration should fail loudly, not be ignored.
    model_config = ConfigDict(extra="forbid", str_max_length=4096, defer_build=True)


# ---- public submission --------------------------------------------------------------------------


class ResponseIn(Strict):
    token: Annotated[str | None, Field(max_length=256)] = None
    site_key: Annotated[str | None, Field(max_length=128)] = None
    metric: Metric | None = None
    score: Score
    comment: Annotated[Comment | None, BeforeValidator(_empty_to_none)] = None
    email: Annotated[Email | None, BeforeValidator(_empty_to_none)] = None
    consent: StrictBool = False
    locale: Locale | None = None
    respondent_id: Annotated[str | None, Field(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] = None
    touchpoint_id: ObjectId | None = None
    # Sent by the widget: milliseconds from showing the question to the tap, and its hidden honeypot field.
    elapsed_ms: Annotated[StrictInt | None, Field(ge=0, le=2**31 - 1)] = None
    website: Annotated[str | None, Field(max_length=200)] = None
    # #11 item 1: the page view's nonce (survey page form, widget site config); needed with a touchpoint
    # link or a site key, not with a minted link.
    nonce: Annotated[str | None, Field(max_length=256)] = None
    reasons: ChosenReasons = []


class ResponseCreated(Out):
    response_id: str
    edit_token: str
    unhappy: bool


class CommentIn(Strict):
    edit_token: Annotated[str, Field(min_length=1, max_length=256)]
    comment: Annotated[Comment | None, BeforeValidator(_empty_to_none)] = None
    email: Annotated[Email | None, BeforeValidator(_empty_to_none)] = None
    # Issue #16: a phone number for Zalo messages, as well as or instead of the email; ``consent`` covers both.
    phone: Annotated[Phone | None, BeforeValidator(_empty_to_none)] = None
    consent: StrictBool = False
    # Replaces the chosen set (an empty list clears it); left out, the chosen set stays.
    reasons: ChosenReasons | None = None


class CommentSaved(Out):
    response_id: str
    comment_saved: bool
    email_saved: bool
    reasons_saved: bool = False
    phone_saved: bool = False


# ---- owner API ----------------------------------------------------------------------------------


class VoucherPolicy(Strict):
    description: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_single_line)]
    valid_days: Annotated[StrictInt, Field(ge=1, le=365)] = 30
    per_email_days: Annotated[StrictInt, Field(ge=0, le=365)] = 30
    recovery: StrictBool = False


OwnerEmails = Annotated[list[Email], Field(min_length=1, max_length=10)]
Origins = Annotated[list[Origin], Field(max_length=20)]


def _distinct_keywords(value: list[str]) -> list[str]:
    seen: set[str] = set()
    for keyword in value:
        if keyword.casefold() in seen:
            raise ValueError(f"{keyword!r} is listed twice")
        seen.add(keyword.casefold())
    return value


TopicKeyword = Annotated[str, Field(min_length=2, max_length=40), AfterValidator(_single_line)]
# Each keyword found in a comment adds the topic "custom:<keyword>" (docs/insights.md).
TopicKeywords = Annotated[
    list[TopicKeyword],
    Field(max_length=20, description="The owner's own topic words, 2-40 characters each"),
    AfterValidator(_distinct_keywords),
]


class BusinessIn(Strict):
    name: Name
    owner_emails: OwnerEmails
    timezone: TimeZone
    locale: Locale
    sender_email: Email | None = None
    allowed_origins: Origins = []
    voucher: VoucherPolicy | None = None
    topic_keywords: TopicKeywords = []


class BusinessCreated(Out):
    business_id: str
    owner_key: str = Field(description="Shown once; stored only as a keyed hash")
    site_key: str


class BusinessOut(Out):
    """A business's settings as its owner reads them: never a key hash or a signing secret."""

    business_id: str
    name: str
    owner_emails: list[str]
    timezone: str
    locale: Locale
    sender_email: str | None = Field(description="None: the deployment's own sender address")
    allowed_origins: list[str]
    voucher: VoucherPolicy | None
    site_key: str = Field(description="The widget's public key (it names the business; it is not a secret)")
    created_at: str
    staff_views: bool = Field(
        default=False, description="Figures per staff label shown (off by default: per-person scores invite gaming)"
    )
    topic_keywords: list[str] = Field(default=[], description="The owner's own topic words (custom: topics)")


def _not_null(value: object) -> object:
    # Only the voucher and the sender can be removed; null anywhere else is a mistake, not "remove".
    if value is None:
        raise ValueError("must not be null (leave the field out to keep it as it is)")
    return value


def _without_null(schema: dict[str, Any]) -> None:
    # The spec offers what is accepted: the value itself, never null (which _not_null refuses).
    kinds = schema.pop("anyOf", None)
    if kinds:
        schema.update(next(kind for kind in kinds if kind.get("type") != "null"))
    schema.pop("default", None)


# A setting a patch may leave out but not set to null (``X | None`` validates as X, or null refused).
Kept = (BeforeValidator(_not_null), Field(json_schema_extra=_without_null))


class Patch(Strict):
    """A change of settings: what it names changes, what it leaves out stays; naming nothing is refused."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})
    editable: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("send at least one setting to change: " + ", ".join(self.editable))
        return self

EDITABLE_BUSINESS_FIELDS = (
    "name", "owner_emails", "timezone", "locale", "sender_email", "allowed_origins", "voucher", "staff_views",
    "topic_keywords",
)


class BusinessPatch(Patch):
    """A change of settings: a field left out stays as it is; ``"voucher": null`` removes the policy,
    ``"sender_email": null`` goes back to the deployment's sender. Validated as ``BusinessIn``."""

    editable: ClassVar[tuple[str, ...]] = EDITABLE_BUSINESS_FIELDS

    name: Annotated[Name | None, *Kept] = None
    owner_emails: Annotated[OwnerEmails | None, *Kept] = None
    timezone: Annotated[TimeZone | None, *Kept] = None
    locale: Annotated[Locale | None, *Kept] = None
    sender_email: Email | None = None
    allowed_origins: Annotated[Origins | None, *Kept] = None
    voucher: VoucherPolicy | None = None
    staff_views: Annotated[StrictBool | None, *Kept] = None
    topic_keywords: Annotated[TopicKeywords | None, *Kept] = None


def _chip_key(value: str) -> str:
    if not reasons.is_key(value):
        raise ValueError(
            "must be a taxonomy key (" + ", ".join(topics.TOPICS) + ") or custom:<1-30 of a-z 0-9 _ ->"
        )
    return value


ChipLabel = Annotated[str, Field(min_length=1, max_length=reasons.MAX_LABEL), AfterValidator(_single_line)]


class ReasonChip(Strict):
    """One chip: a taxonomy key (its label defaults by mood) or the owner's ``custom:`` key with both labels."""

    key: Annotated[str, Field(max_length=40), AfterValidator(_chip_key)]
    vi: ChipLabel | None = None
    en: ChipLabel | None = None

    @model_validator(mode="after")
    def _custom_has_labels(self) -> ReasonChip:
        if self.key.startswith(topics.CUSTOM_PREFIX) and (self.vi is None or self.en is None):
            raise ValueError(f"{self.key} needs its labels: vi and en")
        return self


def _distinct_chips(value: list[ReasonChip]) -> list[ReasonChip]:
    keys = [chip.key for chip in value]
    if len(set(keys)) != len(keys):
        raise ValueError("each key at most once per mood")
    return value


ChipList = Annotated[list[ReasonChip], Field(max_length=reasons.MAX_CHIPS), AfterValidator(_distinct_chips)]


class ReasonSets(Strict):
    """A touchpoint's own chips per mood. A mood left out shows the defaults of the touchpoint's metric, so
    ``{}`` goes back to the defaults; an empty list shows no chips for that mood."""

    unhappy: Annotated[ChipList | None, *Kept] = None
    happy: Annotated[ChipList | None, *Kept] = None


class ChipOut(Out):
    key: str
    vi: str
    en: str


class EffectiveReasons(Out):
    unhappy: list[ChipOut]
    happy: list[ChipOut]


class TouchpointIn(Strict):
    name: Name
    channel: LinkChannel
    metric: Metric
    labels: Labels = {}
    reasons: ReasonSets | None = None


class TouchpointCreated(Out):
    touchpoint_id: str
    url: str
    token: str


class TouchpointOut(Out):
    touchpoint_id: str
    name: str
    channel: Channel
    metric: Metric
    created_at: str
    retired_at: str | None = Field(description="When it was retired: its link then answers 410; its answers stay")
    url: str = Field(description="The static link its QR code encodes")
    labels: dict[str, str] = Field(default={}, description="Copied onto every answer it takes: table, area...")
    reasons: EffectiveReasons = Field(description="The chips customers see per mood: its own set, else the defaults")


class TouchpointList(Out):
    items: list[TouchpointOut]


EDITABLE_TOUCHPOINT_FIELDS = ("name", "labels", "reasons")


class TouchpointPatch(Patch):
    """A change of a touchpoint: a field left out stays as it is (null is refused)."""

    editable: ClassVar[tuple[str, ...]] = EDITABLE_TOUCHPOINT_FIELDS

    name: Annotated[Name | None, *Kept] = None
    labels: Annotated[Labels | None, *Kept] = None  # replaces the set; {} clears it
    reasons: Annotated[ReasonSets | None, *Kept] = None


class LinksIn(Strict):
    touchpoint_id: ObjectId
    receipt_id: ReceiptId | None = None
    email: Email | None = None
    expires_in_days: Annotated[StrictInt, Field(ge=1, le=365)] | None = None
    count: Annotated[StrictInt, Field(ge=1, le=MAX_LINKS_PER_REQUEST)] = 1
    labels: Labels = Field(default={}, description="Signed into each link; an answer's labels overlay the touchpoint's")


class Link(Out):
    token: str
    url: str


class LinksCreated(Out):
    links: list[Link]


class ResponsesQuery(Strict):
    from_: Day | None = Field(default=None, alias="from")
    to: Day | None = None
    metric: Metric | None = None
    touchpoint_id: ObjectId | None = None
    cursor: Annotated[str | None, Field(max_length=1024)] = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 50
    format: Literal["json", "csv"] = "json"


class ResponseItem(Out):
    response_id: str
    created_at: str
    local_date: str
    metric: Metric
    score: int
    unhappy: bool
    touchpoint_id: str
    channel: Channel
    locale: Locale | None = None
    receipt_id: str | None = None
    comment: str | None = None
    email: str | None = None
    reasons: list[str] = Field(default=[], description="Reason chips the customer chose: taxonomy keys")
    topics: list[str] = Field(default=[], description="Topics of the comment: taxonomy keys, custom:... keys")
    labels: dict[str, str] = Field(default={}, description="The owner's labels of the link: table, shift...")
    # Issue #16, last so the CSV's earlier columns keep their places for sheets that read them by position.
    phone: str | None = Field(default=None, description="The phone number given with consent (E.164)")


class ResponsesPage(Out):
    items: list[ResponseItem]
    next_cursor: str | None


# day, touchpoint, channel, or label:<name> (issue #15: one group per value of that label)
GROUP_BY_PATTERN = "^(day|touchpoint|channel|label:" + _labels.NAME_PATTERN.strip("^$") + ")$"
GroupBy = Annotated[str, Field(pattern=GROUP_BY_PATTERN, description="day, touchpoint, channel or label:<name>")]


class MetricsQuery(Strict):
    from_: Day | None = Field(default=None, alias="from")
    to: Day | None = None
    group_by: GroupBy | None = None


class ErasureQuery(Strict):
    """Whom to erase: by the email address or (issue #16) the phone number they gave; exactly one."""

    email: Email | None = None
    phone: Phone | None = None

    @model_validator(mode="after")
    def _one_person(self) -> Self:
        if (self.email is None) == (self.phone is None):
            raise ValueError("give exactly one of email and phone")
        return self


class Erased(Out):
    responses_erased: int
    links_erased: int
    # #11 item 7: erasure reaches every copy
    report_comments_erased: int = 0
    mail_items_erased: int = 0
    # issue #14: complaint-inbox cases whose reply texts were removed
    cases_erased: int = 0


# ---- entities -----------------------------------------------------------------------------------


class Business(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    business_id: str
    name: str
    owner_emails: list[str]
    timezone: str
    locale: Locale
    sender_email: str | None = None
    allowed_origins: list[str] = []
    voucher: VoucherPolicy | None = None
    staff_views: bool = False  # issue #15: figures per staff label, off unless the owner turns them on
    topic_keywords: list[str] = []
    # Issue #16: a Zalo Official Account is connected (its tokens are in the secret store, not here), so the
    # thank-you page also asks for a phone number. Set by the Zalo connection, never by a settings patch.
    zalo: bool = False
    owner_key_hash: str
    site_key: str
    signing_keys: dict[int, str]  # key id -> base64url secret; old ids verify until removed
    active_key_id: int
    created_at: str


class Touchpoint(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    business_id: str
    touchpoint_id: str
    name: str
    channel: Channel
    metric: Metric
    created_at: str
    retired_at: str | None = None  # retired: its link takes no more answers; its answers and name stay
    labels: dict[str, str] = {}  # issue #15: copied onto every answer it takes
    # The owner's own chips as validated by ReasonSets and stored (plain data, read by domain.reasons);
    # None: the defaults of its metric.
    reasons: dict[str, Any] | None = None


class StoredResponse(Out):
    """A response as the store keeps it; ``local_date`` is the business's own calendar day."""

    response_id: str
    business_id: str
    touchpoint_id: str
    channel: Channel
    metric: Metric
    score: int
    unhappy: bool
    created_at: str
    updated_at: str
    local_date: str
    locale: Locale | None = None
    link_id: str = ""
    receipt_id: str | None = None
    comment: str | None = None
    email: str | None = None
    email_hash: str | None = None
    # Issue #16: the consented phone (E.164) for Zalo messages, and its keyed hash for erasure and caps.
    phone: str | None = None
    phone_hash: str | None = None
    consent: bool = False
    # Issue #15, each stored only when not empty: the reason chips chosen (taxonomy keys or ``custom:...``),
    # the topics and polarity of the comment (``domain.topics.tag``), and the owner's labels of where and
    # when it was given (the touchpoint's, overlaid by the minted link's: ``{"table": "5"}``).
    reasons: list[str] = []
    topics: list[str] = []
    polarity: str | None = None
    labels: dict[str, str] = {}


# ---- owner keys, till keys and the widget's site check -----------------------------------------------


class PosSecret(Out):
    business_id: str
    key_id: int = Field(description="Goes in byte 1 of every token the till mints")
    secret: str = Field(description="base64url of the raw HMAC-SHA256 key; keep it on the till only")
    algorithm: str = "HMAC-SHA256"
    token_version: int = tokens.VERSION
    verifying_key_ids: list[int] = Field(description="Keys whose tokens are still accepted (retire old ones)")
    propagation_seconds: int = Field(description="After a rotation, wait this long before the till uses the key")


class OwnerKeyRotated(Out):
    business_id: str
    owner_key: str = Field(description="The new owner key, shown once; the old one no longer works")


class PosKeyRetired(Out):
    business_id: str
    retired_key_id: int
    verifying_key_ids: list[int]


class SiteQuery(Strict):
    metric: Metric | None = None
    touchpoint_id: ObjectId | None = None


class SiteChip(Out):
    key: str
    label: str


class SiteReasons(Out):
    unhappy: list[SiteChip]
    happy: list[SiteChip]


class SiteConfig(Out):
    business_name: str
    locale: Locale
    metric: Metric | None = None
    touchpoint_id: str | None = None
    # #11 item 1: a fresh single-use nonce for this page view's answer (POST /v1/responses "nonce").
    nonce: str
    reasons: SiteReasons = Field(
        default_factory=lambda: SiteReasons(unhappy=[], happy=[]),
        description="The chips to show after a score of each mood, in the config's locale",
    )
