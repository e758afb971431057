"""The fault tests run a thousand transactions; moto snapshots the whole table for rollback once per
*item* of each transaction, so its cost grows with items x table size. Snapshotting each table once per
transaction keeps the same rollback (nothing changes between those copies) at a fraction of the cost."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import moto.dynamodb.models as dynamodb_models
import pytest


class _OncePerTransaction:
    """Stands in for the ``copy`` module inside moto's DynamoDB backend."""

    def __init__(self) -> None:
        self.tables: dict[int, Any] | None = None

    def deepcopy(self, value: Any, *args: Any) -> Any:
        if self.tables is None or not isinstance(value, dynamodb_models.Table):
            return copy.deepcopy(value, *args)
        if id(value) not in self.tables:
            self.tables[id(value)] = copy.deepcopy(value, *args)
        return self.tables[id(value)]

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


@pytest.fixture(autouse=True)
def _cheap_transaction_snapshots(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    shim = _OncePerTransaction()
    original = dynamodb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        shim.tables = {}
        try:
            return original(self, transact_items)
        finally:
            shim.tables = None

    monkeypatch.setattr(dynamodb_models, "copy", shim)
    monkeypatch.setattr(dynamodb_models.DynamoDBBackend, "transact_write_items", transact_write_items)
    yield
