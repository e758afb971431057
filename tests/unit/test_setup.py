"""Issue #14, the rules of the setup service on in-memory fakes: what a patch writes, what it leaves alone,
who hears of a new time zone, retiring for good, and what a retired touchpoint costs the hot path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.domain.models import (
    BusinessOut,
    BusinessPatch,
    LinksIn,
    ResponseIn,
    TouchpointPatch,
    VoucherPolicy,
)
from chalicelib.errors import Conflict, Expired, NotFound
from chalicelib.ports import RegisteredBusiness
from chalicelib.services.setup import Setup
from tests.unit.test_services import PHONE, World


class FakeRegistry:
    """The report job's business index: the zone of each business and its last reported day."""

    def __init__(self) -> None:
        self.entries: dict[str, RegisteredBusiness] = {}
        self.moves: list[tuple[str, str, str]] = []

    def register(self, business_id: str, timezone: str, created_day: str) -> None:
        self.entries[business_id] = RegisteredBusiness(business_id, timezone, created_day)

    def set_timezone(self, business_id: str, timezone: str, today: str) -> None:
        self.moves.append((business_id, timezone, today))
        old = self.entries.get(business_id)
        created, last = (old.created_day, old.last_day) if old else (today, None)
        self.entries[business_id] = RegisteredBusiness(business_id, timezone, created, last)

    def registered(self) -> Iterator[RegisteredBusiness]:
        yield from self.entries.values()

    def mark_reported(self, business_id: str, day: str) -> None:
        entry = self.entries[business_id]
        self.entries[business_id] = RegisteredBusiness(business_id, entry.timezone, entry.created_day, day)


class SetupWorld(World):
    def __init__(self) -> None:
        super().__init__()
        self.registry = FakeRegistry()
        self.registry.register(self.business_id, "Asia/Ho_Chi_Minh", "2026-11-20")
        self.registry.mark_reported(self.business_id, "2026-11-19")
        self.setup = Setup(self.directory, self.store, self.links, self.clock, registry=self.registry)


@pytest.fixture
def world() -> SetupWorld:
    return SetupWorld()


def test_the_business_as_its_owner_reads_it_has_no_key_hash_and_no_secret(world: SetupWorld) -> None:
    shown = world.setup.business(world.caller).model_dump()
    assert set(shown) == set(BusinessOut.model_fields)
    stored = world.store.businesses[world.business_id]
    text = repr(shown)
    assert stored.owner_key_hash not in text
    assert not [secret for secret in stored.signing_keys.values() if secret in text]


def test_a_patch_updates_the_named_settings_and_never_puts_the_whole_business(world: SetupWorld) -> None:
    world.store.calls.clear()
    updated = world.setup.update_business(world.caller, BusinessPatch(name="Quán Mới", locale="en"))
    assert (updated.name, updated.locale) == ("Quán Mới", "en")
    assert world.store.calls == ["update_business_settings"]
    assert world.registry.moves == []  # no new zone: the report index is not touched


def test_a_key_rotation_between_sign_in_and_the_patch_survives_it(world: SetupWorld) -> None:
    caller = world.caller  # read at sign-in, before the rotation
    rotated = world.access.rotate_owner_key(caller)
    world.setup.update_business(caller, BusinessPatch(allowed_origins=["https://menu.caphe.example"]))
    stored = world.store.businesses[world.business_id]
    assert stored.owner_key_hash != caller.business.owner_key_hash
    assert world.access.authenticate(f"Bearer {rotated.owner_key}", world.business_id).business.allowed_origins == [
        "https://menu.caphe.example"
    ]


def test_null_removes_the_voucher_and_the_sender_and_the_hot_path_sees_it_at_once(world: SetupWorld) -> None:
    world.setup.update_business(
        world.caller, BusinessPatch(voucher=VoucherPolicy(description="Free coffee"), sender_email="hi@caphe.example")
    )
    assert world.directory.business(world.business_id).voucher is not None  # type: ignore[union-attr]
    removal = BusinessPatch.model_validate({"voucher": None, "sender_email": None})
    cleared = world.setup.update_business(world.caller, removal)
    assert cleared.voucher is None and cleared.sender_email is None
    # The container's cached copy was dropped: the next customer is not promised a voucher.
    assert world.directory.business(world.business_id).voucher is None  # type: ignore[union-attr]


def test_a_new_time_zone_moves_the_report_index_and_keeps_the_last_reported_day(world: SetupWorld) -> None:
    world.setup.update_business(world.caller, BusinessPatch(timezone="America/New_York"))
    # 2026-11-20 03:00 UTC is still the 19th in New York.
    assert world.registry.moves == [(world.business_id, "America/New_York", "2026-11-19")]
    entry = world.registry.entries[world.business_id]
    assert (entry.timezone, entry.created_day, entry.last_day) == ("America/New_York", "2026-11-20", "2026-11-19")


def test_naming_the_same_time_zone_again_rewrites_the_index_so_a_retry_repairs_it(world: SetupWorld) -> None:
    world.setup.update_business(world.caller, BusinessPatch(timezone="Asia/Ho_Chi_Minh"))
    assert world.registry.moves == [(world.business_id, "Asia/Ho_Chi_Minh", "2026-11-20")]


def test_touchpoints_are_listed_with_their_static_link_even_when_retired(world: SetupWorld) -> None:
    world.setup.retire_touchpoint(world.caller, world.receipt.touchpoint_id)
    listed = {t.touchpoint_id: t for t in world.setup.touchpoints(world.caller).items}
    assert listed[world.table.touchpoint_id].url == world.table.url
    assert listed[world.receipt.touchpoint_id].retired_at is not None
    assert listed[world.receipt.touchpoint_id].url == world.receipt.url


def test_a_rename_keeps_the_link_and_is_seen_by_this_containers_hot_path(world: SetupWorld) -> None:
    world.directory.touchpoint(world.business_id, world.table.touchpoint_id)  # cached
    renamed = world.setup.update_touchpoint(world.caller, world.table.touchpoint_id, TouchpointPatch(name="Bàn 9"))
    assert renamed.url == world.table.url and renamed.name == "Bàn 9"
    assert world.directory.touchpoint(world.business_id, world.table.touchpoint_id).name == "Bàn 9"  # type: ignore[union-attr]


def test_retiring_twice_changes_nothing_the_second_time(world: SetupWorld) -> None:
    first = world.setup.retire_touchpoint(world.caller, world.table.touchpoint_id)
    world.clock.advance(hours=2)
    again = world.setup.retire_touchpoint(world.caller, world.table.touchpoint_id)
    assert again == first and first.retired_at is not None


@pytest.mark.parametrize("touchpoint_id", ["nothere1", "UPPER1234", "a/b", "", "x" * 17])
def test_an_unknown_or_malformed_touchpoint_id_is_not_found_and_malformed_ones_reach_no_store(
    world: SetupWorld, touchpoint_id: str
) -> None:
    world.store.calls.clear()
    with pytest.raises(NotFound):
        world.setup.retire_touchpoint(world.caller, touchpoint_id)
    with pytest.raises(NotFound):
        world.setup.update_touchpoint(world.caller, touchpoint_id, TouchpointPatch(name="x"))
    assert world.store.calls == ([] if touchpoint_id != "nothere1" else ["update_touchpoint", "update_touchpoint"])


def test_a_retired_touchpoint_refuses_answers_links_and_qr_without_an_extra_read_per_answer(world: SetupWorld) -> None:
    page = world.view(9)  # a customer's page, opened before the owner retired the table
    world.setup.retire_touchpoint(world.caller, world.table.touchpoint_id)
    with pytest.raises(Expired) as refused:
        world.submissions.submit(page, PHONE)
    assert refused.value.code == "touchpoint_retired"
    world.store.calls.clear()
    with pytest.raises(Expired):
        world.submissions.submit(ResponseIn.model_validate(page.model_dump()), PHONE)
    assert world.store.calls == []  # refused on the cached copy: no read, no write
    with pytest.raises(Conflict) as minting:
        world.links.mint(world.caller, LinksIn(touchpoint_id=world.table.touchpoint_id))
    assert minting.value.code == "touchpoint_retired"
    with pytest.raises(Expired):
        world.links.touchpoint_link(world.caller, world.table.touchpoint_id)
    assert world.store.responses == {}
