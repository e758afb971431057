"""What one DynamoDB call costs the embedded emulator as its table grows (issue #13: flat, not growing),
for this tree's emulator patches (chalicelib/local/emulator.py) and, side by side in the same run, those
of another revision (default 3645316, before issue #13: one whole-table copy per transaction, moto's own
Query). Each runs in a fresh interpreter with moto in-process; the table is filled with response-like
items in 200 partitions other than the one queried, and at each size the bench times (CPU ms per call,
median of 3 rounds of 10): a submission-like TransactWriteItems of five items, the same transaction
cancelled by its last condition, and a Query of one partition holding 20 items (the same answer at every size).
Run: `.venv/bin/python bench/emulator_cost.py [--against 3645316] [--sizes 0,2000,10000]`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TABLE = "surveys-cost"
CALLS = 10
ROUNDS = 3


def _install(revision: str) -> None:
    if revision == "tree":
        from chalicelib.local import emulator

        emulator.install()
        return
    source = subprocess.run(
        ["git", "show", f"{revision}:chalicelib/local/emulator.py"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tempfile.NamedTemporaryFile("wb", suffix=".py", delete=False) as copy:
        copy.write(source)
    spec = importlib.util.spec_from_file_location("emulator_then", copy.name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.install()
    os.unlink(copy.name)


def _fill(client: Any, start: int, stop: int) -> None:
    for first in range(start, stop, 25):
        client.batch_write_item(
            RequestItems={
                TABLE: [
                    {
                        "PutRequest": {
                            "Item": {
                                "PK": {"S": f"BIZ#b#DAY#{n % 200:03d}" if n >= 0 else "BIZ#b#DAY#asked"},
                                "SK": {"S": f"2026-11-27T10:{n % 60:02d}:00Z#{n:08d}"},
                                "score": {"N": str(n % 11)},
                                "metric": {"S": "nps"},
                                "touchpoint_id": {"S": "tp"},
                                "locale": {"S": "vi"},
                                "comment": {"S": "Cà phê ngon, phục vụ hơi chậm"},
                                "GSI1PK": {"S": f"EMAIL#{n % 500}"},
                                "GSI1SK": {"S": f"{n:08d}"},
                            }
                        }
                    }
                    for n in range(first, min(stop, first + 25))
                ]
            }
        )


def _transaction(n: int, *, cancelled: bool) -> list[dict[str, Any]]:
    key = {"PK": {"S": "BIZ#b#DAY#live"}, "SK": {"S": f"2026-11-27T11:00:00Z#{n:08d}"}}
    one = {":one": {"N": "1"}}
    return [
        {
            "Put": {
                "TableName": TABLE,
                "Item": {**key, "score": {"N": "9"}, "metric": {"S": "nps"}},
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        },
        {
            "Update": {
                "TableName": TABLE,
                "Key": {"PK": {"S": "BIZ#b"}, "SK": {"S": "COUNT#2026-11-27"}},
                "UpdateExpression": "ADD answered :one, promoters :one SET updated = :now",
                "ExpressionAttributeValues": {**one, ":now": {"S": "2026-11-27T11:00:00Z"}},
            }
        },
        {
            "Update": {
                "TableName": TABLE,
                "Key": {"PK": {"S": "LIMIT#ip"}, "SK": {"S": f"{n % 7}"}},
                "UpdateExpression": "ADD hits :one",
                "ConditionExpression": "attribute_not_exists(hits) OR hits < :max",
                "ExpressionAttributeValues": {**one, ":max": {"N": "1000000"}},
            }
        },
        {"Put": {"TableName": TABLE, "Item": {"PK": {"S": "NONCE"}, "SK": {"S": f"{n:08d}"}}}},
        {
            "ConditionCheck": {
                "TableName": TABLE,
                "Key": {"PK": {"S": "BIZ#b"}, "SK": {"S": "PROFILE"}},
                "ConditionExpression": "attribute_not_exists(PK)" if cancelled else "attribute_exists(PK)",
            }
        },
    ]


def _cpu_ms(call: Callable[[int], None], offset: int) -> float:
    rounds = []
    for r in range(ROUNDS):
        started = time.process_time()
        for i in range(CALLS):
            call(offset + r * CALLS + i)
        rounds.append((time.process_time() - started) / CALLS * 1000)
    return statistics.median(rounds)


def child(revision: str, sizes: list[int]) -> None:
    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "ap-southeast-1"}
    )
    _install(revision)
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws

    from chalicelib import tables

    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(**tables.create_table_kwargs(TABLE))
        client.put_item(TableName=TABLE, Item={"PK": {"S": "BIZ#b"}, "SK": {"S": "PROFILE"}})
        _fill(client, -20, 0)  # the partition every Query reads: 20 items, whatever the table's size

        def commit(n: int) -> None:
            client.transact_write_items(TransactItems=_transaction(n, cancelled=False))

        def cancel(n: int) -> None:
            try:
                client.transact_write_items(TransactItems=_transaction(n, cancelled=True))
            except ClientError:
                return
            raise SystemExit("the cancelled transaction went through")

        def query(n: int) -> None:
            client.query(
                TableName=TABLE,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": "BIZ#b#DAY#asked"}},
            )

        filled, rows = 0, []
        for size in sizes:
            _fill(client, filled, size)
            filled = size
            offset = size * 10
            rows.append(
                {
                    "items": size,
                    "commit": _cpu_ms(commit, offset),
                    "cancel": _cpu_ms(cancel, offset + 1000),
                    "query": _cpu_ms(query, offset),
                }
            )
    print(json.dumps(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--against", default="3645316", help="the other revision's emulator (default 3645316)")
    parser.add_argument("--sizes", default="0,2000,10000", help="table sizes, items (default 0,2000,10000)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.child:
        child(args.child, sizes)
        return
    print("emulator CPU ms per call (median of 3 x 10 calls): 5-item TransactWriteItems, cancelled, 20-item Query")
    results = {}
    for revision in (args.against, "tree"):
        out = subprocess.run(
            [sys.executable, __file__, "--child", revision, "--sizes", args.sizes],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        results[revision] = json.loads(out.strip().splitlines()[-1])
    print(f"  {'items':>6}  " + "  ".join(f"{name:>26}" for name in (f"emulator at {args.against}", "this tree")))
    for then, now in zip(results[args.against], results["tree"], strict=True):
        cells = [f"commit {r['commit']:6.1f} cancel {r['cancel']:6.1f} query {r['query']:6.1f}" for r in (then, now)]
        print(f"  {then['items']:>6}  " + "   ".join(cells))
    first, last = results["tree"][0], results["tree"][-1]
    print(
        f"  this tree, {last['items']} items against {first['items']}: commit {last['commit'] / first['commit']:.2f}x  "
        f"cancel {last['cancel'] / first['cancel']:.2f}x  query {last['query'] / first['query']:.2f}x"
    )


if __name__ == "__main__":
    main()
