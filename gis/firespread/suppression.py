"""Suppression (消防活動) as a planning assumption: brigades that contain the fire once they can
hold its whole front.

The classic fire-fighting-capacity judgement of Japanese planning models (消防力による延焼阻止):
the first brigade arrives ``delay_min`` after ignition and one more every ``interval_min`` until
``brigades`` are there; each holds ``front_m`` metres of fire front. The fire is contained at the
first moment the brigades on site can hold the whole front; from then on nothing new ignites
(buildings already alight burn out). Before that the fire spreads freely: brigades fighting a
front longer than they can hold are assumed not to slow its head, which is what happened in the
wind-driven town fires (the head ran until the coast or a river).

The *front* at time t is the facade length (graph.width; at least ``MIN_FACE_M`` for buildings
meeting corner to corner) of burning buildings facing a building that can still burn, across
a gap of at most ``FRONT_GAP_M``. It works on the ignition times of either model, after the run:
containment is exact for this rule because spread is monotone in time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .graph import NeighbourGraph

FRONT_GAP_M = 10.0  # wider gaps than this are not a front a brigade has to hold
MIN_FACE_M = 3.0
STEP_S = 60.0


@dataclass
class Containment:
    contained_s: float | None  # None: the brigades never held the front within the horizon
    spared: int  # buildings the free-burning run ignited after containment
    t_s: np.ndarray  # minutes grid (seconds) of the two series below
    front_m: np.ndarray
    capacity_m: np.ndarray

    def to_dict(self) -> dict:
        return {"contained_s": None if self.contained_s is None else round(self.contained_s),
                "spared": self.spared, "peak_front_m": round(float(self.front_m.max()), 1) if len(self.front_m) else 0.0}


def capacity(t_s: np.ndarray, sup) -> np.ndarray:
    """Metres of front the brigades on site can hold at each time."""
    delay, interval = sup.delay_min * 60.0, sup.interval_min * 60.0
    if interval <= 0:
        arrived = np.where(t_s >= delay, sup.brigades, 0)
    else:
        arrived = np.clip(np.floor((t_s - delay) / interval) + 1, 0, sup.brigades)
    return arrived * sup.front_m


def front_length(ignition_s: np.ndarray, burn_duration_s: np.ndarray, burns: np.ndarray, graph: NeighbourGraph,
                 t_s: np.ndarray) -> np.ndarray:
    """Front length (m) at each time of ``t_s`` (module docstring)."""
    src, dst, gap, _ = graph.directed()
    width = np.maximum(graph.both(graph.width), MIN_FACE_M)
    ok = (gap <= FRONT_GAP_M) & burns[src] & burns[dst] & np.isfinite(ignition_s[src])
    src, dst, width = src[ok], dst[ok], width[ok]
    start = ignition_s[src]
    end = np.minimum(start + burn_duration_s[src], ignition_s[dst])  # until burnt out or the target is alight
    live = end > start
    step = t_s[1] - t_s[0] if len(t_s) > 1 else STEP_S
    i0 = np.clip(np.ceil(start[live] / step).astype(np.int64), 0, len(t_s))
    i1 = np.clip(np.ceil(np.minimum(end[live], t_s[-1] + step) / step).astype(np.int64), 0, len(t_s))
    diff = np.zeros(len(t_s) + 1)
    np.add.at(diff, i0, width[live])
    np.add.at(diff, i1, -width[live])
    return np.cumsum(diff)[:-1]


def contain(ignition_s: np.ndarray, burn_duration_s: np.ndarray, graph: NeighbourGraph, sup,
            burns: np.ndarray | None = None) -> tuple[np.ndarray, Containment]:
    """(ignition times with what burns after containment removed, the containment)."""
    burns = np.isfinite(burn_duration_s) & (burn_duration_s > 0) if burns is None else burns
    fin = np.isfinite(ignition_s)
    if not fin.any():
        z = np.zeros(0)
        return ignition_s, Containment(None, 0, z, z, z)
    last = float(ignition_s[fin].max())
    t_s = np.arange(0.0, last + STEP_S, STEP_S)
    front = front_length(ignition_s, burn_duration_s, burns, graph, t_s)
    cap = capacity(t_s, sup)
    held = (cap > 0) & (cap >= front)
    # Contained at the first moment brigades hold the whole front of a fire that still has one
    # (a fire with no front left has stopped by itself: that is not the brigades' doing).
    k = np.flatnonzero(held & (front > 0))
    out = ignition_s.copy()
    if len(k) == 0:
        return out, Containment(None, 0, t_s, front, cap)
    tc = float(t_s[k[0]])
    late = out > tc
    out[late] = np.inf
    return out, Containment(tc, int(late.sum()), t_s, front, cap)
