"""Spotting (飛び火): firebrands carried downwind start fires beyond the radiant reach.

A seeded stochastic process, drawn *before* the run as extra edges ``source -> target`` (the
target is alight ``delay_s`` after the source ignites), so a run stays a pure function of its
seed and both models use the same draws (Hamada adds them to its graph, the physics model
schedules them as events).

Per building that can burn, the number of brands that land *and* start a fire is Poisson with
mean ``rate`` x (floor area / 100 m2) x (V/10)^2 x dryness x the target's vulnerability: brands
come from the burning fuel, lofting grows with the wind's dynamic pressure (V: the peak gust when
the weather gives one, else the mean wind), dry air leaves roofs
and brands easier to ignite, and old tiled wooden roofs catch far more easily than mortar or
rated ones. Each brand lands where Himoto & Tanaka's transport model puts it (Fire Safety
Journal 43 (2008), eqs 38-40): downwind of the source's edge at a log-normal distance with mean
0.47 B*^(2/3) D and standard deviation 0.88 B*^(1/3) D, across the wind normally with standard
deviation 0.92 D, where D = sqrt(floor area) and B* the dimensionless group of the wind, the brand
(100 kg/m3, 5 mm) and the fire's heat release Q. It starts a fire only on a building that can
burn (its roof: the equivalent circle of its footprint). ``rate`` is calibrated on the 2016
Itoigawa fire (10-15 spot fires among ~147 burnt buildings at 9-14 m/s; docs/firespread.md).
Known gap: one building's plume does not loft brands as far as a burning block's, so the
150 m+ spot fires of Itoigawa are out of reach of this distribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .model import EdgeTimes
from .weather import Weather


@dataclass(frozen=True)
class SpottingParams:
    rate_per_100m2_at_10ms: float = 0.005  # igniting brands per 100 m2 of burning floor at 10 m/s, 50 % RH (calibrated)
    hrr_kw_per_floor_m2: float = 200.0  # Q of a fully involved building, for B* (~30 MW for 160 m2)
    brand_density: float = 100.0  # kg/m3 (HT08)
    brand_diameter_m: float = 0.005
    air_density: float = 1.1
    air_cp: float = 1.0  # kJ/kg K
    air_t_k: float = 300.0
    delay_s: float = 12 * 60.0  # source ignition to a flaming spot fire: ~7 min to full involvement + ~5 min smouldering
    min_wind_ms: float = 3.0
    max_distance_m: float = 400.0
    max_per_source: int = 20
    # Share of brands landing on a building of this class that start a fire there (by class int):
    # old tiled wooden roofs caught in the NILIM/BRI wind-tunnel tests; mortar and rated ones less.
    vulnerability: tuple = (0.0, 0.1, 0.5, 1.0, 0.5, 0.0)


def landing_params(wind_ms: float, floor_area: np.ndarray, params: SpottingParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log-normal mu, sigma of the downwind distance, crosswind sd) per source (HT08 eqs 38-40)."""
    g = 9.81
    d = np.sqrt(np.maximum(floor_area, 1.0))
    q = params.hrr_kw_per_floor_m2 * np.maximum(floor_area, 1.0)
    b = ((wind_ms / np.sqrt(g * d)) * (params.brand_density * params.brand_diameter_m / (params.air_density * d)) ** -0.75
         * np.sqrt(q / (params.air_density * params.air_cp * params.air_t_k * np.sqrt(g) * d ** 2.5)))
    mean, sd = 0.47 * b ** (2 / 3) * d, 0.88 * b ** (1 / 3) * d
    s2 = np.log1p((sd / mean) ** 2)
    return np.log(mean) - s2 / 2, np.sqrt(s2), 0.92 * d


def _empty() -> EdgeTimes:
    return EdgeTimes(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))


def spot_edges(
    centroids: np.ndarray, can_burn: np.ndarray, weather: Weather, rng: np.random.Generator,
    params: SpottingParams = SpottingParams(), *, area: np.ndarray | None = None,
    floor_area: np.ndarray | None = None, classes: np.ndarray | None = None,
) -> EdgeTimes:
    """Extra edges from firebrands for one run. ``centroids``: (N, 2) metres; ``area``: footprint
    m2 (the roof a brand must land on; default 80 m2); ``floor_area``: the fuel (default the
    footprint, one storey); ``classes``: the targets' vulnerability (default: every brand that
    lands on a building that can burn starts a fire)."""
    v = weather.speed_ms
    can_burn = np.asarray(can_burn, dtype=bool)
    if v < params.min_wind_ms or not can_burn.any():
        return _empty()
    n = len(centroids)
    area = np.full(n, 80.0) if area is None else np.asarray(area, dtype=np.float64)
    fuel = area if floor_area is None else np.where(np.isfinite(floor_area), floor_area, area)
    dryness = float(np.clip((100.0 - weather.humidity_pct) / 50.0, 0.0, 2.0))
    sources = np.flatnonzero(can_burn)
    lam = params.rate_per_100m2_at_10ms * fuel[sources] / 100.0 * (weather.lofting_ms / 10.0) ** 2 * dryness
    count = np.minimum(rng.poisson(lam), params.max_per_source)
    throw = np.repeat(sources, count)
    if len(throw) == 0:
        return _empty()
    mu, sigma, sd_y = landing_params(v, fuel[throw], params)
    edge = np.sqrt(area[throw]) / 2  # distances are from the downwind edge of the source
    dist = np.minimum(edge + np.exp(mu + sigma * rng.standard_normal(len(throw))), params.max_distance_m)
    lateral = rng.normal(0.0, 1.0, len(throw)) * sd_y
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
    if classes is not None:  # the target's roof decides whether the brand starts a fire
        vul = np.asarray(params.vulnerability)[np.asarray(classes)[dst]]
        keep &= rng.random(len(dst)) < vul
    src, dst = src[keep], dst[keep]
    return EdgeTimes(src.astype(np.int32), dst.astype(np.int32), np.full(len(src), params.delay_s))
