"""Rooms: state, versions, intents through the policy, patches at the room's own rate."""

from __future__ import annotations

import pytest

from yakuba.server.auth.principal import Kind, Principal, resident
from yakuba.server.realtime.clock import ManualClock
from yakuba.server.rooms.base import RoomError
from yakuba.server.rooms.booth import BoothRoom
from yakuba.server.rooms.hall import HallRoom
from yakuba.server.rooms.registry import RoomRegistry
from yakuba.world.layout import load_layout

STAFF = Principal(kind=Kind.STAFF, staff_id=1)


def test_registry_creates_the_zone_room_on_first_use_and_moves_members():
    reg = RoomRegistry(load_layout())
    assert reg.rooms == {}
    types = {z: reg.get(z).type for z in ("entrance", "booth3", "hall", "salon-lounge", "staffroom")}
    assert types == {"entrance": "lobby", "booth3": "booth", "hall": "hall", "salon-lounge": "salon", "staffroom": "lobby"}
    assert reg.get("hall") is reg.get("hall")
    joined = reg.move(5, None, "booth3")
    assert joined is reg.get("booth3") and joined.snapshot() == {"room": "booth3", "type": "booth", "version": 1, "state": {
        "locked": False, "members": [5], "streams": [], "doc": None, "page": 1, "pointer": None}}
    reg.move(5, "booth3", "hall")
    assert reg.get("booth3").members == set() and reg.get("hall").members == {5}


def test_booth_lock_is_for_staff_members_and_patches_coalesce():
    clock = ManualClock()
    b = BoothRoom("booth1")
    b.join(1)
    b.join(2)
    with pytest.raises(RoomError) as e:
        b.handle(resident("x"), 1, {"op": "lock"})
    assert e.value.code == "forbidden"
    with pytest.raises(RoomError) as e:
        b.handle(STAFF, 3, {"op": "lock"})
    assert e.value.code == "not_member"
    assert b.handle(STAFF, 2, {"op": "lock"}) == {"locked": True}
    assert b.handle(STAFF, 2, {"op": "lock"}) is None  # no change, no version
    assert b.due(clock.now()) == {"room": "booth1", "version": 3, "patch": {"members": [1, 2], "locked": True}}
    b.leave(1)
    assert b.due(clock.advance(0.05)) is None  # 10 Hz: not yet
    assert b.due(clock.advance(0.05)) == {"room": "booth1", "version": 4, "patch": {"members": [2]}}
    with pytest.raises(RoomError):
        b.handle(STAFF, 2, {"op": "explode"})


def test_hall_presenter_and_view():
    """The stage and the view (the hall's full rules: tests/hall/test_hall_room.py)."""
    h = HallRoom("hall")
    for m in (1, 2, 3):
        h.join(m)
    with pytest.raises(RoomError):
        h.present(resident(), 1)
    h.present(STAFF, 2)
    assert h.state["presenter"] == 2
    with pytest.raises(RoomError) as e:
        h.present(Principal(kind=Kind.STAFF, staff_id=9), 3)
    assert e.value.code == "busy"
    with pytest.raises(RoomError):
        h.show(STAFF, 3, {"t": 60.0}, [])
    h.show(STAFF, 2, {"t": 60.0}, [])
    assert h.snapshot()["state"]["show"]["t"] == 60.0
    with pytest.raises(RoomError) as e:
        h.handle(STAFF, 2, {"op": "present"})  # the hall's changes are its own events (hall.*), not generic intents
    assert e.value.code == "unknown_intent"
    h.leave(2)  # the presenter walks out: the stage is free
    assert h.state["presenter"] is None
