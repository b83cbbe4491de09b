"""Hindcasts: run a real fire's town (towns.py) under its recorded weather with a model, and
measure what the published figures measure: the head's speed, buildings and area over time.

Pure: a Town in, a dict of figures out. ``bench/firespread_hindcast.py`` prints them as JSON lines
for both models and both towns; ``tests/firespread/test_hindcast.py`` checks the physics model's
head speed on reduced towns; docs/firespread.md has the table against the published figures.
"""

from __future__ import annotations

import numpy as np

from yakuba.gis.buildings import BuildingTable

from .measure import head_speed_m_per_h
from .run import run_scenario
from .scenarios import parse_scenario
from .simulate import centroids_of


def hindcast(town, model: str, *, seed: int = 0, spotting: bool = True, wooden: str = "防火造",
             bare_before_year: int | None = 1950, hours: float | None = None, brigades: bool = False) -> dict:
    """One run of ``town`` with ``model`` ("hamada" or "physics"): head speed (m/h, fitted until
    the head reaches the coast or river), buildings and burnt footprint area at each hour, spot
    fires, and the published figures next to them. ``brigades``: with the town's recorded fire
    brigades (suppression.py) and until the fire was controlled, to compare totals."""
    table = BuildingTable.from_rows(town.rows)
    doc = {"name": f"{town.name} hindcast", "model": model, "weather": dict(town.weather), "ignition": list(town.ignition),
           "hours": hours or town.hours, "seed": seed, "spotting": spotting, "wooden": wooden}
    if bare_before_year is not None:
        doc["bare_before_year"] = bare_before_year
    if brigades:
        doc["suppression"] = dict(town.brigades)
        doc["hours"] = hours or town.published.get("controlled_h", town.hours)
    run = run_scenario(table, parse_scenario(doc))
    t = run.result.ignition_s
    cent = centroids_of(run.applied.district.footprints)
    speed = head_speed_m_per_h(t, cent, town.origin_xy, town.downwind_bearing_deg, until_distance=town.limit_distance_m)
    hours_grid = np.arange(1, int(np.ceil(run.result.horizon_s / 3600.0)) + 1)
    burnt_by = [int((t <= h * 3600.0).sum()) for h in hours_grid]
    area = run.applied.district.footprint_area
    area_by = [round(float(area[t <= h * 3600.0].sum())) for h in hours_grid]
    b = np.radians(town.downwind_bearing_deg)
    along = (cent - np.asarray(town.origin_xy)) @ np.array([np.sin(b), np.cos(b)])
    reached = np.isfinite(t) & (along >= 0.9 * town.limit_distance_m)
    return {
        "town": town.name, "model": model, "seed": seed, "spotting": spotting, "buildings": len(table),
        "head_speed_m_per_h": None if speed is None else round(float(speed), 1),
        "reached_limit_h": round(float(t[reached].min()) / 3600.0, 2) if reached.any() else None,
        "buildings_burnt": int(np.isfinite(t).sum()), "footprint_burnt_m2": round(float(area[np.isfinite(t)].sum())),
        "buildings_by_hour": burnt_by, "footprint_m2_by_hour": area_by, "spot_fires": int(run.result.n_spot_fires),
        "brigades": doc.get("suppression"), "contained_h": (None if run.result.containment is None or run.result.containment.contained_s is None
                                                           else round(run.result.containment.contained_s / 3600.0, 2)),
        "published": town.published,
    }
