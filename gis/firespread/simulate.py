"""Ignition times as earliest arrival: a multi-source shortest path over the neighbour graph.

A building ignites when the first fire front reaches it (Tsujihara et al. 2003): with edge
weights = spread times, that is Dijkstra from all ignition points at once
(``scipy.sparse.csgraph.dijkstra(min_only=True)``), cut at the time horizon.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import shapely
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra

from .graph import NeighbourGraph
from .model import EdgeTimes, HamadaModel, SpreadModel
from .spotting import SpottingParams, spot_edges
from .weather import Weather

Progress = Callable[[float, str], None]  # (fraction 0..1, stage) -> None


def _noop(_f: float, _s: str) -> None:
    return None


@dataclass
class SpreadGraph:
    """Edge times for one (layout, classes, weather, model) as a CSR matrix, reusable across
    ignition points (the Monte Carlo runs many searches on one of these)."""

    n: int
    csr: csr_matrix
    burns: np.ndarray  # bool per building
    burn_duration_s: np.ndarray
    area: np.ndarray  # footprint m2 per building


def to_csr(n: int, edges: EdgeTimes, *, unique: bool = False) -> csr_matrix:
    """CSR with, for duplicate (src, dst) pairs, the *shortest* time (a plain COO->CSR
    conversion would add them up). ``unique``: the caller guarantees no duplicates (the
    neighbour graph's pairs are unique), which skips the costly sort."""
    src, dst, w = edges.src, edges.dst, edges.seconds
    if unique:
        return coo_matrix((w, (src, dst)), shape=(n, n)).tocsr()
    src, dst = src.astype(np.int64), dst.astype(np.int64)
    if len(src):
        order = np.lexsort((w, dst, src))
        src, dst, w = src[order], dst[order], w[order]
        first = np.ones(len(src), dtype=bool)
        first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
        src, dst, w = src[first], dst[first], w[first]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return csr_matrix((w, dst, indptr), shape=(n, n))


def _merge(a: EdgeTimes, b: EdgeTimes) -> EdgeTimes:
    return EdgeTimes(np.concatenate([a.src, b.src]), np.concatenate([a.dst, b.dst]), np.concatenate([a.seconds, b.seconds]))


def prepare(
    graph: NeighbourGraph, classes: np.ndarray, weather: Weather, model: SpreadModel | None = None,
    *, extra: EdgeTimes | None = None,
) -> SpreadGraph:
    model = model or HamadaModel()
    classes = np.asarray(classes)
    edges = model.edge_times(graph, classes, weather)
    unique = True
    if extra is not None and len(extra.src):
        edges = _merge(edges, extra)
        unique = False
    return SpreadGraph(graph.n, to_csr(graph.n, edges, unique=unique), model.burns(classes), model.burn_duration_s(classes), graph.area)


def earliest_arrival(spread: SpreadGraph, sources: np.ndarray, horizon_s: float) -> np.ndarray:
    """Seconds to ignition per building; inf when not reached within the horizon."""
    sources = np.unique(np.asarray(sources, dtype=np.int64))
    if len(sources) == 0:
        return np.full(spread.n, np.inf)
    return dijkstra(spread.csr, directed=True, indices=sources, min_only=True, limit=horizon_s)


@dataclass
class SimulationResult:
    ignition_s: np.ndarray  # float64 per building; inf = not reached within the horizon
    burn_end_s: np.ndarray  # ignition + burn duration (inf when never ignited)
    sources: np.ndarray
    horizon_s: float
    series_t_s: np.ndarray  # time steps of the series
    series_burnt_area_m2: np.ndarray  # footprint area ignited by t (burning or burnt out)
    series_buildings: np.ndarray  # buildings ignited by t
    n_spot_edges: int = 0

    @property
    def burnt(self) -> np.ndarray:
        return np.isfinite(self.ignition_s)

    def summary(self, floor_area: np.ndarray, footprint_area: np.ndarray) -> dict:
        b = self.burnt
        fa = np.where(np.isfinite(floor_area), floor_area, footprint_area)  # unknown floor area: one storey
        return {
            "buildings_burnt": int(b.sum()),
            "floor_area_burnt_m2": round(float(fa[b].sum()), 1),
            "footprint_area_burnt_m2": round(float(footprint_area[b].sum()), 1),
        }


def burnt_series(ignition_s: np.ndarray, area: np.ndarray, horizon_s: float, step_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.arange(0.0, horizon_s + step_s * 0.5, step_s)
    fin = np.isfinite(ignition_s)
    order = np.argsort(ignition_s[fin], kind="stable")
    times = ignition_s[fin][order]
    cum_area = np.concatenate([[0.0], np.cumsum(area[fin][order])])
    k = np.searchsorted(times, t, side="right")
    return t, cum_area[k], k.astype(np.int64)


def simulate(
    graph: NeighbourGraph,
    classes: np.ndarray,
    weather: Weather,
    sources,
    *,
    hours: float = 24.0,
    model: SpreadModel | None = None,
    spotting: SpottingParams | None = None,
    seed: int = 0,
    centroids: np.ndarray | None = None,
    step_s: float = 600.0,
    progress: Progress = _noop,
) -> SimulationResult:
    """One run. ``sources``: row numbers alight at t = 0 (those that cannot burn are ignored).

    With ``spotting`` (and ``centroids``), firebrand edges are drawn from ``seed``: the same
    seed gives the same result.
    """
    model = model or HamadaModel()
    classes = np.asarray(classes)
    horizon = float(hours) * 3600.0
    extra = None
    if spotting is not None:
        if centroids is None:
            raise ValueError("spotting needs building centroids")
        rng = np.random.default_rng(seed)
        extra = spot_edges(centroids, model.burns(classes), weather, rng, spotting)
    progress(0.1, "edges")
    spread = prepare(graph, classes, weather, model, extra=extra)
    src = np.asarray(sources, dtype=np.int64)
    src = src[spread.burns[src]] if len(src) else src
    progress(0.5, "search")
    t = earliest_arrival(spread, src, horizon)
    t[~spread.burns] = np.inf
    progress(0.9, "series")
    st, sa, sb = burnt_series(t, spread.area, horizon, step_s)
    progress(1.0, "done")
    return SimulationResult(
        ignition_s=t, burn_end_s=t + spread.burn_duration_s, sources=src, horizon_s=horizon,
        series_t_s=st, series_burnt_area_m2=sa, series_buildings=sb,
        n_spot_edges=0 if extra is None else len(extra.src),
    )


def centroids_of(footprints) -> np.ndarray:
    geoms = np.asarray(footprints, dtype=object)
    c = shapely.get_coordinates(shapely.centroid(geoms))
    out = np.full((len(geoms), 2), np.nan)
    ne = ~shapely.is_empty(geoms)
    out[ne] = c
    return out
