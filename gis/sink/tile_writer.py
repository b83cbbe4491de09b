"""The tile sink: spill chunks -> fine GLBs, the coarse levels above them, and tileset.json.

Fine tiles are written by pool workers, one ``TileTask`` each (the cells tiles.group_cells put
together); each returns its tileset entry and its buildings' oriented boxes, from which the
parent builds the coarse levels (lod_tree). Heights are moved into the tileset's frame here,
once per vertex, from the dataset's VerticalGrid (geoid + curvature; crs.vertical_grid).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..crs import VerticalGrid
from . import lod_tree, packed
from . import tiles as tiles_mod
from .atlas import atlas_uv, build_atlas
from .glb import build_glb, column_bounds

TILE_PROPS = ("gml_id", "height", "storeys_above", "year", "structure_code", "fireproof_code", "usage_code")


@dataclass
class TileOptions:
    """What the tiles carry beyond geometry and the property table (the benchmark's switches)."""

    normals: bool = True
    hierarchy: bool = True
    textures: bool = True  # LOD2 facade photos, when the data ships them (an atlas per tile)


@dataclass
class TileTask:
    key: tuple[int, int, int]  # tiles.group_cells: (level, x, y)
    chunks: list[tuple[tuple[str, int, int], int]]  # (spill chunk (file, offset, length), row offset of its task)
    out: str
    renamed: dict[int, str]  # row -> new gml:id, for duplicates among this tile's rows
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # code column -> code -> label
    vertical: VerticalGrid | None = None
    options: TileOptions = field(default_factory=TileOptions)


def write_tile(t: TileTask) -> dict:
    """One GLB from its spill chunks; runs in a pool worker. Returns the tileset entry (with the
    buildings' boxes under "boxes" when the hierarchy is on)."""
    poss, idxs, rows, prow, props = [], [], [], [], {c: [] for c in TILE_PROPS}
    uvs, texs, paths = [], [], []  # textured chunks: (s, t), image per vertex (into ``paths``)
    nv = 0
    for (p, at, length), off in t.chunks:
        z = packed.unpack(packed.read_at(p, at, length))
        if "tex" in z and t.options.textures:
            names = z["tex_paths"].tolist()
            remap = np.array([_slot(paths, n) for n in names] + [-1], np.int32)  # -1 -> -1
            uvs.append(z["uv"])
            texs.append(remap[z["tex"]])
        else:
            uvs.append(np.zeros((len(z["pos"]), 2), np.float32))
            texs.append(np.full(len(z["pos"]), -1, np.int32))
        poss.append(z["pos"])
        idxs.append(z["idx"] + np.uint32(nv))
        rows.append(z["ids"] + off)
        prow.append(z["p_id"] + off)
        for c in TILE_PROPS:
            props[c].append(z["p_" + c])
        nv += len(z["pos"])
    pos = np.concatenate(poss)
    if t.vertical is not None:
        pos[:, 2] += t.vertical.at(pos[:, 0], pos[:, 1]).astype(np.float32)
    idx = np.concatenate(idxs)
    row = np.concatenate(rows)
    uniq, local = np.unique(row, return_inverse=True)
    pr = np.concatenate(prow)
    order = np.argsort(pr, kind="stable")  # each building is in exactly one chunk: pr[order] == uniq
    col = {c: np.concatenate(v)[order] for c, v in props.items()}
    gml = col["gml_id"].tolist()
    if t.renamed:
        gml = [t.renamed.get(r, g) for r, g in zip(uniq.tolist(), gml)]
    cols = {
        "gml_id": gml,
        "row": uniq.tolist(),
        "height": col["height"].astype(np.float64).tolist(),
        "storeys_above": col["storeys_above"].astype(np.int64).tolist(),
        "year": col["year"].astype(np.int64).tolist(),
        "structure_code": col["structure_code"],  # arrays: glb._enum takes them whole
        "fireproof_code": col["fireproof_code"],
        "usage_code": col["usage_code"],
    }
    texture = None
    if paths:
        atlas = build_atlas(paths)
        if atlas is not None:
            uv, textured = atlas_uv(np.concatenate(uvs), np.concatenate(texs), paths, atlas)
            texture = (uv, textured, atlas.webp)
    name = tiles_mod.tile_name(t.key)
    glb = build_glb(pos, idx, row, local, cols, t.labels, normals=t.options.normals, texture=texture)
    Path(t.out, name).write_bytes(glb)
    lo, hi = (b.astype(np.float64) for b in column_bounds(pos))
    entry: dict[str, Any] = {"key": t.key, "uri": f"tiles/{name}", "lo": lo.tolist(), "hi": hi.tolist(),
                             "features": int(len(uniq)), "bytes": len(glb)}
    if t.options.hierarchy:
        _, boxes = lod_tree.building_boxes(pos, row)  # rows ascending: the same order as cols
        # numpy columns: they travel back to the parent in a few pickled buffers, not 100k objects
        boxes.cols = {"gml_id": np.asarray(gml), "row": uniq, **{c: col[c] for c in TILE_PROPS[1:]}}
        entry["boxes"] = boxes
    return entry


def _slot(paths: list[str], name: str) -> int:
    if name not in paths:
        paths.append(name)
    return paths.index(name)


@dataclass
class NodeTask:
    path: str
    boxes: lod_tree.Boxes
    labels: dict[str, dict[str, str]]
    normals: bool


def write_node(t: NodeTask) -> None:
    """A coarse level's GLB: its buildings' boxes, with the same feature ids and table columns
    as the fine tiles (the simulation recolours them too)."""
    pos, idx, row = lod_tree.box_mesh(t.boxes)
    local = np.repeat(np.arange(len(t.boxes.row)), 8)
    Path(t.path).write_bytes(build_glb(pos, idx, row, local, t.boxes.cols, t.labels, normals=t.normals))


def tile_tasks(
    out_dir: Path, results: list, offsets: list[int], renamed: dict[int, str], tiling: dict[str, int],
    labels: dict[str, dict[str, str]], vertical: VerticalGrid | None, options: TileOptions,
) -> list[TileTask]:
    refs: dict[tuple[int, int], list[tuple[tuple[str, int, int], int]]] = {}
    spans: dict[tuple[int, int], set[tuple[int, int]]] = {}
    cells: dict[tuple[int, int], tuple[int, int]] = {}
    for r, off in zip(results, offsets):
        for k, rs in r.chunks.items():
            refs.setdefault(k, []).extend((c, off) for c in rs)
            spans.setdefault(k, set()).add((off, off + r.n_rows))
        for k, (n, v) in r.cells.items():
            n0, v0 = cells.get(k, (0, 0))
            cells[k] = (n0 + n, v0 + v)
    tdir = out_dir / "tiles"
    tdir.mkdir(parents=True, exist_ok=True)
    tasks = []
    # Cells in order, each cell's chunks in task order: a tile's buildings come in the same
    # order however the files were split between workers.
    for key, members in tiles_mod.group_cells(cells, **tiling).items():
        chunks = [c for m in members for c in refs[m]]
        span = set().union(*(spans[m] for m in members))
        # Renamed rows are few: each tile gets those within its chunks' row ranges.
        mine = {r: g for r, g in renamed.items() if any(a <= r < b for a, b in span)} if renamed else {}
        tasks.append(TileTask(key, chunks, str(tdir), mine, labels, vertical, options))
    return tasks


def cell_extent(results: list, origin: tuple[float, float], tile_size: float) -> tuple[np.ndarray, np.ndarray]:
    """Local x, y bounds of every cell holding a building (for the vertical grid)."""
    keys = np.array([k for r in results for k in r.cells], dtype=np.float64).reshape(-1, 2)
    if not len(keys):
        return np.zeros(2), np.zeros(2)
    o = np.asarray(origin, np.float64)
    return keys.min(0) * tile_size - o, (keys.max(0) + 1) * tile_size - o


def write_tileset(
    work: Path, entries: list[dict], renamed: dict[int, str], labels: dict[str, dict[str, str]], transform: list[float],
    ds_id: str, tile_size: float, options: TileOptions, pool_map: Callable[[Callable, list], Any],
) -> dict:
    """tileset.json over the fine tiles, with the coarse levels above them when the hierarchy
    is on (their GLBs written through ``pool_map``). Returns the tileset and counts."""
    boxes_of = [e.pop("boxes", None) for e in entries]
    if not options.hierarchy or not entries:
        return {"tileset": tiles_mod.tileset_json(entries, transform, ds_id), "coarse_tiles": 0}
    boxes = lod_tree.Boxes.concat(boxes_of)
    if renamed:
        boxes.cols["gml_id"] = np.asarray([renamed.get(r, g) for r, g in zip(boxes.row.tolist(), boxes.cols["gml_id"].tolist())])
    # Each building's cell is its fine tile's corner cell: quadrants split exactly as the tiles.
    corner = np.concatenate([np.repeat([[e["key"][1] << e["key"][0], e["key"][2] << e["key"][0]]], len(b.row), axis=0)
                             for e, b in zip(entries, boxes_of)]).astype(np.int64)
    root = lod_tree.build_tree({tuple(e["key"]): e for e in entries}, boxes, corner)
    tasks = []
    for node in lod_tree.walk(root):
        if node.content is not None:
            name = lod_tree.node_name(node.key)
            node.uri = f"tiles/{name}"
            tasks.append(NodeTask(str(work / "tiles" / name), node.content, labels, options.normals))
    for _ in pool_map(write_node, tasks):
        pass
    return {"tileset": lod_tree.tileset_json(root, transform, ds_id), "coarse_tiles": len(tasks)}
