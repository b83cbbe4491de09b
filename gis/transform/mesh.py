"""Transforms: footprint repair, LOD1 extrusion, LOD2 triangulation (source coordinates ->
local metres is localize.py). Pure functions on RawBuilding records; nothing here does I/O.

Meshes are z-up in the dataset's local frame (x east, y north); tiles.py turns them into glTF's
y-up when it writes a GLB.
"""

from __future__ import annotations

import math
from itertools import accumulate
from dataclasses import dataclass, field
from typing import Callable

import mapbox_earcut
import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.validation import make_valid

from ..crs import LocalFrame
from ..source.records import PolygonRings, RawBuilding, Surface
from .localize import localize_building
from ..source.appearance import TextureIndex, ring_uv

Warn = Callable[[str, str], None]
NO_HEIGHT_SLAB = 0.5  # metres: a building with no height is drawn as a thin slab, height stays NaN


@dataclass
class Mesh:
    positions: np.ndarray  # (N, 3) float32, local z-up
    indices: np.ndarray  # (M,) uint32, triangles
    # Textured LOD2: each vertex's (s, t) and image (index into the file's TextureIndex; -1 none).
    uv: np.ndarray | None = None  # (N, 2) float32
    tex: np.ndarray | None = None  # (N,) int32

    @staticmethod
    def concat(meshes: list["Mesh"]) -> "Mesh":
        meshes = [m for m in meshes if len(m.indices)]
        if len(meshes) == 1:
            return meshes[0]
        if not meshes:
            return Mesh(np.zeros((0, 3), np.float32), np.zeros(0, np.uint32))
        offs = np.cumsum([0] + [len(m.positions) for m in meshes[:-1]])
        out = Mesh(
            np.concatenate([m.positions for m in meshes]).astype(np.float32, copy=False),
            np.concatenate([m.indices + np.uint32(o) for m, o in zip(meshes, offs)]).astype(np.uint32, copy=False),
        )
        if any(m.tex is not None for m in meshes):
            out.uv = np.concatenate([m.uv if m.uv is not None else np.zeros((len(m.positions), 2), np.float32) for m in meshes])
            out.tex = np.concatenate([m.tex if m.tex is not None else np.full(len(m.positions), -1, np.int32) for m in meshes])
        return out


@dataclass
class Processed:
    """One top-level building after transforms, ready for the sinks."""

    gml_id: str
    row: dict  # BuildingTable.from_rows columns
    attrs: dict  # everything else shown by the API (json-serialisable)
    mesh: Mesh
    centroid: tuple[float, float]  # local metres, decides the tile
    zrange: tuple[float, float]
    n_parts: int
    lods: set[int] = field(default_factory=set)


def _poly2d(rings: PolygonRings) -> Polygon:
    return Polygon(rings[0][:, :2], [r[:, :2] for r in rings[1:]])


def _polygonal(g: shapely.Geometry) -> Polygon | MultiPolygon | None:
    if isinstance(g, (Polygon, MultiPolygon)):
        return g if not g.is_empty else None
    polys = [p for p in getattr(g, "geoms", []) if isinstance(p, (Polygon, MultiPolygon)) and not p.is_empty]
    if not polys:
        return None
    u = shapely.union_all(polys)
    return u if isinstance(u, (Polygon, MultiPolygon)) else None


def repair(g: Polygon | MultiPolygon, warn: Warn, gml_id: str) -> Polygon | MultiPolygon | None:
    """Valid polygonal geometry via make_valid; self-intersections are counted, not fatal."""
    if g.is_valid:
        return g if g.area > 0 else None
    warn("repaired_footprint", f"{gml_id}: {shapely.is_valid_reason(g)}")
    return _polygonal(make_valid(g))


def _lod1_base(rec: RawBuilding) -> tuple[list[PolygonRings], float, float] | None:
    """Bottom face(s) of the LOD1 solid and its z range (cheaper than unioning projections)."""
    if not rec.lod1:
        return None
    cached = rec.lod1_base
    if cached is not None and cached[0] is rec.lod1:
        return cached[1]
    # Small rings: Python min/max over lists beats numpy's per-call overhead several times.
    zs = [p[0][:, 2].tolist() for p in rec.lod1]
    lo = [min(z) for z in zs]
    hi = [max(z) for z in zs]
    zmin, zmax = min(lo), max(hi)
    total = sum(lo) + sum(hi)
    if total != total or math.isinf(total):  # NaN/inf coordinates: numpy's propagation rules
        a = np.concatenate([p[0][:, 2] for p in rec.lod1])
        zmin, zmax = float(a.min()), float(a.max())
        lo = [float(np.min(z)) for z in zs]
        hi = [float(np.max(z)) for z in zs]
    bottom = [p for p, z, l, h in zip(rec.lod1, zs, lo, hi) if (h - l) < 1e-3 and abs(z[0] - zmin) < 1e-3]
    out = (bottom or rec.lod1), zmin, zmax
    rec.lod1_base = (rec.lod1, out)
    return out


def footprint_of(rec: RawBuilding, warn: Warn, gml_id: str, prefer_lod1: bool = False) -> tuple[Polygon | MultiPolygon | None, str]:
    """2D footprint from LOD0, else the LOD1 solid's base, else LOD2 ground (or all) surfaces."""
    order = ("lod1", "lod0", "lod2") if prefer_lod1 else ("lod0", "lod1", "lod2")
    for src in order:
        if src == "lod0" and rec.lod0:
            polys = rec.lod0
        elif src == "lod1" and rec.lod1:
            polys = _lod1_base(rec)[0]  # type: ignore[index]
        elif src == "lod2" and rec.lod2:
            ground = [s.rings for s in rec.lod2 if s.kind == "ground"]
            polys = ground or [s.rings for s in rec.lod2]
        else:
            continue
        shapes = []
        for p in polys:
            try:
                q = _poly2d(p)
            except (ValueError, shapely.errors.GEOSException):
                continue
            q = repair(q, warn, gml_id) if not q.is_valid else q
            if q is not None and q.area > 1e-6:
                shapes.append(q)
        if not shapes:
            continue
        g = shapes[0] if len(shapes) == 1 else _polygonal(shapely.union_all(shapes))
        if g is not None and not g.is_empty:
            return g, src
    return None, ""


def _earcut(xy: np.ndarray, ring_ends: list[int] | np.ndarray) -> np.ndarray:
    return mapbox_earcut.triangulate_float64(xy, np.asarray(ring_ends, dtype=np.uint32)).astype(np.uint32, copy=False)


_FAN4 = np.array([[0, 1, 2], [0, 2, 3]], dtype=np.uint32)
_TRI = np.array([[0, 1, 2]], dtype=np.uint32)


def _caps(rings: list[np.ndarray]) -> list[np.ndarray]:
    """Triangles of hole-free counter-clockwise rings: triangles and convex quads (most
    footprints) directly, the rest by earcut. Vectorised over the rings: an earcut call costs
    more than the geometry of a rectangle."""
    n = np.fromiter(map(len, rings), dtype=np.int64, count=len(rings))
    quad = np.flatnonzero(n == 4)
    convex = np.zeros(len(rings), dtype=bool)
    if len(quad):
        q = np.stack([rings[i] for i in quad])  # (k, 4, 2)
        e = np.roll(q, -1, axis=1) - q
        cross = e[:, :, 0] * np.roll(e, -1, axis=1)[:, :, 1] - e[:, :, 1] * np.roll(e, -1, axis=1)[:, :, 0]
        convex[quad[(cross > 0).all(axis=1)]] = True
    out = []
    for a, k, c in zip(rings, n.tolist(), convex.tolist()):
        if c:
            out.append(_FAN4)
        elif k == 3:
            out.append(_TRI)
        else:
            out.append(_earcut(np.ascontiguousarray(a), [k]).reshape(-1, 3))
    return out


def _ring_xy(coords: np.ndarray, ccw: bool) -> np.ndarray:
    xy = coords[:-1, :2]
    x, y = xy[:, 0], xy[:, 1]
    a = float(x[:-1] @ y[1:]) + float(x[-1] * y[0]) - float(x[1:] @ y[:-1]) - float(x[0] * y[-1])
    return xy if (a > 0) == ccw else xy[::-1]


def extrude(g: Polygon | MultiPolygon, z0: float, z1: float) -> Mesh:
    """Prism over a (valid) footprint: top and bottom caps by earcut, one quad per edge.
    Exterior counter-clockwise and holes clockwise, so every wall faces outwards."""
    meshes = []
    for p in getattr(g, "geoms", [g]):
        coords = shapely.get_coordinates(p)
        nint = shapely.get_num_interior_rings(p)
        if nint == 0:
            rings = [_ring_xy(coords, True)]
        else:
            rings = [_ring_xy(np.asarray(p.exterior.coords), True)] + [_ring_xy(np.asarray(r.coords), False) for r in p.interiors]
        xy = rings[0] if len(rings) == 1 else np.concatenate(rings)
        n = len(xy)
        ends = np.array(list(accumulate(len(r) for r in rings)), dtype=np.uint32)
        tri = _caps([xy])[0] if len(rings) == 1 else _earcut(xy, ends).reshape(-1, 3)
        # earcut keeps the input winding (CCW exterior): top faces up; bottom is reversed.
        i = np.arange(n, dtype=np.uint32)
        j = i + 1
        if len(rings) == 1:
            j[n - 1] = 0
        else:
            starts = np.concatenate(([0], ends[:-1])).astype(np.uint32)
            j[ends - 1] = starts  # wrap within each ring
        nt = len(tri)
        idx = np.empty((2 * nt + 2 * n, 3), dtype=np.uint32)
        idx[:nt] = tri
        idx[nt : 2 * nt] = tri[:, ::-1] + n
        w = idx[2 * nt :]
        w[:n, 0] = i + n
        w[:n, 1] = i
        w[:n, 2] = j
        w[n:, 0] = i + n
        w[n:, 1] = j
        w[n:, 2] = j + n
        pos = np.empty((2 * n, 3), dtype=np.float32)
        pos[:n, :2] = xy
        pos[n:, :2] = xy
        pos[:n, 2] = z1
        pos[n:, 2] = z0
        meshes.append(Mesh(pos, idx.reshape(-1)))
    return meshes[0] if len(meshes) == 1 else Mesh.concat(meshes)


def triangulate_polygon(rings: PolygonRings) -> Mesh | None:
    """Planar 3D polygon -> triangles, projected on the plane of its Newell normal."""
    ext = rings[0]
    nxt = np.roll(ext, -1, axis=0)
    normal = np.array(
        [
            np.sum((ext[:, 1] - nxt[:, 1]) * (ext[:, 2] + nxt[:, 2])),
            np.sum((ext[:, 2] - nxt[:, 2]) * (ext[:, 0] + nxt[:, 0])),
            np.sum((ext[:, 0] - nxt[:, 0]) * (ext[:, 1] + nxt[:, 1])),
        ]
    )
    norm = float(np.linalg.norm(normal))
    if norm < 1e-9:
        return None
    drop = int(np.argmax(np.abs(normal)))
    keep = [i for i in range(3) if i != drop]
    pts = np.concatenate(rings)
    ends = list(np.cumsum([len(r) for r in rings]))
    tri = _earcut(pts[:, keep], ends)
    if len(tri) == 0:
        return None
    t = tri.reshape(-1, 3)
    a, b, c = pts[t[:, 0]], pts[t[:, 1]], pts[t[:, 2]]
    flip = np.einsum("ij,j->i", np.cross(b - a, c - a), normal) < 0
    t = np.where(flip[:, None], t[:, ::-1], t)
    return Mesh(pts.astype(np.float32), t.reshape(-1).astype(np.uint32))


def _polygon_uv(surf: Surface, textures: TextureIndex | None) -> tuple[np.ndarray, int] | None:
    """A polygon's (s, t) per position (rings in order) and its image, when every ring has one."""
    if textures is None or not surf.ring_ids or len(surf.ring_ids) != len(surf.rings):
        return None
    parts, image = [], -1
    for ring, rid in zip(surf.rings, surf.ring_ids):
        t = textures.rings.get(rid) if rid else None
        uv = ring_uv(t, len(ring)) if t is not None else None
        if uv is None or (image >= 0 and t.image != image):
            return None
        parts.append(uv)
        image = t.image
    return (parts[0] if len(parts) == 1 else np.concatenate(parts)), image


def _lod2_mesh(rec: RawBuilding, warn: Warn, gml_id: str, textures: TextureIndex | None = None) -> Mesh | None:
    """All LOD2 polygons of one building at once: Newell normals and winding fixes are
    vectorised over the building (per-polygon numpy calls dominated the profile); only earcut
    runs per polygon, and triangles skip it. ``textures``: the file's, to carry each textured
    polygon's (s, t) and image along with its vertices."""
    polys = [s.rings for s in rec.lod2]
    if not polys:
        return None
    exts = [p[0] for p in polys]
    lens = np.fromiter((len(e) for e in exts), dtype=np.int64, count=len(exts))
    starts = np.zeros(len(exts), dtype=np.int64)
    starts[1:] = np.cumsum(lens)[:-1]
    E = np.concatenate(exts)
    nxt = np.arange(1, len(E) + 1)
    nxt[starts + lens - 1] = starts
    N = E[nxt]
    terms = np.column_stack(
        ((E[:, 1] - N[:, 1]) * (E[:, 2] + N[:, 2]), (E[:, 2] - N[:, 2]) * (E[:, 0] + N[:, 0]), (E[:, 0] - N[:, 0]) * (E[:, 1] + N[:, 1]))
    )
    normals = np.add.reduceat(terms, starts, axis=0)
    ok = np.linalg.norm(normals, axis=1) > 1e-9
    drop = np.argmax(np.abs(normals), axis=1)
    keeps = ((1, 2), (0, 2), (0, 1))
    pos_parts, idx_parts, poly_of_tri, uv_parts, tex_parts = [], [], [], [], []
    textured = False
    base = 0
    bad = 0
    tri3 = np.array([0, 1, 2], dtype=np.uint32)
    for i, rings in enumerate(polys):
        if not ok[i]:
            bad += 1
            continue
        pts = rings[0] if len(rings) == 1 else np.concatenate(rings)
        if len(rings) == 1 and len(pts) == 3:
            tri = tri3
        else:
            k = keeps[drop[i]]
            tri = _earcut(pts[:, k], [sum(len(r) for r in rings[: j + 1]) for j in range(len(rings))])
            if len(tri) == 0:
                bad += 1
                continue
        pos_parts.append(pts)
        pt = _polygon_uv(rec.lod2[i], textures)
        textured |= pt is not None
        uv_parts.append(pt[0] if pt is not None else np.zeros((len(pts), 2), np.float32))
        tex_parts.append(np.full(len(pts), pt[1] if pt is not None else -1, np.int32))
        idx_parts.append(tri + np.uint32(base))
        poly_of_tri.append(np.full(len(tri) // 3, i))
        base += len(pts)
    if bad:
        warn("degenerate_polygon", f"{gml_id}: {bad} LOD2 polygon(s) could not be triangulated")
    if not pos_parts:
        return None
    pos = np.concatenate(pos_parts)
    t = np.concatenate(idx_parts).reshape(-1, 3)
    pn = normals[np.concatenate(poly_of_tri)]
    a, b, c = pos[t[:, 0]], pos[t[:, 1]], pos[t[:, 2]]
    u, v = b - a, c - a
    cr = np.column_stack((u[:, 1] * v[:, 2] - u[:, 2] * v[:, 1], u[:, 2] * v[:, 0] - u[:, 0] * v[:, 2], u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]))
    flip = np.einsum("ij,ij->i", cr, pn) < 0
    t = np.where(flip[:, None], t[:, ::-1], t)
    m = Mesh(pos.astype(np.float32), t.reshape(-1).astype(np.uint32))
    if textured:
        m.uv, m.tex = np.concatenate(uv_parts).astype(np.float32), np.concatenate(tex_parts)
    return m


def _one_mesh(
    rec: RawBuilding, lod: int, warn: Warn, gml_id: str, height: float | None, fp: Polygon | MultiPolygon | None = None,
    textures: TextureIndex | None = None,
) -> tuple[Mesh | None, int, tuple[float, float]]:
    """Mesh for one Building or BuildingPart (its own geometry only). ``fp``: its footprint
    when already computed; the LOD1 solid's own base is used only when there is no LOD0."""
    if lod >= 2 and rec.lod2:
        m = _lod2_mesh(rec, warn, gml_id, textures)
        if m is not None:
            return m, 2, (float(m.positions[:, 2].min()), float(m.positions[:, 2].max()))
    base = _lod1_base(rec)
    g = fp if fp is not None else footprint_of(rec, warn, gml_id, prefer_lod1=True)[0]
    if g is None:
        return None, -1, (math.nan, math.nan)
    if base is not None:
        z0, z1 = base[1], base[2]
        used = 1
    else:
        zs = [r[:, 2] for p in rec.lod0 for r in p] or [np.zeros(1)]
        z0 = float(np.concatenate(zs).min())
        z1 = z0 + (height if height is not None and height > 0 else NO_HEIGHT_SLAB)
        used = 0
    if z1 - z0 < 1e-3:
        z1 = z0 + NO_HEIGHT_SLAB
    return extrude(g, z0, z1), used, (z0, z1)


def process(
    rec: RawBuilding,
    frame_for: Callable[[int | None], LocalFrame],
    lod: int,
    warn: Warn,
    gml_id: str,
    textures: TextureIndex | None = None,
) -> Processed | None:
    """RawBuilding (source CRS) -> Processed (local metres, repaired, meshed) or None if it has
    no usable geometry at all (a ``no_geometry`` warning is counted). ``textures``: the file's
    textured rings (LOD2 only)."""
    localize_building(rec, frame_for)
    pieces = [rec] + rec.parts
    fps = []
    own_fp: list[Polygon | MultiPolygon | None] = []
    for r in pieces:
        g, src = footprint_of(r, warn, gml_id)
        own_fp.append(g if src == "lod0" else None)
        if g is not None:
            fps.append(g)
    if not fps:
        warn("no_geometry", f"{gml_id} (line {rec.line}) has no usable LOD0/1/2 geometry; skipped")
        return None
    fp = fps[0] if len(fps) == 1 else _polygonal(shapely.union_all(fps))
    if isinstance(fp, MultiPolygon):
        # The table stores one ring per building; keep the largest piece, say so.
        warn("multipart_footprint", f"{gml_id}: footprint has {len(fp.geoms)} pieces; largest kept in the table")
        fp = max(fp.geoms, key=lambda p: p.area)
    assert isinstance(fp, Polygon)

    # The table has one row per building: a parent without an attribute takes it from its
    # parts (first part that has it; the tallest part for height), and says so in attrs.
    inherited = []
    for p in rec.parts:
        for k, v in p.codes.items():
            if k not in rec.codes:
                rec.codes[k] = v
                inherited.append(k)
        for k, v in p.attrs.items():
            if k == "measured_height":
                continue
            if k not in rec.attrs:
                rec.attrs[k] = v
                inherited.append(k)
    part_h = [p.attrs["measured_height"] for p in rec.parts if isinstance(p.attrs.get("measured_height"), float)]
    if "measured_height" not in rec.attrs and part_h:
        rec.attrs["measured_height"] = max(part_h)
        inherited.append("measured_height")
    a = rec.attrs
    h = a.get("measured_height")
    meshes, lods_used = [], set()
    zmin, zmax = math.inf, -math.inf
    for r, own in zip(pieces, own_fp):
        ph = r.attrs.get("measured_height", h if r is rec else None)
        m, used, (z0, z1) = _one_mesh(r, lod, warn, gml_id, ph if isinstance(ph, float) else None, own, textures)
        if m is not None:
            meshes.append(m)
            lods_used.add(used)
            zmin, zmax = min(zmin, z0), max(zmax, z1)
    mesh = Mesh.concat(meshes)
    height = h
    height_source = "measuredHeight" if h is not None else None
    if height is None:
        base = _lod1_base(rec)
        if base is not None and base[2] - base[1] > 1e-3:
            height, height_source = base[2] - base[1], "lod1_geometry"
    if 0 in lods_used and height is None:
        warn("no_height", f"{gml_id}: no measuredHeight and no LOD1 solid; drawn as a {NO_HEIGHT_SLAB} m slab")
    if not math.isfinite(zmin):
        zmin = zmax = 0.0
    row, attrs = row_and_attrs(rec, gml_id, fp, height, height_source, pieces, inherited)
    c = fp.centroid
    return Processed(
        gml_id=gml_id,
        row=row,
        attrs=attrs,
        mesh=mesh,
        centroid=(c.x, c.y),
        zrange=(zmin, zmax),
        n_parts=len(rec.parts),
        lods=set(attrs["lods"]),
    )


ROW_CODES = ("structure_code", "fireproof_code", "usage_code", "class_code")


def row_and_attrs(
    rec: RawBuilding, gml_id: str, footprint: object, height: float | None, height_source: str | None,
    pieces: list[RawBuilding] | None = None, inherited: list[str] | None = None,
) -> tuple[dict, dict]:
    """The table row (BuildingTable columns) and the API attributes of one building."""
    a = rec.attrs
    codes = rec.codes
    row = {
        "gml_id": gml_id,
        "footprint": footprint,
        "height": height,
        "storeys_above": a.get("storeys_above"),
        "storeys_below": a.get("storeys_below"),
        "year": a.get("year"),
        "total_floor_area": a.get("total_floor_area"),
        **{c: codes[c][0] if c in codes else "" for c in ROW_CODES},
    }
    return row, attrs_of(rec, height_source, pieces, inherited)


def attrs_of(
    rec: RawBuilding, height_source: str | None, pieces: list[RawBuilding] | None = None, inherited: list[str] | None = None,
    into: dict | None = None,
) -> dict:
    """Everything parsed about a building that the table does not hold, for the API; added to
    ``into`` when given (its keys first)."""
    attrs = into if into is not None else {}
    attrs.update(rec.attrs)
    for k, v in rec.codes.items():
        if k not in ROW_CODES:
            attrs[k] = v[0]
    attrs["height_source"] = height_source
    if inherited:
        attrs["inherited_from_parts"] = sorted(set(inherited))
    attrs["line"] = rec.line
    attrs["parts"] = [p.gml_id for p in rec.parts]
    attrs["lods"] = sorted(set().union(*(p.lods() for p in pieces))) if pieces else sorted(rec.lods())
    return attrs
