"""Tracing as deployed: Lambda traces every function; the X-Ray SDK is loaded by the jobs and the owners'
keyed requests, never by a customer's submission on a cold start (docs/deploy.md#logs-metrics-and-traces).

The two behaviour tests run the packaged template's own environment for a function in a fresh interpreter,
as Lambda would (its name, ``LAMBDA_TASK_ROOT``, a sampled trace header), with AWS emulated by moto in that
interpreter and the X-Ray daemon played by a UDP socket of the test: what the SDK sends is what X-Ray gets.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from infra import render
from tests.infra.conftest import ROOT, chalice_name, functions

TRACE_HEADER = "Root=1-6745a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
# The template's references, as CloudFormation would resolve them in a stack made here.
RESOLVED = {
    json.dumps({"Ref": render.TABLE_RESOURCE}): "surveys-prod-table",
    json.dumps({"Fn::Sub": f"secretsmanager:${{{render.ADMIN_KEY_RESOURCE}}}"}): "secretsmanager:surveys-prod-admin",
    json.dumps({"Fn::Sub": f"secretsmanager:${{{render.APP_SECRET_RESOURCE}}}"}): "secretsmanager:surveys-prod-app",
    json.dumps({"Ref": "PublicBaseUrl"}): "https://feedback.example.com",
    json.dumps({"Ref": "MailFrom"}): "no-reply@example.com",
    json.dumps({"Ref": render.CONFIGURATION_SET}): "surveys-prod-mail",
    json.dumps({"Ref": "SesMaxSendRate"}): "14",
    json.dumps({"Fn::GetAtt": [render.TABLE_RESOURCE, "StreamArn"]}):
        "arn:aws:dynamodb:ap-southeast-1:123456789012:table/surveys-prod-table/stream/2026-11-27T00:00:00.000",
}

# What runs in the function's interpreter: the stack's table and secrets in moto, then `import app` (the
# cold start), then the invocations the test names; prints which of them had the SDK loaded.
CHILD = """
import json, os, sys
import boto3
from moto import mock_aws
from chalicelib import tables

with mock_aws():
    boto3.client("dynamodb").create_table(**tables.create_table_kwargs(os.environ["TABLE_NAME"]))
    for name in ("surveys-prod-admin", "surveys-prod-app"):
        boto3.client("secretsmanager").create_secret(Name=name, SecretString=name + "-0123456789abcdef-0123456789")
    assert "aws_xray_sdk" not in sys.modules
    import app
    from chalice.test import Client
    from chalicelib.domain.models import BusinessIn, TouchpointIn
    from chalicelib.wiring import services

    seen = {"after the cold start": "aws_xray_sdk" in sys.modules}
    with Client(app.app, stage_name="prod") as client:
        if sys.argv[1] == "api":
            access = services().access
            created = access.create_business(BusinessIn(
                name="Cafe", owner_emails=["o@example.com"], timezone="Asia/Ho_Chi_Minh", locale="vi"))
            owner = access.authenticate("Bearer " + created.owner_key, created.business_id)
            token = services().links.create_touchpoint(owner, TouchpointIn(name="T1", channel="qr", metric="nps")).token
            nonce = services().submissions.page_nonce(services().submissions.open_link(token))
            answer = client.http.post("/v1/responses", headers={"Content-Type": "application/json"},
                                      body=json.dumps({"token": token, "score": 9, "nonce": nonce}))
            seen["after a customer's submission"] = "aws_xray_sdk" in sys.modules
            listed = client.http.get(f"/v1/businesses/{created.business_id}/responses",
                                     headers={"Authorization": "Bearer " + created.owner_key})
            seen["after an owner's request"] = "aws_xray_sdk" in sys.modules
            seen["statuses"] = [answer.status_code, listed.status_code]
        else:
            client.lambda_.invoke(sys.argv[1], client.events.generate_cw_event(
                source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
            seen["after the job"] = "aws_xray_sdk" in sys.modules
print("SEEN " + json.dumps(seen))
"""


@pytest.fixture
def daemon() -> Iterator[socket.socket]:
    """The X-Ray daemon's UDP port, as Lambda gives it to the function (AWS_XRAY_DAEMON_ADDRESS)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        udp.settimeout(0.5)
        yield udp


def _deployed(template: dict[str, Any], function: str, daemon: socket.socket) -> dict[str, str]:
    (props,) = [fn["Properties"] for fn in functions(template).values() if chalice_name(fn) == function]
    variables = props["Environment"]["Variables"].items()
    env = {k: v if isinstance(v, str) else RESOLVED[json.dumps(v)] for k, v in variables}
    address = f"127.0.0.1:{daemon.getsockname()[1]}"
    keep = ("PATH", "HOME", "LANG", "SYSTEMROOT")
    return {
        **{k: v for k, v in os.environ.items() if k in keep}, **env,
        "AWS_LAMBDA_FUNCTION_NAME": f"surveys-prod-{function}", "LAMBDA_TASK_ROOT": str(ROOT),
        "AWS_REGION": "ap-southeast-1", "AWS_DEFAULT_REGION": "ap-southeast-1",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "_X_AMZN_TRACE_ID": TRACE_HEADER, "AWS_XRAY_DAEMON_ADDRESS": address,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR", "PYTHONPATH": str(ROOT),
    }


def _run(
    template: dict[str, Any], function: str, invocation: str, daemon: socket.socket
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Runs CHILD as the function; returns what it saw and the (sub)segments the daemon received."""
    env = _deployed(template, function, daemon)
    done = subprocess.run([sys.executable, "-c", CHILD, invocation], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("SEEN ")]
    assert done.returncode == 0 and lines, done.stdout[-2000:] + done.stderr[-3000:]
    sent = []
    while True:
        try:
            datagram = daemon.recv(65536).decode()
        except TimeoutError:
            break
        sent.append(json.loads(datagram.split("\n", 1)[1]))  # a header line, then the (sub)segment
    return json.loads(lines[-1].removeprefix("SEEN ")), sent


def test_lambda_traces_every_function_itself_init_included(template: dict[str, Any]) -> None:
    # Active tracing ("xray": true in .chalice/config.json): Lambda records each invocation's segment,
    # initialization included, with no SDK in the function; and no function turns powertools' tracing off.
    for fn in functions(template).values():
        assert fn["Properties"]["Tracing"] == "Active", chalice_name(fn)
        assert fn["Properties"]["Environment"]["Variables"].get("POWERTOOLS_TRACE_DISABLED", "false") == "false"


def test_a_customers_submission_on_a_cold_api_function_never_loads_the_xray_sdk(
    template: dict[str, Any], daemon: socket.socket
) -> None:
    seen, sent = _run(template, "api_handler", "api", daemon)
    assert seen["statuses"] == [201, 200]
    assert seen["after the cold start"] is False
    assert seen["after a customer's submission"] is False
    # The owner's keyed request, sampled, is traced: its subsegment and its DynamoDB calls reach X-Ray.
    assert seen["after an owner's request"] is True
    handlers = [s for s in sent if s["name"].startswith("## ")]
    assert [s["annotations"]["caller"] for s in handlers] == ["owner"]
    assert "dynamodb" in {s["name"] for s in sent}


def test_a_job_is_still_traced_with_its_subsegment_and_its_aws_calls(
    template: dict[str, Any], daemon: socket.socket
) -> None:
    seen, sent = _run(template, "report_schedule", "report_schedule", daemon)
    assert seen == {"after the cold start": False, "after the job": True}
    handlers = [s for s in sent if s["name"].startswith("## ")]
    assert [(s["name"], s["annotations"]["caller"]) for s in handlers] == [("## report_schedule", "job")]
    assert "dynamodb" in {s["name"] for s in sent}
