"""Fixtures for the job runner: a data dir with a big synthetic district (a Monte Carlo run on
it takes seconds, long enough to watch progress, cancel or kill a node) and a small one, plus a
started JobService on a real database (SQLite file and PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from yakuba.gis.buildings import BuildingTable
from yakuba.gis.district import district_layout
from yakuba.server.db.engine import Database
from yakuba.server.jobs import records
from yakuba.server.jobs.runner import JobService

REPO = Path(__file__).resolve().parents[2]
OSAKA_GML = REPO / "assets" / "samples" / "plateau" / "udx" / "bldg" / "51357309_bldg_6697_op.gml"
# ~12,000 buildings, 90 % wooden: 1,000 Monte Carlo runs in the worst wind take ~1.5 s of one core.
LONG_MC = {"hours": 24, "weather": {"preset": "最悪"}}


def make_data_dir(d: Path) -> Path:
    big = district_layout(12000, seed=7, street_width=4.0, wooden_share=0.9, fireproof_share=0.02)
    small = district_layout(600, seed=3, street_width=4.0, wooden_share=0.8, fireproof_share=0.05)
    for name, lay in (("big", big), ("small", small)):
        (d / "datasets" / name).mkdir(parents=True, exist_ok=True)
        BuildingTable.from_rows(lay.rows).save(d / "datasets" / name / "buildings.npz")
    return d


@pytest.fixture(scope="session")
def jobs_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_data_dir(tmp_path_factory.mktemp("jobsdata"))




@pytest.fixture
async def service(db: Database, jobs_data: Path):
    """A started service with one worker process (jobs run one after another)."""
    svc = JobService(db, jobs_data, "node-t", workers=1, per_principal=3)
    await svc.start()
    yield svc
    await svc.close()


async def wait_row(db: Database, job_id: str, pred, timeout: float = 60.0) -> dict:
    """Poll the job row until ``pred(row)``: the job runs in another process, so this waits on
    that process, bounded; nothing here depends on the wall clock's exact timing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = await records.get(db, job_id)
        if row is not None and pred(row):
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached the expected state: {await records.get(db, job_id)}")


def final(row: dict) -> bool:
    return row["state"] in ("done", "failed", "cancelled")
