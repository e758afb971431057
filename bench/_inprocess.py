"""What an in-process benchmark sets before importing the app: the project on ``sys.path`` and an
environment that can reach nothing but the emulator (moto) it starts itself; and what it measures the
handler with: a boto3 client that counts its calls and the CPU time spent inside them, a Lambda context."""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

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


class CountingClient:
    """Wraps the boto3 client: counts calls by operation and the thread CPU time spent inside them."""

    def __init__(self, client: Any):
        self._client = client
        self.calls: Counter[str] = Counter()
        self.cpu_inside = 0.0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr) or name.startswith("_") or name in ("exceptions", "meta"):
            return attr

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            try:
                return attr(*args, **kwargs)
            finally:
                self.cpu_inside += time.thread_time() - start
                self.calls[name] += 1

        if name == "get_paginator":
            return lambda operation: CountingPaginator(self, operation, attr(operation))
        return timed


class CountingPaginator:
    """A paginator whose pages are counted as calls of their operation, their CPU time as AWS's."""

    def __init__(self, counting: CountingClient, operation: str, paginator: Any) -> None:
        self._counting, self._operation, self._paginator = counting, operation, paginator

    def paginate(self, **kwargs: Any) -> Any:
        pages = iter(self._paginator.paginate(**kwargs))
        while True:
            start = time.thread_time()
            try:
                page = next(pages)
            except StopIteration:
                return
            finally:
                self._counting.cpu_inside += time.thread_time() - start
            self._counting.calls[self._operation] += 1
            yield page


class Context:
    function_name = "surveys-bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:ap-southeast-1:123456789012:function:surveys-bench"
    memory_limit_in_mb = 512
    aws_request_id = "bench"
    log_group_name = "bench"
    log_stream_name = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000
