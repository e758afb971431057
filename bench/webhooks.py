"""Owners' webhooks (issue #16) on loopback: delivery latency, the fan-out's throughput, and whether a slow
endpoint delays a customer's answer.

In one process, against moto: a business with 5 endpoints (real HTTP receivers on 127.0.0.1 answering 204)
gets `events` answers' worth of `response.created` events. Measured:

* fan-out: `Webhooks.publish` (one Query of the business's endpoints, one SQS message per endpoint), events/s;
* delivery: `Webhooks.deliver` per message (read the endpoint, sign, POST over loopback, log the attempt),
  run by 8 threads as 8 concurrent Lambda workers would: deliveries/s, and each delivery's latency p50/p99
  (the worker's whole call) and its HTTP part;
* a customer's answer (`POST /v1/responses` through the real handler), timed side by side with no endpoint
  and while a 5-second endpoint is being delivered to in the background, the way SQS would drive it.

Run: `.venv/bin/python bench/webhooks.py [events]` (default 200).
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from _inprocess import prepare

prepare("surveys-bench", ADMIN_KEY="bench-admin-key-0123456789abcdef", PYDANTIC_DISABLE_PLUGINS="1")

ENDPOINTS = 5
WORKERS = 8
SLOW_SECONDS = 5.0


def receiver(delay: float = 0.0) -> tuple[ThreadingHTTPServer, list[float]]:
    arrivals: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if delay:
                time.sleep(delay)
            arrivals.append(time.perf_counter())
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, arrivals


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from chalicelib import tables, wiring
    from chalicelib.adapters.dynamodb import DynamoStore
    from chalicelib.adapters.sqs import create_queues
    from chalicelib.local import emulator
    from chalicelib.settings import get_settings

    emulator.install()
    with mock_aws():
        boto3.client("dynamodb").create_table(**tables.create_table_kwargs("surveys-bench"))
        settings = get_settings().model_copy(update={"rate_limit_per_ip": 10**6, "rate_limit_per_link": 10**6})
        create_queues([settings.webhooks_queue_name, settings.webhooks_dlq_name])
        wiring.reset()
        wiring.install(wiring.build(settings, DynamoStore("surveys-bench")))
        from app import app

        admin = {"Authorization": "Bearer bench-admin-key-0123456789abcdef", "Content-Type": "application/json"}
        with Client(app) as client:
            biz = client.http.post("/v1/businesses", headers=admin, body=json.dumps(
                {"name": "Bench Café", "owner_emails": ["o@bench.example"], "timezone": "Asia/Ho_Chi_Minh",
                 "locale": "vi"})).json_body
            auth = {"Authorization": f"Bearer {biz['owner_key']}", "Content-Type": "application/json"}
            tp = client.http.post(f"/v1/businesses/{biz['business_id']}/touchpoints", headers=auth,
                                  body=json.dumps({"name": "Table", "channel": "qr", "metric": "nps"})).json_body
            servers = [receiver() for _ in range(ENDPOINTS)]
            for server, _ in servers:
                url = f"http://127.0.0.1:{server.server_address[1]}/hook"
                made = client.http.post(f"/v1/businesses/{biz['business_id']}/webhooks", headers=auth,
                                        body=json.dumps({"url": url, "events": ["response.created"]}))
                assert made.status_code == 201, made.body

            hooks = wiring.services().webhooks
            sqs = boto3.client("sqs")
            queue = sqs.get_queue_url(QueueName=settings.webhooks_queue_name)["QueueUrl"]

            # ---- fan-out
            started = time.perf_counter()
            for i in range(events):
                hooks.publish(biz["business_id"], "response.created", f"evt_bench_{i}", "2026-11-28T08:00:00.000000Z",
                              {"response_id": f"r{i}", "touchpoint_id": tp["touchpoint_id"], "metric": "nps",
                               "score": i % 11})
            fan_out = time.perf_counter() - started

            # ---- delivery, 8 concurrent workers
            messages: list[dict[str, Any]] = []
            while True:
                got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
                if not got:
                    break
                for message in got:
                    messages.append(json.loads(message["Body"]))
                    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            durations: list[float] = []

            def deliver(message: dict[str, Any]) -> str:
                began = time.perf_counter()
                outcome = hooks.deliver(message)
                durations.append((time.perf_counter() - began) * 1000)
                return outcome

            started = time.perf_counter()
            with ThreadPoolExecutor(WORKERS) as pool:
                outcomes = list(pool.map(deliver, messages))
            delivering = time.perf_counter() - started
            arrived = sum(len(arrivals) for _, arrivals in servers)
            http_ms = [
                d.latency_ms for w in hooks.list(wiring.services().access.authenticate(
                    f"Bearer {biz['owner_key']}", biz["business_id"])).webhooks
                for d in hooks.deliveries(wiring.services().access.authenticate(
                    f"Bearer {biz['owner_key']}", biz["business_id"]), w.webhook_id).deliveries
            ]

            # ---- a customer's answer, side by side: no endpoint busy / a 5-second endpoint being delivered to
            submissions = wiring.services().submissions
            opened = submissions.open_link(tp["token"])

            def answers(count: int) -> list[float]:
                took = []
                for i in range(count):
                    body = {"token": tp["token"], "score": i % 11, "nonce": submissions.page_nonce(opened) or ""}
                    began = time.perf_counter()
                    answer = client.http.post("/v1/responses", headers={"Content-Type": "application/json"},
                                              body=json.dumps(body))
                    took.append((time.perf_counter() - began) * 1000)
                    assert answer.status_code == 201, answer.body
                return took

            quiet = answers(100)
            slow_server, slow_arrivals = receiver(SLOW_SECONDS)
            slow_url = f"http://127.0.0.1:{slow_server.server_address[1]}/slow"
            made = client.http.post(f"/v1/businesses/{biz['business_id']}/webhooks", headers=auth,
                                    body=json.dumps({"url": slow_url, "events": ["report.daily"]})).json_body
            slow_message = {"business_id": biz["business_id"], "webhook_id": made["webhook_id"], "attempt": 1,
                            "first_at": "2026-11-28T08:00:00.000000Z",
                            "event": {"id": "evt_slow", "type": "report.daily", "created_at": "2026-11-28T08:00:00Z",
                                      "data": {}}}
            background = ThreadPoolExecutor(4)
            slow_started = time.perf_counter()
            slow_runs = [background.submit(hooks.deliver, slow_message) for _ in range(4)]
            busy = answers(100)
            still_busy = not all(f.done() for f in slow_runs)
            for f in slow_runs:
                f.result()
            slow_took = time.perf_counter() - slow_started
            background.shutdown()

    print(f"webhooks on loopback: {events} events x {ENDPOINTS} endpoints, {WORKERS} workers (moto in-process)")
    print(f"fan-out    {events / fan_out:8.0f} events/s   ({len(messages)} messages queued in {fan_out:.2f} s)")
    print(f"delivery   {len(messages) / delivering:8.0f} deliveries/s  ({outcomes.count('delivered')} delivered, "
          f"{arrived} received)")
    print(f"latency    worker call p50 {statistics.median(durations):6.1f} ms  p99 {pct(durations, 0.99):6.1f} ms")
    print(f"           HTTP part   p50 {statistics.median(http_ms):6.1f} ms  p99 {pct(http_ms, 0.99):6.1f} ms")
    print(f"answers    no endpoint busy    p50 {statistics.median(quiet):6.2f} ms  p99 {pct(quiet, 0.99):6.2f} ms")
    print(f"           5 s endpoint busy   p50 {statistics.median(busy):6.2f} ms  p99 {pct(busy, 0.99):6.2f} ms  "
          f"(deliveries still in flight while timing: {still_busy}; they took {slow_took:.1f} s)")
    ratio = statistics.median(busy) / statistics.median(quiet)
    verdict = "ok" if ratio < 1.5 and max(busy) < SLOW_SECONDS * 1000 else "MISSED"
    print(f"ratio busy/quiet p50 {ratio:.2f}; no answer waited on the slow endpoint: {verdict}")
    print(f"slow endpoint received {len(slow_arrivals)} deliveries")


if __name__ == "__main__":
    main()
