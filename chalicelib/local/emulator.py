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
import inspect
import threading
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
    partition_queries()
    plain_stream_records()
    parse_update_expressions_once()
    if isinstance(dynamodb_models.copy, OncePerTransaction):
        return
    shim, transact_write_items = patched()
    dynamodb_models.copy = shim
    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items


_ALL = object()
_query_scope = threading.local()
_patched: set[str] = set()  # the patches below applied in this process (each once)


def _once(name: str) -> bool:
    """True the first time ``name`` is asked for: the caller applies its patch then."""
    if name in _patched:
        return False
    _patched.add(name)
    return True


def partition_queries() -> None:
    """moto answers every Query by listing and sorting EVERY item of the table (``Table.all_items``), then
    keeping the partition asked for: a report's queries, an owner's listing and the daily job then cost more
    with each answer stored, where DynamoDB reads only the partition. While a Query runs (in its thread),
    ``all_items`` yields only the partition of a table query's hash key, unsorted (the query sorts what it
    keeps, by the index's keys); an index query still sees every item, unsorted. Scans keep moto's order."""
    if not _once("partition_queries"):
        return
    table_type = _dynamodb_models().Table
    original_query, original_all_items = table_type.query, table_type.all_items
    signature = inspect.signature(original_query)

    def all_items(table: Any) -> list[Any]:
        scoped: Any = getattr(_query_scope, "table", None)
        if scoped is not table:
            return list(original_all_items(table))
        partition: Any = _query_scope.partition
        if partition is _ALL:
            return [item for hash_set in table.items.values() for item in _items_of(table, hash_set)]
        return _items_of(table, partition) if partition is not None else []

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = signature.bind(self, hash_key, *args, **kwargs).arguments.get("index_name")
        previous = getattr(_query_scope, "table", None), getattr(_query_scope, "partition", None)
        _query_scope.table = self
        # dict.get: moto's items is a defaultdict, and a lookup must not create an empty partition.
        _query_scope.partition = _ALL if index_name or hash_key is None else dict.get(self.items, hash_key)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _query_scope.table, _query_scope.partition = previous

    setattr(table_type, "query", query)  # noqa: B010 - replacing moto's method
    setattr(table_type, "all_items", all_items)  # noqa: B010


def _items_of(table: Any, hash_set: Any) -> list[Any]:
    return list(hash_set.values()) if table.range_key_attr else [hash_set]


def plain_stream_records() -> None:
    """moto 5 turns a GetRecords answer into JSON through its generic, shape-walking serializer: about 2 ms
    per record, so the stream consumer of `make run` spent more time reading records than handling them.
    The records are already in DynamoDB's wire form (moto stores them so), and moto's own DynamoDB JSON
    encoder gives the same answer eight times faster; ``tests/integration/test_emulator.py`` compares both."""
    if not _once("plain_stream_records"):
        return
    from moto.dynamodb.models.utilities import dynamo_json_dump
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    def get_records(self: Any) -> str:
        limit = self._get_param("Limit")
        return str(dynamo_json_dump(self.backend.get_records(self._get_param("ShardIterator"), limit or 1000)))

    setattr(DynamoDBStreamsHandler, "get_records", get_records)  # noqa: B010 - replacing moto's method


def parse_update_expressions_once(size: int = 512) -> None:
    """moto parses an UpdateExpression three times per item written (request checks, transaction checks,
    the update itself) and validates it twice for an item that does not exist yet (before creating it, then
    on it), though an application sends the same few expressions with different values: about 12 ms of a
    counter's update, most of a submission. Two things are kept per expression string, as a compiler would:

    - the parsed tree: every user of it in moto only reads it, and the validator that rewrites it works on
      its own deep copy;
    - that its shape passed the three checks that read nothing but the expression, its names and the
      table's keys (one SET/ADD/REMOVE clause each, no overlapping paths, no key attribute updated), so
      they are not run again for the same expression, names and table. The checks that read values or
      the item still run every time."""
    if not _once("parse_update_expressions_once"):
        return
    expressions = importlib.import_module("moto.dynamodb.parsing.expressions")
    validators = importlib.import_module("moto.dynamodb.parsing.validators")
    parser, validator = expressions.UpdateExpressionParser, validators.UpdateExpressionValidator
    original_make, original_processors = parser.make, validator.get_ast_processors
    shape_checks = (validators.ActionCountValidator, validators.OverlappingPathsValidator,
                    validators.UpdateHashRangeKeyValidator)
    parsed: dict[str, Any] = {}
    kept: dict[int, str] = {}  # id of a kept tree -> its expression (kept trees never die, so ids stay theirs)
    checked: set[tuple[Any, ...]] = set()

    def make(cls: type, expression: str) -> Any:
        tree = parsed.get(expression)
        if tree is None:
            tree = original_make(expression)
            if len(parsed) < size:
                parsed[expression] = tree
                kept[id(tree)] = expression
        return tree

    def init(self: Any, expression: Any, *args: Any, **kwargs: Any) -> None:
        self._source = kept.get(id(expression))
        original_init(self, expression, *args, **kwargs)

    def get_ast_processors(self: Any) -> list[Any]:
        processors: list[Any] = original_processors(self)
        source = getattr(self, "_source", None)
        if source is None:
            return processors
        key = (source, tuple(sorted((self.expression_attribute_names or {}).items())),
               tuple(self.table.table_key_attrs))
        if key in checked:
            return [p for p in processors if not isinstance(p, shape_checks)]
        last = max(i for i, p in enumerate(processors) if isinstance(p, shape_checks))
        return [*processors[: last + 1], _Passed(checked, key), *processors[last + 1 :]]

    original_init = validator.__init__
    setattr(parser, "make", classmethod(make))  # noqa: B010 - replacing moto's methods
    setattr(validator, "__init__", init)  # noqa: B010
    setattr(validator, "get_ast_processors", get_ast_processors)  # noqa: B010


class _Passed:
    """Placed right after the shape checks in a validation: reached only if they all passed, it marks the
    expression's key checked."""

    def __init__(self, checked: set[tuple[Any, ...]], key: tuple[Any, ...]) -> None:
        self._checked, self._key = checked, key

    def traverse(self, node: Any) -> Any:
        self._checked.add(self._key)
        return node
