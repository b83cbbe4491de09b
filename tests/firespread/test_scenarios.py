import pytest

from yakuba.gis.firespread.run import district_for, run_scenario
from yakuba.gis.firespread.scenarios import ScenarioError, apply_scenario, load_scenario_text, parse_scenario

SQUARE = [[0, 0], [10, 0], [10, 10], [0, 10]]


@pytest.mark.parametrize("doc, path, words", [
    ({"weather": {"speed": -3}}, "weather", "wind speed must be >= 0"),
    ({"measures": [{"type": "open_space", "polygon": [[0, 0], [10, 10], [10, 0], [0, 10]]}]}, "measures[0].polygon", "Self-intersection"),
    ({"measures": [{"type": "road_widening", "centreline": [[0, 0], [1, 0]], "width": 500}]}, "measures[0].width", "<= 100"),
    ({"ignition": [f"b{i}" for i in range(101)]}, "ignition", "more than the 100 allowed"),
    ({"hours": 1000}, "hours", "<= 72"),
    ({"measures": [{"type": "flood"}]}, "measures[0].type", "unknown measure type"),
    ({"measures": [{"type": "rebuild", "to": "木造", "area": SQUARE}]}, "measures[0].to", "unknown structure class"),
    ({"measures": [{"type": "rebuild", "to": "耐火"}]}, "measures[0]", "needs an area"),
    ({"bogus": 1}, "", "unknown field"),
])
def test_bad_scenarios_get_clear_errors(doc, path, words):
    with pytest.raises(ScenarioError) as e:
        parse_scenario(doc)
    assert e.value.path == path
    assert words in str(e.value)


def test_unknown_building_ids_are_named(synth_table):
    s = parse_scenario({"ignition": ["nope_1"], "measures": [{"type": "rebuild", "to": "耐火", "buildings": ["nope_2"]}]})
    with pytest.raises(ScenarioError, match=r"measures\[0\].buildings: unknown building id\(s\) 'nope_2'"):
        apply_scenario(district_for(synth_table, s), s)
    with pytest.raises(ScenarioError, match=r"ignition: unknown building id\(s\) 'nope_1'"):
        run_scenario(synth_table, parse_scenario({"ignition": ["nope_1"]}))


def test_yaml_and_json_text_parse_the_same():
    y = "name: 道路拡幅\nweather: {preset: 最悪}\nmeasures:\n  - {type: open_space, polygon: [[0,0],[10,0],[10,10],[0,10]]}\n"
    j = '{"name": "道路拡幅", "weather": {"preset": "最悪"}, "measures": [{"type": "open_space", "polygon": [[0,0],[10,0],[10,10],[0,10]]}]}'
    a, b = load_scenario_text(y), load_scenario_text(j)
    assert a.name == b.name == "道路拡幅"
    assert a.weather == b.weather and a.weather.speed_ms == 12.0
    assert a.measures[0].polygon.equals(b.measures[0].polygon)


def test_open_space_removes_buildings_and_base_is_unchanged(synth_table, layout):
    s = parse_scenario({"measures": [{"type": "open_space", "polygon": [[0, 0], [60, 0], [60, 60], [0, 60]]}]})
    base = district_for(synth_table, s)
    a = apply_scenario(base, s)
    assert len(a.removed) > 5
    assert (a.district.classes[a.removed] == 5).all()
    assert (base.classes[a.removed] != 5).all()  # the base district was not modified
