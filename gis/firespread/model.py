"""Edge spread times: how long fire takes to go from a burning building to a neighbour.

The model sits behind :class:`SpreadModel` so a physics-based model (radiation / flame contact
from heat release rates) can replace the empirical one without touching the graph search.

:class:`HamadaModel` is Hamada's empirical formula (浜田式, 1951; as transcribed in ELMFIRE's
``HAMADA`` routine and firebench's ``surface_for_urban.py``; see docs/firespread.md). In minutes,
with a = building side (m), d = gap (m), V = wind (m/s), c' = share of fire-protected wooden
(防火造) buildings::

    T_down  = [(1-c')(3 + 3a/8 + 8d/(25+2.5V)) + c'(5 + 5a/8 + 16d/(25+2.5V))] / [k(1+0.1V+0.007V²)]
    T_cross = [(1-c')(3 + 3a/8 + 8d/(5+0.25V)) + c'(5 + 5a/8 + 16d/(5+0.25V))] / (1+0.005V²)
    T_up    = [(1-c')(3 + 3a/8 + 8d/(5+0.2V))  + c'(5 + 5a/8 + 16d/(5+0.2V))]  / (1+0.002V²)

k = 1.6 (ELMFIRE; firebench uses 1.5) divides the downwind time only, as in both sources. Speeds
are (a+d)/T. For V <= 10 m/s ELMFIRE blends the three speeds towards one isotropic value
("HAZUS correction"), because at low wind the k on the downwind time alone would make a still
day anisotropic; we do the same (``low_wind_blend=True``). Between the three directions the
speed follows firebench's double half-ellipse in the angle between the wind and the edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from .classes import StructureClass
from .graph import NeighbourGraph
from .weather import Weather

# ELMFIRE's HAMADA evaluates its "distance after X_T minutes" at 120 min for the blend weights.
_BLEND_HORIZON_MIN = 120.0


def hamada_times(a, d, v, c, k: float = 1.6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T_down, T_cross, T_up) in minutes for one building + gap; arrays broadcast."""
    a = np.asarray(a, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    base0 = 3.0 + 3.0 * a / 8.0
    base1 = 5.0 + 5.0 * a / 8.0

    def t(den: np.ndarray, div: np.ndarray) -> np.ndarray:
        return ((1.0 - c) * (base0 + 8.0 * d / den) + c * (base1 + 16.0 * d / den)) / div

    t_down = t(25.0 + 2.5 * v, k * (1.0 + 0.1 * v + 0.007 * v * v))
    t_cross = t(5.0 + 0.25 * v, 1.0 + 0.005 * v * v)
    t_up = t(5.0 + 0.2 * v, 1.0 + 0.002 * v * v)
    return t_down, t_cross, t_up


def hamada_speeds(a, d, v, c, k: float = 1.6, low_wind_blend: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(downwind, crosswind, upwind) spread speeds in m/min.

    With ``low_wind_blend`` and V <= 10 m/s, ELMFIRE's HAZUS correction: speeds are mixed with
    weight V/10 with an isotropic speed built from the distances reached after 120 min.
    """
    a = np.asarray(a, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64)
    v = np.broadcast_to(np.asarray(v, dtype=np.float64), np.broadcast(a, d, np.asarray(v), np.asarray(c)).shape)
    t_d, t_s, t_u = hamada_times(a, d, v, c, k)
    unit = a + d
    v_d = np.maximum(unit / t_d, 1e-10)
    v_s = np.maximum(unit / t_s, 1e-10)
    v_u = np.maximum(unit / t_u, 1e-10)
    if not low_wind_blend:
        return v_d, v_s, v_u
    x = _BLEND_HORIZON_MIN
    k_d = np.maximum(unit / t_d * x, 1e-10)
    k_s = np.maximum((a / 2 + d) + unit / t_s * (x - t_s), 1e-10)
    k_u = np.maximum((a / 2 + d) + unit / t_u * (x - t_u), 1e-10)
    iso = (k_d * v_s + v_d * k_s + k_u * v_s + v_u * k_s) * np.sqrt(2.0 / (k_d + k_u) / k_s) / 4.0
    w = np.clip(v / 10.0, 0.0, 1.0)
    low = v <= 10.0
    v_d = np.where(low, np.maximum(v_d * w + iso * (1 - w), 1e-10), v_d)
    v_s = np.where(low, np.maximum(v_s * w + iso * (1 - w), 1e-10), v_s)
    v_u = np.where(low, np.maximum(v_u * w + iso * (1 - w), 1e-10), v_u)
    return v_d, v_s, v_u


def directional_speed(v_d, v_s, v_u, cos_theta) -> np.ndarray:
    """Speed along a direction at angle theta from downwind (firebench's double half-ellipse):
    an ellipse through v_d and v_s ahead of the wind normal, one through v_s and v_u behind it.
    Gives exactly v_d at 0°, v_s at 90°, v_u at 180° and varies monotonically in between."""
    v_d, v_s, v_u, ct = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (v_d, v_s, v_u, cos_theta)))
    e = (v_d - v_s) / v_d
    a_ell = v_d * v_d / (2 * v_d - v_s)
    ahead = a_ell * (1 - e * e) / (1 - e * ct)
    behind = v_s * v_u / np.sqrt(v_u * v_u * (1 - ct * ct) + v_s * v_s * ct * ct)
    return np.where(ct >= 0, ahead, behind)


@dataclass(frozen=True)
class ClassParams:
    """Per structure class. Times in seconds, distances in metres."""

    burns: bool
    c_prime: float = 0.0  # Hamada's c' contribution (1 = fire-protected wooden)
    time_factor: float = 1.0  # multiplies the Hamada time when this class is the one reached
    ignition_delay_s: float = 0.0  # extra time before a reached building is alight
    burn_duration_s: float = 3600.0  # it can pass fire on only while burning
    max_distance_m: float = 0.0  # no spread from this class across a wider gap (no wind)


# Planning defaults; sources and reasoning in docs/firespread.md. 不明 spreads like 防火造, the
# most common wooden type in post-1970 housing, rather than silently like the worst case.
DEFAULT_CLASS_PARAMS: dict[int, ClassParams] = {
    StructureClass.FIREPROOF: ClassParams(burns=False),
    StructureClass.QUASI_FIREPROOF: ClassParams(True, 1.0, 1.5, 15 * 60.0, 90 * 60.0, 6.0),
    StructureClass.PROTECTED_WOOD: ClassParams(True, 1.0, 1.0, 0.0, 60 * 60.0, 10.0),
    StructureClass.BARE_WOOD: ClassParams(True, 0.0, 1.0, 0.0, 45 * 60.0, 15.0),
    StructureClass.UNKNOWN: ClassParams(True, 1.0, 1.0, 0.0, 60 * 60.0, 10.0),
    StructureClass.REMOVED: ClassParams(burns=False),
}


@dataclass(frozen=True)
class EdgeTimes:
    """Feasible directed edges and their spread time in seconds (source alight -> target alight)."""

    src: np.ndarray
    dst: np.ndarray
    seconds: np.ndarray


class Prepared(Protocol):
    """A model made ready for one (layout, classes, weather): runs many ignitions cheaply."""

    n: int
    burns: np.ndarray  # bool per building
    burn_duration_s: np.ndarray
    area: np.ndarray  # footprint m2 per building

    def ignition_times(self, sources: np.ndarray, horizon_s: float, brands: EdgeTimes | None = None) -> np.ndarray:
        """Seconds to ignition per building (inf: not within the horizon). ``brands``: spot-fire
        edges drawn for this run (spotting.py): the target is alight ``seconds`` after the source."""
        ...


class SpreadModel(Protocol):
    """What a simulation needs from a spread model (Hamada here, physics.py the other)."""

    name: str

    def burns(self, classes: np.ndarray) -> np.ndarray: ...

    def prepare(self, graph: NeighbourGraph, classes: np.ndarray, weather: Weather,
                height: np.ndarray | None = None) -> Prepared: ...


def _table(params: dict[int, ClassParams], attr: str) -> np.ndarray:
    return np.array([float(getattr(params[c], attr)) for c in range(len(StructureClass))])


def equivalent_gap(side: np.ndarray, gap: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Hamada's d for an edge: the gap scaled to the building's nominal side a.

    The edge's centroid distance is a chord through the two half buildings plus the gap; the
    formula's unit is a + d for square houses side by side. Scaling the gap by a / chord makes a
    row of squares give d, and two squares meeting corner to corner (a lattice seen along its
    diagonal: chord and gap both x sqrt 2) give d too, so the front speed is the formula's
    whatever the grid's angle to the wind."""
    chord = np.maximum(dist - gap, 0.5)
    return gap * side / chord


@dataclass
class HamadaModel:
    """Hamada edge times on the neighbour graph (see module docstring).

    An edge's time is its centroid distance over the formula's speed in the edge's direction,
    with the pair's equivalent gap (:func:`equivalent_gap`). Because the speed at any angle is
    at most the downwind speed and the double half-ellipse's reach along the wind is never more
    than the downwind speed (its "x" extent peaks at 0 deg), no path through the graph, however
    it zigzags or skips, outruns the formula; and since the graph links only buildings that face
    each other (graph.py), a 耐火 building shields those behind it."""

    k: float = 1.6
    low_wind_blend: bool = True
    # Downwind the flames lean and reach further: the max distance grows by this share per m/s
    # of wind along the edge (capped at 15 m/s, i.e. x1.5), like the x1.5 large-fire limit.
    downwind_reach_per_ms: float = 1.0 / 30.0
    side_min_m: float = 3.0  # clamp Hamada's a: tiny sheds and huge halls are outside its fit
    side_max_m: float = 30.0
    params: dict[int, ClassParams] = field(default_factory=lambda: dict(DEFAULT_CLASS_PARAMS))
    name: str = "hamada"

    def with_params(self, **changes: ClassParams) -> "HamadaModel":
        return replace(self, params={**self.params, **changes})

    def burns(self, classes: np.ndarray) -> np.ndarray:
        return _table(self.params, "burns").astype(bool)[classes]

    def burn_duration_s(self, classes: np.ndarray) -> np.ndarray:
        return _table(self.params, "burn_duration_s")[classes]

    def reach_m(self, cls: int, wind_ms: float) -> float:
        """The widest gap this class's fire crosses downwind at this wind (no spotting)."""
        return float(self.params[cls].max_distance_m) * (1.0 + self.downwind_reach_per_ms * min(wind_ms, 15.0))

    def edge_times(self, graph: NeighbourGraph, classes: np.ndarray, weather: Weather) -> EdgeTimes:
        classes = np.asarray(classes, dtype=np.int64)
        src, dst, gap, bearing = graph.directed()
        dist = graph.both(graph.dist)
        burns = _table(self.params, "burns").astype(bool)
        ok = burns[classes[src]] & burns[classes[dst]]
        src, dst, gap, bearing, dist = src[ok], dst[ok], gap[ok], bearing[ok], dist[ok]
        cs, cd = classes[src], classes[dst]
        v = weather.speed_ms
        cos_t = np.cos(np.radians(bearing - weather.downwind_bearing_deg)) if v > 0 else np.zeros(len(src))
        reach = 1.0 + self.downwind_reach_per_ms * min(v, 15.0) * np.maximum(cos_t, 0.0)
        ok = gap <= _table(self.params, "max_distance_m")[cs] * reach
        src, dst, gap, cos_t, cs, cd, dist = src[ok], dst[ok], gap[ok], cos_t[ok], cs[ok], cd[ok], dist[ok]
        a = np.clip(graph.side[src], self.side_min_m, self.side_max_m)
        cp = _table(self.params, "c_prime")
        c = 0.5 * (cp[cs] + cp[cd])  # the pair's share of protected wooden buildings
        d_eq = equivalent_gap(a, gap, dist)
        v_d, v_s, v_u = hamada_speeds(a, d_eq, v, c, self.k, self.low_wind_blend)
        speed = directional_speed(v_d, v_s, v_u, cos_t)  # m/min
        minutes = dist / speed * _table(self.params, "time_factor")[cd]
        seconds = minutes * 60.0
        # The source must still be burning when the front crosses the gap.
        ok = seconds <= _table(self.params, "burn_duration_s")[cs]
        seconds = seconds + _table(self.params, "ignition_delay_s")[cd]
        return EdgeTimes(src[ok].astype(np.int32), dst[ok].astype(np.int32), seconds[ok])

    def prepare(self, graph: NeighbourGraph, classes: np.ndarray, weather: Weather,
                height: np.ndarray | None = None) -> "Prepared":
        from .simulate import SpreadGraph, to_csr

        classes = np.asarray(classes)
        edges = self.edge_times(graph, classes, weather)
        return SpreadGraph(graph.n, to_csr(graph.n, edges, unique=True), self.burns(classes),
                           self.burn_duration_s(classes), graph.area)
