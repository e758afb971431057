"""What `make deploy` sends CloudFormation, without an AWS account."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra import deploy


def test_a_first_deploy_without_its_required_settings_names_each_missing_variable(template: dict[str, Any]) -> None:
    with pytest.raises(SystemExit) as caught:
        deploy.parameters({"PUBLIC_BASE_URL": "https://f.example.com"}, creating=True, declared=template["Parameters"])
    assert str(caught.value) == "First deploy of this stage: set SENDER_DOMAIN, MAIL_FROM (see docs/deploy.md)"


def test_an_update_keeps_the_parameters_it_is_not_given(template: dict[str, Any]) -> None:
    params = deploy.parameters({"ALARM_EMAIL": "ops@example.com"}, creating=False, declared=template["Parameters"])
    assert {"ParameterKey": "AlarmEmail", "ParameterValue": "ops@example.com"} in params
    assert {"ParameterKey": "PublicBaseUrl", "UsePreviousValue": True} in params
    assert {p["ParameterKey"] for p in params} == set(template["Parameters"])


def test_every_function_runs_the_uploaded_zip(template: dict[str, Any]) -> None:
    pointed = deploy.point_code_at(copy.deepcopy(template), "bucket", "surveys-prod/abc.zip")
    functions = [r for r in pointed["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    codes = [r["Properties"]["CodeUri"] for r in functions]
    assert codes and all(c == {"Bucket": "bucket", "Key": "surveys-prod/abc.zip"} for c in codes)
