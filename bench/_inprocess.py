"""What an in-process benchmark sets before importing the app: the project on ``sys.path`` and an
environment that can reach nothing but the emulator (moto) it starts itself."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def prepare(table_name: str, **extra: str) -> None:
    sys.path.insert(0, str(ROOT))
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="ap-southeast-1",
        STAGE="test",
        TABLE_NAME=table_name,
        APP_SECRET="bench-app-secret-0123456789abcdef-0123456789",
        POWERTOOLS_METRICS_DISABLED="true",
        POWERTOOLS_LOG_LEVEL="ERROR",
        POWERTOOLS_TRACE_DISABLED="true",
    )
    os.environ.update(extra)
