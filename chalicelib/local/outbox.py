"""Local run only: every email sent is also written as a standard ``.eml`` file (all headers and parts) to
``<project root>/.local/outbox/``, so a person can open it in a mail client. It still goes through the
emulated SES too, whose sender identities are verified on first use (moto rejects unverified senders).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from chalicelib.ports import Mailer

ROOT = Path(__file__).resolve().parents[2]
OUTBOX = ROOT / ".local" / "outbox"
_KIND = re.compile(rb"^X-Survey-Kind: ([a-z_]{1,20})\r?$", re.MULTILINE)


class OutboxMailer:
    def __init__(self, inner: Mailer, directory: Path = OUTBOX):
        self._inner = inner
        self.directory = directory
        self._verified: set[str] = set()
        self._lock = threading.Lock()

    def send_raw(self, raw: bytes, *, sender: str, recipients: Sequence[str]) -> str:
        self._verify(sender)
        message_id = self._inner.send_raw(raw, sender=sender, recipients=recipients)
        self.directory.mkdir(parents=True, exist_ok=True)
        found = _KIND.search(raw)
        kind = found.group(1).decode() if found else "email"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        safe_id = re.sub(r"[^A-Za-z0-9-]", "", message_id)[:60] or "sent"
        # Written aside then renamed: whoever watches the folder never opens half a message.
        final = self.directory / f"{stamp}-{kind}-{safe_id}.eml"
        partial = final.with_suffix(".part")
        partial.write_bytes(raw)
        partial.replace(final)
        return message_id

    def _verify(self, sender: str) -> None:
        with self._lock:
            if sender in self._verified:
                return
        ensure = getattr(self._inner, "ensure_identity", None)
        if ensure is not None:
            try:
                ensure(sender)
            except Exception as exc:  # already verified is fine
                if "AlreadyExists" not in type(exc).__name__ and "AlreadyExists" not in str(exc):
                    raise
        with self._lock:
            self._verified.add(sender)


def list_outbox(directory: Path = OUTBOX) -> list[Path]:
    return sorted(directory.glob("*.eml")) if directory.exists() else []
