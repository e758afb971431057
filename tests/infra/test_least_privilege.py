"""Every function of the packaged app has a role of its own with exact actions on exact resources."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import render
from tests.infra.conftest import ROOT, chalice_name, functions

# Services whose actions have no resource-level permissions: "Resource": "*" is the only form.
RESOURCE_STAR_ALLOWED = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _policy_files() -> list[str]:
    return sorted(p.name for p in (ROOT / ".chalice").glob("policy-*.json"))


def test_every_packaged_function_has_its_own_role_from_its_own_policy_file(template: dict[str, Any]) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert config["autogen_policy"] is False
    roles_seen: set[str] = set()
    for logical_id, fn in functions(template).items():
        name = chalice_name(fn)
        role_id = fn["Properties"]["Role"]["Fn::GetAtt"][0]
        assert role_id not in roles_seen, f"{logical_id} shares its role"
        roles_seen.add(role_id)
        policy_file = config["lambda_functions"][name]["iam_policy_file"]
        document = json.loads((ROOT / ".chalice" / policy_file).read_text())
        assert template["Resources"][role_id]["Properties"]["Policies"][0]["PolicyDocument"] == document


@pytest.mark.parametrize("policy_file", _policy_files())
def test_no_policy_grants_a_wildcard_action(policy_file: str) -> None:
    document = json.loads((ROOT / ".chalice" / policy_file).read_text())
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement and "NotResource" not in statement
        actions = _as_list(statement["Action"])
        for action in actions:
            assert "*" not in action and "?" not in action, f"{policy_file}: {action}"
            assert ":" in action, f"{policy_file}: {action}"
        if "*" in _as_list(statement["Resource"]):
            assert set(actions) <= RESOURCE_STAR_ALLOWED, f"{policy_file}: Resource * for {actions}"


def test_packaged_roles_grant_no_wildcard_action(template: dict[str, Any]) -> None:
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for statement in _statements(resource):
            assert not any("*" in a for a in _as_list(statement["Action"])), logical_id


def test_each_function_may_write_only_its_own_log_group(template: dict[str, Any]) -> None:
    for fn in functions(template).values():
        role = template["Resources"][fn["Properties"]["Role"]["Fn::GetAtt"][0]]
        logs = [s for s in _statements(role) if any(a.startswith("logs:") for a in _as_list(s["Action"]))]
        assert len(logs) == 1
        own = f"log-group:/aws/lambda/${{AWS::StackName}}-{chalice_name(fn)}:*"
        assert logs[0]["Resource"]["Fn::Sub"].endswith(own)


def test_a_function_without_a_policy_stops_the_render_naming_it() -> None:
    functions_ = [render.Function("api_handler", "api"), render.Function("nightly_cleanup", "schedule")]
    config = {"lambda_functions": {"api_handler": {"iam_policy_file": "policy-api.json"}}}
    with pytest.raises(render.RenderError) as caught:
        render.check_policies(functions_, config)
    assert "nightly_cleanup" in str(caught.value) and "api_handler" not in str(caught.value)
    assert ".chalice/policy-<name>.json" in str(caught.value)


def test_stream_and_queue_consumers_may_read_only_their_own_source(template: dict[str, Any]) -> None:
    for fn in functions(template).values():
        role = template["Resources"][fn["Properties"]["Role"]["Fn::GetAtt"][0]]
        for event in fn["Properties"].get("Events", {}).values():
            granted = {
                a: json.dumps(s["Resource"], sort_keys=True) for s in _statements(role) for a in _as_list(s["Action"])
            }
            if event["Type"] == "DynamoDB":
                assert granted["dynamodb:GetRecords"] == json.dumps({"Fn::GetAtt": ["SurveysTable", "StreamArn"]})
            if event["Type"] == "SQS":
                queue = event["Properties"]["Queue"]["Fn::Sub"].rsplit(":", 1)[-1]
                resource = next(
                    k for k, v in template["Resources"].items()
                    if v["Type"] == "AWS::SQS::Queue" and v["Properties"]["QueueName"] == queue
                )
                assert granted["sqs:ReceiveMessage"] == json.dumps({"Fn::GetAtt": [resource, "Arn"]}, sort_keys=True)
