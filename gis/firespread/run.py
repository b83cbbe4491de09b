"""One scenario run end to end (pure): table -> classes -> measures -> graph -> search -> result.

The CLI and the HTTP job both call :func:`run_scenario`; results are plain dicts of arrays
indexed by table row (= feature id in the tiles), so the browser recolours features by index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .classes import CLASS_KEYS, CLASS_LABELS_JA
from .clusters import find_clusters
from .graph import NeighbourGraph, build_graph
from .model import HamadaModel, SpreadModel
from .montecarlo import burn_probability
from .scenarios import AppliedScenario, District, Scenario, ScenarioError, apply_scenario
from .simulate import Progress, SimulationResult, _noop, centroids_of, prepare, simulate
from .spotting import SpottingParams
from .weather import PRESETS, Weather

RESULT_VERSION = 1

# footprints -> graph. The default builds it; a caller running many simulations on one dataset
# passes a cached one (server/jobs/graph_cache.py): the graph depends only on the footprints.
GraphFor = Callable[[np.ndarray], NeighbourGraph]


@dataclass
class ScenarioRun:
    scenario: Scenario
    weather: Weather
    applied: AppliedScenario
    result: SimulationResult

    def summary(self) -> dict:
        d = self.applied.district
        return self.result.summary(d.floor_area, d.footprint_area)

    def to_compact(self) -> dict:
        """Arrays indexed by feature id; ``ignition_s`` null = not reached within the horizon."""
        d = self.applied.district
        t = self.result.ignition_s
        fin = np.isfinite(t)
        ign = [int(round(x)) if f else None for x, f in zip(t.tolist(), fin.tolist())]
        return {
            "version": RESULT_VERSION,
            "feature_count": len(d),
            "scenario": self.scenario.name,
            "weather": self.weather.to_dict(),
            "hours": self.result.horizon_s / 3600.0,
            "seed": self.scenario.seed,
            "ignition_rows": self.result.sources.tolist(),
            "ignition_s": ign,
            # How long each ignited building burns (0 if never ignited): playback colours
            # "burning" in [ignition, ignition + duration) and "burnt out" after.
            "burn_duration_s": np.where(fin, self.result.burn_end_s - np.where(fin, t, 0.0), 0.0).astype(int).tolist(),
            "class": d.classes.astype(int).tolist(),
            "class_legend": {str(k): {"ja": CLASS_LABELS_JA[k], "key": CLASS_KEYS[k]} for k in CLASS_LABELS_JA},
            "summary": self.summary(),
            "series": {
                "t_s": self.result.series_t_s.astype(int).tolist(),
                "burnt_footprint_area_m2": [round(x, 1) for x in self.result.series_burnt_area_m2.tolist()],
                "buildings": self.result.series_buildings.tolist(),
            },
            "measures": self.applied.report(),
            "units": {"ignition_s": "seconds after t = 0 (null: not reached)", "area": "m2"},
        }


def district_for(table, scenario: Scenario) -> District:
    """Classes depend on the scenario (防火造 or 裸木造 for wooden), so classify per scenario."""
    return District.from_table(table, wooden=scenario.wooden, bare_before_year=scenario.bare_before_year)


def run_scenario(
    table,
    scenario: Scenario,
    *,
    model: SpreadModel | None = None,
    progress: Progress = _noop,
    graph: GraphFor | None = None,
) -> ScenarioRun:
    """Classify ``table`` (a BuildingTable), apply ``scenario`` and run one simulation. With no
    ignition given, the burnable building nearest the district's centre is lit, so a bare run
    still shows something."""
    base = district_for(table, scenario)
    progress(0.05, "scenario")
    applied = apply_scenario(base, scenario)
    d = applied.district
    weather = scenario.weather or PRESETS["最頻"]
    model = model or HamadaModel()
    progress(0.15, "graph")
    graph = (graph or build_graph)(d.footprints)
    sources = applied.ignition_rows
    burns = model.burns(d.classes)
    if len(sources) == 0:
        sources = default_ignition(d, burns)
    elif not burns[sources].any():
        raise ScenarioError("none of the ignition buildings can burn (耐火 or removed)", "ignition")
    progress(0.5, "simulate")
    cent = centroids_of(d.footprints) if scenario.spotting else None
    res = simulate(graph, d.classes, weather, sources, hours=scenario.hours, model=model,
                   spotting=SpottingParams() if scenario.spotting else None, seed=scenario.seed, centroids=cent,
                   progress=lambda f, s: progress(0.5 + 0.45 * f, s))
    progress(1.0, "done")
    return ScenarioRun(scenario, weather, applied, res)


def default_ignition(d: District, burns: np.ndarray) -> np.ndarray:
    cand = np.flatnonzero(burns)
    if len(cand) == 0:
        raise ScenarioError("no building in the district can burn")
    c = centroids_of(d.footprints[cand])
    centre = np.nanmean(c, axis=0)
    return cand[[int(np.nanargmin(((c - centre) ** 2).sum(axis=1)))]]


def run_montecarlo(table, scenario: Scenario, runs: int, *, model: SpreadModel | None = None,
                   workers: int | None = None, progress: Progress = _noop, graph: GraphFor | None = None) -> dict:
    """Burn probability per building over ``runs`` random single ignitions."""
    applied = apply_scenario(district_for(table, scenario), scenario)
    d = applied.district
    weather = scenario.weather or PRESETS["最頻"]
    graph = (graph or build_graph)(d.footprints)
    spread = prepare(graph, d.classes, weather, model or HamadaModel())
    mc = burn_probability(spread, runs, hours=scenario.hours, seed=scenario.seed, workers=workers, progress=progress)
    return {"version": RESULT_VERSION, "feature_count": len(d), "scenario": scenario.name,
            "weather": weather.to_dict(), "hours": scenario.hours, "seed": scenario.seed, **mc.to_dict()}


def clusters_of(table, scenario: Scenario | None = None, *, p_outbreak: float = 0.00075) -> dict:
    """延焼クラスター for a table (after a scenario's measures, if given), normal and x1.5."""
    scenario = scenario or Scenario()
    base = apply_scenario(district_for(table, scenario), scenario).district
    graph = build_graph(base.footprints)
    fa = base.floor_area_or_footprint()
    normal = find_clusters(graph, base.classes, floor_area=fa)
    large = find_clusters(graph, base.classes, floor_area=fa, large_fire=True)
    return {"version": RESULT_VERSION, "feature_count": len(base),
            "clusters": normal.to_dict(p_outbreak), "clusters_large_fire": large.to_dict(p_outbreak),
            "class": base.classes.astype(int).tolist(), "class_fallbacks": base.fallbacks}
