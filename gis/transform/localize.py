"""Transform stage: source coordinates -> the dataset's local metres (crs.LocalFrame), in as
few pyproj calls as possible (a call costs tens of microseconds before its first point).

The source stage hands over parsed rings in the source CRS (source.rings.RingBatch); here a
whole batch moves in one call per source CRS. A simple LOD1 building needs only the z range of
its solid (lod1_batch takes the footprint from LOD0): those solids stay in source
coordinates, marked ``lod1_source``, and localize_lod1 moves them if they are wanted after all.
"""

from __future__ import annotations

from itertools import accumulate
from typing import Callable

import numpy as np

from ..crs import LocalFrame
from ..source.records import RawBuilding, Warn
from ..source.rings import RingBatch, read_rings, undefer_lod1

ToLocal = Callable[[int | None], Callable[[np.ndarray], np.ndarray]]


def read_local(recs: list[RawBuilding], warn: Warn, to_local: ToLocal, z_only: Callable[[RawBuilding], bool] | None = None) -> None:
    """Parse a batch's rings (source.rings), move them to local metres and hand them to the
    records, marked ``local``. ``to_local(srs)`` maps (N, 3) source points to the local frame.
    If the transform fails the records keep source coordinates (not ``local``): process()
    transforms them one by one and reports the building that fails."""
    batch = read_rings(recs, warn)
    try:
        localize(batch, to_local, z_only)
    except (ValueError, ArithmeticError):
        pass
    batch.assign(warn)


def localize(batch: RingBatch, to_local: ToLocal, z_only: Callable[[RawBuilding], bool] | None = None) -> None:
    """Move a parsed batch to local metres in place and mark its records ``local``; with
    ``z_only`` the LOD1 solids of the records it accepts stay in source coordinates (z is the
    same in both frames), marked ``lod1_source``. Nothing is marked unless every call succeeds."""
    kept: list[RawBuilding] = []
    if batch.pts is not None and len(batch.pts):
        source, kept = _lod1_in_source(batch, z_only) if z_only is not None else (None, [])
        batch.pts = _transform_points(batch, to_local, source)
    elif batch.rings is not None:
        batch.rings = _transform_each(batch, to_local)
    for rec in kept:
        rec.lod1_source = True
    for rec in batch.recs:
        rec.local = True


def _transform_points(batch: RingBatch, to_local: ToLocal, source: np.ndarray | None) -> np.ndarray:
    """The vectorised path: one transform per source CRS over all points of the batch;
    ``source``: rings left untransformed (per ring)."""
    pts, recs = batch.pts, batch.recs
    size = np.diff(np.r_[batch.p0, len(pts)])  # each ring's points in pts, closing point included
    want = None if source is None else np.repeat(~source, size)
    one = {r.srs for r in recs}
    if len(one) == 1 and want is None:
        return to_local(one.pop())(pts)
    if len(one) == 1:
        out = pts.copy()
        out[want] = to_local(one.pop())(pts[want])
        return out
    srs = [recs[g].srs for g in batch.group]
    gid = np.repeat(np.array([hash(s) for s in srs]), size)
    out = pts.copy()
    for s in set(srs):
        m = gid == hash(s)
        if want is not None:
            m &= want
        out[m] = to_local(s)(pts[m])
    return out


def _lod1_in_source(batch: RingBatch, z_only: Callable[[RawBuilding], bool]) -> tuple[np.ndarray | None, list[RawBuilding]]:
    """The rings to leave in source coordinates (a mask over the batch's rings) and their
    records: the LOD1 rings of each z-only record, taken only where the record's one LOD0 ring
    comes first and its LOD1 rings are all the rest (the schema's order, and the parser's); any
    other record is transformed whole, as without ``z_only``."""
    mask = None
    kept = []
    s = 0
    for r, k in zip(batch.recs, batch.per):
        if k and z_only(r) and k == 1 + sum(map(len, r.lod1)) and batch.slots[s][0] is r.lod0[0]:
            if mask is None:
                mask = np.zeros(len(batch.slots), dtype=bool)
            mask[s + 1 : s + k] = True
            kept.append(r)
        s += k
    return mask, kept


def _transform_each(batch: RingBatch, to_local: ToLocal) -> list[np.ndarray | None]:
    """The other path (some ring 2D or malformed): the usable rings, one call per source CRS."""
    out = list(batch.rings)
    by_srs: dict[int | None, list[int]] = {}
    for i, (ring, g) in enumerate(zip(out, batch.group)):
        if ring is not None and len(ring) >= 3:
            by_srs.setdefault(batch.recs[g].srs, []).append(i)
    for srs, idx in by_srs.items():
        for i, ring in zip(idx, _transform_rings([out[i] for i in idx], to_local(srs))):
            out[i] = ring
    return out


def _rings_of(recs: list[RawBuilding]) -> list[np.ndarray]:
    rings: list[np.ndarray] = []
    for r in recs:
        for poly in r.lod0:
            rings.extend(poly)
        for poly in r.lod1:
            rings.extend(poly)
        for s in r.lod2:
            rings.extend(s.rings)
    return rings


def _put_back(recs: list[RawBuilding], out: list[np.ndarray]) -> None:
    it = iter(out)
    for r in recs:
        r.lod0 = [[next(it) for _ in poly] for poly in r.lod0]
        r.lod1 = [[next(it) for _ in poly] for poly in r.lod1]
        for s in r.lod2:
            s.rings = [next(it) for _ in s.rings]


def localize_building(rec: RawBuilding, frame_for: Callable[[int | None], LocalFrame]) -> None:
    """Transform every ring of rec (and its parts) in one pyproj call; replaces in place."""
    undefer_lod1(rec)
    if not rec.local:
        rec.lod1_source = False  # its LOD1 goes with the rest below
    to_local_batch([rec], frame_for)
    localize_lod1(rec, frame_for)


def lod1_z_only(rec: RawBuilding, lod: int) -> bool:
    """True when lod1_batch would take this building's footprint from its one hole-free LOD0
    polygon and only the z range from its LOD1 solid: the solid's x, y (~85% of a simple
    building's points) then need no transform (localize's ``z_only``)."""
    return (
        not rec.parts and bool(rec.lod1) and not (lod >= 2 and rec.lod2) and len(rec.lod0) == 1 and len(rec.lod0[0]) == 1
    )


def localize_lod1(rec: RawBuilding, frame_for: Callable[[int | None], LocalFrame]) -> None:
    """Transform the LOD1 rings localize left in source coordinates (``lod1_source``),
    for a building whose LOD1 x, y are wanted after all (process(): a footprint to repair, a
    LOD0 ring that was dropped...)."""
    if not rec.lod1_source:
        return
    undefer_lod1(rec)
    rings = [x for poly in rec.lod1 for x in poly]
    if rings:
        out = iter(_transform_rings(rings, frame_for(rec.srs).to_local))
        rec.lod1 = [[next(out) for _ in poly] for poly in rec.lod1]
    rec.lod1_source = False


def _transform_rings(rings: list[np.ndarray], to_local: Callable[[np.ndarray], np.ndarray]) -> list[np.ndarray]:
    """(n, 2|3) source rings -> (n, 3) local rings, in one pyproj call (2D rings at z 0)."""
    flat = np.concatenate([x if x.shape[1] == 3 else np.column_stack((x, np.zeros(len(x)))) for x in rings])
    local = to_local(flat)
    ends = list(accumulate(len(x) for x in rings))
    return [local[a:b] for a, b in zip([0, *ends[:-1]], ends)]


def to_local_batch(recs: list[RawBuilding], frame_for: Callable[[int | None], LocalFrame]) -> None:
    """Transform every ring of many buildings (and their parts) with one pyproj call per source
    CRS (a call costs tens of microseconds before the first point); replaces rings in place and
    marks the records local so ``process`` does not transform them again."""
    groups: dict[int | None, list[RawBuilding]] = {}
    for rec in recs:
        if not rec.local:
            groups.setdefault(rec.srs, []).append(rec)
    for srs, grp in groups.items():
        per = [[rec] + rec.parts for rec in grp]
        rings = [x for pieces in per for x in _rings_of(pieces)]
        if rings:
            out = _transform_rings(rings, frame_for(srs).to_local)
            k = 0
            for pieces in per:
                n = sum(len(p) for r in pieces for p in r.lod0) + sum(len(p) for r in pieces for p in r.lod1) + sum(
                    len(s.rings) for r in pieces for s in r.lod2
                )
                _put_back(pieces, out[k : k + n])
                k += n
        for rec in grp:
            rec.local = True
