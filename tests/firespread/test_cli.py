import json

import pytest

from yakuba.server.cli import main


def test_simulate_writes_ignition_times_summary_and_series(data_dir, tmp_path, osaka_table, capsys):
    out = tmp_path / "r.json"
    src = osaka_table.gml_id[0]
    rc = main(["simulate", "osaka", "--data", str(data_dir), "--wind-speed", "8", "--wind-dir", "270",
               "--ignite", src, "--hours", "3", "--seed", "1", "--out", str(out)])
    assert rc == 0
    doc = json.loads(out.read_text())
    assert set(doc["ignition_s"]) == set(osaka_table.gml_id)
    assert doc["ignition_s"][src] == 0
    burnt = sum(v is not None for v in doc["ignition_s"].values())
    assert doc["summary"]["buildings_burnt"] == burnt > 1
    s = doc["burnt_area_series"]
    assert s["t_s"][0] == 0 and s["t_s"][-1] == 3 * 3600
    assert s["burnt_footprint_area_m2"][-1] == pytest.approx(doc["summary"]["footprint_area_burnt_m2"], abs=0.2)
    assert doc["weather"]["direction_deg"] == 270


def test_scenario_file_and_clusters(data_dir, tmp_path):
    sc = tmp_path / "s.yaml"
    sc.write_text("name: 不燃化\nwooden: 裸木造\nmeasures:\n  - {type: rebuild, to: 耐火, share: 1.0}\n", encoding="utf-8")
    out = tmp_path / "c.json"
    assert main(["clusters", "osaka", "--data", str(data_dir), "--out", str(out)]) == 0
    before = json.loads(out.read_text())
    assert main(["clusters", "osaka", "--data", str(data_dir), "--scenario", str(sc), "--out", str(out)]) == 0
    after = json.loads(out.read_text())
    # Every wooden building rebuilt as 耐火: nothing left that burns, so no cluster remains.
    assert before["clusters"]["sizes"] and before["clusters"]["sizes"][0] > 1
    assert after["clusters"]["sizes"] == [] or max(after["clusters"]["sizes"]) < before["clusters"]["sizes"][0]
    assert len(before["clusters"]["labels"]) == len(before["gml_id"]) == 63


@pytest.mark.parametrize("args, message", [
    (["simulate", "nowhere"], "unknown dataset 'nowhere'"),
    (["simulate", "osaka", "--wind-speed", "-5"], "wind speed must be >= 0"),
    (["simulate", "osaka", "--ignite", "bldg_missing"], "unknown building id(s) 'bldg_missing'"),
    (["simulate", "osaka", "--hours", "500"], "hours: must be <= 72"),
    (["clusters", "../etc"], "invalid dataset id"),
])
def test_user_errors_are_one_line_without_traceback(data_dir, tmp_path, capsys, args, message):
    rc = main(args + ["--data", str(data_dir), "--out", str(tmp_path / "x.json")])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "x.json").exists()


def test_compare_reports_buildings_and_floor_area_saved(data_dir, tmp_path, osaka_table):
    a = tmp_path / "a.yaml"
    a.write_text("name: 現況\nwooden: 裸木造\n", encoding="utf-8")
    # B rebuilds the eastern half as 耐火; the fire starts at the westernmost building.
    xs = [fp.centroid.x for fp in osaka_table.footprints]
    ys = [fp.centroid.y for fp in osaka_table.footprints]
    mid = (min(xs) + max(xs)) / 2
    area = [[mid, min(ys) - 50], [max(xs) + 50, min(ys) - 50], [max(xs) + 50, max(ys) + 50], [mid, max(ys) + 50]]
    b = tmp_path / "b.json"
    b.write_text(json.dumps({"name": "東側不燃化", "wooden": "裸木造", "measures": [{"type": "rebuild", "to": "耐火", "area": area}]}), encoding="utf-8")
    out = tmp_path / "cmp.json"
    src = osaka_table.gml_id[xs.index(min(xs))]
    rc = main(["simulate", "osaka", "--data", str(data_dir), "--scenario", str(a), "--compare", str(b),
               "--weather", "最悪", "--ignite", src, "--hours", "6", "--out", str(out)])
    assert rc == 0
    doc = json.loads(out.read_text())
    c = doc["comparison"]
    assert c["a"] == "現況" and c["b"] == "東側不燃化"
    assert c["buildings_burnt_a"] == doc["summary"]["buildings_burnt"]
    assert c["buildings_saved"] == c["buildings_burnt_a"] - c["buildings_burnt_b"]
    assert c["buildings_saved"] > 0 and c["floor_area_saved_m2"] > 0


def test_simulate_with_the_physics_model_and_brigades(data_dir, tmp_path, osaka_table, capsys):
    out = tmp_path / "p.json"
    src = osaka_table.gml_id[0]
    rc = main(["simulate", "osaka", "--data", str(data_dir), "--model", "physics", "--weather", "最悪", "--ignite", src,
               "--hours", "3", "--suppression", "5,20,40,2", "--out", str(out)])
    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["model"] == "physics"
    assert doc["suppression"] == {"delay_min": 5.0, "brigades": 20, "front_m": 40.0, "interval_min": 2.0}
    assert doc["ignition_s"][src] == 0
    assert doc["contained_s"] is not None, "20 brigades from the 5th minute hold a fire on the small Osaka sample"
    assert all(v is None or v <= doc["contained_s"] for v in doc["ignition_s"].values())


@pytest.mark.parametrize("arg, msg", [("5,x,40", "must be numbers"), ("5,20", "takes 3 or 4"), ("5,0,40", "suppression.brigades")])
def test_bad_suppression_is_one_line_and_exit_2(data_dir, tmp_path, arg, msg, capsys):
    rc = main(["simulate", "osaka", "--data", str(data_dir), "--suppression", arg, "--out", str(tmp_path / "x.json")])
    assert rc == 2
    assert msg in capsys.readouterr().err


def test_compare_holds_weather_ignition_and_model_equal(data_dir, tmp_path, osaka_table):
    b = tmp_path / "b.json"
    b.write_text(json.dumps({"name": "B", "weather": {"speed": 1, "direction": 0}, "model": "hamada",
                             "measures": [{"type": "rebuild", "to": "耐火", "share": 0.5}]}), encoding="utf-8")
    out = tmp_path / "ab.json"
    src = osaka_table.gml_id[0]
    rc = main(["simulate", "osaka", "--data", str(data_dir), "--model", "physics", "--wind-speed", "12", "--wind-dir", "270",
               "--ignite", src, "--hours", "3", "--compare", str(b), "--out", str(out)])
    assert rc == 0
    doc = json.loads(out.read_text())
    c = doc["comparison"]
    assert c["b"] == "B" and c["buildings_burnt_b"] <= c["buildings_burnt_a"]
    assert c["b_weather"] == doc["weather"] and c["b_weather"]["speed_ms"] == 12
    assert c["b_model"] == "physics" and c["b_ignition"] == [src]
