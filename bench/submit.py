"""Submissions through the real Lambda handler against moto in-process.

Prints, for a warm container: AWS calls per submission (goal <= 2: the write and nothing else once the
business is cached) and our own CPU time per submission with the AWS calls excluded (goal p50 <= 1 ms).
"Excluded" means the thread CPU time spent inside boto3 client methods (request building, signing and
the emulated AWS itself) is subtracted from the thread CPU time of the whole handler invocation.
Run: `.venv/bin/python bench/submit.py [submissions]` (or `make bench`).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

from _inprocess import Context, CountingClient, prepare

prepare("surveys-bench", ADMIN_KEY="bench-admin-key-0123456789abcdef", PYDANTIC_DISABLE_PLUGINS="1")


def event(body: str, user_agent: str) -> dict[str, Any]:
    return {
        "resource": "/v1/responses",
        "path": "/v1/responses",
        "httpMethod": "POST",
        "headers": {"content-type": "application/json", "user-agent": user_agent, "host": "bench"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/v1/responses",
            "httpMethod": "POST",
            "requestId": "bench",
            "path": "/api/v1/responses",
            "identity": {"sourceIp": "203.0.113.7"},
            "stage": "api",
        },
        "body": body,
        "isBase64Encoded": False,
    }


class _Replay:
    """The moto client, except that TransactWriteItems is answered by ``write`` (moto's recorded answer)."""

    def __init__(self, moto_client: Any, write: Any) -> None:
        self._moto = moto_client
        self.transact_write_items = write

    def __getattr__(self, name: str) -> Any:
        return getattr(self._moto, name)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from chalicelib import tables, wiring
    from chalicelib.adapters.dynamodb import DynamoStore, make_client
    from chalicelib.local import emulator
    from chalicelib.settings import get_settings

    emulator.install()  # the emulator as `make run` has it: its cost is not what is measured here
    with mock_aws():
        boto3.client("dynamodb").create_table(**tables.create_table_kwargs("surveys-bench"))
        counting = CountingClient(make_client())
        wiring.reset()
        # Hundreds of answers a second through one QR from one address would (rightly) hit the rate limits;
        # raised here, but the counters are still updated inside every submission's transaction.
        settings = get_settings().model_copy(update={"rate_limit_per_ip": 10**6, "rate_limit_per_link": 10**6})
        wiring.install(wiring.build(settings, DynamoStore("surveys-bench", client=counting)))
        from app import app

        with Client(app) as client:
            created = client.http.post(
                "/v1/businesses",
                headers={
                    "Authorization": "Bearer bench-admin-key-0123456789abcdef",
                    "Content-Type": "application/json",
                },
                body=json.dumps(
                    {
                        "name": "Bench Café",
                        "owner_emails": ["o@bench.example"],
                        "timezone": "Asia/Ho_Chi_Minh",
                        "locale": "vi",
                    }
                ),
            ).json_body
            tp = client.http.post(
                f"/v1/businesses/{created['business_id']}/touchpoints",
                headers={"Authorization": f"Bearer {created['owner_key']}", "Content-Type": "application/json"},
                body=json.dumps({"name": "Table", "channel": "qr", "metric": "nps"}),
            ).json_body
        token = tp["token"]
        context = Context()
        submissions = wiring.services().submissions
        opened = submissions.open_link(token)

        def page_view() -> str:
            # Each answer carries the nonce its survey page was served with (#11 item 1). Issued outside
            # the timing: that is the page's cost (a GET), not the submission's; verifying it is measured.
            return submissions.page_nonce(opened) or ""

        # The first submission fills the container's business and touchpoint cache (a cold container).
        first = app(event(json.dumps({"token": token, "score": 9, "nonce": page_view()}), "warmup"), context)
        assert first["statusCode"] == 201, first
        counting.calls.clear()

        cpu_ours: list[float] = []
        wall: list[float] = []
        calls_per: list[int] = []
        refreshes: list[bool] = []
        for i in range(runs):
            body = json.dumps(
                {"token": token, "score": i % 11, "comment": "Cà phê ngon, phục vụ nhanh", "nonce": page_view()}
            )
            before_calls = sum(counting.calls.values())
            gets_before = counting.calls["get_item"]
            inside_before = counting.cpu_inside
            w0, c0 = time.perf_counter(), time.thread_time()
            out = app(event(body, f"phone-{i}"), context)
            c1, w1 = time.thread_time(), time.perf_counter()
            assert out["statusCode"] == 201, out
            cpu_ours.append((c1 - c0) - (counting.cpu_inside - inside_before))
            wall.append(w1 - w0)
            calls_per.append(sum(counting.calls.values()) - before_calls)
            refreshes.append(counting.calls["get_item"] != gets_before)

        # The same again with the write answered by a replay of moto's own answer: no emulator work between
        # submissions, so nothing evicts our code from the CPU caches (in Lambda the call is a network wait).
        moto_calls = dict(counting.calls)
        answer = counting._client.transact_write_items
        recorded: dict[str, Any] = {}

        def replayed(**kwargs: Any) -> Any:
            if not recorded:
                recorded.update(answer(**kwargs))
            return recorded

        moto_client, counting._client = counting._client, _Replay(moto_client=counting._client, write=replayed)
        cpu_replay: list[float] = []
        for i in range(runs):
            body = json.dumps(
                {"token": token, "score": i % 11, "comment": "Cà phê ngon, phục vụ nhanh", "nonce": page_view()}
            )
            inside_before = counting.cpu_inside
            c0 = time.thread_time()
            out = app(event(body, f"replay-{i}"), context)
            c1 = time.thread_time()
            assert out["statusCode"] == 201, out
            cpu_replay.append((c1 - c0) - (counting.cpu_inside - inside_before))
        counting._client = moto_client

    def ms(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if q < 100 else max(values) * 1000

    p50_moto = statistics.median(cpu_ours) * 1000
    p50 = statistics.median(cpu_replay) * 1000
    cached = [n for n, refreshed in zip(calls_per, refreshes, strict=True) if not refreshed]
    print(f"{runs} warm submissions through the real handler (moto in-process), Python {sys.version.split()[0]}")
    print(
        f"  AWS calls per submission with the business cached: max {max(cached)}, mean {statistics.mean(cached):.2f} "
        f"({len(cached)} submissions); by operation over all: {moto_calls}"
    )
    print(
        f"  submissions that refreshed the {get_settings().business_cache_seconds}-s business cache: "
        f"{runs - len(cached)}, each {sorted(set(n for n, r in zip(calls_per, refreshes, strict=True) if r))} calls"
    )
    print(
        f"  our CPU per submission (AWS calls excluded): p50 {p50:.3f} ms, p90 {ms(cpu_replay, 90):.3f} ms, "
        f"p99 {ms(cpu_replay, 99):.3f} ms (the write answered by a replay of moto's answer)"
    )
    print(
        f"  the same measured between moto's calls: p50 {p50_moto:.3f} ms, p90 {ms(cpu_ours, 90):.3f} ms, "
        f"p99 {ms(cpu_ours, 99):.3f} ms (its own work between our calls evicts our code from the CPU caches)"
    )
    print(f"  wall time per submission incl. moto: p50 {statistics.median(wall) * 1000:.2f} ms")
    print(
        f"goal calls <= 2 (business cached): {'ok' if max(cached) <= 2 else 'MISSED'}; "
        f"goal CPU p50 <= 1 ms: {'ok' if p50 <= 1.0 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
