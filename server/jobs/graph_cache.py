"""Per-process LRU caches for the simulation workers: building tables and neighbour graphs.

A worker process lives for many jobs, so the second simulation on a dataset skips the graph
build (the slowest step before the search). The graph depends only on the footprints after the
scenario's measures and its fire walls (and the max gap), so the key is the dataset, the table
file's mtime and a digest of those: a measure that moves or removes a building or adds a wall
gets its own graph, a weather change, a rebuild to 耐火 or a change of model reuses it.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
import shapely

from yakuba.gis.firespread.graph import DEFAULT_MAX_GAP_M, NeighbourGraph, build_graph

GRAPHS_KEPT = 8
TABLES_KEPT = 4

_graphs: OrderedDict[tuple, NeighbourGraph] = OrderedDict()
_tables: OrderedDict[tuple, object] = OrderedDict()
stats = {"graph_builds": 0, "graph_hits": 0}


def table_for(data_dir: Path, dataset: str):
    """(BuildingTable, (dataset, mtime_ns)) - reloaded when the file changes (a re-import)."""
    from yakuba.gis.buildings import BuildingTable

    path = Path(data_dir) / "datasets" / dataset / "buildings.npz"
    key = (dataset, path.stat().st_mtime_ns)
    t = _tables.get(key)
    if t is None:
        t = BuildingTable.load(path)
        _tables[key] = t
        while len(_tables) > TABLES_KEPT:
            _tables.popitem(last=False)
    else:
        _tables.move_to_end(key)
    return t, key


def footprints_digest(footprints: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=16)
    for wkb in shapely.to_wkb(np.asarray(footprints, dtype=object)):
        h.update(b"-" if wkb is None else wkb)
        h.update(b"|")
    return h.hexdigest()


def graph_for(table_key: tuple, footprints: np.ndarray, walls: list | None = None, hit: list | None = None,
              max_gap: float = DEFAULT_MAX_GAP_M) -> NeighbourGraph:
    """The neighbour graph for these footprints and walls, built once per process per key.
    ``hit`` (optional list) gets True appended on a cache hit, False on a build."""
    walls = list(walls or [])
    key = (*table_key, max_gap, footprints_digest(footprints), footprints_digest(np.asarray(walls, dtype=object)) if walls else "")
    g = _graphs.get(key)
    was_hit = g is not None
    if was_hit:
        _graphs.move_to_end(key)
        stats["graph_hits"] += 1
    else:
        g = build_graph(footprints, max_gap=max_gap, walls=walls or None)
        stats["graph_builds"] += 1
        _graphs[key] = g
        while len(_graphs) > GRAPHS_KEPT:
            _graphs.popitem(last=False)
    if hit is not None:
        hit.append(was_hit)
    return g


def clear() -> None:
    _graphs.clear()
    _tables.clear()
    stats.update(graph_builds=0, graph_hits=0)


__all__ = ["clear", "footprints_digest", "graph_for", "stats", "table_for"]
