"""A migrated database per test, on SQLite and on PostgreSQL (``db_url`` in tests/conftest.py)."""

from __future__ import annotations

import pytest

from yakuba.server.auth import passwords


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    monkeypatch.setenv("YAKUBA_ARGON2_PROFILE", "test")
    passwords.set_profile("test")
    yield
    passwords.set_profile("default")


