"""Per-worker parts of the building table, merged by the parent without shapely objects.

A worker turns its rows into a ``BuildingTable`` (so every column conversion is the table's
own) and writes the compact columns to ``<spill>/<task>.rows.npz`` plus its attributes to
``<task>.attrs.jsonl``. The parent then only holds numpy columns (tens of bytes per building)
and streams the attribute lines, instead of every row dict, attribute dict and Polygon of the
dataset. ``write_table`` produces the same ``buildings.npz`` as ``BuildingTable.save``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .buildings import CODE_COLUMNS, FLOAT_COLUMNS, INT_COLUMNS, BuildingTable, _pack_footprints

COLUMNS = FLOAT_COLUMNS + INT_COLUMNS + CODE_COLUMNS


def write_part(base: str, rows: list[dict], attrs: list[dict], default: Callable[[Any], Any]) -> None:
    """Columns of ``rows`` to ``base.rows.npz``; ``attrs`` (without gml_id) to ``base.attrs.jsonl``."""
    t = BuildingTable.from_rows(rows)
    coords, offsets = _pack_footprints(t.footprints)
    np.savez(
        base + ".rows.npz",
        gml_id=np.array(t.gml_id, dtype=np.str_),
        coords=coords,
        ring_offsets=offsets,
        **{c: getattr(t, c) for c in FLOAT_COLUMNS + INT_COLUMNS},
        **{c: np.array(getattr(t, c), dtype=np.str_) for c in CODE_COLUMNS},
    )
    with open(base + ".attrs.jsonl", "w", encoding="utf-8") as f:
        for a in attrs:
            f.write(json.dumps(a, ensure_ascii=False, default=default) + "\n")


def merge_parts(parts: list[str]) -> dict[str, np.ndarray]:
    """Concatenate the parts' columns in order; ring offsets are rebased."""
    out: dict[str, list[np.ndarray]] = {c: [] for c in ("gml_id", "coords") + COLUMNS}
    offs = [np.zeros(1, dtype=np.int64)]
    base = 0
    for p in parts:
        with np.load(p + ".rows.npz") as z:
            for c in out:
                out[c].append(z[c])
            ro = z["ring_offsets"]
            offs.append(ro[1:] + base)
            base += int(ro[-1])
    merged: dict[str, np.ndarray] = {}
    for c, arrs in out.items():
        if c == "coords":
            merged[c] = np.concatenate(arrs) if arrs else np.zeros((0, 2))
        elif c in CODE_COLUMNS or c == "gml_id":
            merged[c] = np.concatenate(arrs) if arrs else np.array([], dtype=np.str_)
        else:
            merged[c] = np.concatenate(arrs) if arrs else np.zeros(0, dtype=np.float64 if c in FLOAT_COLUMNS else np.int32)
    merged["ring_offsets"] = np.concatenate(offs)
    return merged


def save_table(path: Path, cols: dict[str, np.ndarray], crs: str, origin: tuple[float, float], code_labels: dict) -> None:
    """Same file as BuildingTable.save (same keys, order, dtypes)."""
    np.savez_compressed(
        path,
        gml_id=cols["gml_id"],
        coords=cols["coords"],
        ring_offsets=cols["ring_offsets"],
        **{c: cols[c] for c in FLOAT_COLUMNS + INT_COLUMNS},
        **{c: cols[c] for c in CODE_COLUMNS},
        meta=np.array(json.dumps({"crs": crs, "origin": list(origin), "code_labels": code_labels})),
    )
