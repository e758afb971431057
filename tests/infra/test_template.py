"""The packaged template: valid CloudFormation, and the table it deploys is the one the code uses."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from chalicelib import tables
from infra import render, slim_zip
from tests.infra.conftest import functions


def test_the_packaged_template_passes_cfn_lint(packaged: Path) -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    done = subprocess.run([str(cfn_lint), str(packaged / "sam.json")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_deployed_table_has_the_keys_index_and_stream_the_code_uses(template: dict[str, Any]) -> None:
    # Deploy the template's DynamoDB resources into moto's CloudFormation and read the table back.
    only_tables = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::DynamoDB::Table"}
    assert list(only_tables) == [render.TABLE_RESOURCE]
    with mock_aws():
        cloudformation = boto3.client("cloudformation")
        cloudformation.create_stack(StackName="surveys-prod", TemplateBody=json.dumps({"Resources": only_tables}))
        (resource,) = cloudformation.describe_stack_resources(StackName="surveys-prod")["StackResources"]
        assert resource["ResourceStatus"] == "CREATE_COMPLETE"
        table = boto3.client("dynamodb").describe_table(TableName=resource["PhysicalResourceId"])["Table"]
    wanted = tables.create_table_kwargs("x")
    assert table["KeySchema"] == wanted["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(wanted["AttributeDefinitions"], key=str)
    assert [
        {k: gsi[k] for k in ("IndexName", "KeySchema", "Projection")} for gsi in table["GlobalSecondaryIndexes"]
    ] == wanted["GlobalSecondaryIndexes"]
    assert table["StreamSpecification"] == wanted["StreamSpecification"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["DeletionProtectionEnabled"] is True


def test_the_table_expires_items_by_the_codes_ttl_attribute_and_keeps_backups(template: dict[str, Any]) -> None:
    # moto's CloudFormation does not apply these two: they are read from the template itself.
    props = template["Resources"][render.TABLE_RESOURCE]["Properties"]
    assert props["TimeToLiveSpecification"] == {"AttributeName": tables.TTL_ATTRIBUTE, "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert template["Resources"][render.TABLE_RESOURCE]["DeletionPolicy"] == "Retain"


def test_only_prod_protects_the_table_from_deletion() -> None:
    dev = render.render("dev", functions=[render.Function("api_handler", "api")])
    assert dev["Resources"][render.TABLE_RESOURCE]["Properties"]["DeletionProtectionEnabled"] is False
    assert dev["Resources"][render.TABLE_RESOURCE]["DeletionPolicy"] == "Delete"


def test_every_function_runs_python312_on_arm64_with_its_log_group_and_alarms(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    for logical_id, fn in functions(template).items():
        props = fn["Properties"]
        assert props["Runtime"] == "python3.12" and props["Architectures"] == ["arm64"]
        assert f"{logical_id}LogGroup" in fn["DependsOn"]
        for metric in ("Errors", "Throttles"):
            assert resources[f"{logical_id}{metric}Alarm"]["Properties"]["MetricName"] == metric
        env = props["Environment"]["Variables"]
        assert "ADMIN_KEY" not in env and "APP_SECRET" not in env
        assert env["APP_SECRET_SOURCE"] == {"Fn::Sub": "secretsmanager:${AppSecretSecret}"}


def test_the_stream_consumer_reports_partial_failures_with_bounded_retries(template: dict[str, Any]) -> None:
    streams = [
        e["Properties"] for fn in functions(template).values()
        for e in fn["Properties"].get("Events", {}).values() if e["Type"] == "DynamoDB"
    ]
    assert streams, "app.py has no stream consumer"
    for props in streams:
        assert props["Stream"] == {"Fn::GetAtt": [render.TABLE_RESOURCE, "StreamArn"]}
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["BisectBatchOnFunctionError"] is True
        assert 0 <= props["MaximumRetryAttempts"] <= 10
        failures = props["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        assert template["Resources"][failures]["Type"] == "AWS::SQS::Queue"


def test_a_poisoned_stream_record_is_parked_after_bounded_retries_and_the_operator_is_told(
    template: dict[str, Any],
) -> None:
    # A record that fails every time must not hold its shard (and every email behind it): bisecting
    # isolates it, retries and age are bounded, then its description waits in a queue with an alarm.
    # Both consumers of the table's stream (the follow-ups and, issue #16, the webhook events).
    resources = template["Resources"]
    consumers = [
        e["Properties"] for fn in functions(template).values()
        for e in fn["Properties"].get("Events", {}).values() if e["Type"] == "DynamoDB"
    ]
    assert len(consumers) == 2
    for props in consumers:
        assert props["BisectBatchOnFunctionError"] is True
        assert 1 <= props["MaximumRetryAttempts"] <= 10
        assert 60 <= props["MaximumRecordAgeInSeconds"] <= 7 * 24 * 3600
        assert props["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
        queue = props["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        assert resources[queue]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
        alarm = resources[f"{queue}DepthAlarm"]["Properties"]
        assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]
        assert alarm["AlarmActions"] == [{"Ref": render.ALARM_TOPIC}]


def test_every_consumed_queue_exists_with_a_redrive_policy(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    queues = {v["Properties"]["QueueName"]: v for v in resources.values() if v["Type"] == "AWS::SQS::Queue"}
    for fn in functions(template).values():
        for event in fn["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            name = event["Properties"]["Queue"]["Fn::Sub"].rsplit(":", 1)[-1]
            redrive = queues[name]["Properties"]["RedrivePolicy"]
            dead = resources[redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]]
            assert dead["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
            assert 1 < redrive["maxReceiveCount"] <= 10
            assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_ses_bounces_and_complaints_reach_the_topic_a_function_listens_to(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    destination = resources["MailEventsDestination"]["Properties"]["EventDestination"]
    assert {"bounce", "complaint"} <= set(destination["MatchingEventTypes"])
    topic = resources[destination["SnsDestination"]["TopicARN"]["Ref"]]["Properties"]["TopicName"]
    listeners = [
        e for fn in functions(template).values() for e in fn["Properties"].get("Events", {}).values()
        if e["Type"] == "SNS" and e["Properties"]["Topic"]["Fn::Sub"].endswith(f":{topic}")
    ]
    assert len(listeners) == 1


def test_every_dead_letter_queue_has_a_depth_alarm_and_the_api_stage_is_throttled(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    for name in render.dead_letter_resources():
        assert resources[f"{name}DepthAlarm"]["Properties"]["Dimensions"][0]["Value"] == {
            "Fn::GetAtt": [name, "QueueName"]
        }
    (settings,) = resources["RestAPI"]["Properties"]["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == {"Ref": "ApiRateLimit"}
    assert template["Parameters"]["ApiRateLimit"]["Default"] == render.API_THROTTLE["prod"][0]
    for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
        assert f"Table{metric}Alarm" in resources
    assert resources["Api5xxAlarm"]["Properties"]["MetricName"] == "5XXError"


def test_the_zip_leaves_boto3_to_the_runtime_and_stays_under_15_mb(packaged: Path) -> None:
    path = packaged / "deployment.zip"
    assert path.stat().st_size <= slim_zip.MAX_BYTES
    with zipfile.ZipFile(path) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
    assert "app.py" in tops and "chalicelib" in tops and "pydantic_core" in tops
    assert not tops & {"boto3", "botocore", "s3transfer"}
    with zipfile.ZipFile(path) as archive:
        assert any(n.endswith("aarch64-linux-gnu.so") for n in archive.namelist() if n.startswith("pydantic_core/"))


def test_the_zip_ships_app_and_chalicelib_without_the_dev_server_or_moto(packaged: Path) -> None:
    # chalice packages all of chalicelib/; `make package` takes the `make run` dev server out again.
    root = Path(__file__).resolve().parents[2]
    with zipfile.ZipFile(packaged / "deployment.zip") as archive:
        shipped = {name: archive.read(name) for name in archive.namelist() if name.endswith(".py")}
    assert not [name for name in shipped if name.startswith("chalicelib/local/")]
    ours = {p.relative_to(root).as_posix() for p in [root / "app.py", *(root / "chalicelib").rglob("*.py")]}
    assert {name for name in shipped if name == "app.py" or name.startswith("chalicelib/")} == {
        name for name in ours if not name.startswith("chalicelib/local/")
    }
    # Nothing left in the zip needs moto (a dev dependency) or one of our modules the zip does not have.
    def module(path: str) -> str:
        return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")

    left_out = {module(name) for name in ours} - {module(name) for name in shipped}
    wrong = []
    for name, source in shipped.items():
        if name != "app.py" and not name.startswith("chalicelib/"):
            continue
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            else:
                continue
            if imported[0].split(".")[0] == "moto" or any(i.startswith(tuple(left_out)) for i in imported):
                wrong.append(f"{name}:{node.lineno} imports {imported[0]}")
    assert wrong == []
