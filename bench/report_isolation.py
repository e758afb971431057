"""Tenant isolation of cost: the DynamoDB calls the daily job makes for business A, when business B has
0 and then 5,000 responses on the same day. They must be equal, with zero Scans.

Runs in-process against moto (no AWS account). Every DynamoDB call of the job is counted through a
botocore ``before-call`` event hook on the job's own client, so nothing is sampled or estimated.

    .venv/bin/python bench/report_isolation.py
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import Any

from _inprocess import prepare

prepare("surveys-bench")

DAY = "2026-11-20"
B_RESPONSES = 5_000


def put_responses(client: Any, table: str, business_id: str, touchpoint_id: str, count: int) -> None:
    """B's responses written straight into its day partition (the API path is not what is measured)."""
    from chalicelib import tables

    for start in range(0, count, 25):
        items = []
        for i in range(start, min(count, start + 25)):
            created = f"{DAY}T0{i % 10}:{i % 60:02d}:{i % 60:02d}.{i:06d}Z"
            rid = f"r{i:015d}"
            score = i % 11
            items.append(
                {
                    "PutRequest": {
                        "Item": {
                            "PK": {"S": tables.response_pk(business_id, DAY)},
                            "SK": {"S": f"{created}#{rid}"},
                            "type": {"S": "response"},
                            "response_id": {"S": rid},
                            "business_id": {"S": business_id},
                            "touchpoint_id": {"S": touchpoint_id},
                            "channel": {"S": "qr"},
                            "metric": {"S": "nps"},
                            "score": {"N": str(score)},
                            "unhappy": {"BOOL": score <= 6},
                            "created_at": {"S": created},
                            "updated_at": {"S": created},
                            "local_date": {"S": DAY},
                            **({"comment": {"S": "Phục vụ chậm"}} if score < 3 else {}),
                        }
                    }
                }
            )
        client.batch_write_item(RequestItems={table: items})


def main() -> None:
    from datetime import UTC, datetime

    import boto3
    from moto import mock_aws

    from chalicelib import tables, wiring
    from chalicelib.adapters.dynamodb import DynamoStore
    from chalicelib.domain.jobs import ReportJob
    from chalicelib.domain.models import BusinessIn, TouchpointIn
    from chalicelib.settings import get_settings

    class Clock:
        # Created five weeks before the day, so the 7/28-day windows and the recovery window are full.
        moment = datetime(2026, 10, 15, 3, 0, tzinfo=UTC)

        def now(self) -> datetime:
            return self.moment

    clock = Clock()
    with mock_aws():
        settings = get_settings()
        client = boto3.client("dynamodb")
        client.create_table(**tables.create_table_kwargs(settings.table_name))
        store = DynamoStore(settings.table_name, client)
        services = wiring.build(settings, store, clock)

        def business(name: str) -> tuple[str, str]:
            created = services.access.create_business(
                BusinessIn(name=name, owner_emails=["o@bench.example"], timezone="Asia/Ho_Chi_Minh", locale="vi")
            )
            caller = services.access.authenticate(f"Bearer {created.owner_key}", created.business_id)
            tp = services.links.create_touchpoint(caller, TouchpointIn(name="Bàn", channel="qr", metric="nps"))
            return created.business_id, tp.touchpoint_id

        a, a_tp = business("A")
        b, b_tp = business("B")
        put_responses(client, settings.table_name, a, a_tp, 40)
        clock.moment = datetime(2026, 11, 20, 17, 5, tzinfo=UTC)  # past midnight in Saigon

        def counted(job: ReportJob) -> Counter[str]:
            calls: Counter[str] = Counter()

            def hook(event_name: str, **_: Any) -> None:
                calls[event_name.rsplit(".", 1)[-1]] += 1

            client.meta.events.register("before-call.dynamodb", hook)
            try:
                services.reports.run(job, send_digest=False)
            finally:
                client.meta.events.unregister("before-call.dynamodb", hook)
            return calls

        job = ReportJob(a, DAY)
        quiet = counted(job)
        put_responses(client, settings.table_name, b, b_tp, B_RESPONSES)
        busy = counted(job)
        b_itself = counted(ReportJob(b, DAY))

    def line(label: str, calls: Counter[str]) -> str:
        ops = ", ".join(f"{op} {n}" for op, n in sorted(calls.items()))
        return f"  {label:<44} {sum(calls.values()):>3} calls  ({ops})"

    print(f"DynamoDB calls of the daily job for business A ({DAY}, A has 40 responses, no earlier reports stored)")
    print(line("B has 0 responses that day:", quiet))
    print(line(f"B has {B_RESPONSES:,} responses that day:", busy))
    print(f"  equal: {'yes' if quiet == busy else 'NO'}; Scan calls: {quiet['Scan'] + busy['Scan']}")
    print(line(f"(for reference, B's own job over {B_RESPONSES:,}):", b_itself))
    if quiet != busy or quiet["Scan"] or busy["Scan"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
