"""Composition root: settings → adapters → services, built once per container on first use."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.ports import Clock, SystemClock
from chalicelib.services.directory import Directory
from chalicelib.services.owners import Owners
from chalicelib.services.submissions import Submissions
from chalicelib.settings import Settings, get_settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    submissions: Submissions
    owners: Owners


def build(settings: Settings, store: DynamoStore | None = None, clock: Clock | None = None) -> Services:
    store = store or DynamoStore(settings.table_name)
    clock = clock or SystemClock()
    directory = Directory(store, settings.business_cache_seconds)
    return Services(
        settings=settings,
        submissions=Submissions(directory, store, clock, settings),
        owners=Owners(directory, store, store, clock, settings),
    )


_current: Services | None = None


def services() -> Services:
    global _current
    if _current is None:
        _current = build(get_settings())
    return _current


def install(built: Services | None) -> None:
    """Use these services from now on (tests install ones with a controllable clock)."""
    global _current
    _current = built


def reset() -> None:
    """Forget the built services and settings (tests, and the local server after it sets the env)."""
    install(None)
    get_settings.cache_clear()
