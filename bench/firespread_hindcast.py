"""Hindcasts of the 2016 Itoigawa and 1976 Sakata fires: each town (gis/firespread/towns.py) under
its recorded weather, with both models, several seeds (firebrands are random). Prints one JSON
line per run and one summary line per (town, model) with the published figures.

Goals (issue): the physics model's head speed within 50-150 m/h for Itoigawa and 60-180 m/h for
Sakata.

    .venv/bin/python bench/firespread_hindcast.py [--seeds 3] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from yakuba.gis.firespread.hindcast import hindcast
from yakuba.gis.firespread.towns import itoigawa_like, sakata_like

GOALS = {"itoigawa": (50.0, 150.0), "sakata": (60.0, 180.0)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0)
    a = ap.parse_args()
    for make in (itoigawa_like, sakata_like):
        town = make(scale=a.scale)
        key = "itoigawa" if make is itoigawa_like else "sakata"
        for model in ("hamada", "physics"):
            runs = []
            for seed in range(a.seeds):
                t0 = time.perf_counter()
                r = hindcast(town, model, seed=seed)
                r["seconds"] = round(time.perf_counter() - t0, 2)
                runs.append(r)
                print(json.dumps({"bench": "firespread_hindcast_run", **{k: v for k, v in r.items() if k != "published"}},
                                 ensure_ascii=False), flush=True)
            speeds = [r["head_speed_m_per_h"] for r in runs if r["head_speed_m_per_h"] is not None]
            lo, hi = GOALS[key]
            mean = float(np.mean(speeds)) if speeds else None
            print(json.dumps({
                "bench": "firespread_hindcast", "town": key, "model": model, "seeds": a.seeds, "scale": a.scale,
                "head_speed_m_per_h_mean": None if mean is None else round(mean, 1),
                "head_speed_m_per_h_range": [min(speeds), max(speeds)] if speeds else None,
                "buildings_burnt_mean": round(float(np.mean([r["buildings_burnt"] for r in runs])), 1),
                "footprint_burnt_m2_mean": round(float(np.mean([r["footprint_burnt_m2"] for r in runs]))),
                "spot_fires_mean": round(float(np.mean([r["spot_fires"] for r in runs])), 1),
                "published": runs[0]["published"],
                "with_recorded_brigades": {k: v for k, v in hindcast(town, model, seed=0, brigades=True).items()
                                           if k in ("buildings_burnt", "footprint_burnt_m2", "contained_h", "brigades")},
                "goal_m_per_h": [lo, hi] if model == "physics" else None,
                "ok": (lo <= mean <= hi) if (model == "physics" and mean is not None) else None,
            }, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
