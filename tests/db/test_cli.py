"""`yakuba municipality|staff|db` end to end: the installed command as a subprocess, password on
stdin, against SQLite and PostgreSQL; revocations published on a real Redis."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import msgpack
import pytest

from yakuba.server.auth import passwords
from yakuba.server.db import accounts, audit_store
from yakuba.server.db.engine import Database
from yakuba_testing import VENV_BIN

ENV = {**os.environ, "YAKUBA_ARGON2_PROFILE": "test"}
ENV.pop("YAKUBA_REDIS_URL", None)
ENV.pop("YAKUBA_DATABASE_URL", None)


def yakuba(*args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "yakuba"), *args], input=stdin, capture_output=True, text=True,
                          env=env or ENV, timeout=120)


def _staff(where: list[str]) -> list[dict]:
    r = yakuba("staff", "list", "--json", *where)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


async def _read(url: str, username: str):
    db = Database(url)
    try:
        async with db.session() as s:
            a = await accounts.get_staff_by_username(s, username)
            events = await audit_store.list_events(s, principal="cli")
        return a, events
    finally:
        await db.close()


def test_staff_lifecycle(db_url: str) -> None:
    where = ["--database-url", db_url]
    r = yakuba("municipality", "add", "271209", "堺市", *where)
    assert r.returncode == 0 and "271209" in r.stdout, r.stderr
    r = yakuba("municipality", "list", "--json", *where)
    assert json.loads(r.stdout) == [{"code": "271209", "name": "堺市"}]

    r = yakuba("staff", "add", "Tanaka", "--municipality", "271209", *where, stdin="first password 1\n")
    assert r.returncode == 0, r.stderr
    r = yakuba("staff", "add", "boss", "--municipality", "271209", "--admin", *where, stdin="second password 2\n")
    assert r.returncode == 0, r.stderr
    rows = _staff(where)
    assert [(x["username"], x["admin"], x["disabled"]) for x in rows] == [("tanaka", False, False), ("boss", True, False)]
    plain = yakuba("staff", "list", *where).stdout
    assert "tanaka" in plain and "$argon2" not in plain and "password_hash" not in plain

    r = yakuba("staff", "disable", "tanaka", *where)
    assert r.returncode == 0 and [x["disabled"] for x in _staff(where)] == [True, False]
    r = yakuba("staff", "enable", "tanaka", *where)
    assert r.returncode == 0 and [x["disabled"] for x in _staff(where)] == [False, False]

    before, _ = asyncio.run(_read(db_url, "tanaka"))
    r = yakuba("staff", "passwd", "tanaka", *where, stdin="a brand new password\n")
    assert r.returncode == 0, r.stderr
    after, events = asyncio.run(_read(db_url, "tanaka"))
    passwords.set_profile("test")
    assert asyncio.run(passwords.verify_password(after.password_hash, "a brand new password"))
    assert not asyncio.run(passwords.verify_password(after.password_hash, "first password 1"))
    assert after.password_changed_at > before.password_changed_at
    # The CLI's own audit rows: ids, never the username.
    assert sorted(e.kind for e in events) == ["staff_added", "staff_added", "staff_disabled", "staff_enabled",
                                              "staff_password_changed"]
    assert all(e.resource.startswith("staff:") and "tanaka" not in e.resource for e in events)


@pytest.fixture(scope="module")
def one_account(tmp_path_factory) -> Path:
    """A data directory with one municipality and one account (the error cases change nothing)."""
    d = tmp_path_factory.mktemp("one-account")
    assert yakuba("municipality", "add", "271209", "堺市", "--data", str(d)).returncode == 0
    assert yakuba("staff", "add", "tanaka", "--municipality", "271209", "--data", str(d), stdin="first password 1\n").returncode == 0
    return d


@pytest.mark.parametrize("args, stdin, message", [
    (["staff", "add", "suzuki", "--municipality", "999999"], "long enough password\n", "unknown municipality 999999"),
    (["staff", "add", "tanaka", "--municipality", "271209"], "long enough password\n", "tanaka already exists"),
    (["staff", "add", "suzuki", "--municipality", "271209"], "short\n", "at least 10 characters"),
    (["staff", "add", "suzuki", "--municipality", "271209"], "\n", "empty password"),
    # The name is refused before any password is asked for (stdin is empty here).
    (["staff", "add", "a b", "--municipality", "271209"], "", "username must be"),
    (["staff", "add", "suzuki", "--municipality", "271209"], "", "empty password"),
    (["staff", "passwd", "nobody"], "long enough password\n", "unknown staff account nobody"),
    (["staff", "disable", "nobody"], "", "unknown staff account nobody"),
    (["municipality", "add", "271209", "again"], "", "271209 already exists"),
    (["db", "upgrade", "nonsense"], "", "nonsense"),
])
def test_user_errors_exit_2_with_one_line(one_account: Path, args, stdin, message) -> None:
    where = ["--data", str(one_account)]
    r = yakuba(*args, *where, stdin=stdin)
    assert r.returncode == 2
    assert r.stderr.startswith("yakuba: error: ") and message in r.stderr and r.stderr.count("\n") == 1
    assert "Traceback" not in r.stderr
    assert len(_staff(where)) == 1  # nothing added by a refused command


def test_default_database_is_sqlite_under_data_dir_and_env_applies(tmp_path: Path) -> None:
    env = {**ENV, "YAKUBA_DATA": str(tmp_path / "var")}
    assert yakuba("municipality", "add", "131016", "千代田区", env=env).returncode == 0
    assert (tmp_path / "var" / "yakuba.sqlite3").exists()
    assert "131016" in yakuba("municipality", "list", "--data", str(tmp_path / "var")).stdout


def test_db_downgrade_and_upgrade_commands(db_url: str) -> None:
    from yakuba.server.db.migrate import head_revision

    where, head = ["--database-url", db_url], head_revision()
    assert yakuba("db", "upgrade", *where).stdout.strip() == f"database at {head}"
    assert yakuba("db", "downgrade", *where).stdout.strip() == "database at base"
    assert yakuba("db", "downgrade", *where).returncode == 0  # nothing to undo: still fine
    assert yakuba("db", "upgrade", "0001", *where).stdout.strip() == "database at 0001"
    assert yakuba("db", "current", *where).stdout.strip() == f"database at 0001 (newest {head})"


def test_db_revision_refuses_an_empty_migration() -> None:
    # models.py matches the migrations, so the developer command writes nothing into the tree.
    r = yakuba("db", "revision", "nothing changed")
    assert r.returncode == 2 and "nothing to generate" in r.stderr


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    from yakuba_testing import free_port

    r = yakuba("staff", "list", "--database-url", f"postgresql://yakuba@127.0.0.1:{free_port()}/none")
    assert r.returncode == 1 and r.stderr.startswith("yakuba: error: database not usable") and "Traceback" not in r.stderr


def test_disable_and_passwd_publish_revocation(tmp_path: Path, redis_server) -> None:
    import redis

    where = ["--data", str(tmp_path), "--redis", redis_server.url]
    yakuba("municipality", "add", "271209", "堺市", "--data", str(tmp_path))
    yakuba("staff", "add", "tanaka", "--municipality", "271209", "--data", str(tmp_path), stdin="first password 1\n")
    sid = _staff(["--data", str(tmp_path)])[0]["id"]
    client = redis.Redis.from_url(redis_server.url)
    sub = client.pubsub(ignore_subscribe_messages=True)
    sub.subscribe("yakuba:control")
    sub.get_message(timeout=1)  # the subscribe confirmation
    try:
        assert yakuba("staff", "disable", "tanaka", *where).returncode == 0
        assert yakuba("staff", "enable", "tanaka", *where).returncode == 0  # enabling revokes nothing
        assert yakuba("staff", "passwd", "tanaka", *where, stdin="a brand new password\n").returncode == 0
        got = []
        for _ in range(3):
            m = sub.get_message(timeout=5)
            if m is not None:
                got.append(msgpack.unpackb(m["data"], raw=False))
        assert got == [{"n": "cli", "revoke": {"staff": sid}}] * 2
    finally:
        sub.close()
        client.close()
    # Redis down: the change stands, a warning says the fast path was missed.
    r = yakuba("staff", "disable", "tanaka", "--data", str(tmp_path), "--redis", "redis://127.0.0.1:1/0")
    assert r.returncode == 0 and "revocation not published" in r.stderr


def test_unknown_argon2_profile_is_one_line(tmp_path: Path) -> None:
    r = yakuba("municipality", "list", "--data", str(tmp_path), env={**ENV, "YAKUBA_ARGON2_PROFILE": "fast"})
    assert r.returncode == 2 and r.stderr == "yakuba: error: invalid setting YAKUBA_ARGON2_PROFILE: Input should be 'default' or 'test'\n"
