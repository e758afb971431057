"""`make redrive`: ``chalicelib.redrive`` against the running `make run` (its emulator on EMULATOR_PORT),
with the local services: a resent email is written to .local/outbox/ too, as `make run` sends it."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from chalicelib import redrive
    from chalicelib.local.server import join_running

    return redrive.main(argv, services=join_running)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
