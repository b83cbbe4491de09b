"""A booth's lock does not outlive the node that held its staff member for ever: that node
renews a lease in the store while the staff member is connected; killed (SIGKILL, no goodbye),
the lease runs out, the grace period passes, and the other node releases the booth and tells
the resident inside."""

from __future__ import annotations

import os
import subprocess

import pytest

from yakuba_testing import VENV_BIN, ServeProcess

from auth.helpers import PASSWORD
from server.realtime_client import until

from .helpers import DeskPeer, staff_cookie

pytestmark = [pytest.mark.redis, pytest.mark.slow]


async def test_a_lock_held_by_a_killed_node_is_released_by_the_other(tmp_path, redis_server):
    import redis.asyncio as aioredis

    rc = aioredis.Redis.from_url(redis_server.url)
    await rc.flushdb()
    await rc.aclose()
    env = {**os.environ, "YAKUBA_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.sqlite3'}", "YAKUBA_ARGON2_PROFILE": "test",
           "YAKUBA_CONSULT_LEASE_S": "2", "YAKUBA_GRACE_S": "2"}
    for args, stdin in ((("municipality", "add", "131016", "東京都千代田区"), None), (("staff", "add", "sato", "--municipality", "131016"), PASSWORD + "\n")):
        r = subprocess.run([str(VENV_BIN / "yakuba"), *args], input=stdin, capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == 0, r.stderr
    a = ServeProcess(tmp_path / "a", redis_server.url, env=env).start()
    b = ServeProcess(tmp_path / "b", redis_server.url, env=env).start()
    peers: list[DeskPeer] = []
    try:
        staff = await DeskPeer(a.url, await staff_cookie(a.url, "sato")).connect()  # on node A
        watcher = await DeskPeer(b.url).connect()  # a resident on node B
        peers += [staff, watcher]
        assert (await staff.join(name="sato"))["ok"] and (await watcher.join(name="w"))["ok"]
        await staff.emit("move", {"goto": "booth5"})
        await until(lambda: staff.zones[-1:] == ["booth5"], timeout=40, what="staff in the booth")
        assert (await staff.call("booth.lock", {"booth": "booth5"}))["ok"]
        await until(lambda: any(x["booth"] == "booth5" and x["locked"] for x in watcher.got["booth.state"]), what="the sign on node B")
        # well beyond lease + grace while A lives: renewed, still locked
        import asyncio

        await asyncio.sleep(5)
        assert (await watcher.call("desk.info"))["booths"][4]["locked"] is True
        a.kill()
        await until(lambda: any(x["booth"] == "booth5" and not x["locked"] for x in watcher.got["booth.state"]),
                    timeout=20, what="node B releases the dead node's lock")
    finally:
        for p in peers:
            await p.close()
        a.stop()
        b.stop()
