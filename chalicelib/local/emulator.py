"""Make the embedded emulator's DynamoDB cost flat for `make run`, the fault tests and `make fuzz`.

What moto does that grows with the data (local runs and tests only: this patches the emulator, not the
application):

- to roll a TransactWriteItems back it deep-copies the whole table once per *item* of the transaction,
  and on a cancellation puts the copy in place of the live table. A submission (four or five items) then
  costs more the bigger the table, and the copy's stream shard is a new object: every open shard
  iterator (the `make run` poller's, a test's) went on reading the old one and saw no later write (the
  93 s of issue #11 item 6). ``UndoLog`` replaces the copy: before the transaction it keeps a copy of only
  the items the transaction names, and on any failure puts them back and drops the stream records the
  transaction appended (AWS emits none for a cancelled transaction). The table object is never replaced,
  so open iterators stay valid and the cost of a transaction no longer depends on the table's size;
- every model object it ever creates (each item, stream record and table copy) is also appended to a
  class-level list that only moto's web dashboard reads, and nothing clears it short of a reset of the
  whole emulator: 1,000 faulted submissions held ~18 GB. ``untrack_dynamodb_models`` stops that list
  growing for DynamoDB's models; nothing else in moto reads it.
"""

from __future__ import annotations

import copy
import importlib
import threading
from collections.abc import Callable
from typing import Any

# moto's DynamoDB is not thread-safe; a transaction and its undo must not interleave with another
# thread's reads or writes. `make run` puts every backend call behind this same lock
# (chalicelib/local/stream.py::serialize_emulator_writes), re-entrant since a transaction calls
# get_item/put_item/update_item/delete_item itself.
EMULATOR_LOCK = threading.RLock()


class FreeTableBackup:
    """Stands in for the ``copy`` module inside moto's DynamoDB backend: while a transaction runs in this
    thread, moto's "backup" of a table is the live table itself, so its restore is a no-op (the undo log
    does the rollback); every other deep copy is the real one."""

    def __init__(self, table_type: type) -> None:
        self.table_type = table_type
        self.in_transaction = threading.local()

    def deepcopy(self, value: Any, *args: Any) -> Any:
        if isinstance(value, self.table_type) and getattr(self.in_transaction, "active", False):
            return value
        return copy.deepcopy(value, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


class UndoLog:
    """What a TransactWriteItems may change, as it was before: each named item (a copy, since moto's
    update changes the Item object in place; None when absent) and each touched table's stream length."""

    def __init__(self, backend: Any, transact_items: list[dict[str, Any]]) -> None:
        self.items: dict[tuple[int, Any, Any], tuple[Any, Any, Any, Any]] = {}
        self.streams: dict[int, tuple[Any, int]] = {}
        for entry in transact_items:
            target = _target(backend, entry)
            if target is None:
                continue  # moto cannot write what it cannot find or key: it fails on it
            table, hash_value, range_value = target
            if table.stream_shard is not None and id(table) not in self.streams:
                self.streams[id(table)] = (table.stream_shard, len(table.stream_shard.items))
            slot = (id(table), hash_value, range_value)
            if slot not in self.items:
                current = _stored(table, hash_value, range_value)
                self.items[slot] = (table, hash_value, range_value, copy.deepcopy(current))

    def undo(self) -> None:
        for table, hash_value, range_value, before in self.items.values():
            if range_value is None:
                if before is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = before
            elif before is None:
                table.items.get(hash_value, {}).pop(range_value, None)
            else:
                table.items[hash_value][range_value] = before
        for shard, length in self.streams.values():
            del shard.items[length:]


def _target(backend: Any, entry: Any) -> tuple[Any, Any, Any] | None:
    """(table, hash key, range key or None) of one transaction item, as moto keys its items."""
    dynamo_type = _dynamodb_models().DynamoType
    try:
        (op_type, op), *more = entry.items()
        if more:
            return None
        table = backend.get_table(op["TableName"])
        key = op["Item"] if op_type == "Put" else op["Key"]
        hash_value = dynamo_type(key[table.hash_key_attr])
        range_value = dynamo_type(key[table.range_key_attr]) if table.range_key_attr is not None else None
    except Exception:  # malformed for moto too, which rejects it without writing it
        return None
    return table, hash_value, range_value


def _stored(table: Any, hash_value: Any, range_value: Any) -> Any:
    # Never table.get_item: on a range table it adds an empty partition (the items are a defaultdict).
    stored = table.items.get(hash_value)
    if range_value is None or stored is None:
        return stored
    return stored.get(range_value)


def _dynamodb_models() -> Any:
    # Patched by name: moto's modules do not declare the names (``copy``, ``Table``) this file replaces.
    return importlib.import_module("moto.dynamodb.models")


def patched() -> tuple[Any, Callable[..., None]]:
    """The shim for moto's ``copy`` and the transaction method that undoes a failed transaction;
    ``install`` applies both."""
    dynamodb_models = _dynamodb_models()

    shim = FreeTableBackup(dynamodb_models.Table)
    original = dynamodb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with EMULATOR_LOCK:
            undo = UndoLog(self, transact_items)
            shim.in_transaction.active = True
            try:
                original(self, transact_items)
            except BaseException:
                undo.undo()
                raise
            finally:
                shim.in_transaction.active = False

    return shim, transact_write_items


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
    if isinstance(dynamodb_models.copy, FreeTableBackup):
        return
    shim, transact_write_items = patched()
    dynamodb_models.copy = shim
    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items
