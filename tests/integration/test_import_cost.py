"""Cold starts stay cheap: importing the app, and recording a score, load no template, QR, email or
report code (those load only in the routes and jobs that render them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HEAVY = (
    "jinja2",
    "markupsafe",
    "segno",
    "PIL",
    "email.mime",
    "aws_xray_sdk",
    "chalicelib.web.pages",
    "chalicelib.web.survey",
    "chalicelib.web.emails",
    "chalicelib.web.qr",
    "chalicelib.web.dashboard",
    "chalicelib.web.digest",
    "chalicelib.web.openapi",
    "chalicelib.web.exports",
    "chalicelib.services.mail",
    "chalicelib.services.followups",
    "chalicelib.services.reports",
    "chalicelib.domain.report",
    "chalicelib.adapters.ses",
)

SUBMIT = """
import json, sys
import tests.conftest  # the test environment: no real AWS
import app
after_import = sorted(sys.modules)
import boto3
from moto import mock_aws  # moto itself loads jinja2: only what the submission adds counts below
from chalicelib import tables, wiring
from chalicelib.settings import get_settings
with mock_aws():
    boto3.client("dynamodb").create_table(**tables.create_table_kwargs(get_settings().table_name))
    from chalice.test import Client
    from chalicelib.domain.models import BusinessIn, TouchpointIn
    services = wiring.services()
    created = services.access.create_business(BusinessIn(name="Quán", owner_emails=["o@quan.example"],
                                                         timezone="Asia/Ho_Chi_Minh", locale="vi"))
    caller = services.access.authenticate("Bearer " + created.owner_key, created.business_id)
    tp = services.links.create_touchpoint(caller, TouchpointIn(name="Bàn 1", channel="qr", metric="nps"))
    before = set(sys.modules)
    subs = wiring.services().submissions
    nonce = subs.page_nonce(subs.open_link(tp.token))  # as the survey page would have handed it out
    with Client(app.app) as client:
        answer = client.http.post("/v1/responses", body=json.dumps({"token": tp.token, "score": 3, "nonce": nonce}),
                                  headers={"Content-Type": "application/json"})
    assert answer.status_code == 201, answer.body
    print(json.dumps({"import": after_import, "submit": sorted(set(sys.modules) - before)}))
"""


def _heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


def test_importing_the_app_and_recording_a_score_load_no_rendering_or_report_code() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SUBMIT], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert "app" in loaded["import"] and "chalicelib.services.submissions" in loaded["import"]
    assert _heavy(loaded["import"]) == []
    assert _heavy(loaded["submit"]) == []
