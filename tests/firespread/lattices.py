"""Regular test districts: rows and lattices of identical square houses, and the downwind front
speed measured on a run (shared by the no-jump and physics tests)."""

from __future__ import annotations

import numpy as np
import shapely
import shapely.affinity
from shapely.geometry import box


def lattice(nx: int, ny: int, side: float, gap: float, *, rotate_deg: float = 0.0, y0: float = 0.0) -> list:
    """nx x ny square houses, rotated about the origin (anticlockwise) by ``rotate_deg``."""
    p = side + gap
    fps = [box(x * p, y0 + y * p, x * p + side, y0 + y * p + side) for y in range(ny) for x in range(nx)]
    if rotate_deg:
        fps = [shapely.affinity.rotate(f, rotate_deg, origin=(0, 0)) for f in fps]
    return fps


def centroids(fps) -> np.ndarray:
    return shapely.get_coordinates(shapely.centroid(np.asarray(fps, dtype=object)))


def southmost_centre(fps) -> int:
    """The house at the upwind (south) edge, mid-way across: the ignition of a north-going front."""
    c = centroids(fps)
    return int(np.argmin((c[:, 0] - np.median(c[:, 0])) ** 2 + (c[:, 1] - c[:, 1].min()) ** 2))


def front_speed_m_per_min(fps, ignition_s: np.ndarray, bearing_deg: float = 0.0, skip: float = 0.2) -> float:
    """Slope of the head's distance along ``bearing_deg`` against time, fitted over the middle of
    the district (the first and last ``skip`` of the distance are left out: start-up and edge)."""
    b = np.radians(bearing_deg)
    x = centroids(fps) @ np.array([np.sin(b), np.cos(b)])
    fin = np.isfinite(ignition_s)
    xs, ts = x[fin], ignition_s[fin]
    lo, hi = np.quantile(xs, skip), np.quantile(xs, 1 - skip)
    m = (xs >= lo) & (xs <= hi)
    bins = np.round(xs[m], 1)
    levels = np.unique(bins)
    first = np.array([ts[m][bins == v].min() for v in levels])
    return float(np.polyfit(first / 60.0, levels, 1)[0])
