"""Building attribute values as PLATEAU writes them: one small reader per kind of value
(code, text, year, measure, storeys), the CityGML core leaves and the uro ADE leaves they
read. PLATEAU's sentinels (-9999, year 0001) become unknown, not numbers."""

from __future__ import annotations

from typing import Callable

from lxml import etree

from .records import RawBuilding, Warn

# Leaves inside uro containers (buildingDetailAttribute, buildingDetails, adeOfAbstractBuilding,
# buildingIDAttribute...) -> (record key, kind). "code" keeps the codeSpace for codelists.py.
_URO_LEAVES: dict[str, tuple[str, str]] = {
    "buildingStructureType": ("structure_code", "code"),
    "fireproofStructureType": ("fireproof_code", "code"),
    "detailedUsage": ("detailed_usage", "code"),
    "totalFloorArea": ("total_floor_area", "area"),
    "buildingFootprintArea": ("building_footprint_area", "area"),
    "buildingRoofEdgeArea": ("building_roof_edge_area", "area"),
    "buildingID": ("building_id", "str"),
    "buildingHeight": ("uro_building_height", "height"),
    "surveyYear": ("survey_year", "year"),
    "city": ("city_code", "str"),
}


def _num(text: str | None, warn: Warn, what: str, el: etree._Element) -> float | None:
    t = (text or "").strip()
    if not t:
        return None
    try:
        return float(t)
    except ValueError:
        warn("bad_value", f"{what} {t!r} at line {el.sourceline} is not a number")
        return None


# One small function per kind of value, called ~10 times per building: each reads only what it
# needs of the element (the line only for a warning).
Store = Callable[[RawBuilding, str, etree._Element, Warn], None]


def _v_code(rec: RawBuilding, key: str, el: etree._Element, warn: Warn) -> None:
    t = el.text
    if t and (t := t.strip()):
        rec.codes[key] = (t, el.get("codeSpace"))


def _v_str(rec: RawBuilding, key: str, el: etree._Element, warn: Warn) -> None:
    t = el.text
    if t and (t := t.strip()):
        rec.attrs[key] = t


def _v_year(rec: RawBuilding, key: str, el: etree._Element, warn: Warn) -> None:
    # Years come as "1975" or as dates ("2021-01-01"); "0001" is PLATEAU's unknown.
    t = (el.text or "").strip()
    if len(t) >= 4 and t[:4].isdigit() and (len(t) == 4 or t[4] == "-"):
        y = int(t[:4])
        if 1 < y < 9999:
            rec.attrs[key] = y
        return
    v = _num(t, warn, key, el)
    if v is not None and 1 < v < 9999:
        rec.attrs[key] = int(v)


def _v_measure(rec: RawBuilding, key: str, el: etree._Element, warn: Warn) -> None:
    t = el.text
    try:
        v = float(t)  # type: ignore[arg-type]  # float() strips whitespace itself
    except (TypeError, ValueError):
        v = _num(t, warn, key, el)  # type: ignore[assignment]
        if v is None:
            return
    # PLATEAU sentinels mean "not surveyed": keep them unknown rather than as numbers.
    if v > -9999:
        rec.attrs[key] = v


def _v_storeys(rec: RawBuilding, key: str, el: etree._Element, warn: Warn) -> None:
    v = _num(el.text, warn, key, el)
    if v is not None and 0 <= v < 9999:
        rec.attrs[key] = int(v)


_STORE: dict[str, Store] = {
    "code": _v_code, "str": _v_str, "year": _v_year, "height": _v_measure, "area": _v_measure, "storeys": _v_storeys,
}


_DIRECT: dict[str, tuple[str, Callable]] = {
    "measuredHeight": ("measured_height", _v_measure),
    "storeysAboveGround": ("storeys_above", _v_storeys),
    "storeysBelowGround": ("storeys_below", _v_storeys),
    "yearOfConstruction": ("year", _v_year),
    "usage": ("usage_code", _v_code),
    "class": ("class_code", _v_code),
}
_URO_STORE = {ln: (key, _STORE[kind]) for ln, (key, kind) in _URO_LEAVES.items()}
_URO_TAGS = tuple("{*}" + ln for ln in _URO_LEAVES)
_IUR = "{https://www.geospatial.jp/iur/"
