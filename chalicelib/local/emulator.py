"""Make the embedded emulator's DynamoDB cheap enough for `make run`, the fault tests and `make fuzz`.

Three things in moto, the first two cost more the longer it runs (the third is ``keep_stream_shards``:
a cancelled transaction silently detaches every open stream iterator):

- it deep-copies the whole table once per *item* of every TransactWriteItems, to roll back on failure: a
  submission (a transaction of four or five items) then costs more as the table grows. Copying each table
  once per transaction keeps the same rollback, since nothing changes between those copies;
- every model object it ever creates (each item, stream record and each of those table copies) is also
  appended to a class-level list that only moto's web dashboard reads, and nothing clears it short of a
  reset of the whole emulator: 1,000 faulted submissions held ~18 GB. ``untrack_dynamodb_models`` stops
  that list growing for DynamoDB's models; nothing else in moto reads it.

Local runs and tests only: this patches the emulator, not the application.
"""

from __future__ import annotations

import copy
import importlib
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


def _dynamodb_models() -> Any:
    # Patched by name: moto's modules do not declare the names (``copy``, ``Table``) this file replaces.
    return importlib.import_module("moto.dynamodb.models")


def patched() -> tuple[Any, Callable[..., None]]:
    """The shim for moto's ``copy`` and the transaction method that scopes it; ``install`` applies both."""
    dynamodb_models = _dynamodb_models()

    shim = OncePerTransaction(dynamodb_models.Table)
    original = dynamodb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        shim.tables = {}
        live = {name: table.stream_shard for name, table in self.tables.items() if table.stream_shard is not None}
        try:
            original(self, transact_items)
        finally:
            shim.tables = None
            keep_stream_shards(self, live)

    return shim, transact_write_items


def keep_stream_shards(backend: Any, live: dict[str, Any]) -> None:
    """A cancelled transaction makes moto put back a COPY of the table, stream shard included, while every
    open shard iterator (the `make run` poller's, a test's) still reads the old shard object: from then on
    the stream looks empty to them, and no later answer gets its email (issue #11 item 6: the next
    customer's voucher "took 93 s" after a voucher limit or a cap cancelled a transaction). AWS has no such
    thing: keep the live shard, holding the records from before the transaction (none of the cancelled
    writes), so iterators and sequence numbers stay valid."""
    for name, shard in live.items():
        table = backend.tables.get(name)
        current = getattr(table, "stream_shard", None)
        if table is None or current is None or current is shard:
            continue
        shard.items = current.items
        shard.table = table
        table.stream_shard = shard


class _Untracked(list[Any]):
    """A model class's ``instances_tracked`` that keeps nothing."""

    def append(self, item: Any) -> None:
        pass


def untrack_dynamodb_models() -> None:
    from moto.core.model_instances import model_data

    _dynamodb_models()  # registers the DynamoDB model classes
    models: dict[str, Any] = model_data["dynamodb"]
    for model in models.values():
        if not isinstance(model.instances_tracked, _Untracked):
            model.instances_tracked = _Untracked()


def install() -> None:
    dynamodb_models = _dynamodb_models()

    untrack_dynamodb_models()
    if isinstance(dynamodb_models.copy, OncePerTransaction):
        return
    shim, transact_write_items = patched()
    dynamodb_models.copy = shim
    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items
