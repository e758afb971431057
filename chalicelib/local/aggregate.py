"""`make aggregate DATE=YYYY-MM-DD`: the daily job, now, for every business, against the RUNNING local
emulator (`make run` in another terminal): reports stored, digests sent (and written to .local/outbox/).

It runs each business's day through the same Lambda entry point as the SQS consumer (``app.report_worker``)
with the event Lambda would deliver, so a backfill computes exactly what the schedule would. Re-running
a day overwrites its report with the same figures and sends no second digest. A day that is not over yet
where the business is gets a report of the day so far, with no digest (the schedule sends the real one).
"""

from __future__ import annotations

import re
import sys
from datetime import date


def main(argv: list[str]) -> int:
    from chalicelib.local.server import ROOT, join_running

    if len(argv) != 1 or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", argv[0]):
        print("usage: make aggregate DATE=YYYY-MM-DD", file=sys.stderr)
        return 2
    try:
        day = date.fromisoformat(argv[0])
    except ValueError:
        print(f"{argv[0]} is not a calendar day (YYYY-MM-DD)", file=sys.stderr)
        return 2
    services = join_running()  # digests go to .local/outbox/ as `make run` sends them
    if services is None:
        return 1
    sys.path.insert(0, str(ROOT))

    import app as application
    from chalicelib.domain.jobs import encode
    from chalicelib.local.scheduler import lambda_context, sqs_event
    from chalicelib.settings import get_settings

    reports = services.reports
    jobs = reports.jobs_for_day(day)
    if not jobs:
        print(f"No business existed on {day}.")
        return 0
    queue = get_settings().reports_queue_name
    failed = 0
    for job in jobs:
        partial = False
        try:
            application.report_worker(sqs_event(encode(job), queue), lambda_context("report_worker"))
            if reports.stored_report(job.business_id, job.day) is None:
                # Today, where the business is: a report of the day so far, no digest, no marker.
                partial = reports.run(job, partial=True) is not None
        except Exception as exc:  # report every business, then fail the command
            failed += 1
            print(f"{job.business_id} {job.day}: failed ({type(exc).__name__}: {exc})", file=sys.stderr)
            continue
        stored = reports.stored_report(job.business_id, job.day)
        if stored is None:
            print(f"{job.business_id} {job.day}: skipped (the day is not over in the business's time zone)")
            continue
        nps = stored["metrics"]["nps"]["summary"]
        csat = stored["metrics"]["csat"]["summary"]
        ces = stored["metrics"]["ces"]["summary"]
        print(
            f"{job.business_id} {job.day} {stored['business_name']}{' (so far, no digest)' if partial else ''}: "
            f"{stored['responses']} responses; "
            f"NPS {nps['headline']} (±{nps['margin_of_error']}, n={nps['n']}), "
            f"CSAT {csat['headline']} (n={csat['n']}), CES {ces['headline']} (n={ces['n']})"
        )
    print(f"Reports: GET /v1/businesses/<id>/reports/daily/{day}; digests: {ROOT / '.local' / 'outbox'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
