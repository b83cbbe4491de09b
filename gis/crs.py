"""Coordinate handling: srsName -> pyproj CRS, Japan Plane Rectangular zone choice, local frame.

PLATEAU writes EPSG:6697 (JGD2011 geographic 2D + JGD2011 (vertical) height) with axis order
**lat, lon, h**. pyproj is always used with ``always_xy=True`` and we reorder axes ourselves from
the CRS's declared axis directions, so there is exactly one place where axis order is decided.

Local frame: plane-rectangular metres (x east, y north) minus an integer-metre ``origin``; z is the
source height (orthometric for 6697). The tiles meet the globe through ``vertical_model``: GSI's
geoid (~30-40 m in Japan) and the Earth's curvature, so they sit on ellipsoidal-height terrain.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as _PyprojCRSError

from .errors import CrsError

log = logging.getLogger("yakuba.gis.crs")

# JGD2011 / Japan Plane Rectangular CS I..XIX
PLANE_ZONES = tuple(range(6669, 6688))
DEFAULT_SRS = 6697

_SRS_PATTERNS = (
    re.compile(r"EPSG/0/(\d+)$"),  # http://www.opengis.net/def/crs/EPSG/0/6697
    re.compile(r"EPSG::?(\d+)$", re.I),  # urn:ogc:def:crs:EPSG::6697, EPSG:6697
    re.compile(r"epsg\.xml#(\d+)$", re.I),  # http://www.opengis.net/gml/srs/epsg.xml#6697
)


@lru_cache(maxsize=256)
def parse_srs_name(srs_name: str) -> int:
    """Return the EPSG code named by a GML srsName, or raise CrsError."""
    s = srs_name.strip()
    for pat in _SRS_PATTERNS:
        m = pat.search(s)
        if m:
            code = int(m.group(1))
            _crs(code)  # raises if pyproj does not know it
            return code
    raise CrsError(f"unsupported srsName {srs_name!r}: only EPSG codes are understood")


@lru_cache(maxsize=64)
def _crs(code: int) -> CRS:
    try:
        return CRS.from_epsg(code)
    except _PyprojCRSError as e:
        raise CrsError(f"unknown CRS EPSG:{code} ({e})") from None


@lru_cache(maxsize=64)
def transformer(src: int | CRS, dst: int) -> Transformer:
    """Cached: building a pyproj Transformer costs tens of milliseconds."""
    return Transformer.from_crs(src if isinstance(src, CRS) else _crs(src), _crs(dst), always_xy=True)


@lru_cache(maxsize=64)
def first_axis_is_northing(code: int) -> bool:
    """True when the CRS lists latitude/northing first (6697, 6668, 4326, and 6669-6687 too)."""
    axes = _crs(code).axis_info
    return bool(axes) and axes[0].direction.lower() in ("north", "south")


# zone EPSG -> origin (lat, lon) in degrees: zones I-XIX of the plane rectangular system as
# fixed by MLIT notice (平成14年国土交通省告示第9号). Typed in because reading them from 19
# pyproj CRSs cost ~6 ms per import; tests/gis/test_crs.py holds them equal to pyproj's.
ZONE_ORIGINS: dict[int, tuple[float, float]] = {
    code: (lat, d + m / 60)
    for code, (lat, d, m) in zip(
        PLANE_ZONES,
        [(33, 129, 30), (33, 131, 0), (36, 132, 10), (33, 133, 30), (36, 134, 20), (36, 136, 0), (36, 137, 10),
         (36, 138, 30), (36, 139, 50), (40, 140, 50), (44, 140, 15), (44, 142, 15), (44, 144, 15), (26, 142, 0),
         (26, 127, 30), (26, 124, 0), (26, 131, 0), (20, 136, 0), (26, 154, 0)],
    )
}


def pick_plane_zone(lat: float, lon: float) -> int:
    """Heuristic zone choice from a location.

    The legal assignment is by prefecture (and island group), which needs boundaries we do not
    ship; bands of longitude reproduce it for most of Honshu/Kyushu/Hokkaido. Islands south of
    27°N use the island zones by nearest origin. Pass an explicit zone when it matters: a
    neighbouring zone only changes scale distortion by ~1e-4, never correctness of the frame,
    because the root transform is computed from the chosen zone itself.
    """
    origins = ZONE_ORIGINS
    if lat < 27.0:
        cands = [6682, 6683, 6684, 6685, 6686, 6687]
        return min(cands, key=lambda c: (origins[c][0] - lat) ** 2 + (origins[c][1] - lon) ** 2)
    if lat > 41.4 and lon > 139.3:  # Hokkaido: XI/XII/XIII by longitude
        cands = [6679, 6680, 6681]
    else:
        cands = list(range(6669, 6679))
        if 32.5 < lat < 34.5 and 132.0 < lon < 134.8:  # Shikoku sits in zone IV's band
            return 6672
    return min(cands, key=lambda c: abs(origins[c][1] - lon))


@lru_cache(maxsize=64)
def horizontal(src_epsg: int) -> CRS:
    """The horizontal part of a source CRS, which is what pyproj transforms (6697 = 6668 +
    6695). Cached: sub_crs_list builds new CRS objects on every call (~50 us, once per file
    task of an import, and for choose_frame)."""
    src = _crs(src_epsg)
    horiz = src.sub_crs_list[0] if src.is_compound else src
    if not (horiz.is_geographic or horiz.is_projected):
        raise CrsError(f"EPSG:{src_epsg} is neither geographic nor projected")
    return horiz


class LocalFrame:
    """Transforms source coordinates to local metres and back; one per (dataset, source CRS)."""

    def __init__(self, src_epsg: int, zone_epsg: int, origin: tuple[float, float]) -> None:
        if zone_epsg not in PLANE_ZONES:
            raise CrsError(f"EPSG:{zone_epsg} is not a JGD2011 plane rectangular zone (6669-6687)")
        self.src_epsg = src_epsg
        self.zone_epsg = zone_epsg
        self.origin = (float(origin[0]), float(origin[1]))
        self._swap = first_axis_is_northing(src_epsg)
        self._fwd = transformer(horizontal(src_epsg), zone_epsg)
        self._inv = transformer(zone_epsg, 6668)

    def to_local(self, pts: np.ndarray) -> np.ndarray:
        """(N, 2|3) source-axis-order coordinates -> (N, 3) local x east, y north, z."""
        pts = np.asarray(pts, dtype=np.float64)
        a, b = (pts[:, 1], pts[:, 0]) if self._swap else (pts[:, 0], pts[:, 1])
        x, y = self._fwd.transform(a, b)
        z = pts[:, 2] if pts.shape[1] > 2 else np.zeros(len(pts))
        return np.column_stack((np.asarray(x) - self.origin[0], np.asarray(y) - self.origin[1], z))

    def to_lonlat(self, local_xy: np.ndarray) -> np.ndarray:
        """(N, 2+) local metres -> (N, 2) JGD2011 lon, lat degrees."""
        local_xy = np.asarray(local_xy, dtype=np.float64)
        lon, lat = self._inv.transform(local_xy[:, 0] + self.origin[0], local_xy[:, 1] + self.origin[1])
        return np.column_stack((lon, lat))

    def plane_xy(self, lat: float, lon: float) -> tuple[float, float]:
        x, y = transformer(6668, self.zone_epsg).transform(lon, lat)
        return float(x), float(y)


def origin_for(lat: float, lon: float, zone_epsg: int) -> tuple[float, float]:
    """An integer-metre plane-rectangular origin near (lat, lon)."""
    x, y = transformer(6668, zone_epsg).transform(lon, lat)
    return float(round(x)), float(round(y))


_WGS84_A = 6378137.0
_WGS84_E2 = 6.69437999014e-3


def _ecef(lon_deg: np.ndarray, lat_deg: np.ndarray, h: np.ndarray) -> np.ndarray:
    # GRS80 (JGD2011) and WGS84 differ by <0.1 mm in these formulas; WGS84 is what viewers use.
    lon, lat = np.radians(lon_deg), np.radians(lat_deg)
    n = _WGS84_A / np.sqrt(1 - _WGS84_E2 * np.sin(lat) ** 2)
    return np.column_stack(
        ((n + h) * np.cos(lat) * np.cos(lon), (n + h) * np.cos(lat) * np.sin(lon), (n * (1 - _WGS84_E2) + h) * np.sin(lat))
    )


def local_to_ecef_matrix(frame: LocalFrame, z0: float = 0.0) -> list[float]:
    """Column-major 4x4 placing the local frame (x east-ish, y north-ish, z up) on the globe.

    The plane-rectangular grid is rotated from true north by the meridian convergence, so the
    axes are measured numerically (points 1 m along x and y) rather than assumed to be ENU.
    """
    p = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    ll = frame.to_lonlat(p)
    e = _ecef(ll[:, 0], ll[:, 1], np.full(3, z0))
    o = e[0]
    ex, ey = e[1] - o, e[2] - o
    ex /= np.linalg.norm(ex)
    ey -= ex * float(np.dot(ex, ey))
    ey /= np.linalg.norm(ey)
    ez = np.cross(ex, ey)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = ex, ey, ez, o
    return [float(v) for v in m.T.reshape(-1)]  # column-major


def meridian_convergence_deg(frame: LocalFrame) -> float:
    ll = frame.to_lonlat(np.array([[0.0, 0.0], [0.0, 100.0]]))
    dlon = (ll[1, 0] - ll[0, 0]) * math.cos(math.radians(ll[0, 1]))
    return math.degrees(math.atan2(dlon, ll[1, 1] - ll[0, 1]))


# --- Heights: PLATEAU's z is orthometric (JGD2011 vertical, EPSG:6697's second axis); viewers on a
# globe need heights above the ellipsoid, and the tileset's local frame is a plane tangent at the
# origin, so a point 10 km out sits 7.8 m above the globe unless bent down. Both are smooth over a
# city, so one correction grid (1 km step, bilinear: < 2 cm off for the curvature) holds them.

GEOID_MODEL = "GSIGEO2011 (GSI, via japan-geoid)"
VERTICAL_STEP = 1000.0  # metres between correction grid points


def _cache_dir() -> Path:
    """Where derived files that any run may rebuild live: ``YAKUBA_CACHE_DIR``, else the XDG
    cache directory."""
    d = os.environ.get("YAKUBA_CACHE_DIR")
    if d:
        return Path(d)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "yakuba"


@functools.lru_cache(maxsize=1)
def _geoid() -> Any:
    """GSI's model, all of Japan. Unpacking the copy embedded in japan-geoid takes ~15 ms, a
    tenth of importing the 15 real samples, on every import: its own binary form, kept in the
    cache directory, reads in ~4 ms. A missing, stale or unreadable cache is rebuilt (or, when
    the directory is not writable, skipped): it only ever holds what the package ships."""
    import japan_geoid

    path = _cache_dir() / f"gsigeo2011-{_geoid_stamp(japan_geoid)}.bin"
    try:
        return japan_geoid.GsiGeoid.from_binary(path.read_bytes())
    except Exception as e:  # missing, truncated or from another build: the embedded copy decides
        if not isinstance(e, FileNotFoundError):
            log.warning("geoid cache %s unreadable (%s); rebuilt", path, type(e).__name__)
    model = japan_geoid.load_embedded_gsigeo2011()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_bytes(model.to_binary())
        os.replace(tmp, path)  # readers never see half a file
    except OSError as e:
        log.info("geoid cache not written to %s: %s", path, e)
    return model


def _geoid_stamp(module: Any) -> str:
    """Names the installed build (size and time of its extension), so an upgrade never reads
    the cache of another; a stat, where importlib.metadata's version lookup took 1.5 ms."""
    st = os.stat(module.japan_geoid.__file__)
    return f"{st.st_size:x}-{st.st_mtime_ns:x}"


def geoid_height(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Geoid height N (metres) above the GRS80 ellipsoid; NaN outside Japan's model."""
    return np.asarray(_geoid().get_heights(np.asarray(lon, np.float64), np.asarray(lat, np.float64)), np.float64)


@dataclass(frozen=True)
class VerticalGrid:
    """z offsets that take a local point at orthometric height z to the tileset frame: the
    geoid's change from the origin and the drop of the globe below the tangent plane."""

    x0: float
    y0: float
    step: float
    values: np.ndarray  # (ny, nx)

    def at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ny, nx = self.values.shape
        fx = np.clip((np.asarray(x, np.float64) - self.x0) / self.step, 0, nx - 1)
        fy = np.clip((np.asarray(y, np.float64) - self.y0) / self.step, 0, ny - 1)
        ix, iy = np.minimum(fx.astype(np.int64), max(nx - 2, 0)), np.minimum(fy.astype(np.int64), max(ny - 2, 0))
        tx, ty = fx - ix, fy - iy
        v = self.values
        ix1, iy1 = np.minimum(ix + 1, nx - 1), np.minimum(iy + 1, ny - 1)
        return (v[iy, ix] * (1 - tx) * (1 - ty) + v[iy, ix1] * tx * (1 - ty)
                + v[iy1, ix] * (1 - tx) * ty + v[iy1, ix1] * tx * ty)


def _fill_nearest(a: np.ndarray, passes: int = 4) -> np.ndarray:
    """NaN cells (sea, where the model has no value) take their valid neighbours' mean, ring by
    ring outwards, for a few rings: only cells next to land are ever read (a vertex is on land),
    the open sea beyond takes the mean of the land values. (scipy.ndimage's distance transform
    alone took 0.25 s to import.)"""
    a = a.copy()
    bad = np.isnan(a)
    if bad.all():
        return np.zeros_like(a)
    far = float(np.nanmean(a))
    for _ in range(passes):
        if not bad.any():
            break
        v = np.where(bad, 0.0, a)
        w = (~bad).astype(np.float64)
        tot, cnt = np.zeros_like(a), np.zeros_like(a)
        for dst, src in (((slice(1, None),), (slice(None, -1),)), ((slice(None, -1),), (slice(1, None),)),
                         ((slice(None), slice(1, None)), (slice(None), slice(None, -1))),
                         ((slice(None), slice(None, -1)), (slice(None), slice(1, None)))):
            tot[dst] += v[src]  # each cell's neighbour above, below, left and right
            cnt[dst] += w[src]
        grow = bad & (cnt > 0)
        a[grow] = tot[grow] / cnt[grow]
        bad &= ~grow
    a[bad] = far
    return a


def vertical_model(frame: LocalFrame, lo_xy: np.ndarray, hi_xy: np.ndarray, step: float = VERTICAL_STEP
                   ) -> tuple[float | None, list[float], VerticalGrid]:
    """How the tiles' heights meet the globe, for data over [lo, hi] (local metres):
    (N at the origin or None outside the geoid model, the root transform, the z offsets).

    The geoid height at the origin goes into the root transform; each grid point's exact place
    on the globe (its geoid height added) taken back into the local frame gives its z offset:
    the geoid's change from the origin and the globe's drop below the tangent plane. Where the
    origin is at sea (no model value) the nearest grid point with one stands in."""
    # At most 128 x 128 points: a city is 1 km apart (the curvature off by < 2 cm between
    # points); all of Japan in one dataset 8 km apart (off by < 1.3 m).
    step = max(step, float(max(hi_xy[0] - lo_xy[0], hi_xy[1] - lo_xy[1])) / 127)
    nx = max(int(math.ceil((hi_xy[0] - lo_xy[0]) / step)) + 1, 2)
    ny = max(int(math.ceil((hi_xy[1] - lo_xy[1]) / step)) + 1, 2)
    gx, gy = np.meshgrid(lo_xy[0] + step * np.arange(nx), lo_xy[1] + step * np.arange(ny))
    pts = np.vstack((np.zeros((1, 2)), np.column_stack((gx.ravel(), gy.ravel()))))
    ll = frame.to_lonlat(pts)
    n = geoid_height(ll[:, 0], ll[:, 1])
    n0: float | None = float(n[0])
    if math.isnan(n0):
        ok = ~np.isnan(n[1:])
        n0 = float(n[1:][ok][np.argmin(np.hypot(pts[1:, 0], pts[1:, 1])[ok])]) if ok.any() else None
    h = _fill_nearest(n[1:].reshape(ny, nx)).ravel() if n0 is not None else np.zeros(nx * ny)
    transform = local_to_ecef_matrix(frame, n0 or 0.0)
    e = _ecef(ll[1:, 0], ll[1:, 1], h)
    m = np.asarray(transform, np.float64).reshape(4, 4).T  # column-major -> row-major
    local = (np.linalg.inv(m) @ np.column_stack((e, np.ones(len(e)))).T).T
    return n0, transform, VerticalGrid(float(lo_xy[0]), float(lo_xy[1]), step, local[:, 2].reshape(ny, nx))
