"""Composition root: settings → adapters → services, built once per container on first use."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.adapters.reports_store import DynamoReports
from chalicelib.ports import Clock, SystemClock
from chalicelib.services.directory import Directory
from chalicelib.services.owners import Owners
from chalicelib.services.submissions import Submissions
from chalicelib.settings import Settings, get_settings

if TYPE_CHECKING:
    from chalicelib.services.reports import Reports


@dataclass(frozen=True)
class Services:
    settings: Settings
    submissions: Submissions
    owners: Owners
    store: DynamoStore | None = None
    clock: Clock | None = None

    @cached_property
    def reports(self) -> Reports:
        # Built on first use: the report code stays out of a submission's cold start.
        from chalicelib.adapters.queue import SqsReportQueue
        from chalicelib.services.reports import Reports

        store = self.store or DynamoStore(self.settings.table_name)
        reports_store = DynamoReports(store)
        return Reports(
            store,
            reports_store,
            reports_store,
            self.clock or SystemClock(),
            self.settings,
            queue=SqsReportQueue(self.settings.reports_queue_name),
            mail=lambda: getattr(self, "mail", None),
        )


def build(settings: Settings, store: DynamoStore | None = None, clock: Clock | None = None) -> Services:
    store = store or DynamoStore(settings.table_name)
    clock = clock or SystemClock()
    directory = Directory(store, settings.business_cache_seconds)
    return Services(
        settings=settings,
        submissions=Submissions(directory, store, clock, settings),
        owners=Owners(directory, store, store, clock, settings, registry=DynamoReports(store)),
        store=store,
        clock=clock,
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
