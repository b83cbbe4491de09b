"""What planners compare: brigades (suppression), a scenario that rebuilds the ignition building,
comparisons on the same ignition, burn probabilities that differ between buildings."""

import numpy as np
import pytest

from yakuba.gis.firespread.classes import StructureClass as C
from yakuba.gis.firespread.graph import build_graph
from yakuba.gis.firespread.montecarlo import burn_probability
from yakuba.gis.firespread.physics import PhysicsModel
from yakuba.gis.firespread.run import run_scenario
from yakuba.gis.firespread.scenarios import ScenarioError, Suppression, parse_scenario
from yakuba.gis.firespread.simulate import prepare, simulate
from yakuba.gis.firespread.suppression import capacity, contain
from yakuba.gis.firespread.weather import Weather

from .lattices import lattice, southmost_centre


def test_capacity_grows_as_brigades_arrive():
    sup = Suppression(delay_min=10, brigades=3, front_m=40, interval_min=5)
    t = np.array([0, 599, 600, 899, 900, 1200, 5000]) * 1.0
    assert capacity(t, sup).tolist() == [0, 0, 40, 40, 80, 120, 120]


@pytest.mark.parametrize("model_name", ["hamada", "physics"])
def test_a_closer_fire_station_contains_the_fire_sooner_and_saves_buildings(model_name):
    fps = lattice(30, 30, 10.0, 2.0)
    g = build_graph(fps)
    model = PhysicsModel() if model_name == "physics" else None
    free = simulate(g, np.full(len(fps), C.PROTECTED_WOOD), Weather(6.0, 180.0), [southmost_centre(fps)], hours=6, model=model)
    runs = {}
    for delay in (5, 20, 40):
        sup = Suppression(delay_min=delay, brigades=30, front_m=40, interval_min=2)
        runs[delay] = simulate(g, np.full(len(fps), C.PROTECTED_WOOD), Weather(6.0, 180.0), [southmost_centre(fps)],
                               hours=6, model=model, suppression=sup)
    burnt = {k: int(r.burnt.sum()) for k, r in runs.items()}
    contained = {k: r.containment.contained_s for k, r in runs.items()}
    assert burnt[5] < burnt[20] < burnt[40] <= int(free.burnt.sum()), burnt
    assert contained[5] is not None and contained[5] < contained[20], contained
    # Nothing ignites after containment; what ignited before is untouched.
    r = runs[20]
    fin = np.isfinite(r.ignition_s)
    assert (r.ignition_s[fin] <= contained[20]).all()
    assert np.array_equal(r.ignition_s[fin], free.ignition_s[fin])


def test_too_few_brigades_never_hold_a_wind_driven_front():
    fps = lattice(30, 30, 10.0, 1.0)
    g = build_graph(fps)
    res = simulate(g, np.full(len(fps), C.BARE_WOOD), Weather(12.0, 180.0), [southmost_centre(fps)], hours=3)
    out, c = contain(res.ignition_s, res.burn_end_s - res.ignition_s, g, Suppression(10, 1, 20, 0), np.ones(len(fps), bool))
    assert c.contained_s is None and np.array_equal(out, res.ignition_s)


def test_rebuilding_the_ignition_building_says_so_instead_of_failing(synth_table):
    src = synth_table.gml_id[500]
    run = run_scenario(synth_table, parse_scenario({"ignition": [src], "measures": [
        {"type": "rebuild", "to": "耐火", "buildings": [src]}]}))
    assert run.summary()["buildings_burnt"] == 0
    doc = run.to_compact()
    assert [n["code"] for n in doc["notes"]] == ["ignition_not_burnable"]
    assert doc["ignition_rows"] == [500] and "耐火" in doc["notes"][0]["ja"]


def test_default_ignition_is_the_same_building_with_and_without_the_measures(synth_table, layout):
    """An open space at the centre removes the default ignition building: B must say so, not
    quietly light another building and compare two different fires."""
    a = run_scenario(synth_table, parse_scenario({"weather": {"preset": "最悪"}, "hours": 1}))
    x, y = a.applied.district.footprints[a.ignition[0]].centroid.coords[0]
    square = [[x - 20, y - 20], [x + 20, y - 20], [x + 20, y + 20], [x - 20, y + 20]]
    b = run_scenario(synth_table, parse_scenario({"weather": {"preset": "最悪"}, "hours": 1,
                                                  "measures": [{"type": "open_space", "polygon": square}]}))
    assert b.ignition.tolist() == a.ignition.tolist()
    assert b.notes and b.summary()["buildings_burnt"] == 0


def test_scenario_fields_are_checked():
    with pytest.raises(ScenarioError, match="model"):
        parse_scenario({"model": "magic"})
    with pytest.raises(ScenarioError, match="suppression.delay_min"):
        parse_scenario({"suppression": {"delay_min": -5}})
    with pytest.raises(ScenarioError, match="suppression.brigades"):
        parse_scenario({"suppression": {"brigades": 2.5}})
    with pytest.raises(ScenarioError, match=r"measures\[0\].line"):
        parse_scenario({"measures": [{"type": "wall", "line": [[0, 0]]}]})
    s = parse_scenario({"model": "physics", "suppression": {"delay_min": 8}})
    assert s.model == "physics" and s.suppression == Suppression(delay_min=8.0)


@pytest.mark.parametrize("model", ["hamada", "physics"])
def test_burn_probability_differs_between_buildings(synth_table, model):
    from yakuba.gis.firespread.run import district_for, model_for
    from yakuba.gis.firespread.scenarios import apply_scenario

    s = parse_scenario({"model": model, "hours": 2, "weather": {"preset": "最悪"}})
    d = apply_scenario(district_for(synth_table, s), s).district
    g = build_graph(d.footprints)
    spread = prepare(g, d.classes, s.weather, model_for(model), d.height)
    mc = burn_probability(spread, 60, hours=2, seed=3, workers=1)
    p = mc.probability[spread.burns]
    assert len(np.unique(np.round(p, 3))) > 5 and p.max() < 1.0
    again = burn_probability(spread, 60, hours=2, seed=3, workers=1)
    assert np.array_equal(again.probability, mc.probability)


def test_gust_is_checked_and_lofts_more_brands():
    import numpy as np

    from yakuba.gis.firespread.spotting import spot_edges
    from yakuba.gis.firespread.weather import WeatherError, weather_from_dict

    with pytest.raises(WeatherError, match="gust"):
        weather_from_dict({"speed": 10, "gust": 5})
    calm_gusts = weather_from_dict({"speed": 12, "direction": 0, "humidity": 30})
    gusty = weather_from_dict({"speed": 12, "direction": 0, "humidity": 30, "gust": 24})
    cent = np.array([[x * 12.0, y * 12.0] for x in range(30) for y in range(30)])
    burns = np.ones(len(cent), bool)
    n = [len(spot_edges(cent, burns, w, np.random.default_rng(1), area=np.full(len(cent), 100.0),
                        floor_area=np.full(len(cent), 400.0)).src) for w in (calm_gusts, gusty)]
    assert n[1] > 2 * n[0] > 0
