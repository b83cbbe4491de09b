"""The tile tree above the fine tiles: coarser levels for a city the viewer sees from afar.

The fine tiles (tiles.group_cells: one feature per building, full geometry) stay the leaves.
Above them sits a quadtree over the same grid: a node of level m covers 2^m x 2^m cells and
holds the biggest quarter of its block's buildings (at most MAX_NODE_BUILDINGS), each drawn as
its oriented bounding box (8 corners instead of hundreds of LOD2 vertices). Refinement is
REPLACE: once the viewer is close enough, a node's boxes give way to its children. A node's
geometric error is the size of the largest building it leaves out (or the error of its boxes),
so a viewer far away is served boxes of the big buildings and never asks for a fine tile.

Pure: arrays in, meshes and tileset JSON out. The pipeline writes the GLBs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .tiles import box_volume

MAX_NODE_BUILDINGS = 1024  # a coarse tile's budget: 20k vertices, about 650 KB of GLB
# A node draws boxes only where the fine tiles below it weigh more than this: below it the
# viewer loads those tiles directly for about the price of one coarse tile. A town or a
# single district then gets no coarse level at all (the 15 real samples had 27 coarse tiles
# for 1,356 buildings, a fifth of the import's time), a city gets them where it is dense.
MIN_FINE_BYTES_BELOW = 1 << 20
# How far a box strays from the building it stands for, as a share of the building's size: the
# notch of an L-shaped footprint, the pitch of a roof. A node's error is at least this.
BOX_ERROR_SHARE = 0.25


@dataclass
class Boxes:
    """Each building's oriented box in the tileset frame (arrays aligned, one row per building)."""

    row: np.ndarray  # building row in buildings.npz
    cx: np.ndarray
    cy: np.ndarray
    angle: np.ndarray  # radians, the box's long axis from local x
    hu: np.ndarray  # half extent along the axis
    hv: np.ndarray  # half extent across it
    z0: np.ndarray
    z1: np.ndarray
    cols: dict[str, np.ndarray] = field(default_factory=dict)  # property table columns, same order

    @property
    def size(self) -> np.ndarray:
        """How big the building looks from afar: the longer of its footprint diagonal and height."""
        return np.maximum(2 * np.hypot(self.hu, self.hv), self.z1 - self.z0)

    def take(self, sel: np.ndarray) -> "Boxes":
        return Boxes(self.row[sel], self.cx[sel], self.cy[sel], self.angle[sel], self.hu[sel], self.hv[sel],
                     self.z0[sel], self.z1[sel], {k: v[sel] for k, v in self.cols.items()})

    @staticmethod
    def concat(parts: list["Boxes"]) -> "Boxes":
        cat = lambda a: np.concatenate([getattr(p, a) for p in parts]) if parts else np.zeros(0)  # noqa: E731
        cols = {k: np.concatenate([p.cols[k] for p in parts]) for k in (parts[0].cols if parts else {})}
        return Boxes(cat("row").astype(np.int64), cat("cx"), cat("cy"), cat("angle"), cat("hu"), cat("hv"), cat("z0"), cat("z1"), cols)


def building_boxes(pos: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, Boxes]:
    """Oriented boxes from a tile's vertices (``row``: each vertex's building). The axis is the
    footprint's principal direction: exact for rectangles, close for the usual L and T shapes."""
    uniq, inv = np.unique(row, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    p = pos[order].astype(np.float64)
    g = inv[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    n = np.diff(np.r_[starts, len(g)])
    mx = np.add.reduceat(p[:, 0], starts) / n
    my = np.add.reduceat(p[:, 1], starts) / n
    dx, dy = p[:, 0] - mx[g], p[:, 1] - my[g]
    cxx, cyy, cxy = (np.add.reduceat(a, starts) for a in (dx * dx, dy * dy, dx * dy))
    ang = 0.5 * np.arctan2(2 * cxy, cxx - cyy)
    c, s = np.cos(ang)[g], np.sin(ang)[g]
    u, v = dx * c + dy * s, -dx * s + dy * c
    umin, umax = np.minimum.reduceat(u, starts), np.maximum.reduceat(u, starts)
    vmin, vmax = np.minimum.reduceat(v, starts), np.maximum.reduceat(v, starts)
    cu, cv = (umin + umax) / 2, (vmin + vmax) / 2
    ca, sa = np.cos(ang), np.sin(ang)
    boxes = Boxes(uniq.astype(np.int64), mx + cu * ca - cv * sa, my + cu * sa + cv * ca, ang,
                  np.maximum((umax - umin) / 2, 0.05), np.maximum((vmax - vmin) / 2, 0.05),
                  np.minimum.reduceat(p[:, 2], starts), np.maximum.reduceat(p[:, 2], starts))
    return uniq, boxes


def box_mesh(b: Boxes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions z-up, triangle indices, building row per vertex): 8 corners and 10 triangles
    per box (no floor: a coarse level is only ever seen from above)."""
    k = len(b.row)
    ca, sa = np.cos(b.angle), np.sin(b.angle)
    su = np.array([-1, 1, 1, -1] * 2, np.float64)
    sv = np.array([-1, -1, 1, 1] * 2, np.float64)
    top = np.array([0, 0, 0, 0, 1, 1, 1, 1], bool)
    u = su[None, :] * b.hu[:, None]
    v = sv[None, :] * b.hv[:, None]
    x = b.cx[:, None] + u * ca[:, None] - v * sa[:, None]
    y = b.cy[:, None] + u * sa[:, None] + v * ca[:, None]
    z = np.where(top[None, :], b.z1[:, None], b.z0[:, None])
    pos = np.stack((x, y, z), axis=-1).reshape(-1, 3).astype(np.float32)
    # Corners 0-3 bottom, 4-7 top, counter-clockwise from above: roof up, walls outward.
    faces = np.array([[4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4], [1, 2, 6], [1, 6, 5],
                      [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7]], np.int64)
    idx = (faces[None, :, :] + 8 * np.arange(k)[:, None, None]).reshape(-1).astype(np.uint32)
    return pos, idx, np.repeat(b.row, 8)


@dataclass
class Node:
    key: tuple[int, int, int]  # (level, x, y) in cells, as tiles.group_cells' keys
    children: list["Node | dict"]  # sub-nodes, and fine tile entries ({"uri", "lo", "hi", ...})
    content: Boxes | None = None
    error: float = 0.0  # geometric error, metres
    uri: str | None = None
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None
    fine_bytes: int = 0  # the fine tiles' GLB bytes under this node


def _inside(child: tuple[int, int, int], node: tuple[int, int, int]) -> bool:
    d = node[0] - child[0]
    return d > 0 and (child[1] >> d, child[2] >> d) == (node[1], node[2])


def build_tree(fine: dict[tuple[int, int, int], dict], boxes: Boxes, cell: np.ndarray) -> Node:
    """The node tree over the fine tiles (key -> tileset entry) with each node's content chosen
    from ``boxes`` (every building, in the tileset frame; ``cell``: its grid cell, (N, 2))."""
    # Shift the grid so every cell is >= 0 (a quadtree block never spans the sign change of
    # >>), by a multiple of the largest fine tile so every fine tile stays aligned.
    lmax = max(k[0] for k in fine)
    base = [min(k[i] << k[0] for k in fine) >> lmax << lmax for i in (1, 2)]
    fine = {(k[0], k[1] - (base[0] >> k[0]), k[2] - (base[1] >> k[0])): e for k, e in fine.items()}
    cell = np.asarray(cell, np.int64) - np.asarray(base, np.int64)
    keys = list(fine)
    top = lmax + 1
    while len({(k[1] << k[0] >> top, k[2] << k[0] >> top) for k in keys}) > 1:
        top += 1
    k0 = keys[0]
    root_key = (top, (k0[1] << k0[0]) >> top, (k0[2] << k0[0]) >> top)
    size = boxes.size

    def make(key: tuple[int, int, int], members: np.ndarray) -> Node:
        m, bx, by = key
        children: list[Node | dict] = []
        for qx in (2 * bx, 2 * bx + 1):
            for qy in (2 * by, 2 * by + 1):
                q = (m - 1, qx, qy)
                if q in fine:
                    children.append(fine[q])
                elif any(_inside(k, q) for k in keys):
                    inq = members[((cell[members, 0] >> (m - 1)) == qx) & ((cell[members, 1] >> (m - 1)) == qy)]
                    sub = make(q, inq)
                    # A node whose one child is a node shows (nearly) that child's content again:
                    # skip it; one with a fine tile as its only child is its coarse view.
                    only = sub.children[0] if len(sub.children) == 1 else None
                    children.append(only if isinstance(only, Node) or (only is not None and sub.content is None) else sub)
        # A quarter of the block's buildings, the biggest, at most the budget: each level is
        # about a quarter of the one below, so all the coarse levels add a third of a box each.
        below = sum(c.fine_bytes if isinstance(c, Node) else c["bytes"] for c in children)
        cap = min(MAX_NODE_BUILDINGS, -(-len(members) // 4)) if below > MIN_FINE_BYTES_BELOW else 0
        order = np.argsort(-size[members], kind="stable")
        big, dropped = members[order[:cap]], members[order[cap:]]
        error = max(float(size[dropped].max()) if len(dropped) else 0.0,
                    BOX_ERROR_SHARE * float(size[big].max()) if len(big) else 0.0)
        error = max([error] + [c.error for c in children if isinstance(c, Node)])
        node = Node(key, children, boxes.take(np.sort(big)) if len(big) else None, error, fine_bytes=below)
        los = [c.lo if isinstance(c, Node) else np.asarray(c["lo"]) for c in children]
        his = [c.hi if isinstance(c, Node) else np.asarray(c["hi"]) for c in children]
        node.lo, node.hi = np.min(los, axis=0), np.max(his, axis=0)
        return node

    return make(root_key, np.arange(len(boxes.row)))


def walk(node: Node):
    yield node
    for c in node.children:
        if isinstance(c, Node):
            yield from walk(c)


def node_name(key: tuple[int, int, int]) -> str:
    return f"n{key[0]}_{key[1]}_{key[2]}.glb"


def tileset_json(root: Node, transform: list[float], dataset_id: str) -> dict:
    """3D Tiles 1.1 over the tree: nodes refine by REPLACE, fine tiles are leaves (error 0)."""

    def tile(c: Node | dict) -> dict:
        if not isinstance(c, Node):
            return {"boundingVolume": {"box": box_volume(np.asarray(c["lo"]), np.asarray(c["hi"]))},
                    "geometricError": 0.0, "content": {"uri": c["uri"]}}
        out = {"boundingVolume": {"box": box_volume(c.lo, c.hi)}, "geometricError": round(c.error, 3), "refine": "REPLACE"}
        if c.uri:
            out["content"] = {"uri": c.uri}
        out["children"] = [tile(k) for k in c.children]
        return out

    r = tile(root)
    r["transform"] = transform
    diag = float(np.linalg.norm(root.hi - root.lo))
    return {"asset": {"version": "1.1", "generator": "yakuba.gis"}, "geometricError": max(diag, root.error, 1.0),
            "root": r, "extras": {"dataset": dataset_id}}
