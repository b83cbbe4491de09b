"""Declarative policy scenarios (one JSON/YAML document each) and their effect on a district.

Coordinates are metres in the dataset's local frame (the building table's frame). Example::

    name: 道路拡幅と不燃化
    wooden: 裸木造            # class of 601 buildings: 防火造 (default) or 裸木造
    bare_before_year: 1981    # optional: 601 built before this -> 裸木造, later -> 防火造
    weather: {preset: 最悪}   # or {speed: 8, direction: 315, humidity: 40}
    ignition: [bldg_xxx]      # gml:ids alight at t = 0
    hours: 6
    seed: 1
    spotting: false
    model: physics            # or hamada (default): see model.py / physics.py
    suppression: {delay_min: 10, brigades: 5, front_m: 40, interval_min: 5}   # optional
    measures:
      - {type: road_widening, centreline: [[0, 50], [200, 50]], width: 12, action: remove}
      - {type: open_space, polygon: [[0, 0], [30, 0], [30, 30], [0, 30]]}
      - {type: rebuild, to: 耐火, area: [[...]]}          # everything that burns in the area
      - {type: rebuild, to: 準耐火, share: 0.3}            # the oldest 30 % of wooden buildings
      - {type: rebuild, to: 耐火, buildings: [bldg_a, bldg_b]}
      - {type: wall, line: [[0, 20], [60, 20]]}          # a fire wall: blocks sight lines

``road_widening``: buildings touching the corridor (centreline +- width/2) are removed
(``action: remove``) or set back, i.e. cut at the corridor edge (``action: setback``; what is
left under ``min_remaining_m2`` is removed). ``open_space``: buildings touching the polygon are
removed. ``wall``: a fire wall (防火壁) along a polyline; no fire crosses it by radiation or flame
(graph.py: it blocks sight lines like a building). Errors are :class:`ScenarioError` with the path of the offending field.
"""

from __future__ import annotations

import math

import json
from dataclasses import dataclass, field, replace

import numpy as np
import shapely
import yaml
from shapely.geometry import LineString, Polygon
from shapely.validation import explain_validity

from . import FireSpreadError
from .classes import StructureClass, classify_table, parse_class
from .weather import Weather, WeatherError, weather_from_dict

# Limits that keep one request from occupying the machine (a meeting needs seconds, not hours).
MAX_MEASURES = 100
MAX_COORDS = 10_000
MAX_IGNITIONS = 100
MAX_HOURS = 72.0
MAX_ROAD_WIDTH_M = 100.0
WOODEN = (StructureClass.PROTECTED_WOOD, StructureClass.BARE_WOOD)
BURNABLE = (StructureClass.QUASI_FIREPROOF, StructureClass.PROTECTED_WOOD, StructureClass.BARE_WOOD, StructureClass.UNKNOWN)


class ScenarioError(FireSpreadError):
    """A scenario that cannot be applied; ``path`` says where (e.g. ``measures[2].polygon``)."""

    def __init__(self, message: str, path: str = "") -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


@dataclass
class RoadWidening:
    centreline: LineString
    width: float
    action: str = "remove"  # or "setback"
    min_remaining_m2: float = 20.0
    type: str = "road_widening"


@dataclass
class OpenSpace:
    polygon: Polygon
    type: str = "open_space"


@dataclass
class Rebuild:
    to: StructureClass
    area: Polygon | None = None
    share: float | None = None  # of the oldest wooden buildings (within ``area`` if given)
    buildings: list[str] | None = None
    type: str = "rebuild"


@dataclass
class Wall:
    line: LineString
    type: str = "wall"


Measure = RoadWidening | OpenSpace | Rebuild | Wall
MODELS = ("hamada", "physics")


@dataclass(frozen=True)
class Suppression:
    """Fire brigades as a planning assumption (suppression.py): the first arrives ``delay_min``
    after ignition, the others every ``interval_min``; each holds ``front_m`` metres of front."""

    delay_min: float = 10.0
    brigades: int = 5
    front_m: float = 40.0
    interval_min: float = 5.0

    def to_dict(self) -> dict:
        return {"delay_min": self.delay_min, "brigades": self.brigades, "front_m": self.front_m, "interval_min": self.interval_min}


@dataclass
class Scenario:
    name: str = "現況"
    wooden: StructureClass = StructureClass.PROTECTED_WOOD
    bare_before_year: int | None = None
    weather: Weather | None = None
    ignition: list[str] = field(default_factory=list)
    hours: float = 6.0
    seed: int = 0
    spotting: bool = False
    model: str = "hamada"
    suppression: Suppression | None = None
    measures: list[Measure] = field(default_factory=list)


# ---------------------------------------------------------------- parsing and validation

def _num(v, path: str, *, lo: float | None = None, hi: float | None = None, lo_open: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ScenarioError(f"must be a number, got {repr(v)[:40]}", path)
    try:
        v = float(v)  # an int beyond float range (10**400) overflows here
    except OverflowError:
        raise ScenarioError("number out of range", path) from None
    if not math.isfinite(v):
        raise ScenarioError(f"must be a finite number, got {v!r}", path)
    if lo is not None and (v <= lo if lo_open else v < lo):
        raise ScenarioError(f"must be {'>' if lo_open else '>='} {lo:g}, got {v:g}", path)
    if hi is not None and v > hi:
        raise ScenarioError(f"must be <= {hi:g}, got {v:g}", path)
    return v


def _coords(v, path: str, min_points: int) -> list[tuple[float, float]]:
    if not isinstance(v, list):
        raise ScenarioError("must be a list of [x, y] points", path)
    if len(v) > MAX_COORDS:
        raise ScenarioError(f"has {len(v)} points, more than the {MAX_COORDS} allowed", path)
    pts = []
    for k, p in enumerate(v):
        if not (isinstance(p, (list, tuple)) and len(p) in (2, 3)):
            raise ScenarioError("must be [x, y]", f"{path}[{k}]")
        pts.append((_num(p[0], f"{path}[{k}][0]"), _num(p[1], f"{path}[{k}][1]")))
    if len(pts) < min_points:
        raise ScenarioError(f"needs at least {min_points} points", path)
    return pts


def _polygon(v, path: str) -> Polygon:
    pts = _coords(v, path, 3)
    poly = Polygon(pts)
    if not poly.is_valid:
        raise ScenarioError(f"is not a valid polygon ({explain_validity(poly)}); self-intersecting outlines are refused", path)
    if poly.area <= 0:
        raise ScenarioError("has no area", path)
    return poly


def _check_keys(d: dict, allowed: set[str], path: str) -> None:
    extra = set(d) - allowed
    if extra:
        raise ScenarioError(f"unknown field(s) {', '.join(sorted(extra))} (allowed: {', '.join(sorted(allowed))})", path)


def _measure(d, path: str) -> Measure:
    if not isinstance(d, dict):
        raise ScenarioError("must be an object", path)
    t = d.get("type")
    if t == "road_widening":
        _check_keys(d, {"type", "centreline", "width", "action", "min_remaining_m2"}, path)
        line = LineString(_coords(d.get("centreline"), f"{path}.centreline", 2))
        if line.length <= 0:
            raise ScenarioError("has zero length", f"{path}.centreline")
        width = _num(d.get("width"), f"{path}.width", lo=0, hi=MAX_ROAD_WIDTH_M, lo_open=True)
        action = d.get("action", "remove")
        if action not in ("remove", "setback"):
            raise ScenarioError(f"must be 'remove' or 'setback', got {action!r}", f"{path}.action")
        mr = _num(d.get("min_remaining_m2", 20.0), f"{path}.min_remaining_m2", lo=0)
        return RoadWidening(line, width, action, mr)
    if t == "open_space":
        _check_keys(d, {"type", "polygon"}, path)
        return OpenSpace(_polygon(d.get("polygon"), f"{path}.polygon"))
    if t == "rebuild":
        _check_keys(d, {"type", "to", "area", "share", "buildings"}, path)
        try:
            to = parse_class(d.get("to", "耐火"))
        except ValueError as e:
            raise ScenarioError(str(e), f"{path}.to") from None
        if to not in (StructureClass.FIREPROOF, StructureClass.QUASI_FIREPROOF):
            raise ScenarioError("rebuilding must be to 耐火 or 準耐火", f"{path}.to")
        area = _polygon(d["area"], f"{path}.area") if "area" in d else None
        share = _num(d["share"], f"{path}.share", lo=0, hi=1) if "share" in d else None
        ids = d.get("buildings")
        if ids is not None and not (isinstance(ids, list) and all(isinstance(x, str) for x in ids)):
            raise ScenarioError("must be a list of gml:id strings", f"{path}.buildings")
        if area is None and share is None and ids is None:
            raise ScenarioError("needs an area, a share or a list of buildings", path)
        return Rebuild(to, area, share, ids)
    if t == "wall":
        _check_keys(d, {"type", "line"}, path)
        line = LineString(_coords(d.get("line"), f"{path}.line", 2))
        if line.length <= 0:
            raise ScenarioError("has zero length", f"{path}.line")
        return Wall(line)
    raise ScenarioError(f"unknown measure type {t!r} (use road_widening, open_space, rebuild or wall)", f"{path}.type")


def _suppression(d, path: str) -> Suppression | None:
    if d is None or d is False:
        return None
    if not isinstance(d, dict):
        raise ScenarioError("must be an object {delay_min, brigades, front_m, interval_min} or null", path)
    _check_keys(d, {"delay_min", "brigades", "front_m", "interval_min"}, path)
    base = Suppression()
    brigades = _num(d.get("brigades", base.brigades), f"{path}.brigades", lo=1, hi=200)
    if brigades != int(brigades):
        raise ScenarioError("must be a whole number", f"{path}.brigades")
    return Suppression(
        delay_min=_num(d.get("delay_min", base.delay_min), f"{path}.delay_min", lo=0, hi=180),
        brigades=int(brigades),
        front_m=_num(d.get("front_m", base.front_m), f"{path}.front_m", lo=5, hi=200),
        interval_min=_num(d.get("interval_min", base.interval_min), f"{path}.interval_min", lo=0, hi=60),
    )


def parse_scenario(d) -> Scenario:
    """Validate a scenario document (already decoded from JSON/YAML)."""
    if d is None:
        return Scenario()
    if not isinstance(d, dict):
        raise ScenarioError("a scenario must be an object")
    _check_keys(d, {"name", "wooden", "bare_before_year", "weather", "ignition", "hours", "seed", "spotting", "measures",
                    "description", "model", "suppression"}, "")
    s = Scenario(name=str(d.get("name", "scenario")))
    if "wooden" in d:
        try:
            s.wooden = parse_class(d["wooden"])
        except ValueError as e:
            raise ScenarioError(str(e), "wooden") from None
        if s.wooden not in WOODEN:
            raise ScenarioError("must be 防火造 or 裸木造", "wooden")
    if d.get("bare_before_year") is not None:
        s.bare_before_year = int(_num(d["bare_before_year"], "bare_before_year", lo=1800, hi=2100))
    if "weather" in d:
        try:
            s.weather = weather_from_dict(d["weather"])
        except WeatherError as e:
            raise ScenarioError(str(e), "weather") from None
    ign = d.get("ignition", [])
    if isinstance(ign, str):
        ign = [ign]
    if not (isinstance(ign, list) and all(isinstance(x, str) for x in ign)):
        raise ScenarioError("must be a list of gml:id strings", "ignition")
    if len(ign) > MAX_IGNITIONS:
        raise ScenarioError(f"{len(ign)} ignition points, more than the {MAX_IGNITIONS} allowed", "ignition")
    s.ignition = list(ign)
    if "hours" in d:
        s.hours = _num(d["hours"], "hours", lo=0, hi=MAX_HOURS, lo_open=True)
    if "seed" in d:
        s.seed = int(_num(d["seed"], "seed", lo=0, hi=2**32 - 1))
    if "spotting" in d:
        if not isinstance(d["spotting"], bool):
            raise ScenarioError("must be true or false", "spotting")
        s.spotting = d["spotting"]
    if "model" in d:
        if d["model"] not in MODELS:
            raise ScenarioError(f"must be one of {', '.join(MODELS)}, got {repr(d['model'])[:40]}", "model")
        s.model = d["model"]
    s.suppression = _suppression(d.get("suppression"), "suppression")
    ms = d.get("measures", [])
    if not isinstance(ms, list):
        raise ScenarioError("must be a list", "measures")
    if len(ms) > MAX_MEASURES:
        raise ScenarioError(f"{len(ms)} measures, more than the {MAX_MEASURES} allowed", "measures")
    s.measures = [_measure(m, f"measures[{k}]") for k, m in enumerate(ms)]
    return s


def load_scenario_text(text: str) -> Scenario:
    """A scenario from JSON or YAML text (YAML is a superset of JSON; JSON tried first for
    clearer error positions)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ScenarioError(f"not valid JSON or YAML: {e}") from None
    return parse_scenario(doc)


# ---------------------------------------------------------------- the district state

@dataclass
class District:
    """The buildings as the simulation sees them: one entry per table row (= feature id)."""

    gml_id: list[str]
    footprints: np.ndarray  # object array of Polygons (empty when removed)
    classes: np.ndarray  # int8 StructureClass
    floor_area: np.ndarray  # m2, NaN unknown
    footprint_area: np.ndarray
    year: np.ndarray
    height: np.ndarray | None = None  # m; NaN unknown (physics.py assumes storeys x 3 m, else 6 m)
    fallbacks: int = 0
    _index: dict[str, int] | None = None

    @classmethod
    def from_table(cls, table, *, wooden=StructureClass.PROTECTED_WOOD, bare_before_year: int | None = None) -> "District":
        c = classify_table(table, wooden=wooden, bare_before_year=bare_before_year)
        fps = np.empty(len(table), dtype=object)
        fps[:] = list(table.footprints)
        h = np.asarray(table.height, dtype=np.float64).copy()
        st = np.asarray(table.storeys_above)
        h = np.where(np.isfinite(h) & (h > 0), h, np.where(st > 0, 3.0 * st, np.nan))
        return cls(list(table.gml_id), fps, c.classes.copy(), np.asarray(table.total_floor_area, dtype=np.float64).copy(),
                   np.asarray(table.footprint_area, dtype=np.float64).copy(), np.asarray(table.year).copy(), h, c.fallbacks)

    def __len__(self) -> int:
        return len(self.gml_id)

    def index(self) -> dict[str, int]:
        if self._index is None:
            self._index = {g: i for i, g in enumerate(self.gml_id)}
        return self._index

    def rows_of(self, ids: list[str], path: str) -> np.ndarray:
        idx = self.index()
        missing = [g for g in ids if g not in idx]
        if missing:
            more = f" (and {len(missing) - 3} more)" if len(missing) > 3 else ""
            raise ScenarioError(f"unknown building id(s) {', '.join(map(repr, missing[:3]))}{more}", path)
        return np.array([idx[g] for g in ids], dtype=np.int64)

    def floor_area_or_footprint(self) -> np.ndarray:
        return np.where(np.isfinite(self.floor_area), self.floor_area, self.footprint_area)

    def copy(self) -> "District":
        return replace(self, footprints=self.footprints.copy(), classes=self.classes.copy(),
                       floor_area=self.floor_area.copy(), footprint_area=self.footprint_area.copy(),
                       height=None if self.height is None else self.height.copy())


@dataclass
class AppliedScenario:
    district: District
    removed: list[int] = field(default_factory=list)
    set_back: list[int] = field(default_factory=list)
    rebuilt: list[int] = field(default_factory=list)
    walls: list[LineString] = field(default_factory=list)
    ignition_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def report(self) -> dict:
        return {"removed": len(self.removed), "set_back": len(self.set_back), "rebuilt": len(self.rebuilt),
                "walls": len(self.walls), "class_fallbacks": self.district.fallbacks}


def _remove(d: District, rows: np.ndarray) -> None:
    d.footprints[rows] = Polygon()
    d.classes[rows] = StructureClass.REMOVED
    d.floor_area[rows] = 0.0
    d.footprint_area[rows] = 0.0


def apply_scenario(base: District, s: Scenario) -> AppliedScenario:
    """A new district with the scenario's measures applied in order (``base`` is unchanged)."""
    d = base.copy()
    out = AppliedScenario(d)
    alive = lambda: d.classes != StructureClass.REMOVED  # noqa: E731 - re-evaluated per measure
    for k, m in enumerate(s.measures):
        path = f"measures[{k}]"
        if isinstance(m, RoadWidening):
            corridor = m.centreline.buffer(m.width / 2.0, cap_style="flat")
            hit = np.flatnonzero(alive() & shapely.intersects(d.footprints, corridor))
            if m.action == "remove":
                _remove(d, hit)
                out.removed += hit.tolist()
            else:
                rest = shapely.difference(d.footprints[hit], corridor)
                for r, g in zip(hit, rest):
                    if g.geom_type == "MultiPolygon":  # keep the largest piece: one building, one row
                        g = max(g.geoms, key=lambda p: p.area)
                    if g.is_empty or g.area < m.min_remaining_m2 or g.geom_type != "Polygon":
                        _remove(d, np.array([r]))
                        out.removed.append(int(r))
                        continue
                    ratio = g.area / d.footprint_area[r] if d.footprint_area[r] > 0 else 1.0
                    d.footprints[r] = g
                    d.footprint_area[r] = g.area
                    d.floor_area[r] *= ratio
                    out.set_back.append(int(r))
        elif isinstance(m, OpenSpace):
            hit = np.flatnonzero(alive() & shapely.intersects(d.footprints, m.polygon))
            _remove(d, hit)
            out.removed += hit.tolist()
        elif isinstance(m, Rebuild):
            cand = alive()
            if m.buildings is not None:
                rows = d.rows_of(m.buildings, f"{path}.buildings")
                sel = np.zeros(len(d), dtype=bool)
                sel[rows] = True
                cand &= sel
            if m.area is not None:
                cand &= shapely.within(shapely.centroid(d.footprints), m.area)
            if m.share is not None:
                wooden = np.flatnonzero(cand & np.isin(d.classes, WOODEN))
                # Oldest first by known year; unknown years after (no evidence they are old);
                # ties by row, so the choice is deterministic.
                y = d.year[wooden].astype(np.float64)
                y[y <= 0] = np.inf
                order = wooden[np.lexsort((wooden, y))]
                rows = order[: int(round(m.share * len(wooden)))]
            else:
                rows = np.flatnonzero(cand & np.isin(d.classes, BURNABLE))
            d.classes[rows] = m.to
            out.rebuilt += rows.tolist()
        elif isinstance(m, Wall):
            out.walls.append(m.line)
    out.ignition_rows = d.rows_of(s.ignition, "ignition") if s.ignition else np.zeros(0, np.int64)
    return out


def compare(district_a: District, ignition_a: np.ndarray, district_b: District, ignition_b: np.ndarray) -> dict:
    """Buildings and floor area saved by B relative to A (same table rows; positive = B better).

    A building removed by B's measures is not counted as saved: it is listed apart, since it is
    lost to the road or the open space either way.
    """
    ba, bb = np.isfinite(ignition_a), np.isfinite(ignition_b)
    fa, fb = district_a.floor_area_or_footprint(), district_b.floor_area_or_footprint()
    removed_b = (district_b.classes == StructureClass.REMOVED) & (district_a.classes != StructureClass.REMOVED)
    saved = ba & ~bb & ~removed_b
    return {
        "buildings_burnt_a": int(ba.sum()),
        "buildings_burnt_b": int(bb.sum()),
        "buildings_saved": int(ba.sum() - bb.sum()),
        "floor_area_burnt_a_m2": round(float(fa[ba].sum()), 1),
        "floor_area_burnt_b_m2": round(float(fb[bb].sum()), 1),
        "floor_area_saved_m2": round(float(fa[ba].sum() - fb[bb].sum()), 1),
        "buildings_spared_in_b": int(saved.sum()),
        "buildings_removed_by_b": int(removed_b.sum()),
    }
