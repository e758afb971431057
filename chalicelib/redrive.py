"""Resend the emails waiting on the mail dead-letter queue (SES throttled or was down past every retry).

    make redrive                    # against the running `make run` emulator (chalicelib/local/redrive.py)
    python -m chalicelib.redrive    # against AWS: with credentials and the stage's environment
                                    # (STAGE, TABLE_NAME, MAIL_DLQ_NAME, APP_SECRET, MAIL_FROM...)

Each letter holds the whole rendered message, so what goes out is exactly what would have gone out; a
parked stream record (a response whose follow-ups failed for good) is handled again from the table. A
sent letter is deleted and its dedupe key marked sent (a stream redelivery will not send it again); a
letter that fails again stays on the queue for the next run. Prints one line of counts; exit code 1 when
some letters still failed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.wiring import Services


def main(argv: list[str], services: Callable[[], Services | None] | None = None) -> int:
    """``services`` builds what to redrive with (`make redrive` passes the local ones); by default the
    stage's, from the environment. None from it means there is nothing to run against (exit code 1)."""
    parser = argparse.ArgumentParser(prog="redrive", description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=1000, help="at most this many letters (default 1000)")
    args = parser.parse_args(argv)
    if services is None:
        from chalicelib import wiring

        wiring.reset()
        services = wiring.services
    built = services()
    if built is None:
        return 1
    # Parked stream records (issue #11 item 6) are handled again from the response as stored now.
    done = built.mail.redrive(max_messages=max(1, args.max), stream_record=built.followups.redrive_record)
    print(f"redrive: sent={done['sent']} failed={done['failed']} dropped={done['dropped']}")
    return 1 if done["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
