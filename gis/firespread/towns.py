"""Districts like the towns of two real fires, for hindcasts (hindcast.py): the 2016 Itoigawa fire
(糸魚川市駅北大火) and the 1976 Sakata fire (酒田大火). Pure: numbers in, rows out.

Not surveys of the towns (their pre-fire building data are not open): generators built from the
published descriptions, each number below with its source or marked as an assumption
(docs/firespread.md, "Hindcasts", lists the sources).

Itoigawa: blocks of deep 町家 lots along east-west streets, side walls almost touching and
continuous wooden 雁木 eaves ("almost no side gaps"; Taishō-early Shōwa wooden buildings,
準防火地域), some 準耐火/耐火 buildings and 土蔵 storehouses (which stopped the fire in places),
the Japan Sea ~300 m north of the origin; south wind (foehn), 10-min mean up to 14.2 m/s, gusts
24.2 m/s, RH in the 40 % range. Sakata: the central commercial district (shops of one and two
storeys in wood, a few RC department stores and banks) in blocks about 80 x 60 m, the 新井田川
~1 km east of the origin; WSW wind 12 m/s (10.8-12.2 m/s hourly), gusts 26.7-28.7 m/s.

Rows are what ``yakuba.gis.buildings.BuildingTable.from_rows`` takes; coordinates are metres with
the origin (the first building alight) at (0, 0), x east, y north.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Town:
    name: str
    rows: list[dict]
    ignition: list[str]
    weather: dict  # {"speed", "direction" (from, deg), "humidity", "gust"}
    hours: float
    downwind_bearing_deg: float  # the direction the head speed is measured in
    origin_xy: tuple[float, float]
    limit_distance_m: float  # from the origin to the coast / river along the bearing: no buildings beyond
    published: dict = field(default_factory=dict)
    # The recorded fire-fighting as suppression.py's assumption (delay_min, brigades, front_m, interval_min).
    brigades: dict = field(default_factory=dict)


def _lots(rng, x0: float, x1: float, frontage: tuple[float, float]) -> list[tuple[float, float]]:
    """Lot boundaries along a street from x0 to x1, frontages drawn from a range."""
    out, x = [], x0
    while x1 - x > frontage[0]:
        w = min(rng.uniform(*frontage), x1 - x)
        out.append((x, x + w))
        x += w
    return out


def _building(rng, kind_shares: dict, years: tuple[int, int], old_share: float, old_before: int) -> dict:
    """Structure codes and year for one building: PLATEAU codes (601 wooden, 605 light steel ->
    準耐火, 603 RC -> 耐火, 606 masonry/土蔵 -> 耐火)."""
    kinds, p = zip(*kind_shares.items())
    kind = kinds[int(rng.choice(len(kinds), p=np.array(p) / sum(p)))]
    if kind == "wood":
        year = int(rng.integers(years[0], old_before)) if rng.random() < old_share else int(rng.integers(old_before, years[1]))
        return {"structure_code": "601", "fireproof_code": "", "year": year, "storeys_above": 2, "height": 7.0}
    if kind == "quasi":
        return {"structure_code": "605", "fireproof_code": "1002", "year": int(rng.integers(1970, 2010)), "storeys_above": 2, "height": 7.5}
    return {"structure_code": "603", "fireproof_code": "1001", "year": int(rng.integers(1960, 2010)),
            "storeys_above": int(rng.integers(3, 6)), "height": 12.0}


def _block(rows: list, rng, name: str, x0, x1, y0, y1, *, frontage, side_gap, depth_share, storehouse_p, kinds,
           years=(1900, 2000), old_share=0.6, old_before=1950, y_max=None, machiya: bool = False) -> None:
    """Two rows of lots back to back between streets at y0 (south) and y1 (north)."""
    half = (y1 - y0) / 2
    for south in (True, False):
        for lx0, lx1 in _lots(rng, x0, x1, frontage):
            gap = rng.uniform(*side_gap)
            depth = half * rng.uniform(*depth_share)
            set_back = rng.uniform(0.0, 0.8)
            by0 = y0 + set_back if south else y1 - set_back - depth
            by1 = by0 + depth
            if y_max is not None and by1 > y_max:
                continue
            attrs = _building(rng, kinds, years, old_share, old_before)
            # A 町家 lot (``machiya``): the front house, a small courtyard (坪庭), a back annex
            # (奥座敷) of the same construction - not one deep block.
            parts = [(by0, by1)]
            if machiya and depth > 16.0:
                front = rng.uniform(9.0, 12.0)
                court = rng.uniform(2.0, 4.0)
                parts = [(by0, by0 + front), (by0 + front + court, by1)] if south else [(by1 - front, by1), (by0, by1 - front - court)]
            for py0, py1 in parts:
                fp = [(lx0 + gap / 2, py0), (lx1 - gap / 2, py0), (lx1 - gap / 2, py1), (lx0 + gap / 2, py1)]
                area = (lx1 - lx0 - gap) * (py1 - py0)
                rows.append({"gml_id": f"{name}_{len(rows):05d}", "footprint": fp, "total_floor_area": area * attrs["storeys_above"],
                             "usage_code": "402", **attrs})
            # A 土蔵 (storehouse, masonry: fire-resistant) in the rear yard, where there is room.
            rear = half - depth - set_back
            if rear > 8.0 and rng.random() < storehouse_p:
                sy0 = (by1 + 1.5) if south else (by0 - 1.5 - 5.0)
                sx = (lx0 + lx1) / 2
                rows.append({"gml_id": f"{name}_{len(rows):05d}", "footprint": [(sx - 2.5, sy0), (sx + 2.5, sy0), (sx + 2.5, sy0 + 5.0), (sx - 2.5, sy0 + 5.0)],
                             "structure_code": "606", "fireproof_code": "1001", "year": 1920, "storeys_above": 2,
                             "height": 7.0, "total_floor_area": 50.0, "usage_code": "461"})


def _wooden_origin(rows: list, radius: float) -> None:
    """Both fires began among wooden buildings (a ramen shop in a row of 町家; a wooden cinema
    among shops): the random mix must not wall the origin in with RC by chance."""
    for r in rows:
        c = np.mean(np.asarray(r["footprint"]), axis=0)
        if float(np.hypot(*c)) <= radius and r["structure_code"] != "601" and r["usage_code"] != "461":
            r.update(structure_code="601", fireproof_code="", year=1940, storeys_above=2, height=7.0)


def _nearest(rows: list, xy=(0.0, 0.0)) -> str:
    best, key = None, float("inf")
    for r in rows:
        if r["structure_code"] != "601":
            continue
        c = np.mean(np.asarray(r["footprint"]), axis=0)
        d = float(((c - xy) ** 2).sum())
        if d < key:
            best, key = r["gml_id"], d
    return best


def itoigawa_like(scale: float = 1.0, seed: int = 0, width: float = 1.0) -> Town:
    """~300 m from the origin to the sea (north); ~400 m east-west (the fire burnt ~250 m of it).
    ``scale`` shrinks the whole town; ``width`` only its east-west extent (a reduced district with
    the same run to the sea, for tests)."""
    rng = np.random.default_rng(seed)
    coast = 300.0 * scale
    half_w = 200.0 * scale * width
    rows: list[dict] = []
    # East-west streets (across the wind): lanes of 6 m, the main street (本町通り, with 雁木) 10 m.
    y, k = -70.0 * scale, 0
    kinds = {"wood": 0.78, "quasi": 0.14, "rc": 0.08}  # ~40 % had mortar walls and wired glass (NILIM)
    while y < coast:
        depth = rng.uniform(36.0, 44.0)  # two rows of ~20 m deep 町家 lots between lanes
        street = 10.0 if k == 2 else rng.uniform(4.0, 6.0)
        x = -half_w
        while x < half_w:
            bw = rng.uniform(45.0, 65.0)
            _block(rows, rng, "itoigawa", x, min(x + bw, half_w), y, y + depth, frontage=(5.0, 8.0), side_gap=(0.0, 0.6),
                   depth_share=(0.6, 0.9), storehouse_p=0.3, kinds=kinds, old_share=0.5, y_max=coast, machiya=True)
            x += bw + 4.0  # north-south lanes, 4 m
        y += depth + street
        k += 1
    _wooden_origin(rows, 25.0 * max(scale, 0.4))
    return Town(
        name="itoigawa", rows=rows, ignition=[_nearest(rows)], weather={"speed": 13.0, "direction": 180.0, "humidity": 45.0, "gust": 24.0},
        hours=4.0, downwind_bearing_deg=0.0, origin_xy=(0.0, 0.0), limit_distance_m=coast,
        published={"head_speed_m_per_h": [70, 100], "buildings": 147, "area_m2": 40000, "hours_to_coast": [3, 4],
                   "spot_fires": [10, 15], "controlled_h": 10.5},
        # First pumper on scene ~15 min after the outbreak; all 50 local units and 31 from
        # neighbours over the day; one nozzle holds ~6 m of front in dense wood, two per unit,
        # halved in a gale (Tokyo Fire Department 1965 data): 6 m per unit here.
        brigades={"delay_min": 15.0, "brigades": 80, "front_m": 6.0, "interval_min": 5.0},
    )


def sakata_like(scale: float = 1.0, seed: int = 0, width: float = 1.0) -> Town:
    """~1 km from the origin to the 新井田川 (east); ~700 m north-south (``width`` narrows it)."""
    rng = np.random.default_rng(seed + 1)
    river = 1000.0 * scale
    half_h = 350.0 * scale * width
    rows: list[dict] = []
    kinds = {"wood": 0.82, "quasi": 0.10, "rc": 0.08}
    y = -half_h
    k = 0
    while y < half_h:
        depth = rng.uniform(55.0, 70.0)
        x, j = -150.0 * scale, 0
        while x < river - 10.0:
            bw = min(rng.uniform(70.0, 90.0), river - x)
            _block(rows, rng, "sakata", x, x + bw, y, y + depth, frontage=(7.0, 12.0), side_gap=(0.0, 0.8),
                   depth_share=(0.7, 0.95), storehouse_p=0.1, kinds=kinds, old_share=0.7, old_before=1950)
            x += bw + (11.0 if j % 3 == 1 else 6.0)  # north-south streets; every third a wider one
            j += 1
        y += depth + (11.0 if k % 3 == 1 else 6.0)
        k += 1
    _wooden_origin(rows, 25.0 * max(scale, 0.4))
    return Town(
        name="sakata", rows=rows, ignition=[_nearest(rows)], weather={"speed": 12.0, "direction": 255.0, "humidity": 70.0, "gust": 26.7},
        hours=10.0, downwind_bearing_deg=90.0, origin_xy=(0.0, 0.0), limit_distance_m=river,
        published={"head_speed_m_per_h": [90, 120], "peak_head_speed_m_per_h": [150, 160], "buildings": 1774,
                   "area_m2": 225000, "floor_area_m2": 152105, "hours_to_river": 9.3, "controlled_h": 11.3},
        # Assumed (no unit count found): the city's pumpers, then neighbours' arriving over five
        # hours; the fire was stopped at the river by water curtains from the far bank.
        brigades={"delay_min": 10.0, "brigades": 30, "front_m": 6.0, "interval_min": 10.0},
    )
