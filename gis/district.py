"""A synthetic dense wooden-housing district (木造密集市街地), for tests and benchmarks.

Pure: numbers in, rows out. Layout: rectangular blocks of two back-to-back rows of lots
(``lots_per_block`` lots per row at an 11.5 m pitch, 14 m deep), separated by streets of
``street_width`` metres, arranged in a roughly square grid. Houses are 8.5-10.5 m wide (so side
gaps are 1-3 m), 8-12 m deep, set back 0.5-1.5 m from the street.

Rows are what ``yakuba.gis.buildings.BuildingTable.from_rows`` takes (and what gis/synthetic.py
turns into CityGML):

* ``gml_id``: ``"syn_<seed>_<row:07d>"``;
* ``footprint``: [(x, y), ...] closed ring, local metres (x east, y north), counter-clockwise;
* ``height`` (m), ``storeys_above``, ``year``, ``total_floor_area`` (m2);
* ``structure_code``: PLATEAU uro:buildingStructureType 601 (wooden), 602/603 (SRC/RC), 604
  (steel), 605 (light steel), 610 (non-wooden), 611 (unknown, ~2 %);
* ``fireproof_code``: "1001" 耐火 for 602/603, "1002" 準耐火 for part of 604/605/610, "1003"
  その他 or "" for wooden, "1011" 不明 for unknown;
* ``usage_code``: 411 detached house, 413 flats, 402 shop/office.

Shares: ``wooden_share`` wooden, ``fireproof_share`` fire-resistant (RC 4-8 storeys), the rest
quasi-fire-resistant / steel. ``layout`` returns the street centrelines too (for road-widening
scenarios). Same arguments, same rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LOT_PITCH_M = 11.5
LOT_DEPTH_M = 14.0
ROWS_PER_BLOCK = 2


@dataclass
class DistrictLayout:
    rows: list[dict]
    # Street centrelines as ((x0, y0), (x1, y1)); "x" streets run north-south at a given x.
    streets_ns: list[tuple[tuple[float, float], tuple[float, float]]]
    streets_ew: list[tuple[tuple[float, float], tuple[float, float]]]
    bbox: tuple[float, float, float, float]
    block_width_m: float
    block_depth_m: float
    street_width_m: float


def district_layout(
    n_buildings: int,
    seed: int = 0,
    street_width: float = 4.0,
    wooden_share: float = 0.8,
    fireproof_share: float = 0.1,
    lots_per_block: int = 8,
) -> DistrictLayout:
    if n_buildings < 0:
        raise ValueError("n_buildings must be >= 0")
    if not (0 <= wooden_share <= 1 and 0 <= fireproof_share <= 1 and wooden_share + fireproof_share <= 1):
        raise ValueError("shares must be within 0..1 and sum to at most 1")
    if street_width < 0:
        raise ValueError("street_width must be >= 0")
    rng = np.random.default_rng(seed)
    per_block = lots_per_block * ROWS_PER_BLOCK
    n_blocks = max(1, math.ceil(n_buildings / per_block))
    bw = lots_per_block * LOT_PITCH_M
    bd = ROWS_PER_BLOCK * LOT_DEPTH_M
    px, py = bw + street_width, bd + street_width
    nbx = max(1, math.ceil(math.sqrt(n_blocks * py / px)))
    nby = math.ceil(n_blocks / nbx)

    k = np.arange(n_buildings)
    block = k // per_block
    within = k % per_block
    row = within // lots_per_block  # 0: south row (faces the southern street), 1: north row
    lot = within % lots_per_block
    bx, by = block % nbx, block // nbx
    x0 = bx * px + lot * LOT_PITCH_M
    y0 = by * py

    n = n_buildings
    w = rng.uniform(8.5, 10.5, n)
    d = rng.uniform(8.0, 12.0, n)
    setback = rng.uniform(0.5, 1.5, n)
    xmin = x0 + (LOT_PITCH_M - w) / 2.0
    ymin = np.where(row == 0, y0 + setback, y0 + bd - setback - d)

    # Structure mix.
    u = rng.random(n)
    unknown = rng.random(n) < 0.02
    kind = np.where(u < wooden_share, 0, np.where(u < wooden_share + fireproof_share, 1, 2))
    storeys = np.where(kind == 0, rng.integers(1, 4, n), np.where(kind == 1, rng.integers(4, 9, n), rng.integers(2, 4, n)))
    # Old wooden stock dominates these districts: years skew early.
    year = np.where(kind == 0, (1950 + 70 * rng.beta(1.5, 2.5, n)).astype(int), rng.integers(1970, 2024, n))
    other_codes = np.array(["604", "605", "610"])
    other = other_codes[rng.integers(0, 3, n)]
    quasi = rng.random(n) < 0.6

    rows: list[dict] = []
    for i in range(n):
        x, y, ww, dd = float(xmin[i]), float(ymin[i]), float(w[i]), float(d[i])
        s = int(storeys[i])
        if unknown[i]:
            sc, fc, usage = "611", "1011", "411"
        elif kind[i] == 0:
            sc, fc, usage = "601", ("1003" if (i % 3) else ""), "411"
        elif kind[i] == 1:
            sc, fc, usage = ("603" if (i % 2) else "602"), "1001", "413"
        else:
            sc, fc, usage = str(other[i]), ("1002" if quasi[i] else "1003"), "402"
        rows.append({
            "gml_id": f"syn_{seed}_{i:07d}",
            "footprint": [(x, y), (x + ww, y), (x + ww, y + dd), (x, y + dd), (x, y)],
            "height": round(3.0 * s + 1.0, 1),
            "storeys_above": s,
            "structure_code": sc,
            "fireproof_code": fc,
            "year": int(year[i]),
            "total_floor_area": round(ww * dd * s, 1),
            "usage_code": usage,
        })
    width = nbx * px - street_width
    height = nby * py - street_width
    ns = [((bx_ * px - street_width / 2, -street_width), (bx_ * px - street_width / 2, height + street_width)) for bx_ in range(1, nbx)]
    ew = [((-street_width, by_ * py - street_width / 2), (width + street_width, by_ * py - street_width / 2)) for by_ in range(1, nby)]
    return DistrictLayout(rows, ns, ew, (0.0, 0.0, width, height), bw, bd, street_width)


def district_rows(
    n_buildings: int,
    seed: int = 0,
    street_width: float = 4.0,
    wooden_share: float = 0.8,
    fireproof_share: float = 0.1,
    lots_per_block: int = 8,
) -> list[dict]:
    """Rows for ``BuildingTable.from_rows``; see the module docstring for keys and layout."""
    return district_layout(n_buildings, seed, street_width, wooden_share, fireproof_share, lots_per_block).rows
