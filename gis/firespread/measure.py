"""What the published figures of real fires measure, measured on a run: how far the head has gone.

The reports of the Itoigawa and Sakata fires give a *head speed* as the distance the fire front
covered downwind over the time it took (Itoigawa: ~300 m to the sea in 3-4 h, "70-100 m/h").
The same on a simulation: the head distance at time t is the furthest downwind projection of
any building ignited by t; the head speed is the slope of a least-squares line through it over
the run, from ``skip_s`` (the first building's development, which the reports' clocks start
before) until the head reaches the coast or river (after that it has nowhere to go).
"""

from __future__ import annotations

import numpy as np


def head_distance(ignition_s: np.ndarray, centroids: np.ndarray, origin_xy, bearing_deg: float,
                  times_s: np.ndarray) -> np.ndarray:
    """Furthest downwind distance (m, projection on ``bearing_deg`` from ``origin_xy``) of any
    building ignited by each time; 0 before anything beyond the origin burns."""
    b = np.radians(bearing_deg)
    along = (np.asarray(centroids) - np.asarray(origin_xy, dtype=np.float64)) @ np.array([np.sin(b), np.cos(b)])
    fin = np.isfinite(ignition_s)
    order = np.argsort(ignition_s[fin], kind="stable")
    t_sorted = ignition_s[fin][order]
    run_max = np.maximum.accumulate(np.maximum(along[fin][order], 0.0)) if len(order) else np.zeros(0)
    k = np.searchsorted(t_sorted, np.asarray(times_s, dtype=np.float64), side="right")
    return np.where(k > 0, run_max[np.maximum(k - 1, 0)] if len(run_max) else 0.0, 0.0)


def head_speed_m_per_h(ignition_s: np.ndarray, centroids: np.ndarray, origin_xy, bearing_deg: float, *,
                       until_distance: float | None = None, skip_s: float | None = None, step_s: float = 300.0) -> float | None:
    """Head speed (m/h) as the slope of the head distance against time (module docstring);
    None when the fire did not move (fewer than two points)."""
    fin = np.isfinite(ignition_s)
    if fin.sum() < 2:
        return None
    end = float(ignition_s[fin].max())
    if skip_s is None:  # from when the fire leaves its first building (its development is not spread)
        skip_s = float(np.sort(ignition_s[fin])[1])
    step_s = min(step_s, max((end - skip_s) / 20.0, 30.0))
    times = np.arange(skip_s, end + step_s, step_s)
    d = head_distance(ignition_s, centroids, origin_xy, bearing_deg, times)
    if until_distance is not None:
        reached = np.flatnonzero(d >= 0.9 * until_distance)
        if len(reached):
            times, d = times[: reached[0] + 1], d[: reached[0] + 1]
    if len(times) < 3 or np.ptp(d) == 0:
        # A head that reaches the coast within minutes (an empirical model in a gale): the
        # distance over the time it took, as the reports do.
        t_all = np.sort(ignition_s[fin])
        d_all = head_distance(ignition_s, centroids, origin_xy, bearing_deg, t_all)
        if d_all[-1] <= 0:
            return None
        k = int(np.argmax(d_all >= (0.9 * until_distance if until_distance else d_all[-1])))
        return float(d_all[k] / max(t_all[k], 1.0) * 3600.0)
    return float(np.polyfit(times / 3600.0, d, 1)[0])
