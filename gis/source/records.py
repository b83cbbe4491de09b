"""What the CityGML reader hands on: one record per building, its rings still text until a
batch is parsed (rings.read_rings), in source coordinates until transform.localize moves them.

Plain data, no I/O: the source, the transforms and the mesh stage share these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np

Warn = Callable[[str, str], None]
Ring = np.ndarray  # (N, dim) float64, closing point removed
PolygonRings = list[Ring]  # exterior first, then interiors
LazyRing = tuple  # (posList text, srsDimension, source line): parsed later by rings.read_rings


@dataclass
class Surface:
    kind: str  # roof | wall | ground | closure | other
    rings: PolygonRings
    ring_ids: list[str | None] | None = None  # each ring's gml:id (texture lookup), when read


@dataclass
class RawBuilding:
    gml_id: str | None
    line: int
    is_part: bool = False
    attrs: dict[str, object] = field(default_factory=dict)
    codes: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # column -> (code, codeSpace)
    lod0: list[PolygonRings] = field(default_factory=list)
    lod0_kind: str = ""  # which lod0 element supplied lod0 (footprint preferred over roof edge)
    lod1: list[PolygonRings] = field(default_factory=list)
    lod2: list[Surface] = field(default_factory=list)
    srs: int | None = None  # EPSG named on the geometry itself, when given
    parts: list["RawBuilding"] = field(default_factory=list)
    lazy: list[tuple[list, int]] = field(default_factory=list)  # text rings not yet parsed
    lod2_skipped: bool = False  # has LOD2 geometry that an LOD1 import did not read
    # Where the record's coordinates are. ``local``: everything is in local metres already
    # (transform.localize moved it). ``lod1_source``: the LOD1 rings are still in source
    # coordinates (only their z was needed so far; localize.localize_lod1 moves them when used).
    local: bool = False
    lod1_source: bool = False
    # An LOD1 solid the compiled reader parsed but has not cut into rings (undefer_lod1), and
    # its z range, which is all a simple LOD1 building needs.
    lod1_deferred: "SolidValues | None" = None
    lod1_z: tuple[float, float] | None = None
    # mesh._lod1_base's answer, kept with the rings it was computed from (footprint and mesh
    # both ask for it).
    lod1_base: tuple | None = field(default=None, repr=False)

    def lods(self) -> set[int]:
        s = set()
        if self.lod0:
            s.add(0)
        if self.lod1:
            s.add(1)
        if self.lod2 or self.lod2_skipped:
            s.add(2)
        return s


class SolidValues(NamedTuple):
    """An LOD1 solid the compiled reader parsed (``lod1_deferred``): float64 x y z values, and per
    ring (one polygon each) its point count and its count without the closing point (int64)."""

    values: bytes
    counts: bytes
