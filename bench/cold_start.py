"""Cold start as deployed: a fresh interpreter with the prod API function's environment imports the app and
serves one customer's submission against moto; the same for a baseline; side by side, N times.

The environment is the deployed one: .chalice/config.json's variables (top level and stage ``prod``), what
infra/render.py gives the ``api_handler`` function (its references resolved to the emulator's table and
secrets), and what Lambda sets itself: the function's name and memory, the region, ``LAMBDA_TASK_ROOT``,
a trace header of an invocation that active tracing sampled (``Sampled=1``) and the X-Ray daemon's address
(a closed loopback UDP port: the SDK sends its segments into the void, as it does not wait for an answer).
Every child reaches one ThreadedMotoServer, started here on a free loopback port, through
``AWS_ENDPOINT_URL``, as a Lambda reaches DynamoDB over the network. The table comes from chalicelib.tables;
a business and a table QR are created through the services; each submission is a touchpoint token with a
fresh page-view nonce (a customer's first tap), in the event API Gateway hands to the function.

Cases, alternated in one run (bench/_cold_child.py):
- ``app``: `import app` (Lambda's init: settings, secrets read from Secrets Manager), then the submission;
- ``app, SDK on the first request``: the same with the X-Ray SDK loaded by the request, as before issue #13;
- ``baseline``: `import boto3, chalice.app`, a one-route Chalice app; its init reads the same secrets and
  its request makes the same DynamoDB calls as the app's first submission (the emulator counts both, and
  the run stops if they differ). The ratio is then our code's cost, not the cost of the AWS calls.
With ``--before REV``, the app of that revision (a `git archive` of it) runs in the same loop as well.

Each time is printed twice: wall clock, and the child's own CPU time (``time.process_time``). The wall clock of
a request includes waiting for the emulator, a Python process on the same cores, whose time per call swings
by a factor of 3 on a shared machine; DynamoDB answers a Lambda in a few milliseconds whatever the
expression. The CPU time is what the function's code costs, and what a cold start on Lambda mostly is (512 MB
buys ~0.29 vCPU, docs/deploy.md): the goal is checked on it. A ratio is the median of the rounds' ratios (each
round runs every case once, back to back), since this machine's load moves between rounds.
Goal: the app's first request <= 1.3x the baseline's, in CPU (the import, and both together, printed beside).
Run: `.venv/bin/python bench/cold_start.py [runs] [--before REV]` (or `make bench`).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra import render  # noqa: E402

STAGE, FUNCTION = "prod", "api_handler"
REGION = "ap-southeast-1"
MEMORY_MB = 512
GOAL = 1.3
CASES = {
    "app": "app",
    "app, SDK on the first request (before #13)": "app+sdk",
    "baseline: boto3 + chalice.app": "baseline",
}
BASE = "baseline: boto3 + chalice.app"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "bench"}
ADMIN_KEY = "cold-start-admin-key-0123456789abcdef"
APP_SECRET = "cold-start-app-secret-0123456789abcdef-0123456789"


def free_port(kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def emulator() -> Iterator[tuple[str, Counter[str], list[Any]]]:
    """moto's server on a free loopback port; yields its URL, a counter of the AWS operations it answers (from
    the X-Amz-Target header: DynamoDB and Secrets Manager name their operation there) and the transactions."""
    from moto.server import ThreadedMotoServer

    calls: Counter[str] = Counter()
    transactions: list[Any] = []
    lock = threading.Lock()

    class Counting(ThreadedMotoServer):
        def _server_entry(self) -> None:
            from moto.moto_server import werkzeug_app
            from werkzeug.serving import make_server

            moto = werkzeug_app.DomainDispatcherApplication(werkzeug_app.create_backend_app)

            def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
                operation = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]
                if operation in ("GetItem", "TransactWriteItems"):
                    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                    environ["wsgi.input"] = io.BytesIO(body)
                    request = json.loads(body)
                    if operation == "GetItem":  # and the item it reads, which the baseline reads too
                        operation += ":" + json.dumps(request["Key"], sort_keys=True, separators=(",", ":"))
                    else:  # and its shape: how many puts and updates; the baseline replays the last one
                        transactions.append(request["TransactItems"])
                        kinds = Counter(kind for item in request["TransactItems"] for kind in item)
                        operation += f":{kinds['Put']}:{kinds['Update']}"
                        if set(kinds) - {"Put", "Update"}:
                            operation += ":" + "+".join(sorted(kinds))  # a shape the baseline cannot make
                if operation:
                    with lock:
                        calls[operation] += 1
                return moto(environ, start_response)

            handler = werkzeug_app.MotoRequestHandler
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=handler)
            self._server_ready_event.set()
            self._server.serve_forever()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
    server = Counting(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}", calls, transactions
    finally:
        server.stop()


def resolve(value: Any, known: dict[str, str]) -> str:
    """A template value as CloudFormation would give it, from the values of the resources it names."""
    if isinstance(value, str | int | float):
        return str(value)
    if "Ref" in value:
        return known[value["Ref"]]
    if "Fn::GetAtt" in value:
        return known[".".join(value["Fn::GetAtt"])]
    if "Fn::Sub" in value:
        text = value["Fn::Sub"]
        for name, resolved in known.items():
            text = text.replace("${" + name + "}", resolved)
        if "${" in text:
            raise SystemExit(f"bench/cold_start.py cannot resolve {value}: add the resource it names")
        return text
    raise SystemExit(f"bench/cold_start.py cannot resolve {value}")


def deployed_environment(known: dict[str, str], endpoint: str, home: str) -> dict[str, str]:
    """What the prod API function finds in os.environ on Lambda (the emulator standing in for AWS)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = {**config.get("environment_variables", {}), **config["stages"][STAGE].get("environment_variables", {})}
    env.update({name: resolve(value, known) for name, value in render.environment(STAGE, FUNCTION).items()})
    name = f"surveys-{STAGE}-{FUNCTION}"
    trace_root = f"1-{secrets.token_hex(4)}-{secrets.token_hex(12)}"
    daemon = f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}"  # nobody listens: UDP does not care
    env.update({
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_MB),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/27/[$LATEST]cold",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "_HANDLER": "app.app",
        "_X_AMZN_TRACE_ID": f"Root={trace_root};Parent={secrets.token_hex(8)};Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": daemon,
        "_AWS_XRAY_DAEMON_ADDRESS": daemon.partition(":")[0],
        "_AWS_XRAY_DAEMON_PORT": daemon.partition(":")[2],
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "AWS_ENDPOINT_URL": endpoint,
        **CREDENTIALS,
    })
    return env


def submission(token: str, nonce: str, n: int) -> dict[str, Any]:
    """POST /v1/responses as API Gateway's REST proxy integration delivers it to the function."""
    ip = f"203.0.113.{n % 250 + 1}"
    headers = {"content-type": "application/json", "host": "feedback.example.com",
               "user-agent": "Mozilla/5.0 (Linux; Android 14) Mobile", "x-forwarded-for": ip}
    return {
        "resource": "/v1/responses", "path": "/v1/responses", "httpMethod": "POST",
        "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"resourcePath": "/v1/responses", "httpMethod": "POST", "requestId": f"cold-{n}",
                           "path": "/api/v1/responses", "stage": "api", "identity": {"sourceIp": ip}},
        "body": json.dumps({"token": token, "score": 9, "nonce": nonce}), "isBase64Encoded": False,
    }


def seed(endpoint: str) -> tuple[dict[str, str], Callable[[int], dict[str, Any]]]:
    """The table, the stage's two secrets, a business with a table QR; returns the resolved template values
    and a maker of submission events, each with a fresh nonce."""
    import boto3

    from chalicelib import tables, wiring
    from chalicelib.domain.models import BusinessIn, TouchpointIn
    from chalicelib.settings import Settings

    aws = {"endpoint_url": endpoint, "region_name": REGION, "aws_access_key_id": "bench",
           "aws_secret_access_key": "bench"}
    table = "surveys-prod-SurveysTable-COLD"
    dynamodb = boto3.client("dynamodb", **aws)
    dynamodb.create_table(**tables.create_table_kwargs(table))
    stream = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    manager = boto3.client("secretsmanager", **aws)
    known = {
        render.TABLE_RESOURCE: table,
        f"{render.TABLE_RESOURCE}.StreamArn": stream,
        render.ADMIN_KEY_RESOURCE: manager.create_secret(Name="cold-admin", SecretString=ADMIN_KEY)["ARN"],
        render.APP_SECRET_RESOURCE: manager.create_secret(Name="cold-app", SecretString=APP_SECRET)["ARN"],
        render.CONFIGURATION_SET: "surveys-prod-mail",
        "PublicBaseUrl": "https://feedback.example.com",
        "MailFrom": "no-reply@example.com",
        **{name: str(p["Default"]) for name, p in render.parameters(STAGE).items() if "Default" in p},
    }
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_DEFAULT_REGION=REGION, **CREDENTIALS)
    settings = Settings(stage="test", table_name=table, app_secret=APP_SECRET, admin_key=ADMIN_KEY,
                        public_base_url=known["PublicBaseUrl"])
    built = wiring.build(settings)
    created = built.access.create_business(
        BusinessIn(name="Cà phê Cold", owner_emails=["owner@example.com"], timezone="Asia/Ho_Chi_Minh", locale="vi")
    )
    owner = built.access.authenticate(f"Bearer {created.owner_key}", created.business_id)
    token = built.links.create_touchpoint(owner, TouchpointIn(name="Bàn 1", channel="qr", metric="nps")).token
    opened = built.submissions.open_link(token)
    return known, lambda n: submission(token, built.submissions.page_nonce(opened) or "", n)


def run_child(case: str, tree: Path, env: dict[str, str], event: dict[str, Any], calls: Counter[str]) -> dict[str, Any]:
    """One fresh interpreter of ``case`` with the code of ``tree`` as the function's code (LAMBDA_TASK_ROOT)."""
    calls.clear()
    code = {"LAMBDA_TASK_ROOT": str(tree), "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "_cold_child.py")], cwd=tree,
        env={**env, **code, "COLD_CASE": case, "COLD_EVENT": json.dumps(event)}, capture_output=True, text=True,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("COLD ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{case} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("COLD "))
    if result["status"] != 201:
        raise SystemExit(f"{case}: the submission answered {result['status']}, not 201:\n{done.stdout[-2000:]}")
    result["calls"] = dict(sorted(calls.items()))
    return result


@contextmanager
def revision(rev: str | None) -> Iterator[Path | None]:
    """The code of another revision in a temporary directory (git archive), to run beside this tree's."""
    if rev is None:
        yield None
        return
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        yield Path(tmp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="?", type=int, default=9)
    parser.add_argument("--before", metavar="REV", help="also run the app of this revision (e.g. the one before #13)")
    args = parser.parse_args()
    with emulator() as (endpoint, calls, transactions), tempfile.TemporaryDirectory() as home, \
            revision(args.before) as other:
        cases = {name: (case, ROOT) for name, case in CASES.items()}
        if other is not None:
            cases = {f"app at {args.before}": ("app", other), **cases}
        known, event = seed(endpoint)
        env = deployed_environment(known, endpoint, home)
        # The app's calls, learnt from one run (which also writes the bytecode, as the zip's is reused).
        first = run_child("app", ROOT, env, event(0), calls)
        secret_reads = first["calls"].pop("GetSecretValue", 0)
        readable = [known[render.ADMIN_KEY_RESOURCE], known[render.APP_SECRET_RESOURCE]]
        env.update(COLD_CALLS="\n".join(op for op, count in first["calls"].items() for _ in range(count)),
                   COLD_SECRETS=" ".join(readable[:secret_reads]), COLD_TRANSACTION=json.dumps(transactions[-1]))
        for case, tree in cases.values():
            run_child(case, tree, env, event(1), calls)
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in cases}
        n = 2
        for _ in range(args.runs):
            for name, (case, tree) in cases.items():
                results[name].append(run_child(case, tree, env, event(n), calls))
                n += 1
    report(args.runs, results)


def calls_made(calls: dict[str, int]) -> str:
    """GetItem x2, TransactWriteItems (1 put, 3 updates) ...: the operations, without the keys read."""
    made: Counter[str] = Counter()
    for operation, count in calls.items():
        name, _, shape = operation.partition(":")
        if name == "TransactWriteItems":
            puts, _, updates = shape.partition(":")
            name += f" ({puts} put, {updates} updates)"
        made[name] += count
    return ", ".join(f"{name} x{count}" for name, count in sorted(made.items()))


def report(runs: int, results: dict[str, list[dict[str, Any]]]) -> None:
    def value(row: dict[str, Any], part: str, clock: str) -> float:
        if part == "total":
            return float(row["import" + clock] + row["request" + clock])
        return float(row[part + clock])

    def median(name: str, part: str, clock: str = "") -> float:
        return statistics.median(value(row, part, clock) for row in results[name])

    def ratio(name: str, part: str, clock: str = "") -> float:
        # The median of each round's ratio: a round's cases run back to back, under the same load, while the
        # load of this shared machine moves between rounds (its CPU times then shift by ~1.5x for all cases).
        rounds = zip(results[name], results[BASE], strict=True)
        return statistics.median(value(row, part, clock) / value(base, part, clock) for row, base in rounds)

    def ratios(name: str, clock: str) -> str:
        return ", ".join(f"{label} {ratio(name, part, clock):.2f}" for part, label in
                         (("import", "import"), ("request", "first request"), ("total", "import + first request")))

    print(f"cold start as deployed (stage {STAGE}, function {FUNCTION}, X-Ray sampled), median of {runs} fresh "
          f"interpreters per case (alternating), Python {sys.version.split()[0]}")
    print(f"  {'case':<44} {'import':>9} {'1st request':>12} {'total':>9}   X-Ray SDK   AWS calls (to the emulator)")
    for name, rows in results.items():
        sdk = {r["sdk"] for r in rows}
        loaded = "yes" if sdk == {True} else "no" if sdk == {False} else "sometimes"
        print(f"  {name:<44} {median(name, 'import') * 1000:6.1f} ms {median(name, 'request') * 1000:9.1f} ms "
              f"{median(name, 'total') * 1000:6.1f} ms   {loaded:<5} {calls_made(rows[-1]['calls'])}")
        print(f"  {'  its own CPU (the emulator excluded)':<44} {median(name, 'import', '_cpu') * 1000:6.1f} ms "
              f"{median(name, 'request', '_cpu') * 1000:9.1f} ms {median(name, 'total', '_cpu') * 1000:6.1f} ms")
    app_calls, base_calls = results["app"][-1]["calls"], results[BASE][-1]["calls"]
    if app_calls != base_calls:
        raise SystemExit(f"the baseline made other AWS calls than the app: {base_calls} != {app_calls}")
    for name in (name for name in results if name != BASE):
        print(f"  {name}: ratio to the baseline (median of the rounds'): {ratios(name, '')}; "
              f"CPU: {ratios(name, '_cpu')}")
    cpu, wall = ratio("app", "request", "_cpu"), ratio("app", "request")
    verdict = "ok" if cpu <= GOAL else "MISSED"
    print(f"goal: the app's first request <= {GOAL}x the baseline's, in the function's own CPU: {cpu:.2f}: {verdict} "
          f"(wall clock, the emulator's time and this machine's noise included: {wall:.2f})")


if __name__ == "__main__":
    main()
