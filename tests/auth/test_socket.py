"""The socket reads the same session as HTTP: staff sockets from the cookie, never from a client
field; logout and the staff watch end the staff socket. Real app, real socket.io clients."""

from __future__ import annotations

from yakuba.server.app import DB_KEY, HUB_KEY
from yakuba.server.auth.identity import IDENTITY_KEY
from yakuba.server.auth.sessions import COOKIE
from yakuba.server.auth.setup import WATCH_KEY
from yakuba.server.db import accounts

from server.realtime_client import Peer, running_app, until

from .helpers import Clock, add_staff, login, session_for


class CookiePeer(Peer):
    """A socket.io client that sends the browser's session cookie."""

    def __init__(self, url: str, cookie: str | None = None, auth: dict | None = None) -> None:
        super().__init__(url, auth=auth)
        self.cookie = cookie

    async def connect(self) -> "CookiePeer":
        headers = {"Cookie": f"{COOKIE}={self.cookie}"} if self.cookie else {}
        await self.sio.connect(self.url, transports=["websocket"], auth=self.auth, headers=headers, wait_timeout=10)
        return self


async def _staff_session(url: str, username: str) -> tuple[str, str]:
    async with session_for(url) as http:
        st, body, r = await login(http, url, username)
        assert st == 200, body
        return r.cookies[COOKIE].value, body["csrf"]


async def test_staff_socket_from_cookie_and_client_claims_ignored(tmp_path):
    async with running_app(tmp_path, argon2_profile="test") as (url, app):
        await add_staff(app[DB_KEY], "mori", code="131016")
        cookie, _ = await _staff_session(url, "mori")
        staff = await CookiePeer(url, cookie).connect()
        ack = await staff.join(name="森")
        assert ack["ok"] and ack["role"] == "staff"
        assert ack["principal"] == {"kind": "staff", "municipality": "131016", "roles": ["staff"]}
        ident = app[IDENTITY_KEY]
        refused = 0
        # a client that claims a role or municipality in its connect auth stays a resident
        claims = [{"role": "staff"}, {"municipality": "131016", "kind": "admin"}, {"staff_token": "guess", "roles": ["admin"]}]
        for auth in claims:
            p = await CookiePeer(url, auth=auth).connect()
            a = await p.join(name="x")
            assert a["ok"] and a["role"] == "resident" and a["principal"]["kind"] == "resident"
            assert a["principal"]["municipality"] is None
            refused += 1
            await p.close()
        assert ident.claims_ignored == len(claims)
        # ... or in its join payload: refused by the schema, no avatar
        for extra in ({"role": "staff"}, {"municipality": "131016"}, {"principal": {"kind": "admin"}}):
            p = await CookiePeer(url).connect()
            a = await p.join(name="y", **extra)
            assert a["ok"] is False and a["error"]["code"] == "invalid_payload"
            assert p.me is None and p.errors[-1]["code"] == "invalid_payload"
            refused += 1
            await p.close()
        # a forged cookie: resident
        p = await CookiePeer(url, "B" * 43).connect()
        a = await p.join(name="z")
        assert a["principal"]["kind"] == "resident"
        refused += 1
        await p.close()
        assert refused == 7
        await staff.close()


async def test_logout_ends_the_staff_socket(tmp_path):
    async with running_app(tmp_path, argon2_profile="test") as (url, app):
        await add_staff(app[DB_KEY], "abe")
        async with session_for(url) as http:
            st, body, r = await login(http, url, "abe")
            staff = await CookiePeer(url, r.cookies[COOKIE].value).connect()
            assert (await staff.join(name="阿部"))["principal"]["kind"] == "staff"
            async with http.post("/api/auth/logout", headers={"Origin": url, "X-CSRF-Token": body["csrf"]}) as r2:
                assert r2.status == 200
        await until(lambda: any(n.get("kind") == "session_ended" for n in staff.notices), what="session_ended notice")
        await until(lambda: not staff.sio.connected, what="socket dropped")
        assert not app[HUB_KEY].clients


async def test_watch_revokes_disabled_password_changed_and_expired(tmp_path):
    async with running_app(tmp_path, argon2_profile="test", session_ttl_s=600) as (url, app):
        db = app[DB_KEY]
        for u in ("ueda", "oda", "kudo", "noda"):
            await add_staff(db, u)
        peers = {}
        for u in ("ueda", "oda", "kudo", "noda"):
            cookie, _ = await _staff_session(url, u)
            peers[u] = await CookiePeer(url, cookie).connect()
            assert (await peers[u].join(name=u))["principal"]["kind"] == "staff"
        watch = app[WATCH_KEY]
        assert await watch.check() == []  # nothing changed: nobody dropped
        async with db.session() as s:
            await accounts.set_disabled(s, "ueda", True)  # as `yakuba staff disable` does, without a bus
            await accounts.set_password_hash(s, "oda", "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$aGFzaA")
        clock = Clock()
        app[IDENTITY_KEY].sessions.clock = clock
        ended = await watch.check()
        assert len(ended) == 2
        clock.advance(601)  # kudo's and noda's sessions expire
        assert len(await watch.check()) == 2
        for u in ("ueda", "oda", "kudo", "noda"):
            await until(lambda u=u: any(n.get("kind") == "session_ended" for n in peers[u].notices), what=f"{u} ended")
        assert watch.revoked == 4
        # a database hiccup does not drop anyone
        clock.advance(-601)
        cookie, _ = await _staff_session(url, "noda")
        p = await CookiePeer(url, cookie).connect()
        await p.join(name="n")

        async def broken(db, staff_id):
            raise OSError("database away")

        app[IDENTITY_KEY]._load = broken
        assert await watch.check() == []
        await p.close()
