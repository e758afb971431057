"""The Zalo seam's value types (issue #16, /docs/zalo.md), as ZALO_PORT fixes their names. i16-zns owns this
module; this copy holds only what ratings use until its branch is merged (its version replaces this one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["voucher", "apology", "rating"]
ErrorKind = Literal["bad_phone", "owner", "token", "transient"]


@dataclass(frozen=True)
class ZnsSent:
    msg_id: str
    sent_at: str
    remaining_quota: int | None = None


@dataclass(frozen=True)
class ZaloRating:
    tracking_id: str
    msg_id: str
    rate: int
    note: str
    feedbacks: tuple[str, ...] = field(default_factory=tuple)
    submitted_at: str = ""


class ZaloError(Exception):
    """An error answer of Zalo's API; ``kind`` says who can fix it."""

    def __init__(self, code: int, message: str, kind: ErrorKind = "transient"):
        super().__init__(f"Zalo error {code}: {message}")
        self.code, self.message, self._kind = code, message, kind

    @property
    def kind(self) -> ErrorKind:
        return self._kind
