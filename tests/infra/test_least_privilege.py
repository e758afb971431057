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
                    k
                    for k, v in template["Resources"].items()
                    if v["Type"] == "AWS::SQS::Queue" and v["Properties"]["QueueName"] == queue
                )
                assert granted["sqs:ReceiveMessage"] == json.dumps({"Fn::GetAtt": [resource, "Arn"]}, sort_keys=True)


def _role(template: dict[str, Any], fn: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"][fn["Properties"]["Role"]["Fn::GetAtt"][0]]


def _secrets_named_by(env: dict[str, Any]) -> set[str]:
    """The secret resources a function's *_SOURCE variables point at ("none": not given)."""
    named = set()
    for var, value in env.items():
        if var.endswith("_SOURCE") and value != "none":
            named.add(value["Fn::Sub"].removeprefix("secretsmanager:${").removesuffix("}"))
    return named


ZALO_SECRETS = {"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
                          "${SurveysTable}/zalo/*"}


def test_each_function_may_read_only_the_secrets_it_is_told_about(template: dict[str, Any]) -> None:
    for fn in functions(template).values():
        readable = {
            r["Ref"]
            for s in _statements(_role(template, fn))
            if "secretsmanager:GetSecretValue" in _as_list(s["Action"]) and s.get("Sid") != "ZaloSecrets"
            for r in _as_list(s["Resource"])
        }
        assert readable == _secrets_named_by(fn["Properties"]["Environment"]["Variables"]), chalice_name(fn)
        assert readable == set(render.secret_resources(chalice_name(fn)))


def test_only_the_functions_that_talk_to_zalo_reach_its_tokens_and_only_under_the_stacks_prefix(
    template: dict[str, Any],
) -> None:
    # Issue #16: a business's Zalo OA tokens, one secret each, named by the business at run time.
    reach = {}
    for fn in functions(template).values():
        for s in _statements(_role(template, fn)):
            if s.get("Sid") == "ZaloSecrets":
                assert _as_list(s["Resource"]) == [ZALO_SECRETS]
                reach[chalice_name(fn)] = set(_as_list(s["Action"]))
    assert reach == {
        "api_handler": {"secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "secretsmanager:GetSecretValue",
                        "secretsmanager:DeleteSecret"},
        "followups": {"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"},
        # the ratings poll reads Zalo's rating API with the OA's access token, and refreshes it
        "zalo_ratings_poll": {"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"},
    }


def test_only_the_api_handler_may_read_the_admin_key(template: dict[str, Any]) -> None:
    readers = set()
    for fn in functions(template).values():
        env = fn["Properties"]["Environment"]["Variables"]
        if render.ADMIN_KEY_RESOURCE in _secrets_named_by(env):
            readers.add(chalice_name(fn))
        else:
            # chalicelib/secrets.py: a random key nobody holds, so no admin request is accepted there.
            assert env["ADMIN_KEY_SOURCE"] == "none"
        assert render.APP_SECRET_RESOURCE in _secrets_named_by(env)
    assert readers == {"api_handler"}


SENDER_RESOURCES = [
    {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderDomain}"},
    {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${MailFrom}"},
    {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${MailConfigurationSet}"},
]


@pytest.mark.parametrize("policy_file", _policy_files())
def test_mail_may_be_sent_only_from_the_stacks_own_sender_through_its_configuration_set(policy_file: str) -> None:
    # identity/* would let an owner who sets sender_email to another tenant's verified address send
    # as that tenant; the stack's domain (every address on it) and MAIL_FROM are all it may use.
    document = json.loads((ROOT / ".chalice" / policy_file).read_text())
    for statement in document["Statement"]:
        actions = _as_list(statement["Action"])
        if not any(a.startswith("ses:") for a in actions):
            continue
        assert set(actions) <= {"ses:SendEmail", "ses:SendRawEmail"}, policy_file
        assert statement["Resource"] == SENDER_RESOURCES, policy_file
        assert "*" not in json.dumps(statement["Resource"]), policy_file


def test_the_identities_mail_is_sent_from_are_the_ones_the_stack_verifies(template: dict[str, Any]) -> None:
    identity = template["Resources"]["SenderIdentity"]["Properties"]
    assert identity["EmailIdentity"] == {"Ref": "SenderDomain"}
    assert identity["ConfigurationSetAttributes"]["ConfigurationSetName"] == {"Ref": "MailConfigurationSet"}
    for fn in functions(template).values():
        env = fn["Properties"]["Environment"]["Variables"]
        assert env["MAIL_FROM"] == {"Ref": "MailFrom"}
        assert env["SES_CONFIGURATION_SET"] == {"Ref": "MailConfigurationSet"}


def test_a_failing_stream_record_goes_to_a_queue_its_consumer_may_write_to(template: dict[str, Any]) -> None:
    # Lambda sends the failed batch's description to the on-failure destination with the function's role.
    # Two consumers read the table's stream: the follow-ups and (issue #16) the owners' webhook events.
    streams = 0
    for fn in functions(template).values():
        for event in fn["Properties"].get("Events", {}).values():
            if event["Type"] != "DynamoDB":
                continue
            streams += 1
            queue = event["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
            granted = [
                s
                for s in _statements(_role(template, fn))
                if "sqs:SendMessage" in _as_list(s["Action"]) and s["Resource"] == queue
            ]
            assert granted, chalice_name(fn)
    assert streams == 2


def test_erasing_a_respondent_may_sweep_the_mail_dead_letters_and_nothing_else(template: dict[str, Any]) -> None:
    # DELETE .../respondents runs in the API function and must reach the letters SES refused (they name the
    # person); it may receive, delete and release them, on that one queue only, and send none.
    dead_letters = {"Fn::GetAtt": ["MailDeadLetters", "Arn"]}
    sweep = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"}
    for fn in functions(template).values():
        if chalice_name(fn) != "api_handler":
            continue
        on_queues = {
            a: s["Resource"]
            for s in _statements(_role(template, fn))
            for a in _as_list(s["Action"])
            if a.startswith("sqs:")
        }
        assert sweep <= set(on_queues) and all(on_queues[a] == dead_letters for a in sweep)
        assert "sqs:SendMessage" not in on_queues
        assert fn["Properties"]["Environment"]["Variables"]["MAIL_DLQ_NAME"]
        return
    raise AssertionError("no api_handler in the template")
