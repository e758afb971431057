"""`make run`: the API on 127.0.0.1:$PORT against an embedded AWS emulator on 127.0.0.1:$EMULATOR_PORT.

One process on purpose: the emulator (moto server), the table created from ``chalicelib.tables``, a
seeded demo café, and chalice's own local server running the real ``app`` in-process. Chalice's server
builds the same API Gateway events Lambda receives, and being in-process lets the jobs AWS would
trigger by itself (stream consumer, daily schedule) run in threads beside it. Ctrl-C stops it all.

The composition root (``chalicelib/wiring.py``) knows nothing of this: :func:`install_local_services`
builds the app's services with the local mailer and alert flusher and installs them before the app
serves, and `make aggregate` / `make redrive` do the same against the running emulator.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

if TYPE_CHECKING:
    from chalicelib.wiring import Services

ROOT = Path(__file__).resolve().parents[2]
LOCAL_DIR = ROOT / ".local"


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        sys.exit(f"{name} must be a port number from 1 to 65535, not {raw!r}")
    return int(raw)


def _ensure_free(port: int, name: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            sys.exit(f"127.0.0.1:{port} is in use; stop what runs there or set {name} to another port.")


def configure_environment(api_port: int, emulator_port: int) -> dict[str, str]:
    """Point every boto3 client at the emulator and give the app its local settings."""
    admin_key = os.environ.get("ADMIN_KEY") or "local-admin-" + secrets.token_hex(12)
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{emulator_port}",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "ap-southeast-1"),
        "AWS_REGION": os.environ.get("AWS_DEFAULT_REGION", "ap-southeast-1"),
        "STAGE": "local",
        "TABLE_NAME": os.environ.get("TABLE_NAME", "surveys-local"),
        "ADMIN_KEY": admin_key,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{api_port}",
        "POWERTOOLS_METRICS_NAMESPACE": "SurveyCollection",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
        # The EMF metric lines are for CloudWatch; on a developer's console they bury the warnings.
        # POWERTOOLS_METRICS_DISABLED=false brings them back (issue #11 item 6).
        "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
    }
    os.environ.update(env)
    return env


def install_local_services() -> Services:
    """The services the app uses from now on, as AWS has them except two pieces AWS provides by itself:
    every email is also written to .local/outbox/ as an .eml file (still sent through the emulated SES),
    and a window of batched owner alerts is flushed by a timer thread instead of an SQS delayed message
    (the emulator's queue would need a poller). Call after :func:`configure_environment`."""
    from chalicelib import wiring
    from chalicelib.local.outbox import OutboxMailer
    from chalicelib.local.stream import TimerAlertFlusher
    from chalicelib.settings import get_settings

    wiring.reset()  # settings are read again, from the environment configure_environment set
    settings = get_settings()
    built = wiring.build(
        settings, mailer=OutboxMailer(wiring.default_mailer(settings)), alert_flusher=TimerAlertFlusher()
    )
    wiring.install(built)
    return built


def emulator_up(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def join_running() -> Services | None:
    """For a command run beside `make run` (`make aggregate`, `make redrive`): the local services against
    its emulator, or None (and why, on stderr) when no emulator answers on EMULATOR_PORT."""
    api_port, emulator_port = _port("PORT", 8000), _port("EMULATOR_PORT", 4566)
    if not emulator_up(emulator_port):
        print(
            f"No emulator on 127.0.0.1:{emulator_port}: start `make run` first (same EMULATOR_PORT).", file=sys.stderr
        )
        return None
    configure_environment(api_port, emulator_port)
    return install_local_services()


# What every LogRecord has; anything else on a record came from ``extra=`` and is worth printing.
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


# Powertools' Logger needs its own formatter type (it keeps the Lambda context keys on it).
class ConsoleFormatter(LambdaPowertoolsFormatter):
    """`make run`: one readable line per log record (time, level, thread, message, key=value of the
    extras; the traceback below an exception) instead of CloudWatch's JSON. LOCAL_LOG_FORMAT=json keeps
    the JSON."""

    def format(self, record: logging.LogRecord) -> str:
        when = self.formatTime(record, "%H:%M:%S")
        extras = " ".join(
            f"{key}={value}"
            for key, value in record.__dict__.items()
            if key not in _RECORD_FIELDS and not key.startswith("_") and value not in (None, "")
        )
        line = f"{when} {record.levelname:<7} [{record.threadName}] {record.getMessage()}"
        if extras:
            line += f"  ({extras})"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def use_console_logs() -> None:
    """The stream consumer's, the jobs' and the API's warnings and errors, readable where `make run` runs."""
    if os.environ.get("LOCAL_LOG_FORMAT", "").lower() == "json":
        return
    from chalicelib.observability import logger

    logger.registered_handler.setFormatter(ConsoleFormatter())


def start_emulator(port: int) -> Any:
    from moto.server import ThreadedMotoServer

    # The emulator's per-request access log would drown the banner and the API's own log.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from chalicelib.local import emulator

    emulator.install()
    # Loopback only: moto would otherwise listen on every interface.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server


def create_table(table_name: str) -> None:
    import boto3

    from chalicelib import tables

    client = boto3.client("dynamodb")
    client.create_table(**tables.create_table_kwargs(table_name))
    client.update_time_to_live(
        TableName=table_name, TimeToLiveSpecification={"AttributeName": tables.TTL_ATTRIBUTE, "Enabled": True}
    )


def main() -> None:
    api_port = _port("PORT", 8000)
    emulator_port = _port("EMULATOR_PORT", 4566)
    _ensure_free(api_port, "PORT")
    _ensure_free(emulator_port, "EMULATOR_PORT")
    from chalicelib.local.history import history_days

    try:
        days = history_days(os.environ.get("DEMO_HISTORY_DAYS"))
    except ValueError as exc:
        sys.exit(str(exc))
    env = configure_environment(api_port, emulator_port)
    use_console_logs()

    emulator = start_emulator(emulator_port)
    try:
        create_table(env["TABLE_NAME"])
        install_local_services()
        from chalicelib.local.seed import seed_demo

        started = time.perf_counter()
        if days:
            print(f"Seeding the demo café with {days} days of history (DEMO_HISTORY_DAYS=0 for none)...", flush=True)
        demo = seed_demo(env, days)
        seeded_in = time.perf_counter() - started
        LOCAL_DIR.mkdir(exist_ok=True)
        (LOCAL_DIR / "demo.env").write_text(demo.env_file())
        (LOCAL_DIR / "demo.json").write_text(json.dumps(demo.as_dict(), indent=2, ensure_ascii=False))
        print(demo.banner(), flush=True)
        print(f"Demo seeded in {seeded_in:.1f} s" + (f": {demo.history}" if demo.history else ""), flush=True)
        from chalicelib.local.stream import start_local_followups

        # The stream consumer AWS would run (vouchers, apologies, alerts), from the first answer after the
        # seeding: the past's follow-ups were handled while it was written.
        start_local_followups(env["TABLE_NAME"], start="LATEST")
        from chalicelib.local.webhooks import start_local_webhooks

        start_local_webhooks(env["TABLE_NAME"], start="LATEST")  # issue #16: owners' webhooks and Slack
        from chalicelib.local.scheduler import start_local_schedule

        start_local_schedule()  # the hourly daily-report schedule and its SQS consumer
        serve(api_port)
    finally:
        emulator.stop()


def serve(port: int) -> None:
    from chalice.config import Config
    from chalice.local import create_local_server

    sys.path.insert(0, str(ROOT))
    from app import app

    server = create_local_server(app, Config(chalice_stage="local", function_name="api_handler"), "127.0.0.1", port)
    stop = threading.Event()

    def _stop(*_: Any) -> None:
        if not stop.is_set():
            stop.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"API on http://127.0.0.1:{port}  (Ctrl-C stops the API and the emulator)", flush=True)
    server.server.serve_forever(poll_interval=0.2)
    server.server.server_close()
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
