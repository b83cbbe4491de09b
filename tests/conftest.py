"""Shared fixtures: real servers on loopback ports (Redis, `yakuba serve` processes)."""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from yakuba_testing import CHROME_ARGS, CHROMIUM, REPO, PostgresServer, RedisServer, ServeProcess

EXIT_GRACE_S = 120  # from the summary to the process's end; a clean exit takes about a second
_exit_status = {"code": 1}


def pytest_sessionfinish(session, exitstatus) -> None:
    _exit_status["code"] = int(exitstatus)


def pytest_unconfigure(config) -> None:
    """Name what could keep the run from exiting; if it still has not ended EXIT_GRACE_S later,
    print every thread's stack and end it with the tests' own status.

    A CI run once printed its summary and then hung until CI's 90 minutes were up, with nothing
    to say why: interpreter exit joins non-daemon threads, executor workers and multiprocessing
    children, and any of them blocked forever holds it there. The verdict is in by then; the
    stacks say what leaked."""
    threads = [t.name for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    children = [f"{p.name} pid {p.pid}" for p in multiprocessing.active_children()]
    if threads or children:
        print(f"\nstill alive at exit: threads {threads}, children {children}", file=sys.stderr, flush=True)

    def watchdog() -> None:
        time.sleep(EXIT_GRACE_S)
        print(f"\nthe test run has not exited {EXIT_GRACE_S} s after its summary; every thread:", file=sys.stderr, flush=True)
        faulthandler.dump_traceback(all_threads=True)
        os._exit(_exit_status["code"])

    threading.Thread(target=watchdog, name="exit-watchdog", daemon=True).start()

@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    r = RedisServer()
    r.start()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL cluster for the session; tests take a fresh database each."""
    pg = PostgresServer()
    try:
        pg.start()
        yield pg
    finally:
        pg.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: the same contract tests run on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'yakuba.sqlite3'}"
        return
    pg = request.getfixturevalue("postgres_server")
    url = pg.create_database()
    yield url
    pg.drop_database(url)


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis this test may kill and restart."""
    r = RedisServer()
    r.start()
    yield r
    r.stop()


@pytest.fixture
def serve(tmp_path: Path):
    procs: list[ServeProcess] = []

    def start(redis_url: str | None = None, **kw) -> ServeProcess:
        p = ServeProcess(tmp_path / f"node{len(procs)}", redis_url, **kw).start()
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.stop()


# Module scope: Playwright's sync API keeps an event loop running in this thread while it is
# open, which would break every asyncio test collected after the browser tests.
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    """Screenshots for people to look at (gitignored)."""
    d = REPO / "artifacts" / "screenshots"
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture
async def db(db_url: str):
    """A migrated Database on a fresh SQLite or PostgreSQL database (db_url's parameter)."""
    from yakuba.server.db.engine import Database

    d = Database(db_url)
    await d.migrate()
    yield d
    await d.close()
