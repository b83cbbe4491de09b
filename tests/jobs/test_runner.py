"""The job runner with its real parts: a spawn process pool, a real database (SQLite file and
PostgreSQL), result files under the data dir."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from yakuba.server.db.models import Job, utcnow
from yakuba.server.jobs import records
from yakuba.server.jobs.runner import JobLimit, JobService

from .conftest import LONG_MC, OSAKA_GML, final, wait_row


def meta_of(data: Path, job_id: str) -> dict:
    return json.loads((data / "jobs" / job_id / "meta.json").read_text())


async def test_simulation_runs_in_another_process_and_writes_its_result(service, db, jobs_data):
    row = await service.submit("anon:a", "simulation", "small", {"dataset": "small", "scenario": {"hours": 1}})
    assert row["state"] == "queued"
    row = await wait_row(db, row["id"], final)
    assert row["state"] == "done" and row["progress"] == 1.0 and row["attempts"] == 1 and row["node"] == "node-t"
    assert row["result_path"] == f"jobs/{row['id']}/result.json"
    res = json.loads((jobs_data / row["result_path"]).read_text())
    assert res["feature_count"] == 600 and len(res["ignition_s"]) == 600
    meta = meta_of(jobs_data, row["id"])
    assert meta["pid"] != os.getpid()  # the CPU work ran in a worker process


async def test_import_job_and_bad_input(service, db, jobs_data, tmp_path):
    for name, body, want in (("ok", OSAKA_GML.read_bytes(), "done"), ("broken", OSAKA_GML.read_bytes()[:5000], "failed")):
        work = jobs_data / "uploads" / f"t-{uuid.uuid4().hex[:8]}"
        work.mkdir(parents=True)
        (work / "upload.gml").write_bytes(body)
        ds = f"imp-{name}-{uuid.uuid4().hex[:6]}"
        params = {"work": work.relative_to(jobs_data).as_posix(), "files": ["upload.gml"], "name": ds, "dataset": ds, "lod": 1}
        row = await service.submit("admin:api-token", "import", ds, params)
        row = await wait_row(db, row["id"], final)
        assert row["state"] == want, row
        assert not work.exists()  # the upload is dropped once the job has ended
        if want == "done":
            res = json.loads((jobs_data / row["result_path"]).read_text())
            assert res["buildings"] == 63 and "path" not in res
            assert (jobs_data / "datasets" / ds / "buildings.npz").is_file()
        else:
            assert row["error"]["code"] == "invalid_input" and row["error"]["line"]


async def test_progress_is_written_while_running(service, db):
    row = await service.submit("staff:1", "montecarlo", "big", {"dataset": "big", "scenario": LONG_MC, "runs": 4000})
    seen = await wait_row(db, row["id"], lambda r: r["state"] == "running" and 0.1 < r["progress"] < 1.0)
    assert seen["stage"] == "montecarlo" and seen["heartbeat_at"] is not None
    later = await wait_row(db, row["id"], lambda r: final(r) or r["progress"] > seen["progress"])
    assert later["progress"] > seen["progress"]
    done = await wait_row(db, row["id"], final)
    assert done["state"] == "done" and done["progress"] == 1.0


async def test_cancel_queued_at_once_and_running_at_next_report(service, db, jobs_data):
    params = {"dataset": "big", "scenario": LONG_MC, "runs": 10000}
    first = await service.submit("staff:1", "montecarlo", "big", params)
    second = await service.submit("staff:1", "montecarlo", "big", params)  # one worker: waits
    await wait_row(db, first["id"], lambda r: r["state"] == "running" and r["progress"] > 0.05)
    assert await service.cancel(second["id"]) == "queued"
    assert (await records.get(db, second["id"]))["state"] == "cancelled"
    assert await service.cancel(first["id"]) == "running"
    row = await records.get(db, first["id"])
    assert row["state"] == "cancelled" and row["error"]["code"] == "cancelled"
    # The worker stops at its next progress report, long before its 10,000 runs are done.
    await wait_row(db, first["id"], lambda r: (jobs_data / "jobs" / first["id"] / "meta.json").is_file())
    meta = meta_of(jobs_data, first["id"])
    assert meta["error"]["code"] == "cancelled" and "result_path" not in meta
    assert (await records.get(db, first["id"]))["state"] == "cancelled"  # the finish did not overwrite it
    assert not (jobs_data / "jobs" / second["id"] / "meta.json").exists()  # never ran
    assert await service.cancel(first["id"]) is None  # already final


async def test_per_principal_limit(db, jobs_data):
    svc = JobService(db, jobs_data, "node-l", workers=1, per_principal=2)
    await svc.start()
    try:
        params = {"dataset": "big", "scenario": LONG_MC, "runs": 3000}
        a = await svc.submit("anon:x", "montecarlo", "big", params)
        b = await svc.submit("anon:x", "montecarlo", "big", params)
        with pytest.raises(JobLimit):
            await svc.submit("anon:x", "montecarlo", "big", params)
        other = await svc.submit("anon:y", "simulation", "small", {"dataset": "small", "scenario": {"hours": 1}})
        await svc.cancel(a["id"])  # a slot frees up
        c = await svc.submit("anon:x", "simulation", "small", {"dataset": "small", "scenario": {"hours": 1}})
        for j in (b, other, c):
            await svc.cancel(j["id"])
    finally:
        await svc.close()


async def _insert_running(db, *, kind: str, params: dict, node: str, beat_age_s: float) -> str:
    job_id = uuid.uuid4().hex
    async with db.session() as s:
        s.add(Job(id=job_id, kind=kind, dataset=params.get("dataset"), owner="staff:1", params=params, state="running",
                  progress=0.4, stage="montecarlo", node=node, attempts=1, created_at=utcnow(),
                  heartbeat_at=utcnow() - timedelta(seconds=beat_age_s)))
    return job_id


async def test_restart_resumes_or_fails_with_a_reason_never_left_running(db, jobs_data):
    mc = {"dataset": "small", "scenario": {"hours": 1}, "runs": 50}
    own = await _insert_running(db, kind="montecarlo", params=mc, node="node-r", beat_age_s=0)  # this node, before a crash
    dead = await _insert_running(db, kind="simulation", params={"dataset": "small"}, node="gone", beat_age_s=3600)
    alive = await _insert_running(db, kind="simulation", params={"dataset": "small"}, node="other", beat_age_s=0)
    lost = await _insert_running(db, kind="import", params={"work": "uploads/vanished", "files": ["a.gml"]}, node="gone",
                                 beat_age_s=3600)
    svc = JobService(db, jobs_data, "node-r", workers=1)
    await svc.start()
    try:
        for job_id in (own, dead):
            row = await wait_row(db, job_id, final)
            assert row["state"] == "done" and row["attempts"] == 2 and row["node"] == "node-r", row
        row = await records.get(db, lost)
        assert row["state"] == "failed" and row["error"] == {"code": "interrupted", "message": "interrupted by a restart; inputs gone"}
        # Another live node's job (fresh heartbeat) is left to that node.
        assert (await records.get(db, alive))["state"] == "running"
    finally:
        await svc.close()
    await records.fail(db, alive, {"code": "internal", "message": "test cleanup"})


async def test_dead_nodes_simulation_with_its_dataset_deleted_fails_with_a_reason(db, jobs_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(jobs_data / "datasets" / "small", data / "datasets" / "small")
    job = await _insert_running(db, kind="simulation", params={"dataset": "small"}, node="gone", beat_age_s=3600)
    shutil.rmtree(data / "datasets" / "small")
    svc = JobService(db, data, "node-x", workers=1)
    await svc.start()
    try:
        row = await records.get(db, job)
        assert row["state"] == "failed" and row["error"]["code"] == "interrupted"
    finally:
        await svc.close()


async def test_a_worker_killed_mid_job_fails_it_with_a_reason_and_the_next_job_runs(service, db):
    import signal

    row = await service.submit("staff:1", "montecarlo", "big", {"dataset": "big", "scenario": LONG_MC, "runs": 10000})
    await wait_row(db, row["id"], lambda r: r["state"] == "running" and r["progress"] > 0.02)
    old_queue = service._mpq
    for proc in list(service.pool._processes.values()):  # kill -9 the worker, as an OOM killer would
        os.kill(proc.pid, signal.SIGKILL)
    row = await wait_row(db, row["id"], final)
    assert row["state"] == "failed" and row["error"] == {"code": "internal", "message": "the worker process died"}
    nxt = await service.submit("staff:1", "simulation", "small", {"dataset": "small", "scenario": {"hours": 1}})
    assert (await wait_row(db, nxt["id"], final))["state"] == "done"  # a new pool took it
    # This process never writes to the progress queue: a feeder thread here would wait for ever on
    # the queue's lock if the killed worker held it, and the interpreter joins feeders at exit.
    assert old_queue._thread is None and service._mpq._thread is None
