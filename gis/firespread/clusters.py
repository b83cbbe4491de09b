"""延焼クラスター: groups of buildings through which a fire can run without stopping.

Two buildings are linked when their gap is within the mean of their limit distances
(``gap <= (L_i + L_j) / 2``, x ``large_fire_factor`` for a large fire). Default limit distances
(a secondary source, configurable): 裸木造 12 m, 防火造 6 m, 準耐火 3 m, 耐火 0 m; 不明 uses
防火造's. 耐火 buildings do not burn in this model: they are barriers, never members.

A cluster of n buildings with an outbreak probability p per building burns with probability
``P = 1 - exp(-n p)``. 不燃領域率 (non-combustible area ratio) = 空地率 + (1 - 空地率/100) x 不燃化率.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .classes import StructureClass
from .graph import NeighbourGraph

DEFAULT_LIMITS_M: dict[int, float] = {
    StructureClass.FIREPROOF: 0.0,
    StructureClass.QUASI_FIREPROOF: 3.0,
    StructureClass.PROTECTED_WOOD: 6.0,
    StructureClass.BARE_WOOD: 12.0,
    StructureClass.UNKNOWN: 6.0,
    StructureClass.REMOVED: 0.0,
}
LARGE_FIRE_FACTOR = 1.5
MEMBER_CLASSES = (StructureClass.QUASI_FIREPROOF, StructureClass.PROTECTED_WOOD, StructureClass.BARE_WOOD, StructureClass.UNKNOWN)


def cluster_probability(n, p: float) -> np.ndarray | float:
    """P = 1 - exp(-n p): chance that at least one of n buildings (each p) starts a fire."""
    return 1.0 - np.exp(-np.asarray(n, dtype=np.float64) * p) if np.ndim(n) else 1.0 - float(np.exp(-float(n) * p))


def nonflammable_area_ratio(open_space_pct: float, fireproof_pct: float) -> float:
    """不燃領域率 (%) from 空地率 (%) and 不燃化率 (%)."""
    for name, v in (("空地率", open_space_pct), ("不燃化率", fireproof_pct)):
        if not 0 <= v <= 100:
            raise ValueError(f"{name} must be within 0..100 %, got {v}")
    return open_space_pct + (1.0 - open_space_pct / 100.0) * fireproof_pct


@dataclass
class ClusterResult:
    labels: np.ndarray  # int32 per building: cluster number (0 = largest), -1 not a member
    sizes: np.ndarray  # buildings per cluster, descending
    floor_area_m2: np.ndarray  # per cluster
    large_fire: bool

    @property
    def n_clusters(self) -> int:
        return len(self.sizes)

    def probabilities(self, p: float) -> np.ndarray:
        return cluster_probability(self.sizes, p)

    def to_dict(self, p: float | None = None) -> dict:
        out = {
            "large_fire": self.large_fire,
            "n_clusters": self.n_clusters,
            "sizes": self.sizes.tolist(),
            "floor_area_m2": [round(float(x), 1) for x in self.floor_area_m2],
            "labels": self.labels.tolist(),
        }
        if p is not None:
            out["p_outbreak"] = p
            out["probability"] = [round(float(x), 6) for x in self.probabilities(p)]
        return out


def find_clusters(
    graph: NeighbourGraph,
    classes: np.ndarray,
    *,
    floor_area: np.ndarray | None = None,
    limits_m: dict[int, float] | None = None,
    large_fire: bool = False,
) -> ClusterResult:
    """Clusters over the neighbour graph (which must have been built with max_gap >= the
    largest limit x the factor)."""
    lim_table = {**DEFAULT_LIMITS_M, **(limits_m or {})}
    lim = np.array([lim_table[c] for c in range(len(StructureClass))])
    classes = np.asarray(classes, dtype=np.int64)
    member = np.isin(classes, MEMBER_CLASSES)
    factor = LARGE_FIRE_FACTOR if large_fire else 1.0
    if lim.max() * factor > graph.max_gap + 1e-9:
        raise ValueError(f"graph max_gap {graph.max_gap} m is below the largest limit distance {lim.max() * factor} m")
    i, j = graph.i, graph.j
    link = member[i] & member[j] & (graph.gap <= 0.5 * (lim[classes[i]] + lim[classes[j]]) * factor)
    n = graph.n
    adj = coo_matrix((np.ones(int(link.sum())), (i[link], j[link])), shape=(n, n))
    _, comp = connected_components(adj, directed=False)
    comp = np.where(member, comp, -1)
    ids, inverse, counts = np.unique(comp[member], return_inverse=True, return_counts=True)
    fa = np.ones(n) if floor_area is None else np.where(np.isfinite(floor_area), floor_area, 0.0)
    area = np.bincount(inverse, weights=fa[member], minlength=len(ids))
    # Renumber: largest cluster first (ties by floor area, then first member) for stable output.
    order = np.lexsort((-area, -counts))
    rank = np.empty(len(ids), dtype=np.int32)
    rank[order] = np.arange(len(ids), dtype=np.int32)
    labels = np.full(n, -1, dtype=np.int32)
    labels[member] = rank[inverse]
    return ClusterResult(labels, counts[order].astype(np.int64), area[order], large_fire)
