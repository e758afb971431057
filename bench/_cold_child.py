"""One cold start for bench/cold_start.py: a fresh interpreter with a deployed function's environment imports
its code, then serves one API Gateway event, and prints both times on its last line.

Cases (COLD_CASE):
- ``app``: ``import app`` (as Lambda's init does: settings and secrets included), then app.app(event).
- ``app+sdk``: the same, with the X-Ray SDK loaded around the first request, as every invocation was traced
  before issue #13 (the middleware wrapped it in a subsegment whoever called).
- ``baseline``: ``import boto3, chalice.app``, a one-route Chalice app that reads the same secrets at init
  and makes the same DynamoDB calls in its request (COLD_CALLS: the operations and the items read;
  COLD_TRANSACTION: the app's own transaction, moved onto items of the baseline's by their partition keys,
  so the emulator does the same work for both), the floor any implementation of the same work pays.

Only ``os``, ``sys`` and ``time`` are imported before the clock starts, so neither case finds modules already
loaded for it. Nothing here is part of the deployed code.
"""

from __future__ import annotations

import os
import sys
import time

# patch_all() imports and patches `requests` when it can; the deployment zip has no `requests` (only the
# virtualenv has it, for moto), so it is hidden here as Lambda would not find it.
sys.modules["requests"] = None  # type: ignore[assignment]
CASE = os.environ["COLD_CASE"]


class Context:
    """The Lambda context object the runtime hands to the handler."""

    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{os.environ['AWS_REGION']}:123456789012:function:{function_name}"
    memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
    aws_request_id = "cold-start-bench"
    log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
    log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def baseline() -> object:
    """A minimal Chalice function of the same deployment: its init reads the secrets the app's reads, its
    one route makes the DynamoDB calls the app's first submission makes (a client made on first use)."""
    import json

    import boto3
    from chalice.app import Chalice, Response

    secrets = boto3.client("secretsmanager")
    for secret in os.environ["COLD_SECRETS"].split():
        secrets.get_secret_value(SecretId=secret)
    floor = Chalice(app_name="baseline")
    table = os.environ["TABLE_NAME"]

    @floor.route("/v1/responses", methods=["POST"], content_types=["*/*"])
    def submit() -> Response:
        body = floor.current_request.json_body
        dynamodb = boto3.client("dynamodb")
        for operation in os.environ["COLD_CALLS"].splitlines():
            name, _, shape = operation.partition(":")  # GetItem:<key> | TransactWriteItems:<puts>:<updates>
            if name == "GetItem":
                dynamodb.get_item(TableName=table, Key=json.loads(shape))
            elif name == "TransactWriteItems":  # the app's own transaction, on items of the baseline's
                items = json.loads(os.environ["COLD_TRANSACTION"])
                for item in items:
                    ((kind, spec),) = item.items()
                    written = spec["Item"] if kind == "Put" else spec["Key"]
                    written["PK"] = {"S": f"BASELINE#{body['nonce'][-40:]}#{written['PK']['S']}"}
                dynamodb.transact_write_items(TransactItems=items)
            else:
                raise SystemExit(f"the baseline does not make {operation}: add it to bench/_cold_child.py")
        return Response({"stored": True}, status_code=201)

    return floor


started, started_cpu = time.perf_counter(), time.process_time()
if CASE == "baseline":
    handler = baseline()
else:
    import app

    handler = app.app
imported, imported_cpu = time.perf_counter(), time.process_time()

import json  # noqa: E402 - after the clock: the event is Lambda's to parse, not the code's

event, context = json.loads(os.environ["COLD_EVENT"]), Context()
before_request, before_request_cpu = time.perf_counter(), time.process_time()
if CASE == "app+sdk":
    from chalicelib.observability import traced

    with traced(Context.function_name, "job"):  # as the middleware traced every invocation before #13
        answer = handler(event, context)  # type: ignore[operator]
else:
    answer = handler(event, context)  # type: ignore[operator]
served, served_cpu = time.perf_counter(), time.process_time()
result = {
    "import": imported - started,
    "request": served - before_request,
    "import_cpu": imported_cpu - started_cpu,
    "request_cpu": served_cpu - before_request_cpu,
    "status": answer["statusCode"],
    "sdk": "aws_xray_sdk" in sys.modules,
}
print("COLD " + json.dumps(result), flush=True)
