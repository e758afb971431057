"""Make the embedded emulator's DynamoDB cost flat for `make run`, the fault tests and `make fuzz`.

What moto does that grows with the data, or that costs many times what the answer needs (local runs and
tests only: this patches the emulator, not the application):

- to roll a TransactWriteItems back it deep-copies the whole table once per *item* of the transaction,
  and on a cancellation puts the copy in place of the live table. A submission (four or five items) then
  costs more the bigger the table, and the copy's stream shard is a new object: every open shard
  iterator (the `make run` poller's, a test's) went on reading the old one and saw no later write (the
  93 s of issue #11 item 6). ``UndoLog`` replaces the copy: before the transaction it keeps a copy of only
  the items the transaction names, and on any failure puts them back and drops the stream records the
  transaction appended (AWS emits none for a cancelled transaction). The table object is never replaced,
  so open iterators stay valid and the cost of a transaction no longer depends on the table's size;
- a Query of the table (not of an index) sorts every item of the table, then keeps the items of the one
  partition asked for: each of the owner's listings (one Query per day) and each read of a business's
  items cost more as the table fills, with the emulator's lock held. ``OnePartition`` hands moto's Query
  the partition alone, found by its key as DynamoDB does; the rest of moto's Query is unchanged;
- each UpdateExpression (a submission's transaction has four long ones) is parsed twice per call, and every
  pass over its syntax tree rebuilds each visitor's table of node types for every node it visits: two
  thirds of the emulator's CPU per submission (`make load`). ``cheaper_update_expressions`` parses each
  distinct expression once (the tree is only read: the validator works on its own deep copy), builds
  each visitor's table once, and runs the three checks that depend on nothing but the expression, its
  names and the table's keys (clause counts, overlapping paths, no key updated) once per such triple.
  Flat, not growing, but it decides how many answers a second `make load` gets;
- the answer to a read (GetRecords of the stream; GetItem, BatchGetItem, Query, Scan) is serialized field
  by field against the service model, when it is already in its wire format: 2.4 ms per stream record
  (half the `make run` stream consumer's CPU), 1.3 ms per item of a Query. ``answer_reads_as_json``
  writes those answers as JSON directly (timestamps as epoch seconds and bytes as base64, as the protocol
  has them);
- every request lists the class's methods with ``inspect.getmembers`` to find its action, and the
  emulator's server lists moto's package directory (57 ``stat`` calls) to route it: about a third of
  the server's own CPU per call, for answers that never change while it runs. ``cheaper_dispatch``
  computes each once;
- every model object it ever creates (each item, stream record and table copy) is also appended to a
  class-level list that only moto's web dashboard reads, and nothing clears it short of a reset of the
  whole emulator: 1,000 faulted submissions held ~18 GB. ``untrack_dynamodb_models`` stops that list
  growing for DynamoDB's models; nothing else in moto reads it.
"""

from __future__ import annotations

import base64
import copy
import functools
import importlib
import inspect
import json
import pickle
import threading
from collections.abc import Callable
from datetime import datetime
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


class OnePartition:
    """A table as moto's Query of it sees it: ``all_items`` is the one partition the Query names, read by
    its key, instead of every item of the table sorted. Everything else is the table's own."""

    def __init__(self, table: Any, hash_key: Any) -> None:
        self._table = table
        self._hash_key = hash_key

    def all_items(self) -> list[Any]:
        stored = self._table.items.get(self._hash_key)
        if stored is None:
            return []
        if self._table.range_key_attr is None:
            return [stored]
        return sorted(stored.values(), key=lambda item: item.range_key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


def partition_query(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto's ``Table.query``, reading only the named partition when it queries the table itself."""
    signature = inspect.signature(original)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        asked = signature.bind(self, *args, **kwargs).arguments
        if asked.get("index_name") or asked.get("hash_key") is None:
            return original(self, *args, **kwargs)  # an index: moto reads every item, as it must
        return original(OnePartition(self, asked["hash_key"]), *args, **kwargs)

    return query


def cheaper_update_expressions() -> None:
    """moto's UpdateExpression handling without its repeated work; the same trees, checks and results."""
    parser = importlib.import_module("moto.dynamodb.parsing.expressions").UpdateExpressionParser
    traverser = importlib.import_module("moto.dynamodb.parsing.ast_nodes").DepthFirstTraverser
    if getattr(traverser, "_emulator_cached", False):
        return
    parse = functools.lru_cache(maxsize=512)(parser.make)
    parser.make = classmethod(lambda cls, expression: parse(expression))

    def processing_map(self: Any) -> dict[type, Callable[..., Any]]:
        cached: dict[type, Callable[..., Any]] | None = self.__dict__.get("_emulator_map")
        if cached is None:
            cached = self.__dict__["_emulator_map"] = self._processing_map()
        return cached

    def nodes_to_be_processed(self: Any) -> tuple[type, ...]:
        cached: tuple[type, ...] | None = self.__dict__.get("_emulator_types")
        if cached is None:
            cached = self.__dict__["_emulator_types"] = tuple(processing_map(self))
        return cached

    def process(self: Any, node: Any) -> Any:
        for node_type, processor in processing_map(self).items():
            if isinstance(node, node_type):
                return processor(node)
        return None

    traverser.nodes_to_be_processed = nodes_to_be_processed
    traverser.process = process
    traverser._emulator_cached = True
    _check_each_expression_once()


def _check_each_expression_once() -> None:
    validators = importlib.import_module("moto.dynamodb.parsing.validators")
    update_validator = validators.UpdateExpressionValidator
    static = (
        validators.ActionCountValidator,
        validators.OverlappingPathsValidator,
        validators.UpdateHashRangeKeyValidator,
    )
    # (id of the parsed tree, names, table keys) -> the tree, held so that its id is not reused
    passed: dict[tuple[int, frozenset[tuple[str, str]], tuple[str, ...]], Any] = {}
    original_init, original_validate = update_validator.__init__, update_validator.validate

    signature = inspect.signature(original_init)

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        given = signature.bind(self, *args, **kwargs).arguments
        names = given.get("expression_attribute_names") or {}
        self._emulator_checked = (id(given["expression"]), frozenset(names.items()), tuple(self.table.table_key_attrs))
        self._emulator_tree = given["expression"]

    def validate(self: Any) -> Any:
        checked = getattr(self, "_emulator_checked", None)
        if checked in passed:
            self.processors = [p for p in self.processors if not isinstance(p, static)]
        validated = original_validate(self)
        if checked is not None and checked not in passed:
            if len(passed) > 4096:
                passed.clear()
            passed[checked] = self._emulator_tree
        return validated

    update_validator.__init__ = init
    update_validator.validate = validate


def copy_parsed_trees_by_pickle() -> None:
    """Every UpdateExpression validation starts with a deep copy of the parsed tree (the validator rewrites
    it): 0.4 ms by ``copy.deepcopy``, twice per new item, a third of what is left of an update's cost. The
    parsed trees are plain objects, and loading a pickle of one builds the same tree five times faster,
    so a tree is pickled once and each copy is loaded from that. Other values are deep-copied as before."""
    validators = importlib.import_module("moto.dynamodb.parsing.validators")
    if isinstance(getattr(validators, "deepcopy", None), _PickledCopies):
        return
    node_type = importlib.import_module("moto.dynamodb.parsing.ast_nodes").Node
    setattr(validators, "deepcopy", _PickledCopies(node_type))  # noqa: B010 - the name moto's module imported


class _PickledCopies:
    """Stands in for ``deepcopy`` inside moto's validators module."""

    def __init__(self, node_type: type, size: int = 512) -> None:
        self._node_type, self._size = node_type, size
        self._pickled: dict[int, tuple[Any, bytes]] = {}  # id -> (the tree, held so its id stays its own)

    def __call__(self, value: Any, *args: Any) -> Any:
        if args or not isinstance(value, self._node_type):
            return copy.deepcopy(value, *args)
        kept = self._pickled.get(id(value))
        if kept is None or kept[0] is not value:
            if len(self._pickled) >= self._size:
                self._pickled.clear()
            kept = self._pickled[id(value)] = (value, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        return pickle.loads(kept[1])  # noqa: S301 - our own bytes, made just above from moto's tree


# The read answers written as JSON directly, by handler class.
JSON_READS = {
    "moto.dynamodbstreams.responses.DynamoDBStreamsHandler": ("get_records",),
    "moto.dynamodb.responses.DynamoHandler": ("get_item", "batch_get_item", "query", "scan"),
}


def answer_reads_as_json() -> None:
    """The reads of ``JSON_READS`` answered with the JSON moto's serializer would write, without walking it."""
    action_result = importlib.import_module("moto.core.responses").ActionResult
    for path, methods in JSON_READS.items():
        module, _, name = path.rpartition(".")
        handler = getattr(importlib.import_module(module), name)
        if getattr(handler, "_emulator_json", False):
            continue
        for method in methods:
            setattr(handler, method, _as_json(getattr(handler, method), action_result))
        handler._emulator_json = True


def _as_json(original: Callable[[Any], Any], action_result: Any) -> Callable[[Any], Any]:
    @functools.wraps(original)  # its __wrapped__: moto's own, which the tests compare it with
    def answer(self: Any) -> Any:
        result = original(self)
        return json.dumps(result.result, default=_wire) if isinstance(result, action_result) else result

    return answer


def cheaper_dispatch() -> None:
    """moto's per-request lookups that depend on nothing the request carries, computed once."""
    responses: Any = importlib.import_module("moto.core.responses")
    backends: Any = importlib.import_module("moto.backends")
    if getattr(responses, "_emulator_cached", False):
        return
    responses.method_names_from_class = functools.lru_cache(maxsize=None)(responses.method_names_from_class)
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    responses._emulator_cached = True


def _wire(value: Any) -> Any:
    if isinstance(value, datetime):  # epoch seconds, to the millisecond, as moto's serializer writes it
        return importlib.import_module("moto.core.serialize").TimestampSerializer._timestamp_unixtimestamp(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"not JSON: {type(value).__name__}")


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
    cheaper_update_expressions()
    copy_parsed_trees_by_pickle()
    answer_reads_as_json()
    cheaper_dispatch()
    if isinstance(dynamodb_models.copy, FreeTableBackup):
        return
    shim, transact_write_items = patched()
    dynamodb_models.copy = shim
    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items
    dynamodb_models.Table.query = partition_query(dynamodb_models.Table.query)
