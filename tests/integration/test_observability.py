"""What an operator reads in CloudWatch: JSON logs with a correlation id, and EMF metrics."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.observability import logger
from tests.integration.conftest import Biz, send_answer


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    level = logger.log_level
    logger.setLevel("INFO")
    # The log handler holds the stream it was built with; EMF metrics are printed to sys.stdout.
    logs = io.StringIO()
    previous = logger.registered_handler.setStream(logs)
    capsys.readouterr()

    def lines() -> list[dict[str, Any]]:
        out = logs.getvalue() + capsys.readouterr().out
        logs.seek(0)
        logs.truncate()
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]

    yield lines
    logger.registered_handler.setStream(previous)
    logger.setLevel(level)


def _metrics(lines: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [line for line in lines if name in line and "_aws" in line]


def test_every_request_logs_one_json_line_with_its_correlation_id_and_status(client: Client, emitted: Any) -> None:
    answer = client.http.get("/healthz", headers={"X-Request-Id": "pos-till-7.req-42"})
    request_lines = [line for line in emitted() if line.get("message") == "request"]
    assert answer.headers["X-Request-Id"] == "pos-till-7.req-42"
    assert len(request_lines) == 1
    line = request_lines[0]
    assert line["correlation_id"] == "pos-till-7.req-42"
    assert line["status"] == 200 and line["path"] == "/healthz" and line["level"] == "INFO"
    assert "cold_start" in line and line["service"] == "surveys"


def test_a_hostile_request_id_is_not_echoed_into_logs_or_headers(client: Client, emitted: Any) -> None:
    answer = client.http.get("/healthz", headers={"X-Request-Id": "x\r\nSet-Cookie: a=b"})
    line = next(line for line in emitted() if line.get("message") == "request")
    assert "Set-Cookie" not in answer.headers["X-Request-Id"]
    assert line["correlation_id"] == answer.headers["X-Request-Id"]


def test_a_recorded_response_counts_by_channel_and_metric_and_unhappy_ones_again(
    client: Client, biz: Biz, emitted: Any
) -> None:
    emitted()
    send_answer(client, {"token": biz.touchpoints["table"]["token"], "score": 2})
    lines = emitted()
    recorded = _metrics(lines, "ResponsesRecorded")
    unhappy = _metrics(lines, "UnhappyResponses")
    assert len(recorded) == 1 and len(unhappy) == 1
    assert recorded[0]["channel"] == "qr" and recorded[0]["metric"] == "nps"
    assert recorded[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "SurveyCollection"
    assert ["service", "channel", "metric"] in recorded[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"]


def test_a_rejected_request_counts_under_its_reason(client: Client, biz: Biz, emitted: Any) -> None:
    emitted()
    answer = send_answer(client, {"token": biz.touchpoints["table"]["token"][:-3] + "AAA", "score": 9})
    assert answer.status_code == 401
    rejected = _metrics(emitted(), "RequestsRejected")
    assert [m["reason"] for m in rejected] == ["invalid_token"]
