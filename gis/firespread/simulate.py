"""One simulation run: a model made ready for the layout and weather, ignition times, series.

For Hamada a building ignites when the first fire front reaches it (Tsujihara et al. 2003):
with edge weights = spread times, that is Dijkstra from all ignition points at once
(``scipy.sparse.csgraph.dijkstra(min_only=True)``), cut at the time horizon (:class:`SpreadGraph`).
The physics model (physics.py) steps time instead, since heat from several burning buildings adds
up. Both sit behind ``model.SpreadModel``; spotting (spotting.py) and suppression
(suppression.py) work on either.
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
from .suppression import Containment, contain
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

    def ignition_times(self, sources: np.ndarray, horizon_s: float, brands: EdgeTimes | None = None) -> np.ndarray:
        g = self
        if brands is not None and len(brands.src):
            c = self.csr.tocoo()
            merged = EdgeTimes(np.concatenate([c.row, brands.src]), np.concatenate([c.col, brands.dst]),
                               np.concatenate([c.data, brands.seconds]))
            g = SpreadGraph(self.n, to_csr(self.n, merged), self.burns, self.burn_duration_s, self.area)
        t = earliest_arrival(g, sources, horizon_s)
        t[~self.burns] = np.inf
        return t


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


def prepare(graph: NeighbourGraph, classes: np.ndarray, weather: Weather, model: SpreadModel | None = None,
            height: np.ndarray | None = None):
    """The model made ready for this layout and weather (model.Prepared)."""
    return (model or HamadaModel()).prepare(graph, np.asarray(classes), weather, height)


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
    n_spot_fires: int = 0  # buildings a brand set alight (before the front reached them)
    model: str = "hamada"
    containment: Containment | None = None  # suppression's outcome, when it was on

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
    height: np.ndarray | None = None,
    floor_area: np.ndarray | None = None,
    suppression=None,
    step_s: float = 600.0,
    progress: Progress = _noop,
) -> SimulationResult:
    """One run. ``sources``: row numbers alight at t = 0 (those that cannot burn are ignored).

    With ``spotting`` (and ``centroids``), firebrand edges are drawn from ``seed``: the same
    seed gives the same result. ``suppression`` (scenarios.Suppression): brigades contain the
    fire once they can hold its whole front (suppression.py); nothing ignites after that.
    """
    model = model or HamadaModel()
    classes = np.asarray(classes)
    horizon = float(hours) * 3600.0
    brands = None
    if spotting is not None:
        if centroids is None:
            raise ValueError("spotting needs building centroids")
        rng = np.random.default_rng(seed)
        brands = spot_edges(centroids, model.burns(classes), weather, rng, spotting, area=graph.area,
                            floor_area=floor_area, classes=classes)
    progress(0.1, "edges")
    ready = model.prepare(graph, classes, weather, height)
    src = np.asarray(sources, dtype=np.int64)
    src = src[ready.burns[src]] if len(src) else src
    progress(0.3, "search")
    t = ready.ignition_times(src, horizon, brands)
    n_spot = 0
    if brands is not None and len(brands.src):
        # A spot fire is a building whose ignition time is its brand's (within a minute: the
        # physics model applies brands at its time steps), i.e. the front had not reached it.
        tb = t[brands.src] + brands.seconds
        td = t[brands.dst]
        ok = np.isfinite(tb) & np.isfinite(td)
        n_spot = int(len(np.unique(brands.dst[ok][np.abs(td[ok] - tb[ok]) <= 60.0])))
    containment = None
    if suppression is not None:
        t, containment = contain(t, ready.burn_duration_s, graph, suppression, ready.burns)
    progress(0.9, "series")
    st, sa, sb = burnt_series(t, ready.area, horizon, step_s)
    progress(1.0, "done")
    return SimulationResult(
        ignition_s=t, burn_end_s=t + ready.burn_duration_s, sources=src, horizon_s=horizon,
        series_t_s=st, series_burnt_area_m2=sa, series_buildings=sb,
        n_spot_edges=0 if brands is None else len(brands.src), n_spot_fires=n_spot, model=model.name, containment=containment,
    )


def centroids_of(footprints) -> np.ndarray:
    geoms = np.asarray(footprints, dtype=object)
    c = shapely.get_coordinates(shapely.centroid(geoms))
    out = np.full((len(geoms), 2), np.nan)
    ne = ~shapely.is_empty(geoms)
    out[ne] = c
    return out
