"""The client address behind trusted proxies: the rightmost X-Forwarded-For hop that is not a
trusted proxy, and the header ignored entirely when the peer is not one. The same reading feeds
the login throttle, the audit log and the socket connection caps (real app, real sockets)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import socketio
from sqlalchemy import select

from yakuba.server.app import AUDIT_KEY, DB_KEY, HUB_KEY
from yakuba.server.db.models import AuditEvent
from yakuba.server.http.proxies import forwarded_client, parse_networks

from server.realtime_client import running_app, until

NETS = parse_networks(["10.0.0.0/8", "127.0.0.1", "2001:db8::/32"])


@pytest.mark.parametrize("peer, xff, want", [
    # an untrusted peer: its own address, whatever it claims
    ("203.0.113.9", ["1.2.3.4"], "203.0.113.9"),
    # a trusted peer with no header: the proxy itself (it made the request)
    ("10.1.2.3", [], "10.1.2.3"),
    # nginx on loopback appended the client: that client
    ("127.0.0.1", ["198.51.100.7"], "198.51.100.7"),
    # the client forged hops on the left; the rightmost untrusted one wins
    ("127.0.0.1", ["6.6.6.6, 198.51.100.7"], "198.51.100.7"),
    # two trusted proxies in a row, and the header split over two lines
    ("10.0.0.2", ["6.6.6.6, 198.51.100.7", "10.0.0.1"], "198.51.100.7"),
    # every hop trusted: the leftmost (the first proxy's own request)
    ("10.0.0.2", ["10.0.0.1"], "10.0.0.1"),
    # garbage where an address should be: stop at the proxy rather than believe it
    ("127.0.0.1", ["not-an-ip"], "127.0.0.1"),
    # ports and brackets some proxies add, an IPv4-mapped peer, IPv6 networks
    ("::ffff:127.0.0.1", ["198.51.100.7:5555"], "198.51.100.7"),
    ("2001:db8::1", ["[2400:4050::9]:443, 2001:db8::3"], "2400:4050::9"),
    ("2001:db8::1", ["2400:4050::1, 2001:db8::3"], "2400:4050::1"),
    (None, ["1.2.3.4"], "-"),
])
def test_rightmost_untrusted_hop(peer, xff, want):
    assert forwarded_client(peer, xff, NETS) == want


def test_no_trusted_proxies_never_reads_the_header():
    assert forwarded_client("127.0.0.1", ["198.51.100.7"], ()) == "127.0.0.1"


async def _fail_login(http, url: str, user: str, client: str) -> int:
    async with http.post("/api/auth/login", json={"username": user, "password": "wrong password"},
                         headers={"Origin": url, "X-Forwarded-For": client}) as r:
        return r.status


async def test_login_throttle_and_audit_key_on_the_forwarded_client_only_behind_a_trusted_proxy(tmp_path):
    async with running_app(tmp_path / "a", argon2_profile="test", login_max_failures=2,
                           trusted_proxies=("127.0.0.1",)) as (url, app):
        async with aiohttp.ClientSession(base_url=url) as http:
            # per-address throttling: different user names, so only the address counts
            assert [await _fail_login(http, url, f"u{i}", "198.51.100.7") for i in range(3)] == [401, 401, 429]
            assert await _fail_login(http, url, "u9", "198.51.100.8") == 401, "another client behind the same proxy"
        principals: set[str] = set()
        for _ in range(100):
            await app[AUDIT_KEY].flush()
            async with app[DB_KEY].session() as s:
                principals = {e.principal for e in (await s.scalars(select(AuditEvent))).all()}
            if "anon:198.51.100.8" in principals:
                break
            await asyncio.sleep(0.02)
        assert {"anon:198.51.100.7", "anon:198.51.100.8"} <= principals
        assert "anon:127.0.0.1" not in principals
    # No trusted proxy: the header is a client's claim and changes nothing.
    async with running_app(tmp_path / "b", argon2_profile="test", login_max_failures=2) as (url, app):
        async with aiohttp.ClientSession(base_url=url) as http:
            assert await _fail_login(http, url, "u1", "198.51.100.7") == 401
            assert await _fail_login(http, url, "u2", "198.51.100.8") == 401
            assert await _fail_login(http, url, "u3", "198.51.100.9") == 429, "all three are 127.0.0.1"


async def _connect(url: str, client: str) -> socketio.AsyncClient | None:
    c = socketio.AsyncClient(reconnection=False)
    try:
        await c.connect(url, transports=["websocket"], headers={"X-Forwarded-For": client}, wait_timeout=10)
    except socketio.exceptions.ConnectionError:
        return None
    return c


async def test_socket_caps_count_the_forwarded_client(tmp_path):
    for trusted, want in (((), [True, False]), (("127.0.0.0/8",), [True, True])):
        async with running_app(tmp_path / str(len(trusted)), max_connections_per_address=1,
                               trusted_proxies=trusted) as (url, app):
            a = await _connect(url, "198.51.100.7")
            b = await _connect(url, "198.51.100.8")
            try:
                assert [a is not None, b is not None] == want, trusted
                if trusted:
                    assert await _connect(url, "198.51.100.7") is None, "one per client address"
                    hub = app[HUB_KEY]
                    await until(lambda: len(hub.clients) == 2)
                    assert sorted(c.address for c in hub.clients.values()) == ["198.51.100.7", "198.51.100.8"]
            finally:
                for c in (a, b):
                    if c is not None:
                        await c.disconnect()
