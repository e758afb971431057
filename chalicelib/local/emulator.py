"""Make the embedded emulator's DynamoDB transactions cheap enough for `make run` and the fault tests.

moto deep-copies the whole table once per *item* of every TransactWriteItems, to roll back on failure: a
submission (a transaction of four or five items) then costs more as the table grows. Copying each table once
per transaction keeps the same rollback, since nothing changes between those copies. Local runs and tests
only: this patches the emulator, not the application.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any


class OncePerTransaction:
    """Stands in for the ``copy`` module inside moto's DynamoDB backend."""

    def __init__(self, table_type: type) -> None:
        self.table_type = table_type
        self.tables: dict[int, Any] | None = None

    def deepcopy(self, value: Any, *args: Any) -> Any:
        if self.tables is None or not isinstance(value, self.table_type):
            return copy.deepcopy(value, *args)
        if id(value) not in self.tables:
            self.tables[id(value)] = copy.deepcopy(value, *args)
        return self.tables[id(value)]

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def patched() -> tuple[Any, Callable[..., None]]:
    """The shim for moto's ``copy`` and the transaction method that scopes it; ``install`` applies both."""
    import moto.dynamodb.models as dynamodb_models

    shim = OncePerTransaction(dynamodb_models.Table)
    original = dynamodb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        shim.tables = {}
        try:
            return original(self, transact_items)
        finally:
            shim.tables = None

    return shim, transact_write_items


def install() -> None:
    import moto.dynamodb.models as dynamodb_models

    if isinstance(dynamodb_models.copy, OncePerTransaction):
        return
    shim, transact_write_items = patched()
    dynamodb_models.copy = shim  # type: ignore[assignment]
    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
