"""`goto` spreads arrivals: residents who pick the same destination end on separate free spots
near its anchor (name tags apart), inside the zone, not in a wall."""

from __future__ import annotations

import itertools
import math

from yakuba.world.layout import load_layout
from yakuba.world.state import Avatar, World
from yakuba.world.zones import Role


def _world_with(n: int) -> World:
    w = World(load_layout())
    for i in range(1, n + 1):
        x, y, h = w.spawn_point()
        w.add(Avatar(id=i, name=f"r{i}", style="round", color="#000000", role=Role.RESIDENT, x=x, y=y + 0.3 * i, heading=h, zone="entrance"))
    return w


def test_same_destination_gives_separate_spots_and_they_are_reached():
    w = _world_with(6)
    zone = w.layout.zones["infodesk"]
    for i in range(1, 7):
        assert w.set_goto(i, "infodesk") is None
    ends = [w.avatars[i].path[-1] for i in range(1, 7)]
    for (ax, ay), (bx, by) in itertools.combinations(ends, 2):
        assert math.dist((ax, ay), (bx, by)) >= 0.8, ends
    x0, y0, x1, y1 = zone.rect
    assert all(x0 < x < x1 and y0 < y < y1 and w.collider.is_free(x, y) for x, y in ends)
    assert min(math.dist(e, zone.anchor) for e in ends) < 0.01  # the first still gets the anchor
    for _ in range(400):  # walk them there (40 s at 10 Hz)
        w.step(0.1)
    for i, end in zip(range(1, 7), ends):
        a = w.avatars[i]
        assert a.zone == "infodesk" and math.dist((a.x, a.y), end) < 0.3, (i, a.x, a.y, end)


def test_a_clicked_point_behind_the_counter_is_reached_by_the_path():
    """Click-to-walk used to walk straight into the counter (and stop there): a point whose
    straight line is blocked gets a path around; an open line stays a straight walk; without
    a routing budget a blocked line is refused rather than searched."""
    w = _world_with(1)
    a = w.avatars[1]
    a.x, a.y = 10.0, 8.0  # the entrance, south of the information counter
    target = (10.0, 21.0)  # behind the counter
    assert w.collider.first_hit(a.x, a.y, *target) is not None, "the straight line meets the counter"
    assert w.set_target(1, *target, route=False) == "rate_limited"
    assert w.set_target(1, *target) is None
    assert len(a.path) > 1 and a.path[-1] == target
    for _ in range(600):
        w.step(0.1)
    assert math.dist((a.x, a.y), target) < 0.3
    # a clear line: one straight leg
    assert w.set_target(1, a.x + 1.0, a.y) is None and len(a.path) == 1
