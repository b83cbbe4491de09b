"""Ring texts to coordinate arrays, a batch of buildings at a time: one C-level parse for every
ring of the batch (compiled, else orjson/numpy over the joined texts), closing points dropped,
degenerate and malformed rings warned about and dropped. The result stays in the source CRS:
transform.localize moves it; ``RingBatch.assign`` hands the arrays to the records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import orjson

from . import compiled
from .records import LazyRing, PolygonRings, RawBuilding, Ring, Warn

# Between the rings of a batch: a value no coordinate has, so one C-level parse of the joined
# text gives every ring's values and the marks give their boundaries.
_MARK = "-9.87654321e300"
_MARK_VALUE = float(_MARK)


def _ring_slots(recs: list[RawBuilding]) -> tuple[list[tuple[list, int]], list[LazyRing], list[int], list[int]]:
    """Where each text ring sits (registered by the parser), its text, its batch record, and
    how many rings each record (with its parts) has: a record's rings are consecutive."""
    slots: list[tuple[list, int]] = []
    group: list[int] = []
    per: list[int] = []
    for gi, top in enumerate(recs):
        before = len(slots)
        for r in (top, *top.parts) if top.parts else (top,):
            if r.lazy:
                slots.extend(r.lazy)
        k = len(slots) - before
        per.append(k)
        if k:
            group.extend([gi] * k)
    return slots, [poly[k] for poly, k in slots], group, per


def _parse_values(texts: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """All numbers of all texts and each text's (start, end) in them; None if any is not numeric."""
    if not texts:
        return np.zeros(0), np.zeros((0, 2), dtype=np.int64)
    joined = (" " + _MARK + " ").join(texts) + " " + _MARK
    a = None
    # orjson's float parser is ~3x numpy's. JSON needs exactly one separator between numbers
    # (true of PLATEAU's posLists); anything else (newlines, double spaces, NaN) raises and
    # takes numpy's path. true/false/null would parse, so text with their letters skips it.
    if "u" not in joined and "a" not in joined and "l" not in joined:
        try:
            a = np.array(orjson.loads("[" + joined.replace(" ", ",") + "]"), dtype=np.float64)
        except (orjson.JSONDecodeError, TypeError, ValueError):
            a = None
    if a is None or a.ndim != 1:
        try:
            a = np.fromstring(joined, sep=" ")
        except ValueError:
            return None
    marks = np.flatnonzero(a == _MARK_VALUE)
    if len(marks) != len(texts):
        return None
    starts = np.empty(len(marks), dtype=np.int64)
    starts[0] = 0
    starts[1:] = marks[:-1] + 1
    return a, np.column_stack((starts, marks))


@dataclass
class RingBatch:
    """Every text ring of a batch of records, parsed. Either ``pts`` (the vectorised path: all
    rings 3D and well formed; ring i's points are pts[p0[i] : p0[i] + n[i]], its closing point
    not counted in ``n``) or ``rings`` (one array or None per ring, 2D or 3D)."""

    recs: list[RawBuilding]
    slots: list[tuple[list, int]]  # where each ring goes (a polygon list and its index)
    texts: list[LazyRing]
    group: list[int]  # each ring's record in ``recs``
    per: list[int]  # rings per record (with its parts): a record's rings are consecutive
    pts: np.ndarray | None = None
    p0: np.ndarray | None = None
    n: np.ndarray | None = None
    rings: list[Ring | None] | None = None

    def assign(self, warn: Warn) -> None:
        """Put each ring into its polygon; drop degenerate rings (a polygon whose exterior is
        bad goes with it)."""
        if not self.slots:
            return
        rings = self.rings
        if rings is None:
            pts = self.pts
            rings = [pts[a:b] for a, b in zip(self.p0.tolist(), (self.p0 + self.n).tolist())]
        short = False
        for (poly, k), ring, (_, _, line) in zip(self.slots, rings, self.texts):
            if ring is not None and len(ring) < 3:
                warn("degenerate_ring", f"ring with {len(ring)} distinct points at line {line}")
                ring = None
            poly[k] = ring
            short = short or ring is None  # None: malformed (warned by read_rings) or degenerate
        for top in self.recs:
            for r in (top, *top.parts) if top.parts else (top,):
                r.lazy = []
        if short:
            _drop_bad_rings(self.recs)


def read_rings(recs: list[RawBuilding], warn: Warn) -> RingBatch:
    """Parse every text ring of ``recs`` (and their parts) in one pass, in source coordinates.
    Malformed rings are warned about here (bad_coordinates) and come back as None."""
    slots, lazy, group, per = _ring_slots(recs)
    batch = RingBatch(recs, slots, lazy, group, per)
    if not slots:
        return batch
    vals = se = good = None
    fast = compiled.parse_rings(lazy) if compiled.parse_rings is not None else None
    if fast is not None:
        vals = np.frombuffer(fast[0])
        se = np.frombuffer(fast[1], dtype=np.int64).reshape(-1, 2)
    else:
        parsed = _parse_values([t for t, _, _ in lazy])
        dims = np.fromiter((d for _, d, _ in lazy), dtype=np.int64, count=len(lazy))
        if parsed is not None and (dims == 3).all():
            vals, se = parsed
    if se is not None:
        counts = se[:, 1] - se[:, 0]
        good = counts % 3 == 0
    if good is not None and good.all():
        batch.pts, batch.p0, batch.n = _split_xyz(vals, se, counts)
    else:
        batch.rings = [_one_ring(t, d, line, warn) for t, d, line in lazy]
    return batch


def materialize(recs: list[RawBuilding], warn: Warn) -> None:
    """Parse and assign every text ring of ``recs``, left in source coordinates."""
    read_rings(recs, warn).assign(warn)


def undefer_lod1(rec: RawBuilding) -> None:
    """Cut the LOD1 rings the compiled reader parsed (``lod1_deferred``) into arrays, one polygon
    per ring, closing point dropped, still in source coordinates (``lod1_source``)."""
    d = rec.lod1_deferred
    if d is None:
        return
    pts = np.frombuffer(d.values).reshape(-1, 3).copy()
    counts = np.frombuffer(d.counts, dtype=np.int64).reshape(-1, 2)
    at = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1, 0], out=at[1:])
    rec.lod1 = [[pts[a : a + k]] for a, k in zip(at.tolist(), counts[:, 1].tolist())]
    rec.lod1_deferred = rec.lod1_z = None


def _split_xyz(vals: np.ndarray, se: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised path (every ring 3D and well formed): one reshape, one closing-point test.
    Returns the (N, 3) points (closing points still in), each ring's first point and its count
    without the closing point."""
    keep = np.ones(len(vals), dtype=bool)
    keep[se[:, 1]] = False
    pts = vals[keep].reshape(-1, 3)
    n = counts // 3
    p0 = np.zeros(len(n), dtype=np.int64)
    np.cumsum(n[:-1], out=p0[1:])
    last = p0 + n - 1
    has = n > 1
    closed = np.zeros(len(n), dtype=bool)
    closed[has] = (pts[p0[has]] == pts[last[has]]).all(axis=1)
    return pts, p0, n - closed


def _one_ring(text: str, dim: int, line: int, warn: Warn) -> Ring | None:
    try:
        a = np.array(text.split(), dtype=np.float64)
    except ValueError:
        warn("bad_coordinates", f"non-numeric coordinates at line {line}")
        return None
    if dim not in (2, 3):
        warn("bad_coordinates", f"unsupported srsDimension {dim or '(not a number)'} at line {line}")
        return None
    if len(a) % dim:
        warn("bad_coordinates", f"coordinate count {len(a)} not a multiple of {dim} at line {line}")
        return None
    a = a.reshape(-1, dim)
    if len(a) > 1 and a[0].tolist() == a[-1].tolist():
        a = a[:-1]
    return a


def _drop_bad_rings(recs: list[RawBuilding]) -> None:
    def clean(polys: list[PolygonRings]) -> list[PolygonRings]:
        for poly in polys:
            if poly and poly[0] is not None and any(r is None for r in poly):
                poly[:] = [r for r in poly if r is not None]
        return [p for p in polys if p and p[0] is not None]

    for top in recs:
        for r in (top, *top.parts):
            r.lod0 = clean(r.lod0)
            r.lod1 = clean(r.lod1)
            kept = []
            for surf in r.lod2:
                if surf.rings and surf.rings[0] is not None:
                    surf.rings[:] = [x for x in surf.rings if x is not None]
                    kept.append(surf)
            r.lod2 = kept
