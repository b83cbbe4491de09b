"""Two `yakuba serve` nodes on a real Redis and one database: a session made on node B works on
node A's socket, and disabling the account (the CLI, as an operator does) drops the staff socket
on node A - through the Redis revocation, and through node A's own account watch when the CLI
could not publish one."""

from __future__ import annotations

import subprocess

import pytest

from yakuba_testing import VENV_BIN, ServeProcess

from server.realtime_client import until

from .helpers import PASSWORD, login, session_for
from .test_socket import CookiePeer

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def cli(*args: str, stdin: str | None = None, env: dict) -> str:
    r = subprocess.run([str(VENV_BIN / "yakuba"), *args], input=stdin, capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


async def test_disable_on_one_node_drops_the_staff_socket_on_the_other(tmp_path, redis_server):
    import os

    db_url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    env = {**os.environ, "YAKUBA_DATABASE_URL": db_url, "YAKUBA_ARGON2_PROFILE": "test"}
    cli("municipality", "add", "271209", "大阪府堺市", env=env)
    for u in ("nakano", "hirano"):
        cli("staff", "add", u, "--municipality", "271209", stdin=PASSWORD + "\n", env=env)
    a = ServeProcess(tmp_path / "a", redis_server.url, env=env).start()
    b = ServeProcess(tmp_path / "b", redis_server.url, env=env).start()
    peers = []
    try:
        sockets, cookies = {}, {}
        for u in ("nakano", "hirano"):
            async with session_for(b.url) as http:  # log in through node B
                st, body, r = await login(http, b.url, u)
                assert st == 200, body
                cookie = cookies[u] = r.cookies["yakuba_session"].value
            p = await CookiePeer(a.url, cookie).connect()  # walk on node A
            peers.append(p)
            ack = await p.join(name=u)
            assert ack["principal"] == {"kind": "staff", "municipality": "271209", "roles": ["staff"]}
            sockets[u] = p
        # 1. the operator disables nakano with Redis given: every node hears it at once
        cli("staff", "disable", "nakano", "--redis", redis_server.url, env=env)
        await until(lambda: any(n.get("kind") == "session_ended" for n in sockets["nakano"].notices), 10, "nakano ended")
        await until(lambda: not sockets["nakano"].sio.connected, 10, "nakano dropped")
        assert sockets["hirano"].sio.connected  # only that account
        # 2. hirano disabled with no bus to tell the nodes: node A's watch finds it (every 2 s)
        env_no_redis = {k: v for k, v in env.items() if k != "YAKUBA_REDIS_URL"}
        cli("staff", "disable", "hirano", env=env_no_redis)
        await until(lambda: any(n.get("kind") == "session_ended" for n in sockets["hirano"].notices), 15, "hirano ended by the watch")
        # the disabled account's cookie gives no staff role on either node any more, nor a new login
        for node in (a, b):
            async with session_for(node.url) as http:
                async with http.get("/api/auth/me", cookies={"yakuba_session": cookies["hirano"]}) as r:
                    assert (await r.json())["principal"]["kind"] == "resident"
                st, body, _ = await login(http, node.url, "hirano")
                assert st == 401 and body["error"]["code"] == "login_failed"
    finally:
        for p in peers:
            await p.close()
        a.stop()
        b.stop()
