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

import numpy as np

TILE_SIZE = 250.0  # metres: the grid cell, the smallest tile
MAX_TILE_LEVEL = 4  # a tile is at most 2^4 x 2^4 cells (4 km)
# One tile's budget: a few MB of GLB, what 3D Tiles viewers stream comfortably on a phone.
MAX_TILE_BUILDINGS = 2048
MAX_TILE_VERTICES = 1 << 17

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
