"""Spotting (飛び火): firebrands carried downwind start fires beyond the neighbour graph.

A seeded stochastic process, drawn *before* the graph search as extra edges: each building
that can burn throws, with probability ``p``, one brand that lands downwind at a log-normal
distance with a little directional scatter; the nearest building that can burn within
``catch_radius_m`` of the landing point gets an edge ``source -> target`` of ``delay_s``.
Drawing per source (not per burning event) keeps the search a plain shortest path and makes a
run a pure function of its seed. Brands are only thrown with wind >= ``min_wind_ms``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .model import EdgeTimes
from .weather import Weather


@dataclass(frozen=True)
class SpottingParams:
    p_at_10ms: float = 0.03  # brand ignitions per burning wooden building at 10 m/s, 50 % RH
    median_distance_at_10ms_m: float = 40.0
    sigma_log: float = 0.6
    scatter_deg: float = 15.0
    catch_radius_m: float = 8.0
    delay_s: float = 20 * 60.0  # smouldering brand to a fire that can spread on
    min_wind_ms: float = 3.0
    max_distance_m: float = 400.0


def spot_edges(
    centroids: np.ndarray, can_burn: np.ndarray, weather: Weather, rng: np.random.Generator,
    params: SpottingParams = SpottingParams(),
) -> EdgeTimes:
    """Extra edges from firebrands for one run. ``centroids``: (N, 2) metres."""
    empty = EdgeTimes(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
    v = weather.speed_ms
    if v < params.min_wind_ms or not can_burn.any():
        return empty
    # Stronger wind -> more brands (squared, like the lofting force); drier air -> more catch.
    dryness = np.clip((100.0 - weather.humidity_pct) / 50.0, 0.0, 2.0)
    p = min(0.5, params.p_at_10ms * (v / 10.0) ** 2 * dryness)
    sources = np.flatnonzero(can_burn)
    throw = sources[rng.random(len(sources)) < p]
    if len(throw) == 0:
        return empty
    dist = np.minimum(
        params.median_distance_at_10ms_m * (v / 10.0) * np.exp(rng.normal(0.0, params.sigma_log, len(throw))),
        params.max_distance_m,
    )
    bearing = np.radians(weather.downwind_bearing_deg + rng.normal(0.0, params.scatter_deg, len(throw)))
    land = centroids[throw] + np.column_stack([np.sin(bearing), np.cos(bearing)]) * dist[:, None]
    burnable = np.flatnonzero(can_burn)
    tree = cKDTree(centroids[burnable])
    d, k = tree.query(land, distance_upper_bound=params.catch_radius_m)
    hit = np.isfinite(d)
    src = throw[hit]
    dst = burnable[k[hit]]
    keep = src != dst
    src, dst = src[keep], dst[keep]
    return EdgeTimes(src.astype(np.int32), dst.astype(np.int32), np.full(len(src), params.delay_s))
