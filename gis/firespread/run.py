"""One scenario run end to end (pure): table -> classes -> measures -> graph -> search -> result.

The CLI and the HTTP job both call :func:`run_scenario`; results are plain dicts of arrays
indexed by table row (= feature id in the tiles), so the browser recolours features by index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .classes import CLASS_KEYS, CLASS_LABELS_JA, StructureClass
from .clusters import find_clusters
from .graph import NeighbourGraph, build_graph
from .model import HamadaModel, SpreadModel
from .montecarlo import burn_probability
from .physics import PhysicsModel
from .scenarios import AppliedScenario, District, Scenario, ScenarioError, apply_scenario
from .simulate import Progress, SimulationResult, _noop, centroids_of, prepare, simulate
from .spotting import SpottingParams
from .weather import PRESETS, Weather

RESULT_VERSION = 2

# (footprints, walls) -> graph. The default builds it; a caller running many simulations on one
# dataset passes a cached one (server/jobs/graph_cache.py): the graph depends only on these.
GraphFor = Callable[[np.ndarray, list], NeighbourGraph]

MODELS: dict[str, Callable[[], SpreadModel]] = {"hamada": HamadaModel, "physics": PhysicsModel}


def model_for(name: str) -> SpreadModel:
    return MODELS[name]()


def _default_graph(footprints: np.ndarray, walls: list) -> NeighbourGraph:
    return build_graph(footprints, walls=walls or None)


def class_legend(model: SpreadModel) -> dict:
    """What the run assumed per class: the browser's legend is built from this, not a table of
    its own (不明 burns like 防火造; 耐火 does not burn and shields)."""
    burns = model.burns(np.arange(len(StructureClass)))
    spreads_as = {StructureClass.UNKNOWN: CLASS_KEYS[StructureClass.PROTECTED_WOOD]}
    return {str(k): {"ja": CLASS_LABELS_JA[k], "key": CLASS_KEYS[k], "burns": bool(burns[k]),
                     "spreads_as": spreads_as.get(k)} for k in CLASS_LABELS_JA}


@dataclass
class ScenarioRun:
    scenario: Scenario
    weather: Weather
    applied: AppliedScenario
    result: SimulationResult
    model: SpreadModel
    notes: list[dict]
    ignition: np.ndarray  # the rows set alight (also when the scenario made them unable to burn)

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
            "ignition_rows": self.ignition.tolist(),
            "ignition_s": ign,
            # How long each ignited building burns (0 if never ignited): playback colours
            # "burning" in [ignition, ignition + duration) and "burnt out" after.
            "burn_duration_s": np.where(fin, self.result.burn_end_s - np.where(fin, t, 0.0), 0.0).astype(int).tolist(),
            "class": d.classes.astype(int).tolist(),
            "class_legend": class_legend(self.model),
            "model": self.model.name,
            "spotting": self.scenario.spotting,
            "suppression": None if self.scenario.suppression is None else self.scenario.suppression.to_dict(),
            "contained_s": None if self.result.containment is None else self.result.containment.to_dict()["contained_s"],
            "notes": self.notes,
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
    model = model or model_for(scenario.model)
    progress(0.15, "graph")
    graph = (graph or _default_graph)(d.footprints, applied.walls)
    sources = applied.ignition_rows
    burns = model.burns(d.classes)
    notes: list[dict] = []
    if len(sources) == 0:
        # Chosen on the district *before* the measures, so every scenario of a comparison
        # starts from the same building (an open space at the centre must not move the fire).
        sources = default_ignition(base, model.burns(base.classes))
        if not burns[sources].any():
            notes.append(NOTE_IGNITION_NOT_BURNABLE)
    elif not burns[sources].any():
        # A scenario that rebuilds the ignition building answers, it does not fail: that is
        # the policy working (and the comparison must still run on the same ignition).
        notes.append(NOTE_IGNITION_NOT_BURNABLE)
    progress(0.2, "simulate")
    cent = centroids_of(d.footprints) if scenario.spotting else None
    res = simulate(graph, d.classes, weather, sources, hours=scenario.hours, model=model,
                   spotting=SpottingParams() if scenario.spotting else None, seed=scenario.seed, centroids=cent,
                   height=d.height, floor_area=d.floor_area, suppression=scenario.suppression,
                   progress=lambda f, s: progress(0.2 + 0.75 * f, s))
    progress(1.0, "done")
    return ScenarioRun(scenario, weather, applied, res, model, notes, np.asarray(sources, dtype=np.int64))


# A note on a result, not an error (so not an ErrorCode): the run answered, with this caveat.
NOTE_IGNITION_NOT_BURNABLE = dict(
    code="ignition_not_burnable",
    ja="出火建物はこのシナリオで燃えない建物（耐火・除却）になっているため、延焼は起きません。",
    en="The ignition building cannot burn in this scenario (rebuilt fire-resistant or removed): no fire spreads.",
)


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
    model = model or model_for(scenario.model)
    graph = (graph or _default_graph)(d.footprints, applied.walls)
    spread = prepare(graph, d.classes, weather, model, d.height)
    mc = burn_probability(spread, runs, hours=scenario.hours, seed=scenario.seed, workers=workers, progress=progress)
    return {"version": RESULT_VERSION, "feature_count": len(d), "scenario": scenario.name, "model": model.name,
            "weather": weather.to_dict(), "hours": scenario.hours, "seed": scenario.seed, **mc.to_dict()}


def clusters_of(table, scenario: Scenario | None = None, *, p_outbreak: float = 0.00075) -> dict:
    """延焼クラスター for a table (after a scenario's measures, if given), normal and x1.5."""
    scenario = scenario or Scenario()
    applied = apply_scenario(district_for(table, scenario), scenario)
    base = applied.district
    graph = _default_graph(base.footprints, applied.walls)
    fa = base.floor_area_or_footprint()
    normal = find_clusters(graph, base.classes, floor_area=fa)
    large = find_clusters(graph, base.classes, floor_area=fa, large_fire=True)
    return {"version": RESULT_VERSION, "feature_count": len(base),
            "clusters": normal.to_dict(p_outbreak), "clusters_large_fire": large.to_dict(p_outbreak),
            "class": base.classes.astype(int).tolist(), "class_fallbacks": base.fallbacks}
