"""Server-authoritative movement: speed limits, collision with panda3d, paths for "go to".

Walls, doors and furniture become panda3d ``CollisionBox`` solids inflated by the avatar radius
(the Minkowski sum of an axis-aligned box and a disc, approximated by the box: exact at faces,
slightly conservative at corners), so an avatar is a point and a move is a ``CollisionSegment``
from where it is to where it wants to be. Runs headless: no window, no ShowBase.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

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
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from .layout import Layout

WALK_SPEED = 2.0  # m/s: a brisk walk; residents are not racing
MAX_SPEED = 4.0  # m/s: the most any intent may ask for; faster intents are clamped
PROBE_Z = 1.0  # segment height: above the floor, below every wall top
SKIN = 0.01  # stop this far before a surface so the next sweep does not start inside it
WALL_MASK = BitMask32.bit(1)
MIN_MOVE = 1e-4  # m: shorter moves are not swept (0.1 mm, far above float32 resolution at 64 m)
Rect = tuple[float, float, float, float]  # x0, y0, x1, y1


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
        self._boxes: np.ndarray | None = None  # active boxes as an array, for shortcut tests
        self._graphs: OrderedDict[tuple, tuple[np.ndarray, csr_matrix]] = OrderedDict()
        self._fields: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self.floods = 0  # path floods computed: the one costly step of a goto (a few ms each)

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
        # Everything derived from the door state goes; the version also keys callers' caches.
        self._grid = self._boxes = None
        self._graphs.clear()
        self._fields.clear()
        self.version += 1

    def door_open(self, door_id: str) -> bool:
        return self.door_nodes[door_id].isStashed()

    # -- queries ----------------------------------------------------------------------------
    def first_hit(self, ax: float, ay: float, bx: float, by: float) -> float | None:
        """Fraction (0..1) along a->b of the first surface hit, or None when the way is clear."""
        if abs(bx - ax) < MIN_MOVE and abs(by - ay) < MIN_MOVE:
            # panda3d stores points as float32 and asserts on a zero-length segment: a float64 step
            # of a few ulps (reaching a waypoint after rounding drift) would collapse into one.
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
    # A goto walks to a zone anchor, so goals are few (one per zone) while starts are anywhere:
    # one Dijkstra flood from the goal (scipy, in C) answers every start, and a path is then a
    # walk down the flood's predecessor tree, O(path length). Floods are cached per goal cell,
    # per set of rectangles the avatar must avoid, per door state (version).
    CELL = 0.25
    FIELD_CACHE = 32  # floods kept, LRU: ~330 kB each on the city hall grid (256 x 160 cells)
    GRAPH_CACHE = 4  # cell graphs kept (one per set of avoided rectangles), ~3 MB each

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

    def _cell(self, p: tuple[float, float]) -> tuple[int, int]:
        nx, ny = self.grid().shape
        bx0, by0 = self.layout.bounds[0], self.layout.bounds[1]
        return (min(nx - 1, max(0, int((p[0] - bx0) / self.CELL))), min(ny - 1, max(0, int((p[1] - by0) / self.CELL))))

    def _graph(self, avoid: tuple[Rect, ...]) -> tuple[np.ndarray, csr_matrix]:
        """Blocked cells (walls, closed doors, furniture, avoided rectangles) and the 8-connected
        graph of the free ones, without corner cutting."""
        hit = _lru_get(self._graphs, avoid)
        if hit is not None:
            return hit
        blocked = self.grid().copy()
        bx0, by0 = self.layout.bounds[0], self.layout.bounds[1]
        c = self.CELL
        for x0, y0, x1, y1 in avoid:
            # Every cell the rectangle touches: a path must not graze a zone it may not enter.
            blocked[int((x0 - bx0) / c) : int(math.ceil((x1 - bx0) / c)), int((y0 - by0) / c) : int(math.ceil((y1 - by0) / c))] = True
        nx, ny = blocked.shape
        free = np.pad(~blocked, 1)  # a False border: moves off the grid are never valid
        here = free[1:-1, 1:-1]
        valid = np.empty((nx, ny, len(_MOVES)), dtype=bool)
        for k, (dx, dy, _) in enumerate(_MOVES):
            ok = here & free[1 + dx : 1 + dx + nx, 1 + dy : 1 + dy + ny]
            if dx and dy:  # no corner cutting: both orthogonal neighbours must be free too
                ok &= free[1 + dx : 1 + dx + nx, 1 : 1 + ny] & free[1 : 1 + nx, 1 + dy : 1 + dy + ny]
            valid[:, :, k] = ok
        valid = valid.reshape(nx * ny, len(_MOVES))
        # Rows in cell order with their moves in _MOVES order: CSR straight away, no COO sort.
        idx = np.arange(nx * ny, dtype=np.int32)[:, None] + np.array([dx * ny + dy for dx, dy, _ in _MOVES], dtype=np.int32)
        weights = np.broadcast_to(np.array([w for _, _, w in _MOVES]), valid.shape)
        indptr = np.zeros(nx * ny + 1, dtype=np.int32)
        np.cumsum(valid.sum(axis=1), out=indptr[1:])
        graph = csr_matrix((weights[valid], idx[valid], indptr), shape=(nx * ny, nx * ny))
        return _lru_put(self._graphs, avoid, (blocked, graph), self.GRAPH_CACHE)

    def field(self, goal_cell: tuple[int, int], avoid: tuple[Rect, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
        """(distance in cells to the goal, next cell towards it) for every cell, flat; -9999 / inf
        where the goal cannot be reached. Computed once per (goal, avoid, door state)."""
        key = (goal_cell, avoid)
        hit = _lru_get(self._fields, key)
        if hit is not None:
            return hit
        _, graph = self._graph(avoid)
        ny = self.grid().shape[1]
        # The graph is symmetric, so distances from the goal are distances to it and each
        # cell's predecessor in the flood is its next step towards the goal.
        dist, pred = dijkstra(graph, directed=True, indices=goal_cell[0] * ny + goal_cell[1], return_predecessors=True)
        self.floods += 1
        return _lru_put(self._fields, key, (dist.astype(np.float32), pred.astype(np.int32)), self.FIELD_CACHE)

    def find_path(
        self, start: tuple[float, float], goal: tuple[float, float], avoid: tuple[Rect, ...] = ()
    ) -> list[tuple[float, float]] | None:
        """Waypoints from start to goal around walls, closed doors, furniture and the ``avoid``
        rectangles (zones the walker may not enter), or None when the goal cannot be reached.
        Costs at most one flood (see ``floods``); afterwards O(path length)."""
        blocked, _ = self._graph(avoid)
        nx, ny = blocked.shape
        s, g = self._cell(start), self._cell(goal)
        if blocked[g]:
            return None
        dist, pred = self.field(g, avoid)
        si, gi = s[0] * ny + s[1], g[0] * ny + g[1]
        cells = [si]
        if not math.isfinite(dist[si]):
            # The start cell's centre is blocked while the walker is not (it stands within half a
            # cell of a wall): step to its best free neighbour, as the grid search always did.
            best, best_cost = -1, math.inf
            for dx, dy, w in _MOVES:
                cx, cy = s[0] + dx, s[1] + dy
                if not (0 <= cx < nx and 0 <= cy < ny) or blocked[cx, cy]:
                    continue
                if dx and dy and (blocked[s[0] + dx, s[1]] or blocked[s[0], s[1] + dy]):
                    continue
                if w + dist[cx * ny + cy] < best_cost:
                    best, best_cost = cx * ny + cy, w + float(dist[cx * ny + cy])
            if best < 0:
                return None
            cells.append(best)
        i = cells[-1]
        while i != gi:
            i = int(pred[i])
            cells.append(i)
        flat = np.array(cells)
        pts = np.column_stack((self.layout.bounds[0] + (flat // ny + 0.5) * self.CELL, self.layout.bounds[1] + (flat % ny + 0.5) * self.CELL))
        pts[-1] = goal
        return self._pull(start, pts, avoid)

    def _pull(self, start: tuple[float, float], pts: np.ndarray, avoid: tuple[Rect, ...]) -> list[tuple[float, float]]:
        """String pulling: from each waypoint go straight to the farthest later cell that no wall,
        closed door, furniture or avoided zone blocks; all candidates tested at once."""
        obstacles = self._obstacles(avoid)
        # Segments between path points stay in the points' bounding box: only boxes touching it matter.
        lo = np.minimum(pts.min(axis=0), start) - EPS
        hi = np.maximum(pts.max(axis=0), start) + EPS
        near = obstacles[(obstacles[:, 0] <= hi[0]) & (obstacles[:, 2] >= lo[0]) & (obstacles[:, 1] <= hi[1]) & (obstacles[:, 3] >= lo[1])]
        out = [start]
        ax, ay = start
        i, last = 0, len(pts) - 1
        if last == 0:
            return [] if (ax, ay) == tuple(pts[0]) else [(float(pts[0][0]), float(pts[0][1]))]
        while i < last:
            clear = np.flatnonzero(_clear_from(ax, ay, pts[i + 1 :], near))
            i = i + 1 + int(clear[-1]) if len(clear) else i + 1  # a grid step is always allowed
            ax, ay = float(pts[i][0]), float(pts[i][1])
            out.append((ax, ay))
        return out[1:]

    def _obstacles(self, avoid: tuple[Rect, ...]) -> np.ndarray:
        if self._boxes is None:
            self._boxes = np.array(self._active_boxes(), dtype=float).reshape(-1, 4)
        if not avoid:
            return self._boxes
        return np.vstack((self._boxes, np.array(avoid, dtype=float)))


_MOVES = ((1, 0, 1.0), (-1, 0, 1.0), (0, 1, 1.0), (0, -1, 1.0), (1, 1, math.sqrt(2)), (1, -1, math.sqrt(2)), (-1, 1, math.sqrt(2)), (-1, -1, math.sqrt(2)))
EPS = SKIN / 2  # shortcuts keep this clear of every box: the tick's sweep must not find them blocked


def _lru_get(cache: OrderedDict, key: Hashable) -> Any:
    hit = cache.get(key)
    if hit is not None:
        cache.move_to_end(key)
    return hit


def _lru_put(cache: OrderedDict, key: Hashable, value: Any, size: int) -> Any:
    cache[key] = value
    while len(cache) > size:
        cache.popitem(last=False)
    return value


def _clear_from(ax: float, ay: float, ends: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """For each segment (ax, ay) -> ends[i]: True when it keeps EPS away from every box
    (a slab test, boxes x segments in one go)."""
    if len(boxes) == 0:
        return np.ones(len(ends), dtype=bool)
    t0 = np.zeros((len(ends), len(boxes)))
    t1 = np.ones((len(ends), len(boxes)))
    for a, d, lo, hi in ((ax, ends[:, 0:1] - ax, boxes[:, 0] - EPS, boxes[:, 2] + EPS), (ay, ends[:, 1:2] - ay, boxes[:, 1] - EPS, boxes[:, 3] + EPS)):
        flat = d == 0  # parallel to this axis: inside the slab all the way or never
        with np.errstate(divide="ignore", invalid="ignore"):
            u, v = (lo - a) / d, (hi - a) / d
        outside = (a < lo) | (a > hi)
        t0 = np.maximum(t0, np.where(flat, np.where(outside, np.inf, -np.inf), np.minimum(u, v)))
        t1 = np.minimum(t1, np.where(flat, np.inf, np.maximum(u, v)))
    return ~(t0 <= t1).any(axis=1)


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
