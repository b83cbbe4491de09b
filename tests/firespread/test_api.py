"""The HTTP adapter with a real aiohttp server on loopback (TestServer/TestClient)."""

import asyncio
import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from yakuba.server.app import create_app
from yakuba.server.settings import Settings

TOKEN = "s3cret-admin"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}  # Monte Carlo runs are for staff and administrators


@pytest.fixture
async def client(data_dir):
    # the whole app: the Bearer token becomes an administrator through the auth middleware
    app = create_app(Settings.load(data_dir=data_dir, api_token=TOKEN, argon2_profile="test"))
    async with TestClient(TestServer(app)) as c:
        yield c


async def wait_done(client, sid: str, headers: dict | None = None) -> dict:
    for _ in range(600):  # polls a real job in a worker process; bounded at ~30 s
        r = await client.get(f"/api/simulations/{sid}", headers=headers)
        assert r.status == 200
        doc = await r.json()
        assert 0.0 <= doc["progress"] <= 1.0
        if doc["state"] in ("done", "failed"):
            return doc
        await asyncio.sleep(0.05)
    raise AssertionError("simulation did not finish")


async def test_run_a_scenario_and_get_compact_results(client, synth_table):
    body = {"weather": {"preset": "最悪"}, "hours": 2, "seed": 3, "ignition": [synth_table.gml_id[500]],
            "scenario": {"name": "A", "wooden": "裸木造", "measures": [{"type": "rebuild", "to": "耐火", "share": 0.1}]}}
    r = await client.post("/api/datasets/synth/simulations", json=body)
    assert r.status == 202
    sid = (await r.json())["id"]
    doc = await wait_done(client, sid)
    assert doc["state"] == "done", doc
    res = doc["result"]
    n = len(synth_table)
    assert res["feature_count"] == n
    assert len(res["ignition_s"]) == len(res["class"]) == n
    assert res["ignition_s"][500] == 0
    assert res["summary"]["buildings_burnt"] == sum(t is not None for t in res["ignition_s"])
    assert res["class_legend"]["0"]["ja"] == "耐火"
    assert res["series"]["t_s"][-1] == 7200
    assert res["measures"]["rebuilt"] > 0


async def test_montecarlo_job(client):
    r = await client.post("/api/datasets/osaka/simulations", json={"hours": 1, "montecarlo": {"runs": 50}})
    assert r.status == 403 and (await r.json())["error"]["code"] == "forbidden"  # a resident
    r = await client.post("/api/datasets/osaka/simulations", json={"hours": 1, "montecarlo": {"runs": 50}}, headers=ADMIN)
    assert r.status == 202
    doc = await wait_done(client, (await r.json())["id"], ADMIN)
    assert doc["state"] == "done" and doc["kind"] == "montecarlo"
    p = doc["result"]["probability"]
    assert len(p) == 63 and max(p) > 0 and all(0 <= x <= 1 for x in p)


async def test_clusters(client):
    r = await client.get("/api/datasets/osaka/clusters")
    assert r.status == 200
    doc = await r.json()
    assert len(doc["clusters"]["labels"]) == 63
    assert doc["clusters_large_fire"]["sizes"][0] >= doc["clusters"]["sizes"][0]


@pytest.mark.parametrize("path, body, status, code, words", [
    ("/api/datasets/nowhere/simulations", {}, 404, "unknown_dataset", "unknown dataset"),
    ("/api/datasets/osaka/simulations", {"weather": {"speed": -1}}, 400, "invalid_scenario", "wind speed must be >= 0"),
    ("/api/datasets/osaka/simulations", {"ignition": ["bldg_nope"]}, 400, "invalid_scenario", "unknown building id"),
    ("/api/datasets/osaka/simulations", {"scenario": {"measures": [{"type": "open_space", "polygon": [[0, 0], [9, 9], [9, 0], [0, 9]]}]}},
     400, "invalid_scenario", "Self-intersection"),
    ("/api/datasets/osaka/simulations", {"ignition": ["x"] * 5000}, 413, "too_large", "ignition points"),
    ("/api/datasets/osaka/simulations", {"hours": 10000}, 413, "too_large", "hours"),
    ("/api/datasets/osaka/simulations", {"montecarlo": {"runs": 10 ** 6}}, 413, "too_large", "runs"),
    ("/api/datasets/osaka/simulations", {"frobnicate": 1}, 400, "invalid_request", "unknown field"),
])
async def test_bad_requests_are_clear_json_errors(client, path, body, status, code, words, caplog):
    caplog.set_level(logging.INFO, logger="yakuba.server.simulation_api")
    r = await client.post(path, json=body)
    assert r.status == status
    err = (await r.json())["error"]
    assert err["code"] == code and words in err["message"]
    assert "Traceback" not in err["message"]
    assert any("simulation api" in rec.getMessage() for rec in caplog.records)
    # Nothing else is affected: a good request still works afterwards.
    ok = await client.get("/api/datasets/osaka/clusters")
    assert ok.status == 200


async def test_unknown_simulation_and_bad_json(client):
    r = await client.get("/api/simulations/doesnotexist")
    assert r.status == 404 and (await r.json())["error"]["code"] == "unknown_simulation"
    r = await client.post("/api/datasets/osaka/simulations", data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_json"


async def test_a_seed_beyond_range_is_a_clear_400(client, synth_table):
    body = {"weather": {"preset": "最悪"}, "hours": 1, "seed": 2**70, "ignition": [synth_table.gml_id[0]]}
    r = await client.post("/api/datasets/synth/simulations", json=body)
    assert r.status == 400 and (await r.json())["error"]["code"] in ("invalid_request", "invalid_scenario")


async def test_physics_run_with_brigades_and_a_note_through_the_api(client, synth_table):
    wooden = [i for i, c in enumerate(synth_table.structure_code) if c == "601"]
    src = synth_table.gml_id[wooden[len(wooden) // 2]]
    body = {"model": "physics", "weather": {"preset": "最悪"}, "hours": 2, "ignition": [src],
            "suppression": {"delay_min": 5, "brigades": 30, "front_m": 40, "interval_min": 2}}
    r = await client.post("/api/datasets/synth/simulations", json=body)
    assert r.status == 202
    doc = await wait_done(client, (await r.json())["id"])
    res = doc["result"]
    assert res["model"] == "physics" and res["suppression"]["brigades"] == 30
    assert res["class_legend"]["4"] == {"ja": "不明", "key": "unknown", "burns": True, "spreads_as": "protected_wood"}
    assert res["class_legend"]["0"]["burns"] is False
    assert res["contained_s"] is not None, "30 brigades from the 5th minute hold this front"
    assert all(t is None or t <= res["contained_s"] for t in res["ignition_s"])
    # The same ignition rebuilt to 耐火: an answer with a note, not a failed job.
    body2 = {**body, "scenario": {"measures": [{"type": "rebuild", "to": "耐火", "buildings": [src]}]}}
    r = await client.post("/api/datasets/synth/simulations", json=body2)
    doc = await wait_done(client, (await r.json())["id"])
    assert doc["state"] == "done" and doc["result"]["summary"]["buildings_burnt"] == 0
    assert doc["result"]["notes"][0]["code"] == "ignition_not_burnable"


@pytest.mark.parametrize("body, field", [
    ({"model": "magic"}, "model"),
    ({"suppression": {"delay_min": -1}}, "delay_min"),
    ({"weather": {"speed": -5}}, "speed"),
    ({"hours": 500}, "hours"),
])
async def test_bad_model_and_brigade_fields_are_refused(client, body, field):
    r = await client.post("/api/datasets/synth/simulations", json=body)
    assert r.status in (400, 413)
    assert field in (await r.json())["error"]["message"]
