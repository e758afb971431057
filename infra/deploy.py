"""`make deploy STAGE=...`: upload what `make package` built and create or update the stack surveys-STAGE.

Needs AWS credentials (any of boto3's usual sources) and a region (AWS_REGION / AWS_DEFAULT_REGION).
Nothing is made by hand: the artifact bucket is itself a small stack (surveys-artifacts), made on the
first deploy. Parameters come from the environment; on an update, the ones not given keep their value:

    PUBLIC_BASE_URL  SENDER_DOMAIN  MAIL_FROM   (required on the first deploy)
    ALARM_EMAIL  CUSTOM_DOMAIN  CERTIFICATE_ARN  SES_MAX_SEND_RATE  API_RATE_LIMIT  API_BURST_LIMIT
    WAF_ENABLED  WAF_WRITE_LIMIT  WAF_REQUEST_LIMIT  (optional)

Usage: python infra/deploy.py STAGE BUILD_DIR
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

PARAMETERS = {
    "PublicBaseUrl": "PUBLIC_BASE_URL",
    "SenderDomain": "SENDER_DOMAIN",
    "MailFrom": "MAIL_FROM",
    "AlarmEmail": "ALARM_EMAIL",
    "CustomDomain": "CUSTOM_DOMAIN",
    "CertificateArn": "CERTIFICATE_ARN",
    "SesMaxSendRate": "SES_MAX_SEND_RATE",
    "ApiRateLimit": "API_RATE_LIMIT",
    "ApiBurstLimit": "API_BURST_LIMIT",
    "WafEnabled": "WAF_ENABLED",
    "WafWriteLimit": "WAF_WRITE_LIMIT",
    "WafRequestLimit": "WAF_REQUEST_LIMIT",
}
REQUIRED_ON_CREATE = ("PublicBaseUrl", "SenderDomain", "MailFrom")
ARTIFACTS_STACK = "surveys-artifacts"
ARTIFACTS_TEMPLATE = {
    "Resources": {
        "Artifacts": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True, "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
                },
                # Old zips only matter for a rollback soon after a deploy.
                "LifecycleConfiguration": {"Rules": [{"Id": "expire", "Status": "Enabled", "ExpirationInDays": 30}]},
            },
        }
    },
    "Outputs": {"Bucket": {"Value": {"Ref": "Artifacts"}}},
}


def parameters(environ: dict[str, str], *, creating: bool, declared: dict[str, Any]) -> list[dict[str, Any]]:
    """CloudFormation parameters from the environment; refuses a first deploy without the required ones,
    naming each missing variable."""
    missing = [PARAMETERS[p] for p in REQUIRED_ON_CREATE if creating and not environ.get(PARAMETERS[p])]
    if missing:
        raise SystemExit(f"First deploy of this stage: set {', '.join(missing)} (see docs/deploy.md)")
    out: list[dict[str, Any]] = []
    for name, var in PARAMETERS.items():
        if name not in declared:
            continue
        if environ.get(var, "") != "":
            out.append({"ParameterKey": name, "ParameterValue": environ[var]})
        elif not creating:
            out.append({"ParameterKey": name, "UsePreviousValue": True})
    return out


def point_code_at(template: dict[str, Any], bucket: str, key: str) -> dict[str, Any]:
    """Every function's CodeUri, from the local zip to its uploaded copy."""
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = {"Bucket": bucket, "Key": key}
    return template


def _stack_status(cloudformation: Any, name: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        return str(cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def _apply(cloudformation: Any, name: str, template_url: str | None, body: str | None,
           params: list[dict[str, Any]], creating: bool) -> None:
    import time

    from botocore.exceptions import WaiterError

    kind = "CREATE" if creating else "UPDATE"
    change_set = f"{name}-{int(time.time())}"
    source = {"TemplateURL": template_url} if template_url else {"TemplateBody": body}
    cloudformation.create_change_set(
        StackName=name, ChangeSetName=change_set, ChangeSetType=kind, Parameters=params,
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"], **source,
    )
    try:
        cloudformation.get_waiter("change_set_create_complete").wait(
            StackName=name, ChangeSetName=change_set, WaiterConfig={"Delay": 5, "MaxAttempts": 120}
        )
    except WaiterError:  # "no changes" is a failed change set too, and not an error for us
        described = cloudformation.describe_change_set(StackName=name, ChangeSetName=change_set)
        reason = described.get("StatusReason", "")
        if "didn't contain changes" in reason or "No updates" in reason:
            print(f"{name}: already up to date")
            cloudformation.delete_change_set(StackName=name, ChangeSetName=change_set)
            return
        raise SystemExit(f"{name}: the change set failed: {reason}") from None
    cloudformation.execute_change_set(StackName=name, ChangeSetName=change_set)
    waiter = "stack_create_complete" if creating else "stack_update_complete"
    print(f"{name}: {kind.lower()} in progress (several minutes the first time)...")
    cloudformation.get_waiter(waiter).wait(StackName=name, WaiterConfig={"Delay": 10, "MaxAttempts": 360})


def deploy(stage: str, build: Path) -> None:
    import boto3

    cloudformation = boto3.client("cloudformation")
    if _stack_status(cloudformation, ARTIFACTS_STACK) is None:
        _apply(cloudformation, ARTIFACTS_STACK, None, json.dumps(ARTIFACTS_TEMPLATE), [], creating=True)
    outputs = cloudformation.describe_stacks(StackName=ARTIFACTS_STACK)["Stacks"][0]["Outputs"]
    bucket = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "Bucket")

    s3 = boto3.client("s3")
    code = (build / "deployment.zip").read_bytes()
    key = f"surveys-{stage}/{hashlib.sha256(code).hexdigest()}.zip"
    s3.put_object(Bucket=bucket, Key=key, Body=code)
    template = point_code_at(json.loads((build / "sam.json").read_text()), bucket, key)
    body = json.dumps(template)
    template_key = f"surveys-{stage}/{hashlib.sha256(body.encode()).hexdigest()}.json"
    s3.put_object(Bucket=bucket, Key=template_key, Body=body.encode())
    url = f"https://{bucket}.s3.amazonaws.com/{template_key}"

    name = f"surveys-{stage}"
    status = _stack_status(cloudformation, name)
    if status == "ROLLBACK_COMPLETE":  # a failed first create cannot be updated, only replaced
        cloudformation.delete_stack(StackName=name)
        cloudformation.get_waiter("stack_delete_complete").wait(StackName=name)
        status = None
    creating = status is None
    params = parameters(dict(os.environ), creating=creating, declared=template["Parameters"])
    _apply(cloudformation, name, url, None, params, creating)
    for output in cloudformation.describe_stacks(StackName=name)["Stacks"][0].get("Outputs", []):
        print(f"{output['OutputKey']:<22} {output['OutputValue']}")


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    deploy(sys.argv[1], Path(sys.argv[2]))


if __name__ == "__main__":
    main()
