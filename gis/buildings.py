"""The compact building table: what the importer writes and the fire-spread simulation reads.

One row per top-level building (parts are merged into their parent's row for the table; the
tiles keep them as separate meshes). Coordinates are metres in the dataset's local frame
(Japan Plane Rectangular zone, minus ``origin``), so the simulator never touches XML or pyproj.

Unknown values are explicit: NaN for floats, -1 for integers, "" for codes. PLATEAU sentinels
(-9999, 9999 storeys, year 0001) are turned into unknown by the parser before they get here.

Stored as one ``.npz`` (numpy, no pickle): footprints as a flat (K, 2) float64 coordinate array
plus ring offsets, so 100k buildings load in well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import Polygon

FLOAT_COLUMNS = ("height", "total_floor_area", "footprint_area")
INT_COLUMNS = ("storeys_above", "storeys_below", "year")
CODE_COLUMNS = ("structure_code", "fireproof_code", "usage_code", "class_code")


@dataclass
class BuildingTable:
    gml_id: list[str]
    footprints: list[Polygon]
    height: np.ndarray  # metres, NaN unknown
    storeys_above: np.ndarray  # int32, -1 unknown
    storeys_below: np.ndarray
    year: np.ndarray  # year of construction, -1 unknown
    total_floor_area: np.ndarray  # m2, NaN unknown
    footprint_area: np.ndarray  # m2 from the footprint geometry
    structure_code: list[str]  # uro:buildingStructureType raw code, "" unknown
    fireproof_code: list[str]  # uro:fireproofStructureType raw code, "" unknown
    usage_code: list[str]
    class_code: list[str]
    # Labels resolved through the dataset's own codelists: {column: {code: label_ja}}.
    code_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    crs: str = "EPSG:6677"
    origin: tuple[float, float] = (0.0, 0.0)

    def __len__(self) -> int:
        return len(self.gml_id)

    @classmethod
    def from_rows(
        cls,
        rows: list[dict],
        *,
        crs: str = "EPSG:6677",
        origin: tuple[float, float] = (0.0, 0.0),
        code_labels: dict[str, dict[str, str]] | None = None,
    ) -> "BuildingTable":
        """Build from dicts with the column names above; missing keys become unknown.

        ``footprint`` may be a shapely Polygon or a list of (x, y) tuples.
        """
        fps = [r["footprint"] if isinstance(r["footprint"], Polygon) else Polygon(r["footprint"]) for r in rows]

        def floats(name: str) -> np.ndarray:
            return np.array([np.nan if r.get(name) is None else float(r[name]) for r in rows], dtype=np.float64)

        def ints(name: str) -> np.ndarray:
            return np.array([-1 if r.get(name) is None else int(r[name]) for r in rows], dtype=np.int32)

        def codes(name: str) -> list[str]:
            return [str(r.get(name) or "") for r in rows]

        return cls(
            gml_id=[str(r["gml_id"]) for r in rows],
            footprints=fps,
            height=floats("height"),
            storeys_above=ints("storeys_above"),
            storeys_below=ints("storeys_below"),
            year=ints("year"),
            total_floor_area=floats("total_floor_area"),
            footprint_area=np.array([p.area for p in fps], dtype=np.float64),
            structure_code=codes("structure_code"),
            fireproof_code=codes("fireproof_code"),
            usage_code=codes("usage_code"),
            class_code=codes("class_code"),
            code_labels=code_labels or {},
            crs=crs,
            origin=origin,
        )

    def index_of(self) -> dict[str, int]:
        """gml:id -> row (= feature id in the tiles)."""
        return {g: i for i, g in enumerate(self.gml_id)}

    def save(self, path: str | Path) -> None:
        """Write buildings.npz with the import's own writer (table_parts.write_columns), as one part."""
        from .sink.table_parts import write_columns

        coords, ring_offsets = _pack_footprints(self.footprints)
        part = {
            "gml_id": np.array(self.gml_id, dtype=np.str_), "coords": coords, "ring_offsets": ring_offsets,
            **{c: np.asarray(getattr(self, c)) for c in FLOAT_COLUMNS + INT_COLUMNS},
            **{c: np.array(getattr(self, c), dtype=np.str_) for c in CODE_COLUMNS},
        }
        widths = {c: max((len(v) for v in part[c].tolist()), default=1) for c in ("gml_id", *CODE_COLUMNS)}
        write_columns(Path(path), [part], len(self.gml_id), len(coords), widths, {}, self.crs, self.origin, self.code_labels)

    @classmethod
    def load(cls, path: str | Path) -> "BuildingTable":
        import json

        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            fps = _unpack_footprints(z["coords"], z["ring_offsets"])
            return cls(
                gml_id=[str(s) for s in z["gml_id"]],
                footprints=fps,
                **{c: z[c].copy() for c in FLOAT_COLUMNS + INT_COLUMNS},
                **{c: [str(s) for s in z[c]] for c in CODE_COLUMNS},
                code_labels=meta.get("code_labels", {}),
                crs=meta["crs"],
                origin=tuple(meta["origin"]),
            )


def _pack_footprints(polys: list[Polygon]) -> tuple[np.ndarray, np.ndarray]:
    """Exterior rings only (holes do not matter for spread gaps); offsets[i]..offsets[i+1]."""
    rings = [np.asarray(p.exterior.coords, dtype=np.float64)[:, :2] if not p.is_empty else np.zeros((0, 2)) for p in polys]
    offsets = np.zeros(len(rings) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(r) for r in rings])
    coords = np.concatenate(rings) if rings else np.zeros((0, 2))
    return coords, offsets


def _unpack_footprints(coords: np.ndarray, offsets: np.ndarray) -> list[Polygon]:
    n = len(offsets) - 1
    if n == 0:
        return []
    # shapely's vectorised constructor: one call for all rings.
    sizes = np.diff(offsets)
    ring_index = np.repeat(np.arange(n), sizes)
    polys = shapely.polygons(shapely.linearrings(coords, indices=ring_index)) if len(coords) else None
    return list(polys) if polys is not None else [Polygon() for _ in range(n)]
