"""One embedded `yakuba serve` (no Redis: local process pool, SQLite in its data folder)
restarted gracefully (SIGTERM) while a simulation runs: the job is still listed after the
restart, and it ends (resumed from its inputs, or failed with a reason), never stuck."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from yakuba_testing import ServeProcess

from .conftest import LONG_MC
from .test_multinode import AUTH, TOKEN, listed, poll


async def test_a_job_started_before_a_restart_is_listed_after_it(jobs_data: Path, tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "datasets").symlink_to(jobs_data / "datasets")  # the built districts, shared read-only
    # No YAKUBA_NODE_ID (the default): the restarted node has a new id and takes the job back as
    # one whose heartbeat stopped; 2 s instead of the default 15 s the test used to wait out.
    node = ServeProcess(data, env={"YAKUBA_API_TOKEN": TOKEN, "YAKUBA_JOB_WORKERS": "1", "YAKUBA_JOB_STALE_S": "2"})
    try:
        node.start()
        async with aiohttp.ClientSession() as http:
            body = {**LONG_MC, "montecarlo": {"runs": 3000}}
            async with http.post(f"{node.url}/api/datasets/big/simulations", json=body, headers=AUTH) as r:
                assert r.status == 202, await r.text()
                job_id = (await r.json())["id"]
            await poll(http, f"{node.url}/api/jobs/{job_id}", lambda j: j["state"] == "running")
            assert node.stop("term") == 0  # graceful
            node.start()  # same data folder, same database file
            await poll(http, f"{node.url}/api/jobs", listed(job_id, lambda j: True), 30)
            done = await poll(http, f"{node.url}/api/jobs/{job_id}", lambda j: j["state"] not in ("queued", "running"), 120)
            assert done["state"] == "done" or (done["state"] == "failed" and done["error"]["code"]), done
    finally:
        node.stop()
