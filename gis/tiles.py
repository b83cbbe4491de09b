"""Sinks for geometry: one GLB per tile (EXT_mesh_features + EXT_structural_metadata) and a
3D Tiles 1.1 tileset.json over them.

Workers place each building in a cell of a fixed grid in absolute plane-rectangular metres (by
its footprint centroid, never cut), so a worker needs nothing of the rest of the dataset. The
parent then groups cells into tiles over a quadtree of that grid (``group_cells``): a block of
2^l x 2^l cells is one tile while its buildings and vertices fit one tile's budget, so a dense
district keeps 250 m tiles and a sparse one gets up to 4 km tiles instead of hundreds of tiny
files (each a request for the viewer, and a file creation for the import). Vertex attribute
``_FEATURE_ID_0`` is the building's row in buildings.npz (the id a viewer uses to recolour);
``_FEATURE_ID_1`` is its row in this tile's property table.
"""

from __future__ import annotations

import math
import struct

import numpy as np
import orjson

TILE_SIZE = 250.0  # metres: the grid cell, the smallest tile
MAX_TILE_LEVEL = 4  # a tile is at most 2^4 x 2^4 cells (4 km)
# One tile's budget: a few MB of GLB, what 3D Tiles viewers stream comfortably on a phone.
MAX_TILE_BUILDINGS = 2048
MAX_TILE_VERTICES = 1 << 17

# Property table layout: name -> (metadata class property, numpy dtype or "string", noData)
PROPERTIES: dict[str, tuple[dict, object, object]] = {
    "gml_id": ({"type": "STRING", "description": "gml:id"}, "string", None),
    "row": ({"type": "SCALAR", "componentType": "UINT32", "description": "row in buildings.npz"}, np.uint32, None),
    "height": ({"type": "SCALAR", "componentType": "FLOAT32", "noData": -1.0}, np.float32, -1.0),
    "storeys_above": ({"type": "SCALAR", "componentType": "INT16", "noData": -1}, np.int16, -1),
    "year": ({"type": "SCALAR", "componentType": "INT16", "noData": -1}, np.int16, -1),
    "structure_code": ({"type": "STRING"}, "string", None),
    "fireproof_code": ({"type": "STRING"}, "string", None),
    "usage_code": ({"type": "STRING"}, "string", None),
}


def tile_key(x_abs: float, y_abs: float, size: float = TILE_SIZE) -> tuple[int, int]:
    return (int(math.floor(x_abs / size)), int(math.floor(y_abs / size)))


def tile_name(key: tuple[int, int, int]) -> str:
    """``key`` = (level, x, y): the block of 2^level cells whose corner cell is (x, y) * 2^level."""
    return f"t{key[0]}_{key[1]}_{key[2]}.glb"


def group_cells(
    cells: dict[tuple[int, int], tuple[int, int]],
    max_level: int = MAX_TILE_LEVEL,
    max_buildings: int = MAX_TILE_BUILDINGS,
    max_vertices: int = MAX_TILE_VERTICES,
) -> dict[tuple[int, int, int], list[tuple[int, int]]]:
    """Tiles from cells: ``cells`` maps a cell to (buildings, vertices); the result maps each
    tile key (level, x, y) to its cells, sorted. A block becomes one tile when it is a single
    cell or fits the budget, else its non-empty quadrants are tried. Depends only on the
    cells' contents, so any split of the work gives the same tiles."""
    out: dict[tuple[int, int, int], list[tuple[int, int]]] = {}

    def place(level: int, bx: int, by: int, members: list[tuple[int, int]]) -> None:
        n = sum(cells[c][0] for c in members)
        v = sum(cells[c][1] for c in members)
        if level == 0 or (n <= max_buildings and v <= max_vertices):
            out[(level, bx, by)] = sorted(members)
            return
        quads: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for c in members:  # >> floors negative cells too
            quads.setdefault((c[0] >> (level - 1), c[1] >> (level - 1)), []).append(c)
        for (qx, qy), m in sorted(quads.items()):
            place(level - 1, qx, qy, m)

    blocks: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for c in cells:
        blocks.setdefault((c[0] >> max_level, c[1] >> max_level), []).append(c)
    for (bx, by), m in sorted(blocks.items()):
        place(max_level, bx, by, m)
    return out


class _Bin:
    """Accumulates the GLB binary chunk; every view starts 8-byte aligned (metadata requires it)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.views: list[dict] = []

    def add(self, data: bytes, target: int | None = None) -> int:
        pad = (-self.size) % 8
        if pad:
            self.parts.append(b"\0" * pad)
            self.size += pad
        view = {"buffer": 0, "byteOffset": self.size, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.parts.append(data)
        self.size += len(data)
        self.views.append(view)
        return len(self.views) - 1

    def blob(self) -> bytes:
        b = b"".join(self.parts)
        return b + b"\0" * ((-len(b)) % 4)


def _utf8_column(col: list) -> tuple[bytes, np.ndarray]:
    """A string property's UTF-8 bytes and its n + 1 offsets. ids and codes are ASCII: one join
    and one encode, offsets from the character counts (an encode per value was ~1.5 us)."""
    offs = np.zeros(len(col) + 1, dtype=np.uint32)
    try:
        joined = "".join(col)
    except TypeError:  # not all str
        joined = None
    if joined is not None and joined.isascii():
        offs[1:] = np.cumsum(np.fromiter(map(len, col), dtype=np.int64, count=len(col)))
        return joined.encode("ascii"), offs
    enc = [str(v).encode("utf-8") for v in col]
    offs[1:] = np.cumsum([len(e) for e in enc])
    return b"".join(enc), offs


def build_glb(
    positions_zup: np.ndarray,
    indices: np.ndarray,
    feature_row: np.ndarray,
    feature_local: np.ndarray,
    table: dict[str, list],
) -> bytes:
    """Assemble one GLB. ``table`` holds PROPERTIES columns for the tile's features in local order:
    one per distinct ``feature_row`` (so both feature ids count ``len(table["row"])``)."""
    n_features = len(table["row"])
    # glTF is y-up: (x east, y north, z up) -> (x, z, -y); 3D Tiles rotates it back.
    pos = np.ascontiguousarray(np.column_stack((positions_zup[:, 0], positions_zup[:, 2], -positions_zup[:, 1])), dtype=np.float32)
    b = _Bin()
    accessors = []

    def acc(view: int, ctype: int, count: int, typ: str, **kw: object) -> int:
        accessors.append({"bufferView": view, "componentType": ctype, "count": count, "type": typ, **kw})
        return len(accessors) - 1

    a_pos = acc(b.add(pos.tobytes(), 34962), 5126, len(pos), "VEC3", min=pos.min(0).tolist(), max=pos.max(0).tolist())
    a_f0 = acc(b.add(feature_row.astype(np.float32).tobytes(), 34962), 5126, len(pos), "SCALAR")
    a_f1 = acc(b.add(feature_local.astype(np.float32).tobytes(), 34962), 5126, len(pos), "SCALAR")
    a_idx = acc(b.add(indices.astype(np.uint32).tobytes(), 34963), 5125, len(indices), "SCALAR")

    props_json = {}
    for name, (_cls, dtype, nodata) in PROPERTIES.items():
        col = table[name]
        if dtype == "string":
            values, offs = _utf8_column(col)
            if not values:
                continue  # a zero-length bufferView is invalid glTF; an absent property reads as unknown
            props_json[name] = {
                "values": b.add(values),
                "stringOffsets": b.add(offs.tobytes()),
                "stringOffsetType": "UINT32",
            }
        else:
            try:
                a = np.asarray(col, dtype=np.float64)
                arr = np.where(np.isnan(a), nodata, a).astype(dtype)
            except TypeError:  # None among the values
                arr = np.array([nodata if (v is None or (isinstance(v, float) and math.isnan(v))) else v for v in col], dtype=dtype)
            props_json[name] = {"values": b.add(arr.tobytes())}

    blob = b.blob()
    gltf = {
        "asset": {"version": "2.0", "generator": "yakuba.gis"},
        "extensionsUsed": ["EXT_mesh_features", "EXT_structural_metadata"],
        "extensions": {
            "EXT_structural_metadata": {
                "schema": {
                    "id": "yakuba_building",
                    "classes": {"building": {"properties": {k: v[0] for k, v in PROPERTIES.items()}}},
                },
                "propertyTables": [{"class": "building", "count": n_features, "properties": props_json}],
            }
        },
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [
            {
                "primitives": [
                    {
                        "attributes": {"POSITION": a_pos, "_FEATURE_ID_0": a_f0, "_FEATURE_ID_1": a_f1},
                        "indices": a_idx,
                        "material": 0,
                        "mode": 4,
                        "extensions": {
                            "EXT_mesh_features": {
                                "featureIds": [
                                    {"featureCount": n_features, "attribute": 0, "label": "building_row"},
                                    {"featureCount": n_features, "attribute": 1, "propertyTable": 0, "label": "tile_feature"},
                                ]
                            }
                        },
                    }
                ]
            }
        ],
        # Double-sided: real LOD2 rings are not always wound outward.
        "materials": [
            {
                "pbrMetallicRoughness": {"baseColorFactor": [0.86, 0.85, 0.82, 1.0], "metallicFactor": 0.0, "roughnessFactor": 1.0},
                "doubleSided": True,
            }
        ],
        "accessors": accessors,
        "bufferViews": b.views,
        "buffers": [{"byteLength": len(blob)}],
    }
    js = orjson.dumps(gltf)  # compact UTF-8, as glTF wants; ~10x the stdlib encoder
    js += b" " * ((-len(js)) % 4)
    total = 12 + 8 + len(js) + 8 + len(blob)
    return b"".join(
        (
            struct.pack("<4sII", b"glTF", 2, total),
            struct.pack("<I4s", len(js), b"JSON"),
            js,
            struct.pack("<I4s", len(blob), b"BIN\0"),
            blob,
        )
    )


def box_volume(lo: np.ndarray, hi: np.ndarray) -> list[float]:
    """Oriented box [center, half-axes x3] in the tileset's z-up local frame."""
    c = (lo + hi) / 2
    h = np.maximum((hi - lo) / 2, 0.5)  # a zero half-axis makes the box degenerate for culling
    return [float(c[0]), float(c[1]), float(c[2]), float(h[0]), 0.0, 0.0, 0.0, float(h[1]), 0.0, 0.0, 0.0, float(h[2])]


def tileset_json(
    tiles: list[dict],
    transform: list[float],
    dataset_id: str,
) -> dict:
    """``tiles``: [{"uri", "lo": (x,y,z), "hi": (x,y,z)}] in local metres (z-up)."""
    if tiles:
        lo = np.min([t["lo"] for t in tiles], axis=0)
        hi = np.max([t["hi"] for t in tiles], axis=0)
    else:
        lo = hi = np.zeros(3)
    diag = float(np.linalg.norm(hi - lo))
    children = []
    for t in tiles:
        tlo, thi = np.asarray(t["lo"]), np.asarray(t["hi"])
        children.append(
            {
                "boundingVolume": {"box": box_volume(tlo, thi)},
                # Leaf tiles hold full-detail geometry: nothing finer to refine to.
                "geometricError": 0.0,
                "content": {"uri": t["uri"]},
            }
        )
    return {
        "asset": {"version": "1.1", "generator": "yakuba.gis"},
        "geometricError": max(diag, 1.0),
        "root": {
            "transform": transform,
            "boundingVolume": {"box": box_volume(lo, hi)},
            # Above this error the viewer shows nothing; below it loads the leaf tiles.
            "geometricError": max(diag / 4, 1.0),
            "refine": "ADD",
            "children": children,
        },
        "extras": {"dataset": dataset_id},
    }
