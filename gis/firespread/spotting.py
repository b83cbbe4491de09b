"""Spotting (飛び火): firebrands carried downwind start fires beyond the radiant reach.

A seeded stochastic process, drawn *before* the run as extra edges ``source -> target`` (the
target is alight ``delay_s`` after the source ignites), so a run stays a pure function of its
seed and both models use the same draws (Hamada adds them to its graph, the physics model
schedules them as events).

Per building that can burn, the number of brands that land *and* start a fire is Poisson with
mean ``rate`` x (floor area / 100 m2) x (V/10)^2 x dryness: brands come from the burning fuel,
lofting grows with the wind's dynamic pressure, and dry air leaves roofs and brands easier to
ignite. Each lands downwind at a log-normal distance (median proportional to the wind speed,
Himoto & Tanaka's transport model gives distances roughly proportional to wind speed) with a
lateral scatter, and starts a fire only if it lands on a building that can burn (within its
roof: the equivalent circle of its footprint). The constants (docs/firespread.md) are set so
that a brand-ignited fire is a rare event per house, as in the post-fire surveys: a fire break
wider than the radiant reach holds in the great majority of runs (tests/firespread), while a
big fire with hundreds of houses alight does throw spot fires.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .model import EdgeTimes
from .weather import Weather


@dataclass(frozen=True)
class SpottingParams:
    rate_per_100m2_at_10ms: float = 0.0015  # brand ignitions per 100 m2 of burning floor, 10 m/s, 50 % RH
    median_distance_at_10ms_m: float = 20.0
    sigma_log: float = 0.7
    lateral_sd: float = 0.2  # lateral scatter as a share of the distance
    delay_s: float = 10 * 60.0  # a smouldering brand to a flaming fire
    min_wind_ms: float = 3.0
    max_distance_m: float = 400.0
    max_per_source: int = 20


def _empty() -> EdgeTimes:
    return EdgeTimes(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))


def spot_edges(
    centroids: np.ndarray, can_burn: np.ndarray, weather: Weather, rng: np.random.Generator,
    params: SpottingParams = SpottingParams(), *, area: np.ndarray | None = None,
    floor_area: np.ndarray | None = None,
) -> EdgeTimes:
    """Extra edges from firebrands for one run. ``centroids``: (N, 2) metres; ``area``: footprint
    m2 (the roof a brand must land on; default 80 m2); ``floor_area``: the fuel (default the
    footprint, one storey)."""
    v = weather.speed_ms
    can_burn = np.asarray(can_burn, dtype=bool)
    if v < params.min_wind_ms or not can_burn.any():
        return _empty()
    n = len(centroids)
    area = np.full(n, 80.0) if area is None else np.asarray(area, dtype=np.float64)
    fuel = area if floor_area is None else np.where(np.isfinite(floor_area), floor_area, area)
    dryness = float(np.clip((100.0 - weather.humidity_pct) / 50.0, 0.0, 2.0))
    sources = np.flatnonzero(can_burn)
    lam = params.rate_per_100m2_at_10ms * fuel[sources] / 100.0 * (v / 10.0) ** 2 * dryness
    count = np.minimum(rng.poisson(lam), params.max_per_source)
    throw = np.repeat(sources, count)
    if len(throw) == 0:
        return _empty()
    dist = np.minimum(
        params.median_distance_at_10ms_m * (v / 10.0) * np.exp(rng.normal(0.0, params.sigma_log, len(throw))),
        params.max_distance_m,
    )
    lateral = rng.normal(0.0, params.lateral_sd, len(throw)) * dist
    b = np.radians(weather.downwind_bearing_deg)
    along, across = np.array([np.sin(b), np.cos(b)]), np.array([np.cos(b), -np.sin(b)])
    land = centroids[throw] + dist[:, None] * along + lateral[:, None] * across
    burnable = np.flatnonzero(can_burn)
    tree = cKDTree(centroids[burnable])
    radius = np.sqrt(area[burnable] / np.pi)  # the roof as its equivalent circle
    d, k = tree.query(land, k=min(4, len(burnable)), distance_upper_bound=float(radius.max()) + 1e-6)
    d, k = np.atleast_2d(d.T).T, np.atleast_2d(k.T).T
    inside = np.isfinite(d) & (d <= radius[np.minimum(k, len(burnable) - 1)])
    first = np.argmax(inside, axis=1)
    hit = inside[np.arange(len(throw)), first]
    src = throw[hit]
    dst = burnable[k[np.arange(len(throw)), first][hit]]
    keep = src != dst
    src, dst = src[keep], dst[keep]
    return EdgeTimes(src.astype(np.int32), dst.astype(np.int32), np.full(len(src), params.delay_s))
