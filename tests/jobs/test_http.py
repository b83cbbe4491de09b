"""The job routes over real HTTP (aiohttp TestServer on loopback), real database and worker
processes. Who is asking is set on ``request["principal"]`` by a test middleware standing in
for the login session (the auth engineer's middleware does the same from the cookie)."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from yakuba.server.auth.principal import Kind, Principal, resident
from yakuba.server.auth.identity import PRINCIPAL_KEY
from yakuba.server.jobs.routes import setup_jobs
from yakuba.server.settings import Settings
from yakuba.server.simulation_api import setup_simulation_routes

from .conftest import LONG_MC, final, wait_row

PRINCIPALS = {
    "ana": resident("ana"),
    "ben": resident("ben"),
    "staff": Principal(kind=Kind.STAFF, staff_id=7, municipality="271209", roles=frozenset({"staff"})),
    "admin": Principal(kind=Kind.ADMIN, staff_id=1, municipality="271209", roles=frozenset({"staff", "admin"})),
}


@web.middleware
async def as_test_principal(request: web.Request, handler):
    request[PRINCIPAL_KEY] = PRINCIPALS[request.headers.get("X-Test-As", "ana")]
    return await handler(request)


def who(name: str) -> dict:
    return {"X-Test-As": name}


@pytest.fixture
async def client(db, jobs_data):
    settings = Settings(data_dir=jobs_data, job_workers=1, jobs_per_principal=1, node_id="node-h")
    app = web.Application(middlewares=[as_test_principal])
    setup_jobs(app, settings, db)
    setup_simulation_routes(app, settings)
    async with TestClient(TestServer(app)) as c:
        yield c


async def code_of(r) -> str:
    return (await r.json())["error"]["code"]


async def test_a_resident_sees_only_their_own_jobs(client, db):
    r = await client.post("/api/datasets/small/simulations", json={"hours": 1}, headers=who("ana"))
    assert r.status == 202
    sid = (await r.json())["id"]
    await wait_row(db, sid, final)
    r = await client.get(f"/api/jobs/{sid}", headers=who("ana"))
    doc = await r.json()
    assert r.status == 200 and doc["state"] == "done" and doc["progress"] == 1.0 and doc["kind"] == "simulation"
    assert doc["result"]["feature_count"] == 600 and "owner" not in doc and "params" not in doc
    r = await client.get(f"/api/simulations/{sid}", headers=who("ana"))
    assert r.status == 200 and (await r.json())["result"]["feature_count"] == 600
    # Someone else: as if it did not exist.
    for method, path, code in (("GET", f"/api/jobs/{sid}", "not_found"), ("DELETE", f"/api/jobs/{sid}", "not_found"),
                               ("GET", f"/api/simulations/{sid}", "unknown_simulation")):
        r = await client.request(method, path, headers=who("ben"))
        assert r.status == 404 and await code_of(r) == code
    assert [j["id"] for j in (await (await client.get("/api/jobs", headers=who("ana"))).json())["jobs"]] == [sid]
    assert (await (await client.get("/api/jobs", headers=who("ben"))).json())["jobs"] == []
    # Staff see every job.
    assert sid in [j["id"] for j in (await (await client.get("/api/jobs", headers=who("staff"))).json())["jobs"]]
    assert (await client.get(f"/api/jobs/{sid}", headers=who("staff"))).status == 200


async def test_limit_cancel_and_montecarlo_policy(client, db):
    body = {**LONG_MC, "montecarlo": {"runs": 8000}}
    r = await client.post("/api/datasets/big/simulations", json=body, headers=who("ana"))
    assert r.status == 403 and await code_of(r) == "forbidden"  # Monte Carlo is for staff
    r = await client.post("/api/datasets/big/simulations", json=body, headers=who("staff"))
    assert r.status == 202
    sid = (await r.json())["id"]
    r = await client.post("/api/datasets/big/simulations", json=body, headers=who("staff"))
    assert r.status == 429 and await code_of(r) == "job_limit"  # one active job per principal here
    await wait_row(db, sid, lambda j: j["state"] == "running" and j["progress"] > 0)
    doc = await (await client.get(f"/api/jobs/{sid}", headers=who("staff"))).json()
    assert doc["state"] == "running" and 0 < doc["progress"] < 1 and doc["result"] is None
    r = await client.delete(f"/api/jobs/{sid}", headers=who("admin"))  # staff see it, only owner/admin cancel
    assert r.status == 200 and (await r.json())["state"] == "cancelled"
    r = await client.delete(f"/api/jobs/{sid}", headers=who("staff"))
    assert r.status == 409 and await code_of(r) == "job_finished"
    # A slot is free again.
    r = await client.post("/api/datasets/small/simulations", json={"hours": 1}, headers=who("staff"))
    assert r.status == 202
    await wait_row(db, (await r.json())["id"], final)


async def test_staff_cannot_cancel_someone_elses_job(client, db):
    r = await client.post("/api/datasets/small/simulations", json={"hours": 1}, headers=who("ben"))
    sid = (await r.json())["id"]
    r = await client.delete(f"/api/jobs/{sid}", headers=who("staff"))
    assert r.status == 403 and await code_of(r) == "forbidden"  # the policy answers before the state
    await wait_row(db, sid, final)
