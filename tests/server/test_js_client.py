"""The official JavaScript socket.io-client (npm, run with node) speaks our protocol."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .realtime_client import Peer, running_app, until

JS = Path(__file__).resolve().parents[1] / "js"


@pytest.fixture(scope="module")
def js_client() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not installed")
    if not (JS / "node_modules" / "socket.io-client").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=JS, check=True, timeout=300)
    return JS / "client.mjs"


async def test_official_js_client_connects_joins_and_decodes_snapshots(tmp_path, js_client):
    import asyncio

    async with running_app(tmp_path) as (url, app):
        watcher = await Peer(url).connect()
        jw = await watcher.join(name="watcher")
        proc = await asyncio.create_subprocess_exec("node", str(js_client), url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        res = json.loads(out.decode().strip().splitlines()[-1])
        assert res["join"]["ok"] is True and res["join"]["role"] == "resident"
        assert res["snaps"] >= 3
        assert res["join"]["id"] in res["ids"] and jw["id"] in res["ids"]
        assert "invalid_payload" in res["errors"]
        # Our Python peer saw the JS client's avatar with its Japanese name.
        await until(lambda: any(v["name"] == "JSクライアント" for v in watcher.view.values()), what="JS avatar seen")
        await watcher.close()
