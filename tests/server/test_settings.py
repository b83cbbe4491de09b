"""Settings: flags > environment > defaults, and `yakuba serve` honours YAKUBA_DATA."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from yakuba.server.serve_cli import register, settings_from_args
from yakuba.server.settings import Settings

from yakuba_testing import REPO, VENV_BIN, free_port, wait_http


def _args(argv: list[str]):
    import argparse

    p = argparse.ArgumentParser()
    register(p.add_subparsers())
    return p.parse_args(["serve", *argv])


def test_flags_over_environment_over_defaults(monkeypatch, tmp_path: Path) -> None:
    for k in list(os.environ):
        if k.startswith("YAKUBA_"):
            monkeypatch.delenv(k)
    d = Settings.load()
    assert (d.port, d.data_dir, d.redis_url, d.tick_hz) == (8080, Path("var"), None, 10.0)
    monkeypatch.setenv("YAKUBA_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("YAKUBA_PORT", "9001")
    monkeypatch.setenv("YAKUBA_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("YAKUBA_CORS_ORIGINS", "https://a.example, https://b.example")
    s = settings_from_args(_args([]))
    assert s.data_dir == tmp_path / "env" and s.port == 9001 and s.redis_url == "redis://127.0.0.1:1/0"
    assert s.cors_origins == ("https://a.example", "https://b.example")
    assert s.effective_database_url.endswith(str(tmp_path / "env" / "yakuba.sqlite3"))
    s = settings_from_args(_args(["--data", str(tmp_path / "flag"), "--port", "9002", "--database-url", "postgresql://u@h/db"]))
    assert s.data_dir == tmp_path / "flag" and s.port == 9002 and s.database_url == "postgresql://u@h/db"
    assert s.effective_database_url == "postgresql://u@h/db"


def test_invalid_setting_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("YAKUBA_TICK_HZ", "-3")
    import pydantic
    import pytest

    with pytest.raises(pydantic.ValidationError):
        Settings.load()


def test_serve_uses_yakuba_data_when_no_flag(tmp_path: Path) -> None:
    """The bug this fixes: `--data`'s own default always won over YAKUBA_DATA."""
    data = tmp_path / "from-env"
    shutil.copytree(REPO / "var" / "datasets", data / "datasets") if (REPO / "var" / "datasets").is_dir() else None
    port = free_port()
    env = {**os.environ, "YAKUBA_DATA": str(data)}
    env.pop("YAKUBA_DATABASE_URL", None)
    proc = subprocess.Popen([str(VENV_BIN / "yakuba"), "serve", "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", 30)
        assert (data / "yakuba.sqlite3").is_file(), "the database belongs in YAKUBA_DATA"
        assert not (tmp_path / "var").exists(), "nothing may be written to the --data default"
    finally:
        proc.terminate()
        proc.wait(10)


async def test_metrics_only_for_allowed_addresses(tmp_path: Path) -> None:
    import aiohttp

    from server.realtime_client import running_app

    async with running_app(tmp_path / "a") as (url, _app):  # default: loopback may scrape
        async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as r:
            assert r.status == 200 and "yakuba_tick_seconds" in await r.text()
    async with running_app(tmp_path / "b", metrics_allow=("10.0.0.0/8",)) as (url, _app):
        async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as r:
            assert r.status == 403 and (await r.json())["error"]["code"] == "forbidden"


def test_metrics_allow_must_be_networks(monkeypatch) -> None:
    import pydantic
    import pytest

    monkeypatch.setenv("YAKUBA_METRICS_ALLOW", "10.0.0.0/8,not-a-network")
    with pytest.raises(pydantic.ValidationError):
        Settings.load()
    monkeypatch.setenv("YAKUBA_METRICS_ALLOW", "10.0.0.0/8, 192.168.1.5")
    assert Settings.load().metrics_allow == ("10.0.0.0/8", "192.168.1.5")
