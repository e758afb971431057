"""`make run` prints the stream consumer's and the jobs' warnings readably, without EMF metric lines
(issue #11 item 6)."""

from __future__ import annotations

import io
import logging
import os

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
