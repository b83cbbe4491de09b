"""Neighbour graph: which buildings *face each other* closely enough for fire to cross.

Built once per building layout (a scenario that moves or removes buildings, or adds a fire wall,
builds a new one); weather and structure classes only change how fast fire crosses an edge,
never the graph, so a wind change or a rebuild to 耐火 costs one simulation only.

Two footprints are linked when they are within ``max_gap`` metres **and can see each other**:
of two sight lines (the line between the centroids, and one straight across the middle of the
width they face each other with) at least one does not cross a third building or a wall. Without that test a fire
reaches a house two doors down directly, over the one in between, and since an empirical
spread time grows only slowly with the gap, the front outran its own formula and a
fire-resistant building in a row of wooden ones shielded nothing. Any building blocks a sight
line, whatever it is made of: a wooden one is the path the fire has to take, a 耐火 one is a
shield; so the graph does not depend on the classes.

Data shape: undirected pairs ``i < j`` (rows of the building table) with, per pair,
``gap`` (shortest distance between the outlines, 0 when they touch), ``dist`` (between the
centroids), ``bearing`` (i's centroid to j's, degrees clockwise from north; j -> i is
``bearing + 180``), ``visible`` (share of the two sight lines that are clear: 0.5 or 1) and
``width`` (m of facade that face each other: the overlap of the two footprints seen across the
gap, 0 for buildings that meet corner to corner). :meth:`NeighbourGraph.directed` expands both
directions for the searches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely import STRtree

# Larger than any class's reach with the downwind factor (model.py: 15 m x 1.5) and the x1.5
# cluster limit for 裸木造 (18 m), so one graph serves every model.
DEFAULT_MAX_GAP_M = 25.0
# Buildings closer than this share a wall or nearly: they face each other by definition (a
# sight line of zero length would "touch" a third building meeting them at the same corner).
_ADJACENT_M = 0.05
# A sight line must pass this far inside a third building's outline to count as blocked.
_GRAZE_M = 0.1


@dataclass
class NeighbourGraph:
    n: int  # number of table rows (feature ids); inactive rows simply have no edges
    i: np.ndarray  # int32, first building of each pair
    j: np.ndarray  # int32, second building (i < j)
    gap: np.ndarray  # float64 metres between the outlines
    bearing: np.ndarray  # float64 degrees clockwise from north, i -> j
    side: np.ndarray  # float64 per building: sqrt(footprint area), Hamada's "a"
    area: np.ndarray  # float64 per building: footprint area m2
    max_gap: float
    dist: np.ndarray | None = None  # float64 metres between the centroids
    visible: np.ndarray | None = None  # float64 share of clear sight lines (0.5 or 1)
    width: np.ndarray | None = None  # float64 metres of facade facing each other
    blocked_pairs: int = 0  # pairs within max_gap dropped because nothing faces across
    depth_i: np.ndarray | None = None  # float64 m: i's extent along the line i -> j (what fire crosses in i)
    depth_j: np.ndarray | None = None  # float64 m: j's extent along the same line

    def __post_init__(self) -> None:
        ne = len(self.i)
        if self.dist is None:
            self.dist = self.gap + self.side[self.i] if ne else np.zeros(0)
        if self.visible is None:
            self.visible = np.ones(ne)
        if self.width is None:
            self.width = np.minimum(self.side[self.i], self.side[self.j]) if ne else np.zeros(0)
        if self.depth_i is None:
            self.depth_i = self.side[self.i] if ne else np.zeros(0)
        if self.depth_j is None:
            self.depth_j = self.side[self.j] if ne else np.zeros(0)

    @property
    def n_edges(self) -> int:
        return len(self.i)

    def directed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(src, dst, gap, bearing src->dst) over both directions of every pair."""
        src = np.concatenate([self.i, self.j])
        dst = np.concatenate([self.j, self.i])
        gap = np.concatenate([self.gap, self.gap])
        bearing = np.concatenate([self.bearing, (self.bearing + 180.0) % 360.0])
        return src, dst, gap, bearing

    def source_depth(self) -> np.ndarray:
        """Per directed edge of :meth:`directed`: the source's extent along the edge, i.e. how
        far a fire entering it from the far side travels to the facade facing the target."""
        return np.concatenate([self.depth_i, self.depth_j])

    def both(self, values: np.ndarray) -> np.ndarray:
        """A per-pair array repeated for the two directions of :meth:`directed`."""
        return np.concatenate([values, values])


def _facing(env: tuple[np.ndarray, np.ndarray, np.ndarray], a: np.ndarray, b: np.ndarray):
    """Per pair, a's facade that faces b: (its direction t, a's and b's centres along t, the
    overlap [lo, hi] of the two footprints seen along it).

    Each footprint is reduced to its minimum rotated rectangle (centre, unit axes, half
    lengths). The facade of ``a`` facing ``b`` is the side whose normal is closest to the
    direction a -> b; both rectangles are projected on that facade's direction, and where the
    two intervals overlap the buildings face each other (hi <= lo: corner to corner)."""
    env_c, env_ax, env_h = env
    d = env_c[b] - env_c[a]
    dn = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    e1, e2 = env_ax[a, 0], env_ax[a, 1]
    use_e1 = np.abs((e1 * dn).sum(1)) >= np.abs((e2 * dn).sum(1))
    t = np.where(use_e1[:, None], e2, e1)

    def half(k: np.ndarray) -> np.ndarray:
        return env_h[k, 0] * np.abs((env_ax[k, 0] * t).sum(1)) + env_h[k, 1] * np.abs((env_ax[k, 1] * t).sum(1))

    pa, pb = (env_c[a] * t).sum(1), (env_c[b] * t).sum(1)
    ha, hb = half(a), half(b)
    return t, pa, pb, np.maximum(pa - ha, pb - hb), np.minimum(pa + ha, pb + hb)


def _facing_width(env, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Metres of a's facing facade that b covers (0: they meet corner to corner)."""
    _, _, _, lo, hi = _facing(env, a, b)
    return np.maximum(hi - lo, 0.0)


def _envelopes(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centres (n,2), unit axes (n,2,2), half lengths (n,2)) of the minimum rotated rectangles."""
    env = shapely.oriented_envelope(geoms)
    n = len(geoms)
    coords = shapely.get_coordinates(env)
    counts = shapely.get_num_coordinates(env)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    # A degenerate footprint (a line or point) has an envelope with fewer than 4 corners.
    ok = counts >= 4
    p0 = coords[np.where(ok, start, 0)]
    p1 = coords[np.where(ok, start + 1, 0)]
    p2 = coords[np.where(ok, start + 2, 0)]
    u, v = p1 - p0, p2 - p1
    lu, lv = np.linalg.norm(u, axis=1), np.linalg.norm(v, axis=1)
    ax = np.zeros((n, 2, 2))
    ax[:, 0] = np.where(lu[:, None] > 0, u / np.maximum(lu, 1e-12)[:, None], [1.0, 0.0])
    ax[:, 1] = np.where(lv[:, None] > 0, v / np.maximum(lv, 1e-12)[:, None], [0.0, 1.0])
    centre = (p0 + p2) / 2
    half = np.column_stack([lu, lv]) / 2
    cent = shapely.get_coordinates(shapely.centroid(geoms))
    centre = np.where(ok[:, None], centre, cent)
    half = np.where(ok[:, None], half, 0.0)
    return centre, ax, half


def _blocked(p: np.ndarray, q: np.ndarray, owner_a: np.ndarray, owner_b: np.ndarray, tree: STRtree,
             env: tuple[np.ndarray, np.ndarray, np.ndarray], walls: STRtree | None) -> np.ndarray:
    """Per segment p -> q: does it pass through a building other than its two ends, or a wall?

    Candidates come from the tree's boxes; the exact test is against each candidate's minimum
    rotated rectangle shrunk by ``_GRAZE_M`` (a sight line that only grazes a wall or a corner is
    clear), done as a vectorised slab test: ~10x faster than shapely's "crosses" predicate on a
    million lines, which mattered for a 100k-building graph."""
    lines = shapely.linestrings(np.stack([p, q], axis=1))
    li, gi = tree.query(lines)
    keep = (gi != owner_a[li]) & (gi != owner_b[li])
    li, gi = li[keep], gi[keep]
    env_c, env_ax, env_h = env
    c, e1, e2 = env_c[gi], env_ax[gi, 0], env_ax[gi, 1]
    h = env_h[gi] - _GRAZE_M
    pp, qq = p[li] - c, q[li] - c
    lo = np.zeros(len(li))
    hi = np.ones(len(li))
    for k, e in enumerate((e1, e2)):
        a0 = (pp * e).sum(1)
        d = (qq * e).sum(1) - a0
        hk = h[:, k]
        flat = np.abs(d) < 1e-12
        with np.errstate(divide="ignore", invalid="ignore"):
            t0 = (-hk - a0) / d
            t1 = (hk - a0) / d
        inside = np.abs(a0) < hk
        lo = np.maximum(lo, np.where(flat, np.where(inside, -np.inf, np.inf), np.minimum(t0, t1)))
        hi = np.minimum(hi, np.where(flat, np.where(inside, np.inf, -np.inf), np.maximum(t0, t1)))
    hit = (lo < hi) & (h[:, 0] > 0) & (h[:, 1] > 0)
    out = np.zeros(len(p), dtype=bool)
    out[li[hit]] = True
    if walls is not None:
        wl, _ = walls.query(lines, predicate="intersects")
        out[wl] = True
    return out


def _sight_lines(env: tuple[np.ndarray, np.ndarray, np.ndarray], a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p, q, has_facing): a second sight line per pair besides the centroid line: across the
    middle of the facing width, along the normal of a's facade that faces b (only where the two
    face each other; corner-to-corner pairs have the centroid line only)."""
    env_c = env[0]
    t, pa, pb, lo, hi = _facing(env, a, b)
    mid = (lo + hi) / 2
    p = env_c[a] + t * (mid - pa)[:, None]
    q = env_c[b] + t * (mid - pb)[:, None]
    return p, q, hi > lo


def build_graph(footprints, *, max_gap: float = DEFAULT_MAX_GAP_M, active: np.ndarray | None = None,
                walls=None) -> NeighbourGraph:
    """Pairs of footprints within ``max_gap`` metres that face each other (module docstring).

    ``footprints``: sequence (or numpy object array) of shapely Polygons in metres.
    ``active``: optional bool mask; inactive (e.g. removed) buildings get no edges.
    ``walls``: optional LineStrings (fire walls) that block sight lines like a building.
    """
    geoms = np.asarray(footprints, dtype=object)
    n = len(geoms)
    valid = ~shapely.is_empty(geoms) if n else np.zeros(0, dtype=bool)
    if active is not None:
        valid &= np.asarray(active, dtype=bool)
    area = np.where(valid, shapely.area(geoms), 0.0) if n else np.zeros(0)
    side = np.sqrt(area)
    idx = np.flatnonzero(valid)
    if len(idx) < 2:
        e = np.zeros(0)
        return NeighbourGraph(n, e.astype(np.int32), e.astype(np.int32), e, e, side, area, max_gap)
    sub = geoms[idx]
    # Candidate pairs by envelope overlap (boxes grown by max_gap), then the exact distance for
    # i < j only. About twice as fast as STRtree's "dwithin" predicate, which measures each pair
    # from both sides.
    tree = STRtree(sub)
    bb = shapely.bounds(sub)
    boxes = shapely.box(bb[:, 0] - max_gap, bb[:, 1] - max_gap, bb[:, 2] + max_gap, bb[:, 3] + max_gap)
    a, b = tree.query(boxes)
    keep = a < b
    a, b = a[keep], b[keep]
    gap = shapely.distance(sub[a], sub[b])
    keep = gap <= max_gap
    a, b, gap = a[keep], b[keep], gap[keep]
    cent = shapely.get_coordinates(shapely.centroid(sub))

    # Sight lines, only for pairs with a real gap (touching buildings face each other).
    env = _envelopes(sub)
    wall_tree = None
    if walls is not None and len(walls):
        wall_tree = STRtree(np.asarray(walls, dtype=object))
    far = np.flatnonzero(gap > _ADJACENT_M)
    clear = np.full(len(a), 2, dtype=np.int8)
    if len(far):
        fa, fb = a[far], b[far]
        clear[far] -= _blocked(cent[fa], cent[fb], fa, fb, tree, env, wall_tree).astype(np.int8)
        p, q, facing = _sight_lines(env, fa, fb)
        second = _blocked(p, q, fa, fb, tree, env, wall_tree) | ~facing
        clear[far] -= second.astype(np.int8)
    seen = clear > 0
    blocked_pairs = int((~seen).sum())
    a, b, gap, clear = a[seen], b[seen], gap[seen], clear[seen]

    dx = cent[b, 0] - cent[a, 0]
    dy = cent[b, 1] - cent[a, 1]
    bearing = np.degrees(np.arctan2(dx, dy)) % 360.0  # clockwise from north (+y)
    dist = np.hypot(dx, dy)
    width = 0.5 * (_facing_width(env, a, b) + _facing_width(env, b, a))
    unit = np.column_stack([dx, dy]) / np.maximum(dist, 1e-9)[:, None]
    env_c, env_ax, env_h = env

    def extent(k: np.ndarray) -> np.ndarray:  # of footprint k along the line between the pair
        return 2 * (env_h[k, 0] * np.abs((env_ax[k, 0] * unit).sum(1)) + env_h[k, 1] * np.abs((env_ax[k, 1] * unit).sum(1)))

    return NeighbourGraph(
        n=n, i=idx[a].astype(np.int32), j=idx[b].astype(np.int32), gap=gap.astype(np.float64),
        bearing=bearing, side=side, area=area, max_gap=max_gap, dist=np.maximum(dist, gap),
        visible=clear / 2.0, width=width, blocked_pairs=blocked_pairs, depth_i=extent(a), depth_j=extent(b),
    )
