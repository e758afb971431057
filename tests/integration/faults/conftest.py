"""The fault tests run a thousand transactions: the emulator undoes only the items a failed transaction
named instead of copying whole tables (chalicelib/local/emulator.py says why this keeps moto's rollback)."""

from __future__ import annotations

from collections.abc import Iterator

import moto.dynamodb.models as dynamodb_models
import pytest

from chalicelib.local.emulator import patched


@pytest.fixture(autouse=True)
def _cheap_transaction_snapshots(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    shim, transact_write_items = patched()
    monkeypatch.setattr(dynamodb_models, "copy", shim)
    monkeypatch.setattr(dynamodb_models.DynamoDBBackend, "transact_write_items", transact_write_items)
    yield
