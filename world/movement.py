"""Server-authoritative movement: speed limits, collision with panda3d, paths for "go to".

Walls, doors and furniture become panda3d ``CollisionBox`` solids inflated by the avatar radius
(the Minkowski sum of an axis-aligned box and a disc, approximated by the box: exact at faces,
slightly conservative at corners), so an avatar is a point and a move is a ``CollisionSegment``
from where it is to where it wants to be. Runs headless: no window, no ShowBase.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
from panda3d.core import (
    BitMask32,
    CollisionBox,
    CollisionHandlerQueue,
    CollisionNode,
    CollisionSegment,
    CollisionTraverser,
    NodePath,
    Point3,
)

from .layout import Layout

WALK_SPEED = 2.0  # m/s: a brisk walk; residents are not racing
MAX_SPEED = 4.0  # m/s: the most any intent may ask for; faster intents are clamped
PROBE_Z = 1.0  # segment height: above the floor, below every wall top
SKIN = 0.01  # stop this far before a surface so the next sweep does not start inside it
WALL_MASK = BitMask32.bit(1)


@dataclass(frozen=True)
class Sweep:
    x: float
    y: float
    blocked: bool


class Collider:
    """Static geometry plus doors that a booth lock can close."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.root = NodePath("collision-world")
        r = layout.avatar_radius
        half = layout.wall_thickness / 2
        self._box_of: dict[str, tuple[float, float, float, float]] = {}
        for i, (a, b) in enumerate(layout.walls):
            self._add_box(f"wall{i}", _segment_box(a, b, half + r))
        for f in layout.furniture:
            if not f.walkable:
                x0, y0, x1, y1 = f.rect
                self._add_box(f"furniture:{f.id}", (x0 - r, y0 - r, x1 + r, y1 + r))
        self.static_boxes = list(self._box_of.values())
        self.version = 0  # bumped when a door opens or closes (caches key on it)
        self.door_nodes: dict[str, NodePath] = {}
        self.door_boxes: dict[str, tuple[float, float, float, float]] = {}
        for d in layout.doors.values():
            box = _segment_box(d.a, d.b, half + r)
            # Shrink along the door so the open frame stays passable next to its jambs.
            self.door_boxes[d.id] = box
            self.door_nodes[d.id] = self._add_box(f"door:{d.id}", box)
            if d.open:
                self.door_nodes[d.id].stash()
        self._probe = CollisionSegment(Point3(0, 0, PROBE_Z), Point3(1, 0, PROBE_Z))
        probe_node = CollisionNode("probe")
        probe_node.addSolid(self._probe)
        probe_node.setFromCollideMask(WALL_MASK)
        probe_node.setIntoCollideMask(BitMask32.allOff())
        self._probe_np = self.root.attachNewNode(probe_node)
        self._queue = CollisionHandlerQueue()
        self._trav = CollisionTraverser("movement")
        self._trav.addCollider(self._probe_np, self._queue)
        self._grid: np.ndarray | None = None

    def _add_box(self, name: str, box: tuple[float, float, float, float]) -> NodePath:
        x0, y0, x1, y1 = box
        node = CollisionNode(name)
        node.addSolid(CollisionBox(Point3(x0, y0, 0), Point3(x1, y1, self.layout.wall_height)))
        node.setIntoCollideMask(WALL_MASK)
        node.setFromCollideMask(BitMask32.allOff())
        np_ = self.root.attachNewNode(node)
        self._box_of[name] = box
        return np_

    # -- doors ------------------------------------------------------------------------------
    def set_door(self, door_id: str, open_: bool) -> None:
        node = self.door_nodes[door_id]
        if open_:
            node.stash()
        else:
            node.unstash()
        self._grid = None
        self.version += 1

    def door_open(self, door_id: str) -> bool:
        return self.door_nodes[door_id].isStashed()

    # -- queries ----------------------------------------------------------------------------
    def first_hit(self, ax: float, ay: float, bx: float, by: float) -> float | None:
        """Fraction (0..1) along a->b of the first surface hit, or None when the way is clear."""
        if ax == bx and ay == by:
            return None
        self._probe.setPointA(ax, ay, PROBE_Z)
        self._probe.setPointB(bx, by, PROBE_Z)
        self._queue.clearEntries()
        self._trav.traverse(self.root)
        n = self._queue.getNumEntries()
        if n == 0:
            return None
        # panda3d finds which boxes the segment touches; the entry fraction comes from a slab
        # test on that box, because CollisionBox reports the far face for some directions.
        best = 1.0
        for i in range(n):
            box = self._box_of[self._queue.getEntry(i).getIntoNode().getName()]
            best = min(best, _slab_entry(ax, ay, bx, by, box))
        return best

    def sweep(self, ax: float, ay: float, bx: float, by: float) -> Sweep:
        """Move a->b, stopping before the first wall; slide along it when only one axis is blocked."""
        t = self.first_hit(ax, ay, bx, by)
        if t is None:
            return Sweep(bx, by, False)
        # Slide: try the two axis-aligned components so walking diagonally into a wall glides.
        for sx, sy in ((bx, ay), (ax, by)):
            if (sx, sy) != (ax, ay) and self.first_hit(ax, ay, sx, sy) is None:
                return Sweep(sx, sy, True)
        length = math.hypot(bx - ax, by - ay)
        back = max(0.0, t - SKIN / length)
        return Sweep(ax + (bx - ax) * back, ay + (by - ay) * back, True)

    def is_free(self, x: float, y: float) -> bool:
        for x0, y0, x1, y1 in self._active_boxes():
            if x0 < x < x1 and y0 < y < y1:
                return False
        return True

    def _active_boxes(self) -> list[tuple[float, float, float, float]]:
        closed = [self.door_boxes[d] for d, n in self.door_nodes.items() if not n.isStashed()]
        return self.static_boxes + closed

    # -- paths ------------------------------------------------------------------------------
    CELL = 0.25

    def grid(self) -> np.ndarray:
        """Occupancy grid (True = blocked) at CELL metres, rebuilt when a door changes."""
        if self._grid is None:
            bx0, by0, bx1, by1 = self.layout.bounds
            nx, ny = int((bx1 - bx0) / self.CELL), int((by1 - by0) / self.CELL)
            xs = bx0 + (np.arange(nx) + 0.5) * self.CELL
            ys = by0 + (np.arange(ny) + 0.5) * self.CELL
            gx, gy = np.meshgrid(xs, ys, indexing="ij")
            blocked = np.zeros((nx, ny), dtype=bool)
            for x0, y0, x1, y1 in self._active_boxes():
                blocked |= (gx > x0) & (gx < x1) & (gy > y0) & (gy < y1)
            self._grid = blocked
        return self._grid

    def find_path(
        self, start: tuple[float, float], goal: tuple[float, float], forbidden: np.ndarray | None = None
    ) -> list[tuple[float, float]] | None:
        """A* on the occupancy grid, then string-pulled with collision sweeps. None if unreachable."""
        grid = self.grid() if forbidden is None else (self.grid() | forbidden)
        nx, ny = grid.shape
        bx0, by0 = self.layout.bounds[0], self.layout.bounds[1]

        def cell(p: tuple[float, float]) -> tuple[int, int]:
            return (min(nx - 1, max(0, int((p[0] - bx0) / self.CELL))), min(ny - 1, max(0, int((p[1] - by0) / self.CELL))))

        s, g = cell(start), cell(goal)
        if grid[g]:
            return None
        open_: list[tuple[float, tuple[int, int]]] = [(0.0, s)]
        came: dict[tuple[int, int], tuple[int, int]] = {}
        cost = {s: 0.0}
        steps = [(1, 0, 1.0), (-1, 0, 1.0), (0, 1, 1.0), (0, -1, 1.0), (1, 1, 1.414), (1, -1, 1.414), (-1, 1, 1.414), (-1, -1, 1.414)]
        while open_:
            _, c = heapq.heappop(open_)
            if c == g:
                break
            for dx, dy, w in steps:
                n = (c[0] + dx, c[1] + dy)
                if not (0 <= n[0] < nx and 0 <= n[1] < ny) or grid[n]:
                    continue
                if dx and dy and (grid[c[0] + dx, c[1]] or grid[c[0], c[1] + dy]):
                    continue  # no corner cutting
                nc = cost[c] + w
                if nc < cost.get(n, math.inf):
                    cost[n] = nc
                    came[n] = c
                    heapq.heappush(open_, (nc + math.hypot(g[0] - n[0], g[1] - n[1]), n))
        if g not in cost:
            return None
        cells = [g]
        while cells[-1] != s:
            cells.append(came[cells[-1]])
        cells.reverse()
        pts = [(bx0 + (cx + 0.5) * self.CELL, by0 + (cy + 0.5) * self.CELL) for cx, cy in cells]
        pts[-1] = goal
        # String pulling: keep a waypoint only where a straight walk would hit something.
        out = [start]
        i = 0
        while i < len(pts) - 1:
            j = len(pts) - 1
            while j > i + 1 and self.first_hit(out[-1][0], out[-1][1], pts[j][0], pts[j][1]) is not None:
                j -= 1
            out.append(pts[j])
            i = j
        return out[1:]


def _slab_entry(ax: float, ay: float, bx: float, by: float, box: tuple[float, float, float, float]) -> float:
    """Fraction along a->b where the segment enters the box (0 when it starts inside)."""
    t0, t1 = 0.0, 1.0
    for a, d, lo, hi in ((ax, bx - ax, box[0], box[2]), (ay, by - ay, box[1], box[3])):
        if d == 0:
            if not (lo <= a <= hi):
                return 1.0
            continue
        u, v = (lo - a) / d, (hi - a) / d
        if u > v:
            u, v = v, u
        t0, t1 = max(t0, u), min(t1, v)
    return t0 if t0 <= t1 else 1.0


def _segment_box(
    a: tuple[float, float], b: tuple[float, float], pad: float
) -> tuple[float, float, float, float]:
    return (min(a[0], b[0]) - pad, min(a[1], b[1]) - pad, max(a[0], b[0]) + pad, max(a[1], b[1]) + pad)


def clamp_velocity(vx: float, vy: float, limit: float = MAX_SPEED) -> tuple[float, float, bool]:
    """Clamp a requested velocity to the speed limit; the flag says whether it was clamped."""
    if not (math.isfinite(vx) and math.isfinite(vy)):
        return 0.0, 0.0, True
    s = math.hypot(vx, vy)
    if s <= limit:
        return vx, vy, False
    return vx * limit / s, vy * limit / s, True
