"""Resend the emails waiting on the mail dead-letter queue (SES throttled or was down past every retry).

    make redrive                    # against the running `make run` emulator (EMULATOR_PORT)
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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="redrive", description=__doc__.splitlines()[0])
    parser.add_argument("--local", action="store_true", help="use the `make run` emulator on EMULATOR_PORT")
    parser.add_argument("--max", type=int, default=1000, help="at most this many letters (default 1000)")
    args = parser.parse_args(argv)
    if args.local:
        from chalicelib.local.aggregate import _emulator_up
        from chalicelib.local.server import _port, configure_environment

        api_port, emulator_port = _port("PORT", 8000), _port("EMULATOR_PORT", 4566)
        if not _emulator_up(emulator_port):
            print(f"No emulator on 127.0.0.1:{emulator_port}: start `make run` first.", file=sys.stderr)
            return 1
        configure_environment(api_port, emulator_port)
    from chalicelib import wiring

    wiring.reset()
    services = wiring.services()
    # Parked stream records (issue #11 item 6) are handled again from the response as stored now.
    done = services.mail.redrive(max_messages=max(1, args.max), stream_record=services.followups.redrive_record)
    print(f"redrive: sent={done['sent']} failed={done['failed']} dropped={done['dropped']}")
    return 1 if done["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
