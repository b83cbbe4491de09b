"""Two real `yakuba serve` processes on one real Redis (arq) and one shared database (a SQLite
file both point to through YAKUBA_DATABASE_URL, and PostgreSQL): a job started through node A
is listed with its progress by node B; kill -9 the node running it, restart it, and the job is
resumed (or failed with a reason), never left `running`."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from yakuba.server.db.engine import Database
from yakuba.server.jobs import records
from yakuba_testing import ServeProcess

from .conftest import LONG_MC, make_data_dir

TOKEN = "multi-node-admin"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_db(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'shared.sqlite3'}"
    return request.getfixturevalue("postgres_server").create_database()


async def poll(http: aiohttp.ClientSession, url: str, pred, timeout: float = 90.0) -> dict:
    """Bounded wait on another process's work (the job), not on a clock inside the code under test."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        async with http.get(url, headers=AUTH) as r:
            last = await r.json()
            if r.status == 200 and pred(last):
                return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out; last answer {last}")


def listed(job_id: str, pred):
    def check(doc: dict) -> bool:
        return any(j["id"] == job_id and pred(j) for j in doc.get("jobs", []))

    return check


async def test_job_seen_from_every_node_and_survives_a_killed_node(redis_server, shared_db, tmp_path):
    data = make_data_dir(tmp_path / "data")
    env = {"YAKUBA_DATABASE_URL": shared_db, "YAKUBA_API_TOKEN": TOKEN, "YAKUBA_JOB_WORKERS": "1"}
    nodes = {
        "a": ServeProcess(data, redis_server.url, env={**env, "YAKUBA_NODE_ID": "node-a"}),
        "b": ServeProcess(data, redis_server.url, env={**env, "YAKUBA_NODE_ID": "node-b"}),
    }
    db = Database(shared_db)
    try:
        nodes["a"].start()  # one at a time: the first migrates the empty database
        nodes["b"].start()
        a, b = nodes["a"].url, nodes["b"].url
        async with aiohttp.ClientSession() as http:
            body = {**LONG_MC, "montecarlo": {"runs": 6000}}
            async with http.post(f"{a}/api/datasets/big/simulations", json=body, headers=AUTH) as r:
                assert r.status == 202, await r.text()
                job_id = (await r.json())["id"]
            # Node B lists it, with its progress, while it runs (on whichever node arq gave it to).
            doc = await poll(http, f"{b}/api/jobs", listed(job_id, lambda j: j["state"] == "running" and j["progress"] > 0))
            row = next(j for j in doc["jobs"] if j["id"] == job_id)
            later = await poll(http, f"{b}/api/jobs/{job_id}", lambda j: j["progress"] > row["progress"])
            assert later["state"] == "running", later  # 6,000 runs take several seconds
            rec = await records.get(db, job_id)  # which node runs it is in the row, not in the API
            assert rec["node"] in ("node-a", "node-b") and rec["attempts"] == 1
            # kill -9 the node running it mid-job, then restart it under the same node id.
            runner = "a" if rec["node"] == "node-a" else "b"
            other = nodes["b" if runner == "a" else "a"].url
            nodes[runner].kill()
            gone = await poll(http, f"{other}/api/jobs/{job_id}", lambda j: True)
            assert gone["state"] == "running"  # nobody has noticed yet: the row still says so
            nodes[runner].start()
            done = await poll(http, f"{other}/api/jobs/{job_id}", lambda j: j["state"] not in ("queued", "running"), 120)
            # Resumed from its inputs (the dataset is still there): a second attempt that finished.
            assert done["state"] == "done" and (await records.get(db, job_id))["attempts"] == 2, done
            async with http.get(f"{nodes[runner].url}/api/simulations/{job_id}", headers=AUTH) as r:
                sim = await r.json()
            assert sim["state"] == "done" and sim["result"]["runs"] == 6000
            assert len(sim["result"]["probability"]) == sim["result"]["feature_count"] > 10000
    finally:
        for n in nodes.values():
            n.stop()
        await db.close()
