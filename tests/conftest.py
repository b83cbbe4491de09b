"""Shared fixtures: real servers on loopback ports (Redis, `yakuba serve` processes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from yakuba_testing import RedisServer, ServeProcess

@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    r = RedisServer()
    r.start()
    yield r
    r.stop()


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
