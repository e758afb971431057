"""The owner console's cost per page, for a business with 10,000 answers in the last 30 days.

For every console page (each GET route under ``/console/{business_id}`` of the app's own routing table,
signed in with a real session cookie) it prints:

* the transfer size: the bytes of the answer as served, and gzipped (goal: at most 30 KB), and whether the
  page names any other host (goal: none: no script, style, font or image from elsewhere);
* our CPU per page, AWS calls excluded (goal p50 <= 50 ms): the thread CPU time of the whole handler
  invocation minus the thread CPU time spent inside boto3 client methods (request building, signing and
  the emulated AWS itself), as ``bench/submit.py`` measures a submission;
* the DynamoDB calls per page by operation (goal: no Scan).

The data: 10,000 answers spread over the last 30 local days across four touchpoints (written straight into
their day partitions: the submission path is not what is measured), a case for every unhappy answer (a
third of them with a consented address, some replied to and resolved), and the 29 finished days' reports
stored by the real daily job.

    .venv/bin/python bench/console.py [requests per page] [a page to profile, e.g. "/ (today)"]
"""

from __future__ import annotations

import gzip
import json
import random
import re
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from _inprocess import Context, CountingClient, prepare

ADMIN = "bench-admin-key-0123456789abcdef"
prepare("surveys-bench", ADMIN_KEY=ADMIN, PYDANTIC_DISABLE_PLUGINS="1", PUBLIC_BASE_URL="https://api.bench.example")

ANSWERS = 10_000
DAYS = 30
GOAL_BYTES = 30 * 1024
GOAL_CPU_MS = 50.0
TOUCHPOINTS = [("Bàn 1", "qr", "nps"), ("Quầy", "qr", "csat"), ("Hoá đơn", "receipt", "nps"), ("Website", "web", "ces")]
COMMENTS = ["Phục vụ chậm quá", "Cà phê ngon", "Nhân viên thân thiện", "Chờ lâu, đồ uống nguội", "Great coffee"]
# Scores as a café sees them: mostly happy, about one answer in five unhappy.
SCORES = {
    "nps": (range(11), [2, 1, 1, 1, 2, 3, 6, 12, 18, 24, 30]),
    "csat": (range(1, 6), [6, 8, 12, 34, 40]),
    "ces": (range(1, 8), [4, 6, 8, 12, 20, 25, 25]),
}
# What a page may link to without naming another host: its own paths, fragments, cid: and data: images.
_FOREIGN = re.compile(r"""(?:src|href|action|url\()\s*=?\s*["']?\s*(?:https?:)?//(?!api\.bench\.example)""", re.I)


def event(method: str, resource: str, params: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
    path = resource
    for name, value in params.items():
        path = path.replace("{" + name + "}", value)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"host": "api.bench.example", **headers},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "requestId": "bench",
            "path": path,
            "identity": {"sourceIp": "203.0.113.7"},
            "stage": "api",
        },
        "body": None,
        "isBase64Encoded": False,
    }


def write_answers(client: Any, business_id: str, touchpoints: list[dict[str, Any]], timezone: str) -> list[Any]:
    """10,000 answers in the last 30 local days, newest today; returns the unhappy ones as stored."""
    from boto3.dynamodb.types import TypeSerializer

    from chalicelib import tables
    from chalicelib.domain.addresses import email_hash
    from chalicelib.domain.calendar import iso_utc, local_day, zone
    from chalicelib.domain.keys import new_id
    from chalicelib.domain.metrics import is_unhappy
    from chalicelib.domain.models import StoredResponse
    from chalicelib.settings import get_settings

    rng = random.Random(2026)
    ser = TypeSerializer()
    now = datetime.now(UTC)
    today = local_day(now, timezone)
    start_local = datetime.combine(today - timedelta(days=DAYS - 1), datetime.min.time(), zone(timezone))
    span = (now - start_local.astimezone(UTC)).total_seconds()
    secret = get_settings().app_secret
    unhappy: list[StoredResponse] = []
    batch: list[dict[str, Any]] = []
    for i in range(ANSWERS):
        tp = touchpoints[i % len(touchpoints)]
        created = start_local.astimezone(UTC) + timedelta(seconds=span * (i + 0.5) / ANSWERS)
        score = rng.choices(*SCORES[tp["metric"]])[0]
        bad = is_unhappy(tp["metric"], score)
        email = f"guest{i}@example.com" if bad and rng.random() < 1 / 3 else None
        stamp = iso_utc(created)
        response = StoredResponse(
            response_id=new_id(16), business_id=business_id, touchpoint_id=tp["touchpoint_id"], channel=tp["channel"],
            metric=tp["metric"], score=score, unhappy=bad, created_at=stamp, updated_at=stamp,
            local_date=local_day(created, timezone).isoformat(), locale="vi",
            comment=rng.choice(COMMENTS) if rng.random() < 0.3 else None, email=email,
            email_hash=email_hash(secret, email) if email else None, consent=email is not None,
        )
        data = response.model_dump(mode="json", exclude_none=True)
        data.update(
            PK=tables.response_pk(business_id, response.local_date),
            SK=tables.response_sk(stamp, response.response_id),
            type="response",
        )
        batch.append({"PutRequest": {"Item": {k: ser.serialize(v) for k, v in data.items()}}})
        if bad:
            unhappy.append(response)
        if len(batch) == 25:
            client.batch_write_item(RequestItems={"surveys-bench": batch})
            batch = []
    if batch:
        client.batch_write_item(RequestItems={"surveys-bench": batch})
    return unhappy


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    profile = sys.argv[2] if len(sys.argv) > 2 else None  # a page's label: print where its CPU goes
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from chalicelib import tables, wiring
    from chalicelib.adapters.dynamodb import DynamoStore, make_client
    from chalicelib.domain.calendar import local_day
    from chalicelib.domain.jobs import ReportJob
    from chalicelib.local import emulator
    from chalicelib.settings import get_settings

    emulator.install()  # the emulator as `make run` has it: its cost is not what is measured here
    with mock_aws():
        boto3.client("dynamodb").create_table(**tables.create_table_kwargs("surveys-bench"))
        counting = CountingClient(make_client())
        wiring.reset()
        store = DynamoStore("surveys-bench", client=counting)
        wiring.install(wiring.build(get_settings(), store, mailer=KeptMailer()))
        from app import app

        services = wiring.services()
        with Client(app) as client:
            admin = {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"}
            created = client.http.post("/v1/businesses", headers=admin, body=json.dumps({
                "name": "Cà Phê Bench", "owner_emails": ["owner@bench.example"], "timezone": "Asia/Ho_Chi_Minh",
                "locale": "vi", "voucher": {"description": "Giảm 10%", "valid_days": 30},
            })).json_body
            biz, owner = created["business_id"], {"Authorization": f"Bearer {created['owner_key']}",
                                                  "Content-Type": "application/json"}
            touchpoints = []
            for name, channel, metric in TOUCHPOINTS:
                tp = client.http.post(f"/v1/businesses/{biz}/touchpoints", headers=owner,
                                      body=json.dumps({"name": name, "channel": channel, "metric": metric})).json_body
                touchpoints.append({"touchpoint_id": tp["touchpoint_id"], "channel": channel, "metric": metric})
        business = services.directory.fresh(biz)
        t0 = time.perf_counter()
        unhappy = write_answers(counting._client, biz, touchpoints, business.timezone)
        open_cases(services, business, unhappy)
        today = local_day(datetime.now(UTC), business.timezone)
        for back in range(DAYS - 1, 0, -1):
            services.reports.run(ReportJob(biz, (today - timedelta(days=back)).isoformat()), send_digest=False)
        print(f"seeded {ANSWERS} answers over {DAYS} days, {len(unhappy)} cases, {DAYS - 1} reports "
              f"in {time.perf_counter() - t0:.1f} s")

        cookie = sign_in(services, biz, created["owner_key"])
        pages = console_pages(app, {
            "business_id": biz, "response_id": unhappy[-1].response_id,
            "touchpoint_id": touchpoints[0]["touchpoint_id"], "token": sign_in_link(services, business),
        })
        context = Context()
        print(f"{runs} requests per page, signed in, warm container; Python {sys.version.split()[0]}")
        print(f"  {'page':<44} {'bytes':>7} {'gzip':>6} {'other host':>10} {'CPU p50':>8} {'p90':>7}  calls/page")
        worst_bytes, worst_cpu, foreign, scans = 0, 0.0, False, 0
        for resource, params, label in pages:
            # The sign-in page is what a signed-out owner sees: a signed-in one is sent on to the console.
            signed_out = "/signin" in resource
            headers = {"accept-language": "vi"} if signed_out else {"cookie": cookie, "accept-language": "vi"}
            first = app(event("GET", resource, params, headers), context)
            assert first["statusCode"] == 200, (label, first["statusCode"], first["body"][:300])
            body = first["body"].encode()
            cpu: list[float] = []
            calls: Counter[str] = Counter()
            for _ in range(runs):
                before, inside = Counter(counting.calls), counting.cpu_inside
                c0 = time.thread_time()
                out = app(event("GET", resource, params, headers), context)
                c1 = time.thread_time()
                assert out["statusCode"] == 200, out["statusCode"]
                cpu.append((c1 - c0) - (counting.cpu_inside - inside))
                calls = counting.calls - before
            if profile == label:
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                profiler.runcall(app, event("GET", resource, params, headers), context)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
            names_host = bool(_FOREIGN.search(first["body"]))
            p50 = statistics.median(cpu) * 1000
            p90 = statistics.quantiles(cpu, n=10)[-1] * 1000
            worst_bytes, worst_cpu = max(worst_bytes, len(body)), max(worst_cpu, p50)
            foreign, scans = foreign or names_host, scans + calls["scan"]
            print(f"  {label:<44} {len(body):>7} {len(gzip.compress(body)):>6} {'yes' if names_host else 'no':>10} "
                  f"{p50:>6.1f}ms {p90:>5.1f}ms  {dict(sorted(calls.items()))}")
        print(
            f"goal <= {GOAL_BYTES // 1024} KB per page: {'ok' if worst_bytes <= GOAL_BYTES else 'MISSED'} "
            f"(largest {worst_bytes / 1024:.1f} KB); no other host: {'ok' if not foreign else 'MISSED'}; "
            f"our CPU p50 <= {GOAL_CPU_MS:.0f} ms: {'ok' if worst_cpu <= GOAL_CPU_MS else 'MISSED'} "
            f"(slowest page {worst_cpu:.1f} ms); no Scan: {'ok' if scans == 0 else 'MISSED'}"
        )


class KeptMailer:
    """Emails go nowhere (the bench measures pages, not SES); the last one is kept to read a link from."""

    last = b""

    def send_raw(self, raw: bytes, *, sender: str, recipients: Any) -> str:
        KeptMailer.last = raw
        return f"bench-{len(raw)}"


def sign_in_link(services: Any, business: Any) -> str:
    """The token of a sign-in link emailed to the owner, as the link page gets it."""
    services.signin.request_link(business.business_id, business.owner_emails[0], "vi")
    found = re.search(rb"/signin/([A-Za-z0-9_=-]+)", KeptMailer.last.replace(b"=\r\n", b""))
    assert found, "no sign-in link in the email"
    return found.group(1).decode()


def open_cases(services: Any, business: Any, unhappy: list[Any]) -> None:
    """A case per unhappy answer, as the stream opens them; the owner replied to 200 and resolved 100."""
    from chalicelib.adapters.cases_store import DynamoCaseStore
    from chalicelib.domain.calendar import parse_iso_utc
    from chalicelib.domain.cases import ReplyIn, ResolveIn
    from chalicelib.services.access import Caller
    from chalicelib.services.cases import open_case

    store = DynamoCaseStore("surveys-bench", services.store._client)
    for response in unhappy:
        open_case(store, response, None, parse_iso_utc(response.created_at))
    owner = Caller(business, is_admin=False, actor=business.owner_emails[0])
    contactable = [r for r in unhappy if r.email]
    for number, response in enumerate(contactable[:200]):
        services.cases.reply(owner, response.response_id, ReplyIn(message="Quán xin lỗi bạn, lần sau sẽ nhanh hơn."))
        if number % 2:
            services.cases.resolve(owner, response.response_id, ResolveIn(note=None))


def sign_in(services: Any, business_id: str, owner_key: str) -> str:
    """The Cookie header of a console session opened with the owner key (the sign-in form's service)."""
    from chalicelib.web.console import cookie_name

    return f"{cookie_name(business_id)}={services.signin.with_owner_key(business_id, owner_key)}"


def console_pages(app: Any, values: dict[str, str]) -> list[tuple[str, dict[str, str], str]]:
    """Every GET page of the console in the app's routing table, with real ids in its path."""
    pages = []
    for path, methods in sorted(app.routes.items()):
        if not path.startswith("/console/{business_id}") or "GET" not in methods:
            continue
        params = {name: values[name] for name in re.findall(r"\{(\w+)\}", path)}
        pages.append((path, params, path.replace("/console/{business_id}", "") or "/ (today)"))
    return pages


if __name__ == "__main__":
    main()
