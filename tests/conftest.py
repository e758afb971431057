"""Shared test setup: every test starts from settings that never reach a real AWS account."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Set before anything imports boto3 or the settings: no test may talk to a real AWS account.
for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
    os.environ.pop(name, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="ap-southeast-1",
    AWS_REGION="ap-southeast-1",
    STAGE="test",
    TABLE_NAME="surveys-test",
    ADMIN_KEY="test-admin-key-0123456789abcdef",
    APP_SECRET="test-app-secret-0123456789abcdef-0123456789",
    PUBLIC_BASE_URL="https://surveys.example",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_METRICS_DISABLED="true",
    POWERTOOLS_LOG_LEVEL="ERROR",
    PYDANTIC_DISABLE_PLUGINS="1",
)
