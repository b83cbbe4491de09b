"""Go-to paths from cached distance fields: legal (no wall, no forbidden zone), as short as a plain
grid search, cheap once a goal's flood exists, and recomputed when doors or booth locks change."""

from __future__ import annotations

import heapq
import math
import random

import numpy as np
import pytest

from yakuba.world.layout import load_layout
from yakuba.world.movement import Collider
from yakuba.world.state import Avatar, World
from yakuba.world.zones import BOOTH_LOCKED, Role

CELL = Collider.CELL


@pytest.fixture(scope="module")
def layout():
    return load_layout()


def avatar(world: World, aid: int, x: float, y: float, role: Role = Role.RESIDENT) -> Avatar:
    a = Avatar(id=aid, name=f"a{aid}", style="round", color="#000000", role=role, x=x, y=y, heading=0, zone=world.layout.zone_at(x, y).id,
               verified=role is Role.STAFF)  # staff here are verified (the salon's rule, issue #20)
    world.add(a)
    return a


def public_points(world: World, n: int, seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        x, y = rng.uniform(0, 64), rng.uniform(0, 40)
        z = world.layout.zone_at(x, y)
        if z is not None and z.access == "public" and world.collider.is_free(x, y):
            out.append((x, y))
    return out


def reference_flood(blocked: np.ndarray, goal: tuple[int, int]) -> dict[tuple[int, int], float]:
    """Plain Dijkstra over the 8-connected grid (no corner cutting), in cells: the old A*'s metric."""
    nx, ny = blocked.shape
    dist = {goal: 0.0}
    heap = [(0.0, goal)]
    while heap:
        d, (cx, cy) = heapq.heappop(heap)
        if d > dist[(cx, cy)]:
            continue
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                n = (cx + dx, cy + dy)
                if (dx, dy) == (0, 0) or not (0 <= n[0] < nx and 0 <= n[1] < ny) or blocked[n]:
                    continue
                if dx and dy and (blocked[cx + dx, cy] or blocked[cx, cy + dy]):
                    continue
                nd = d + math.hypot(dx, dy)
                if nd < dist.get(n, math.inf):
                    dist[n] = nd
                    heapq.heappush(heap, (nd, n))
    return dist


def mask_of(collider: Collider, rects) -> np.ndarray:
    blocked = collider.grid().copy()
    for x0, y0, x1, y1 in rects:  # every cell a rectangle touches
        blocked[int(x0 / CELL) : math.ceil(x1 / CELL), int(y0 / CELL) : math.ceil(y1 / CELL)] = True
    return blocked


def cell_of(p):
    return (int(p[0] / CELL), int(p[1] / CELL))


def length(start, path) -> float:
    pts = [start, *path]
    return sum(math.dist(a, b) for a, b in zip(pts, pts[1:]))


def assert_legal(world: World, a: Avatar, path) -> None:
    """No segment hits a wall, closed door or furniture (panda3d's own sweep), none enters a zone
    the avatar may not be in."""
    pts = [(a.x, a.y), *path]
    for (ax, ay), (bx, by) in zip(pts, pts[1:]):
        assert world.collider.first_hit(ax, ay, bx, by) is None, ((ax, ay), (bx, by))
        steps = max(1, int(math.dist((ax, ay), (bx, by)) / 0.05))
        for k in range(steps + 1):
            x, y = ax + (bx - ax) * k / steps, ay + (by - ay) * k / steps
            assert world.access(a, world.layout.zone_at(x, y)) is None, (x, y)


def test_paths_are_legal_and_as_short_as_a_grid_search(layout):
    w = World(layout, seed=1)
    a = avatar(w, 1, 10, 4)
    goals = ["hall", "booth3", "infodesk", "corridor", "booth6"]
    starts = public_points(w, 25, seed=7)
    rects = w._forbidden_rects(a)
    assert rects, "a resident has staff zones to avoid"
    blocked = mask_of(w.collider, rects)
    checked = 0
    for gid in goals:
        goal = layout.zones[gid].anchor
        ref = reference_flood(blocked, cell_of(goal))
        for s in starts:
            a.x, a.y = s
            a.zone = layout.zone_at(*s).id
            assert w.set_goto(1, gid) is None
            path = a.path
            assert path[-1] == goal
            assert_legal(w, a, path)
            sc = cell_of(s)
            if blocked[sc]:
                continue  # starts within half a cell of a wall take one extra grid step
            grid_len = ref[sc] * CELL
            ends = math.dist(s, ((sc[0] + 0.5) * CELL, (sc[1] + 0.5) * CELL)) + math.dist(goal, ((cell_of(goal)[0] + 0.5) * CELL, (cell_of(goal)[1] + 0.5) * CELL))
            # Never longer than the optimal grid path (shortcuts only shorten it) and never much
            # shorter than an any-angle path can be (octile / euclidean <= 1.0824 in the open, plus
            # a little where the grid squeezes through a door), so not through a wall.
            assert length(s, path) <= grid_len + ends + 1e-6
            assert length(s, path) >= grid_len / 1.0824 - ends - 2 * CELL
            checked += 1
    assert checked > 100
    # One flood per goal for all those starts.
    assert w.collider.floods == len(goals)


def test_walking_the_paths_arrives_without_a_rejection(layout):
    w = World(layout, seed=1)
    for i, s in enumerate(public_points(w, 8, seed=11)):
        a = avatar(w, i + 1, *s)
        assert w.set_goto(a.id, ["booth2", "hall", "entrance", "corridor"][i % 4]) is None
    staff = avatar(w, 99, 24, 20, Role.STAFF)
    assert w.set_goto(99, "salon-meeting1") is None
    rejections = []
    for _ in range(600):
        rejections += w.step(0.1).rejections
    assert rejections == []
    assert [w.avatars[i + 1].zone for i in range(8)] == [["booth2", "hall", "entrance", "corridor"][i % 4] for i in range(8)]
    assert staff.zone == "salon-meeting1"


def test_warm_gotos_share_the_flood_and_the_cache_is_bounded(layout):
    w = World(layout, seed=1)
    w.collider.FIELD_CACHE = 2
    a = avatar(w, 1, 10, 4)
    b = avatar(w, 2, 30, 20)
    assert w.set_goto(1, "hall") is None and w.set_goto(2, "hall") is None
    assert w.collider.floods == 1  # same goal, same rights: one flood
    staff = avatar(w, 3, 12, 20, Role.STAFF)
    assert w.set_goto(3, "hall") is None
    assert w.collider.floods == 2  # staff avoid nothing: a different field
    assert w.set_goto(1, "infodesk") is None  # three fields, room for two: the resident's hall goes
    assert w.collider.floods == 3
    assert w.set_goto(3, "hall") is None
    assert w.collider.floods == 3
    assert w.set_goto(2, "hall") is None
    assert w.collider.floods == 4
    assert b.path and staff.path and a.path


def test_door_change_invalidates_the_fields(layout):
    w = World(layout, seed=1)
    inside = avatar(w, 1, 3, 35)  # in booth1
    assert w.set_goto(1, "hall") is None
    floods = w.collider.floods
    w.collider.set_door("booth1-door", False)
    assert w.set_goto(1, "hall") == "no_path"  # a stale field would still lead out through the door
    assert w.collider.floods == floods + 1
    w.collider.set_door("booth1-door", True)
    assert w.set_goto(1, "hall") is None
    assert_legal(w, inside, inside.path)


def test_booth_lock_changes_who_avoids_what(layout):
    w = World(layout, seed=1)
    outsider = avatar(w, 2, 15, 28)
    assert w.set_goto(2, "booth4") is None
    before = w._forbidden_rects(outsider)
    floods = w.collider.floods
    w.lock_booth("booth3", {1})
    assert w.set_goto(2, "booth3") == BOOTH_LOCKED
    assert w.set_goto(2, "booth4") is None
    assert set(w._forbidden_rects(outsider)) == set(before) | {layout.zones["booth3"].rect}
    assert layout.zones["booth3"].rect not in before
    assert w.collider.floods == floods + 1  # new rights and new doors: recomputed
    assert_legal(w, outsider, outsider.path)
    w.unlock_booth("booth3")
    assert w.set_goto(2, "booth3") is None
    assert_legal(w, outsider, outsider.path)


def test_avoided_rectangles_reroute_and_key_the_cache(layout):
    c = Collider(layout)
    start, goal = (38.0, 18.0), (10.0, 5.0)  # hall -> entrance through the opening at x = 20
    direct = c.find_path(start, goal)
    gate = (19.0, 5.0, 21.0, 13.0)  # over the opening between hall and entrance
    around = c.find_path(start, goal, (gate,))
    assert direct is not None and around is not None
    assert length(start, around) > length(start, direct) + 10  # the long way, via the corridor
    pts = [start, *around]
    for (ax, ay), (bx, by) in zip(pts, pts[1:]):
        for k in range(101):
            x, y = ax + (bx - ax) * k / 100, ay + (by - ay) * k / 100
            assert not (gate[0] <= x <= gate[2] and gate[1] <= y <= gate[3])
    assert c.floods == 2
    assert c.find_path(start, goal) == direct and c.floods == 2
    assert c.find_path((36.0, 20.0), goal) is not None and c.floods == 2  # another start: no new flood


def test_unreachable_goal_and_same_cell(layout):
    c = Collider(layout)
    c.set_door("booth2-door", False)
    assert c.find_path((10, 4), (9, 34.5)) is None  # closed booth
    assert c.find_path((9, 34.5), (9, 34.5)) == []
    assert c.find_path((9.01, 34.49), (9, 34.5)) == [(9.0, 34.5)]
