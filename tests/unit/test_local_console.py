"""`make run` prints the stream consumer's and the jobs' warnings readably, without EMF metric lines
(issue #11 item 6), and injects its own mailer and alert flusher into services wired as in AWS (issue #12)."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from chalicelib.local.server import ConsoleFormatter, configure_environment


def test_a_stream_warning_prints_as_one_readable_line_with_its_details() -> None:
    record = logging.LogRecord("surveys", logging.WARNING, "followups.py", 1, "stream record will be retried",
                               None, None)  # fmt: skip
    record.threadName = "stream-poller"
    record.response_id = "r123"
    record.error = "TemporarilyUnavailable"
    line = ConsoleFormatter().format(record)
    assert line.endswith("WARNING [stream-poller] stream record will be retried  "
                         "(response_id=r123 error=TemporarilyUnavailable)")  # fmt: skip
    assert "{" not in line


def test_an_error_prints_its_traceback_under_the_line() -> None:
    try:
        raise KeyError("MessageId")
    except KeyError:
        import sys

        record = logging.LogRecord("surveys", logging.ERROR, "f.py", 1, "stream record failed", None, sys.exc_info())
    out = ConsoleFormatter().format(record)
    assert "ERROR" in out and "Traceback" in out and "KeyError: 'MessageId'" in out


def test_make_run_turns_the_emf_lines_off_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("POWERTOOLS_METRICS_DISABLED", "AWS_ENDPOINT_URL", "PUBLIC_BASE_URL", "ADMIN_KEY", "STAGE"):
        monkeypatch.setenv(name, os.environ.get(name, ""))  # restored after the test
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED")
    assert configure_environment(8130, 4630)["POWERTOOLS_METRICS_DISABLED"] == "true"
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    assert configure_environment(8130, 4630)["POWERTOOLS_METRICS_DISABLED"] == "false"


def test_make_run_puts_the_readable_format_on_the_one_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.local.server import use_console_logs
    from chalicelib.observability import logger

    handler = logger.registered_handler
    before = handler.formatter
    monkeypatch.delenv("LOCAL_LOG_FORMAT", raising=False)
    try:
        use_console_logs()
        assert isinstance(handler.formatter, ConsoleFormatter)
        stream = io.StringIO()
        old_stream = handler.setStream(stream)
        try:
            handler.handle(logging.LogRecord("surveys", logging.WARNING, "f.py", 1, "alert flush failed", None, None))
        finally:
            handler.setStream(old_stream)
        assert "WARNING" in stream.getvalue() and "alert flush failed" in stream.getvalue()
    finally:
        handler.setFormatter(before)


class _RecordingSes:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, str, list[str]]] = []
        self.identities: list[str] = []

    def send_raw(self, raw: bytes, *, sender: str, recipients: Sequence[str]) -> str:
        self.sent.append((raw, sender, list(recipients)))
        return f"ses-{len(self.sent)}"

    def ensure_identity(self, address: str) -> None:
        self.identities.append(address)


def test_make_run_sends_through_ses_and_keeps_each_email_as_an_eml_named_by_its_kind(tmp_path: Path) -> None:
    from chalicelib.local.outbox import OutboxMailer, list_outbox

    ses = _RecordingSes()
    outbox = OutboxMailer(ses, tmp_path)
    raw = b"X-Survey-Kind: apology\r\nSubject: Xin loi\r\n\r\nbody"
    assert outbox.send_raw(raw, sender="shop@example.com", recipients=["khach@example.com"]) == "ses-1"
    outbox.send_raw(b"Subject: x\r\n\r\ny", sender="shop@example.com", recipients=["chu@example.com"])
    assert ses.sent[0] == (raw, "shop@example.com", ["khach@example.com"])
    assert ses.identities == ["shop@example.com"]  # the emulator's sender verified once
    files = list_outbox(tmp_path)
    assert [f.name.split("-")[1] for f in files] == ["apology", "email"]
    assert files[0].read_bytes() == raw


@pytest.fixture
def local_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from chalicelib import wiring

    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION",
                 "STAGE", "TABLE_NAME", "ADMIN_KEY", "PUBLIC_BASE_URL", "POWERTOOLS_METRICS_NAMESPACE",
                 "POWERTOOLS_TRACE_DISABLED", "POWERTOOLS_LOG_LEVEL", "POWERTOOLS_METRICS_DISABLED"):  # fmt: skip
        monkeypatch.setenv(name, os.environ.get(name, ""))  # restored after the test
    configure_environment(8130, 4630)
    try:
        yield
    finally:
        wiring.reset()


@pytest.mark.usefixtures("local_environment")
def test_make_run_installs_the_eml_outbox_and_the_timer_flusher_into_the_apps_services() -> None:
    from chalicelib import wiring
    from chalicelib.adapters.ses import SesMailer
    from chalicelib.local.outbox import OUTBOX, OutboxMailer
    from chalicelib.local.server import install_local_services
    from chalicelib.local.stream import TimerAlertFlusher

    built = install_local_services()
    assert wiring.services() is built  # what the app's handlers use from now on
    assert isinstance(built.mailer, OutboxMailer) and built.mailer.directory == OUTBOX
    assert isinstance(built.mailer._inner, SesMailer)  # still through the emulated SES
    assert isinstance(built.alert_flusher, TimerAlertFlusher)
    assert built.followups._flusher is built.alert_flusher
    assert built.mail._mailer is built.mailer


@pytest.mark.usefixtures("local_environment")
def test_the_deployed_wiring_sends_with_ses_and_flushes_alerts_with_sqs_even_on_the_local_stage() -> None:
    from chalicelib import wiring
    from chalicelib.adapters.ses import SesMailer
    from chalicelib.adapters.sqs import SqsAlertFlusher
    from chalicelib.settings import get_settings

    wiring.reset()
    built = wiring.build(get_settings())
    assert built.settings.stage == "local"  # the stage no longer decides the wiring: the caller does
    assert isinstance(built.mail._mailer, SesMailer)
    assert isinstance(built.followups._flusher, SqsAlertFlusher)
