"""A bounded load run against the real app on loopback: throughput, p50/p99 latency, errors by status.

The server is the same as in the schemathesis tests (tests/fuzz/live.py): chalice's local server
running the real handlers in this process, DynamoDB emulated in-process by moto. The load comes from
separate client processes (spawned, so they do not share this process's GIL), each with a few
threads and keep-alive sessions, sending the mix a café sees:

- table QR scores (GET the survey page for its nonce, then POST /v1/responses with the touchpoint's token
  and that nonce: each page view is a new answer),
- widget posts (GET the site config for its nonce, then the answer with site key + Origin, half of them
  text/plain as navigator.sendBeacon sends them),
- receipt links (minted one-response tokens, each answered once),
- the owner listing responses (GET /v1/businesses/{biz}/responses?limit=50).

Only 127.0.0.1; the run stops by itself after --seconds. The per-IP and per-link rate limits are
raised for the run (every client here is 127.0.0.1) but still counted in the table on every
submission, so their cost is in the figures. What the numbers mean for AWS: docs/scaling.md.

Run: `.venv/bin/python bench/load.py [--seconds 60] [--clients 2] [--threads 4]` (or `make load`).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "ap-southeast-1",
    "AWS_REGION": "ap-southeast-1",
    "STAGE": "test",
    "TABLE_NAME": "surveys-load",
    "ADMIN_KEY": "load-admin-key-0123456789abcdef",
    "APP_SECRET": "load-app-secret-0123456789abcdef-0123456789",
    "PUBLIC_BASE_URL": "https://surveys.example",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
    "PYDANTIC_DISABLE_PLUGINS": "1",
    "RATE_LIMIT_PER_IP": "100000",
    "RATE_LIMIT_PER_LINK": "1000000",
}
MIX = [("table_qr", 55), ("widget", 25), ("receipt_link", 12), ("owner_list", 8)]


def _client(plan: dict[str, Any], threads: int, seed: int, results: Any) -> None:
    """One client process: `threads` keep-alive sessions sending the mix until the deadline."""
    import threading

    import requests

    links: list[str] = plan["links"]
    lock = threading.Lock()
    samples: list[tuple[str, int, float]] = []

    def worker(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        session = requests.Session()
        kinds = [kind for kind, _ in MIX]
        weights = [weight for _, weight in MIX]
        local: list[tuple[str, int, float]] = []
        while time.time() < plan["deadline"]:
            kind = rng.choices(kinds, weights)[0]
            url, body, headers, method = _request(kind, plan, links, rng)
            if kind in ("table_qr", "widget"):
                # The page view first, as a phone or the widget does: its nonce proves the answer (#11).
                start = time.perf_counter()
                nonce, status = _page_view(session, kind, plan)
                view = "survey_page" if kind == "table_qr" else "widget_config"
                local.append((view, status, time.perf_counter() - start))
                body = body.replace('"nonce": ""', f'"nonce": "{nonce}"')
            start = time.perf_counter()
            try:
                if method == "GET":
                    answer = session.get(url, headers=headers, timeout=30)
                else:
                    answer = session.post(url, data=body, headers=headers, timeout=30)
                status = answer.status_code
            except requests.RequestException:
                status = 0  # connection error: counted, never retried
            local.append((kind, status, time.perf_counter() - start))
        with lock:
            samples.extend(local)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    results.put(samples)


def _page_view(session: Any, kind: str, plan: dict[str, Any]) -> tuple[str, int]:
    import re

    import requests

    try:
        if kind == "table_qr":
            page = session.get(f"{plan['url']}/s/{plan['table_token']}", timeout=30)
            found = re.search(r'name="nonce" value="([^"]+)"', page.text)
            return (found.group(1) if found else ""), page.status_code
        config = session.get(
            f"{plan['url']}/v1/sites/{plan['site_key']}", headers={"Origin": plan["origin"]}, timeout=30
        )
        return (config.json().get("nonce", "") if config.status_code == 200 else ""), config.status_code
    except (requests.RequestException, ValueError):
        return "", 0


def _request(kind: str, plan: dict[str, Any], links: list[str], rng: random.Random) -> tuple[str, Any, dict, str]:
    import json

    base = plan["url"]
    phone = f"Mozilla/5.0 (Linux; Android 14; phone-{rng.randrange(1_000_000)})"
    as_json = {"Content-Type": "application/json", "User-Agent": phone}
    if kind == "table_qr":
        body = {"token": plan["table_token"], "score": rng.randrange(11), "locale": "vi", "nonce": ""}
        return f"{base}/v1/responses", json.dumps(body), as_json, "POST"
    if kind == "widget":
        body = {
            "site_key": plan["site_key"],
            "metric": "ces",
            "score": rng.randint(1, 7),
            "touchpoint_id": plan["web_touchpoint"],
            "respondent_id": f"w{rng.randrange(10**9)}",
            "nonce": "",
        }
        beacon = rng.random() < 0.5
        headers = {"Content-Type": "text/plain" if beacon else "application/json", "Origin": plan["origin"]}
        return f"{base}/v1/responses", json.dumps(body), {**headers, "User-Agent": phone}, "POST"
    if kind == "receipt_link":
        token = links.pop() if links else plan["spare_link"]
        body = {"token": token, "score": rng.randint(1, 5)}
        return f"{base}/v1/responses", json.dumps(body), as_json, "POST"
    headers = {"Authorization": f"Bearer {plan['owner_key']}"}
    return f"{base}/v1/businesses/{plan['business_id']}/responses?limit=50", None, headers, "GET"


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the run (default 60)")
    parser.add_argument("--clients", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per client process (default 4)")
    # Each receipt link answers once: enough for the run that every receipt post uses a fresh one (a
    # repeated link is refused with 409 by design, which would count as an error here).
    parser.add_argument("--links", type=int, help="receipt links minted before the run (default 20 per second)")
    args = parser.parse_args()
    if args.links is None:
        args.links = int(20 * args.seconds)
    if not 1 <= args.seconds <= 3600 or not 1 <= args.clients <= 16 or not 1 <= args.threads <= 64:
        sys.exit("--seconds 1..3600, --clients 1..16, --threads 1..64")

    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(ENV)
    from tests.fuzz.live import STATS, live_api

    with live_api(seed=True, links=min(1000, args.links)) as api:
        links = list(api.links)
        while len(links) < args.links:
            count = min(1000, args.links - len(links))
            receipt = api.touchpoints["receipt"]["touchpoint_id"]
            minted = api.post(
                f"/v1/businesses/{api.business_id}/links", {"touchpoint_id": receipt, "count": count}, api.owner_auth
            )
            minted.raise_for_status()
            links += [link["token"] for link in minted.json()["links"]]
        assert api.url.startswith("http://127.0.0.1:")
        share = len(links) // args.clients
        plan = {
            "url": api.url,
            "table_token": api.touchpoints["table"]["token"],
            "site_key": api.site_key,
            "origin": api.origin,
            "web_touchpoint": api.touchpoints["web"]["touchpoint_id"],
            "owner_key": api.owner_key,
            "business_id": api.business_id,
            "spare_link": links[-1],
            "deadline": time.time() + 2.0 + args.seconds,
        }
        ctx = multiprocessing.get_context("spawn")
        results = ctx.Queue()
        procs = []
        for n in range(args.clients):
            client_plan = {**plan, "links": links[n * share : (n + 1) * share]}
            procs.append(ctx.Process(target=_client, args=(client_plan, args.threads, n + 1, results)))
        print(
            f"load: {args.seconds:.0f} s, {args.clients} client processes x {args.threads} threads "
            f"against {api.url} (in-process moto), mix {dict(MIX)}",
            flush=True,
        )
        STATS.reset()
        for proc in procs:
            proc.start()
        samples: list[tuple[str, int, float]] = []
        for _ in procs:
            samples += results.get(timeout=args.seconds + 120)
        for proc in procs:
            proc.join(timeout=30)
        server = (STATS.requests, STATS.cpu, STATS.emulator_cpu, STATS.emulator_calls)
    _report(samples, args.seconds)
    requests_served, cpu, emulator_cpu, calls = server
    if requests_served:
        print(
            f"server CPU per request: {cpu / requests_served * 1000:.1f} ms, of which the emulated AWS "
            f"{emulator_cpu / requests_served * 1000:.1f} ms ({calls / requests_served:.2f} calls); "
            f"our code + HTTP {(cpu - emulator_cpu) / requests_served * 1000:.2f} ms"
        )


def _report(samples: list[tuple[str, int, float]], seconds: float) -> None:
    by_kind: defaultdict[str, list[float]] = defaultdict(list)
    statuses: Counter[int] = Counter()
    kind_status: defaultdict[str, Counter[int]] = defaultdict(Counter)
    for kind, status, latency in samples:
        by_kind[kind].append(latency)
        statuses[status] += 1
        kind_status[kind][status] += 1
    latencies = [latency for _, _, latency in samples]
    errors = {code: n for code, n in sorted(statuses.items()) if not 200 <= code < 300}
    submissions = sum(n for kind in ("table_qr", "widget", "receipt_link") for code, n in kind_status[kind].items()
                      if 200 <= code < 300)
    print(f"requests: {len(samples)} in {seconds:.0f} s = {len(samples) / seconds:.1f} req/s; "
          f"stored submissions {submissions / seconds:.1f}/s")
    print(f"latency all: p50 {_pct(latencies, 0.50):.1f} ms  p99 {_pct(latencies, 0.99):.1f} ms  "
          f"mean {statistics.fmean(latencies) * 1000 if latencies else float('nan'):.1f} ms")
    for kind in [kind for kind, _ in MIX] + ["survey_page", "widget_config"]:
        values = by_kind.get(kind, [])
        codes = " ".join(f"{code}x{n}" for code, n in sorted(kind_status[kind].items()))
        p50, p99 = _pct(values, 0.50), _pct(values, 0.99)
        print(f"  {kind:<13} n={len(values):<6} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  [{codes}]")
    print(f"errors by status (non-2xx; 0 = connection error): {errors or 'none'}")


if __name__ == "__main__":
    main()
