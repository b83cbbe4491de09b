"""The pure world core: zone rules, collision, paths, step() with a fake clock (no server)."""

from __future__ import annotations

import json

import pytest

from yakuba.world.layout import LayoutError, default_plan_path, load_layout, parse_layout
from yakuba.world.movement import MAX_SPEED, Collider, clamp_velocity
from yakuba.world.state import Avatar, World
from yakuba.world.zones import BOOTH_LOCKED, ZONE_FORBIDDEN, BoothState, Role, may_enter


@pytest.fixture(scope="module")
def layout():
    return load_layout()


def avatar(world: World, aid: int, x: float, y: float, role: Role = Role.RESIDENT) -> Avatar:
    a = Avatar(id=aid, name=f"a{aid}", style="round", color="#000000", role=role, x=x, y=y, heading=0, zone=world.layout.zone_at(x, y).id,
               verified=role is Role.STAFF)  # staff here are verified (the salon's rule, issue #20)
    world.add(a)
    return a


def run(world: World, seconds: float, dt: float = 0.1):
    out = []
    for _ in range(int(round(seconds / dt))):
        out.append(world.step(dt))
    return out


def test_plan_has_the_required_spaces(layout):
    kinds = [z.kind for z in layout.zones.values()]
    assert kinds.count("booth") >= 6
    assert {"entrance", "infodesk", "hall", "salon"} <= set(kinds)
    salon = [z for z in layout.zones.values() if z.kind == "salon"]
    assert len([z for z in salon if "meeting" in z.id]) >= 2 and all(z.access == "salon" for z in salon)
    assert all(any(d.zone == z.id for d in layout.doors.values()) for z in layout.zones.values() if z.kind == "booth")
    assert any(f.kind == "stage" for f in layout.furniture) and any(f.kind == "model_table" for f in layout.furniture)
    assert layout.zones["infodesk"].name["ja"] == "総合案内"


def test_layout_validation_rejects_bad_plans():
    plan = json.loads(default_plan_path().read_text())
    plan["zones"][0]["access"] = "everyone"
    with pytest.raises(LayoutError):
        parse_layout(plan)
    plan = json.loads(default_plan_path().read_text())
    plan["walls"].append([[0, 0], [3, 4]])
    with pytest.raises(LayoutError, match="axis-aligned"):
        parse_layout(plan)


def test_zone_access_rules(layout):
    booth, salon, hall = layout.zones["booth1"], layout.zones["salon-lounge"], layout.zones["hall"]
    assert may_enter(hall, 1, Role.RESIDENT) is None
    assert may_enter(salon, 1, Role.RESIDENT) == "salon_staff_only"
    assert may_enter(salon, 1, Role.STAFF) == "salon_staff_only"  # staff without the verified mark
    assert may_enter(salon, 1, Role.STAFF, verified=True) is None
    assert may_enter(booth, 1, Role.RESIDENT, BoothState()) is None
    locked = BoothState(locked=True, members={1, 2})
    assert may_enter(booth, 2, Role.RESIDENT, locked) is None
    assert may_enter(booth, 3, Role.RESIDENT, locked) == BOOTH_LOCKED
    assert may_enter(booth, 3, Role.STAFF, locked) == BOOTH_LOCKED  # private even from colleagues


def test_collision_walls_doors_and_sliding(layout):
    c = Collider(layout)
    s = c.sweep(3, 2, 3, -2)  # south wall
    assert s.blocked and s.y > 0.3
    assert not c.sweep(3, 30, 3, 35).blocked  # booth 1 door open
    c.set_door("booth1-door", False)
    s = c.sweep(3, 30, 3, 35)
    assert s.blocked and s.y < 32
    c.set_door("booth1-door", True)
    assert not c.sweep(3, 30, 3, 35).blocked
    s = c.sweep(2, 1.0, 4, -1.0)  # diagonal into the south wall glides along it
    assert s.blocked and s.x == 4 and s.y == 1.0


def test_velocity_clamp():
    vx, vy, clamped = clamp_velocity(30, 40)
    assert clamped and abs((vx**2 + vy**2) ** 0.5 - MAX_SPEED) < 1e-9
    assert clamp_velocity(float("nan"), 1) == (0.0, 0.0, True)
    assert clamp_velocity(1, 1)[2] is False


def test_step_moves_at_limited_speed_and_stops_at_walls(layout):
    w = World(layout, seed=1)
    a = avatar(w, 1, 3, 5)
    assert w.set_velocity(1, 0, 50) is True
    run(w, 1.0)
    assert abs(a.y - (5 + MAX_SPEED)) < 1e-6
    w.set_velocity(1, 0, -4)
    results = run(w, 3.0)
    assert a.y > 0.3 and any(r.rejections and r.rejections[0].code == "blocked" for r in results)
    # Through the entrance opening the building ends: leaving the zones is refused too.
    a.x, a.y = 10, 3
    w.set_velocity(1, 0, -4)
    run(w, 3.0)
    assert a.zone == "entrance" and a.y >= 0


def test_goto_walks_into_target_zone_and_respects_access(layout):
    w = World(layout, seed=1)
    a = avatar(w, 1, 10, 4)
    assert w.set_goto(1, "booth3") is None
    changes = [zc for r in run(w, 30) for zc in r.zone_changes]
    assert a.zone == "booth3" and (1, "corridor", "booth3") in changes
    assert w.set_goto(1, "salon-lounge") == "salon_staff_only"
    assert w.set_goto(1, "nowhere") == "unknown_zone"
    assert w.set_target(1, 54, 20) == "salon_staff_only"
    s = avatar(w, 2, 10, 4, Role.STAFF)
    assert w.set_goto(2, "salon-meeting2") is None
    run(w, 40)
    assert s.zone == "salon-meeting2"


def test_locked_booth_keeps_third_parties_out_and_lets_members_leave(layout):
    w = World(layout, seed=1)
    inside = avatar(w, 1, 3, 35)
    outsider = avatar(w, 2, 3, 29)
    w.lock_booth("booth1", {1})
    assert w.set_goto(2, "booth1") == BOOTH_LOCKED
    w.set_velocity(2, 0, 2)
    run(w, 3)
    assert outsider.zone == "corridor" and outsider.y < 32
    w.unlock_booth("booth1")
    assert w.set_goto(2, "booth1") is None
    run(w, 10)
    assert outsider.zone == "booth1" and inside.zone == "booth1"


def test_teleport_like_velocity_never_skips_zone_rules(layout):
    """A huge velocity is clamped, so one tick cannot jump over the salon door check."""
    w = World(layout, seed=1)
    a = avatar(w, 1, 42, 26)
    w.set_velocity(1, 1000, 0)
    res = run(w, 2)
    assert a.zone == "corridor" and a.x < 44
    assert any(r.code == "salon_staff_only" for step in res for r in step.rejections)
