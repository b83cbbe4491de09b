"""Login, logout, me, cookies, CSRF and throttling over real HTTP against the real app (real
aiohttp server on a loopback port, SQLite database, memory store). Refusals are counted."""

from __future__ import annotations

import asyncio
from http.cookies import SimpleCookie

import pytest

from yakuba.server.app import AUDIT_KEY, DB_KEY
from yakuba.server.auth.identity import IDENTITY_KEY
from yakuba.server.auth.sessions import COOKIE
from yakuba.server.db import accounts

from server.realtime_client import running_app

from .helpers import PASSWORD, Clock, add_staff, login, session_for


def _cookie(resp) -> SimpleCookie:
    c = SimpleCookie()
    for h in resp.headers.getall("Set-Cookie", []):
        c.load(h)
    return c


async def _me(http) -> dict:
    async with http.get("/api/auth/me") as r:
        assert r.status == 200
        return await r.json()


async def test_login_me_logout_and_cookie_flags(tmp_path):
    async with running_app(tmp_path, argon2_profile="test") as (url, app):
        sid = await add_staff(app[DB_KEY], "Tanaka")
        async with session_for(url) as http:
            assert (await _me(http))["principal"]["kind"] == "resident"
            st, body, r = await login(http, url, "tanaka")
            assert st == 200, body
            assert body["principal"] == {"kind": "staff", "municipality": "271209", "roles": ["staff"]}
            m = _cookie(r)[COOKIE]
            assert m["httponly"] and m["samesite"] == "Lax" and m["path"] == "/" and not m["secure"]
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            me = await _me(http)
            assert me["principal"]["kind"] == "staff" and me["csrf"] == body["csrf"]
            # a second login gets a new session id; the old one is gone
            first = m.value
            st, body2, r2 = await login(http, url, "TANAKA")  # usernames are case-insensitive
            assert st == 200 and _cookie(r2)[COOKIE].value != first
            assert await app[IDENTITY_KEY].sessions.get(first) is None
            async with http.post("/api/auth/logout", headers={"Origin": url, "X-CSRF-Token": body2["csrf"]}) as r:
                assert r.status == 200
            assert (await _me(http))["principal"]["kind"] == "resident"
        from sqlalchemy import select

        from yakuba.server.db.models import AuditEvent

        kinds: list = []

        async def stored() -> bool:
            nonlocal kinds
            # AuditLog.flush() returns early while the writer holds a batch (queue empty but
            # not yet written), so wait on the rows themselves
            await app[AUDIT_KEY].flush()
            async with app[DB_KEY].session() as s:
                kinds = [(e.kind, e.principal) for e in (await s.scalars(select(AuditEvent))).all()]
            return ("logout", f"staff:{sid}") in kinds

        for _ in range(100):
            if await stored():
                break
            await asyncio.sleep(0.02)
        assert ("login", f"staff:{sid}") in kinds and ("logout", f"staff:{sid}") in kinds
        assert not any("tanaka" in str(k).lower() for k in kinds)


async def test_secure_cookie_behind_tls_proxy(tmp_path):
    async with running_app(tmp_path, argon2_profile="test") as (url, app):
        await add_staff(app[DB_KEY], "suzuki")
        async with session_for(url) as http:
            async with http.post("/api/auth/login", json={"username": "suzuki", "password": PASSWORD},
                                 headers={"Origin": url.replace("http://", "https://"), "X-Forwarded-Proto": "https"}) as r:
                assert r.status == 200
                assert _cookie(r)[COOKIE]["secure"]


async def test_wrong_password_unknown_user_disabled_and_throttle(tmp_path):
    async with running_app(tmp_path, argon2_profile="test", login_max_failures=3) as (url, app):
        await add_staff(app[DB_KEY], "sato")
        await add_staff(app[DB_KEY], "gone")
        async with app[DB_KEY].session() as s:
            await accounts.set_disabled(s, "gone", True)
        refused = 0
        async with session_for(url) as http:
            st1, b1, _ = await login(http, url, "sato", "wrong password!")
            st2, b2, _ = await login(http, url, "nobody", "wrong password!")
            st3, b3, _ = await login(http, url, "gone")  # right password, disabled account
            for st, b in ((st1, b1), (st2, b2), (st3, b3)):
                assert st == 401 and b["error"]["code"] == "login_failed"
                refused += 1
            assert b1 == b2 == b3  # the same answer: nothing tells which accounts exist
            # three failures from this address: the fourth try is throttled, even with the right password
            st, b, _ = await login(http, url, "sato")
            assert st == 429 and b["error"]["code"] == "login_throttled"
            refused += 1
            assert (await _me(http))["principal"]["kind"] == "resident"
            # the window passes (explicit clock): the right password works again
            clock = Clock()
            clock.advance(301)
            app[IDENTITY_KEY].throttle.clock = clock
            st, b, _ = await login(http, url, "sato")
            assert st == 200
            # bad bodies: clear errors, never a crash
            for payload in ({"username": "sato"}, {"username": 1, "password": "x"}, [1, 2], {"username": "a", "password": "b", "role": "admin"}):
                async with http.post("/api/auth/login", json=payload, headers={"Origin": url}) as r:
                    # a non-object is not JSON the API takes (protocol.http.json_body): invalid_json
                    want = "invalid_json" if isinstance(payload, list) else "invalid_request"
                    assert r.status == 400 and (await r.json())["error"]["code"] == want
            async with http.post("/api/auth/login", data=b"{not json", headers={"Origin": url, "Content-Type": "application/json"}) as r:
                assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_json"
        assert refused == 4


async def test_forged_expired_and_revoked_cookies_are_anonymous(tmp_path):
    async with running_app(tmp_path, argon2_profile="test", session_ttl_s=600) as (url, app):
        await add_staff(app[DB_KEY], "ito")
        ident = app[IDENTITY_KEY]
        refused = 0
        async with session_for(url) as http:
            # forged: a well-formed id the server never issued
            async with http.get("/api/auth/me", cookies={COOKIE: "A" * 43}) as r:
                refused += (await r.json())["principal"]["kind"] == "resident"
            # expired: the clock passes the TTL
            st, body, r = await login(http, url, "ito")
            sid = _cookie(r)[COOKIE].value
            clock = Clock()
            ident.sessions.clock = clock
            assert (await _me(http))["principal"]["kind"] == "staff"
            clock.advance(601)
            refused += (await _me(http))["principal"]["kind"] == "resident"
            clock.advance(-601)
            # revoked: logged out, then the old cookie is replayed
            st, body, r = await login(http, url, "ito")
            sid = _cookie(r)[COOKIE].value
            async with http.post("/api/auth/logout", headers={"Origin": url, "X-CSRF-Token": body["csrf"]}) as r:
                assert r.status == 200
        async with session_for(url) as other:
            async with other.get("/api/auth/me", cookies={COOKIE: sid}) as r:
                refused += (await r.json())["principal"]["kind"] == "resident"
        # password changed after login: the session no longer counts
        async with session_for(url) as http:
            st, body, r = await login(http, url, "ito")
            async with app[DB_KEY].session() as s:
                await accounts.set_password_hash(s, "ito", "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$aGFzaA")
            refused += (await _me(http))["principal"]["kind"] == "resident"
        assert refused == 4


async def test_csrf_cross_site_post_refused_and_bearer_skips(tmp_path):
    async with running_app(tmp_path, argon2_profile="test", api_token="tok-123456") as (url, app):
        await add_staff(app[DB_KEY], "kato")
        refused = 0
        async with session_for(url) as http:
            # login from another site's page: refused (origin check)
            st, b, _ = await login(http, url, "kato", origin="https://evil.example")
            assert st == 403 and b["error"]["code"] == "csrf_failed"
            refused += 1
            st, body, _ = await login(http, url, "kato")
            assert st == 200
            # cookie-authenticated write without the token, and from another origin with it
            for headers in ({"Origin": url}, {"Origin": "https://evil.example", "X-CSRF-Token": body["csrf"]},
                            {"Origin": url, "X-CSRF-Token": "x" * 43}, {"X-CSRF-Token": body["csrf"]}):
                async with http.post("/api/auth/logout", headers=headers) as r:
                    assert r.status == 403 and (await r.json())["error"]["code"] == "csrf_failed"
                    refused += 1
            assert (await _me(http))["principal"]["kind"] == "staff"  # still logged in
            # Referer stands in when a browser sends no Origin
            async with http.post("/api/auth/logout", headers={"Referer": url + "/login.html", "X-CSRF-Token": body["csrf"]}) as r:
                assert r.status == 200
        # a script with the API token: no cookie, no CSRF token needed; it is an administrator
        async with session_for(url) as script:
            async with script.get("/api/auth/me", headers={"Authorization": "Bearer tok-123456"}) as r:
                assert (await r.json())["principal"]["kind"] == "admin"
            async with script.post("/api/auth/logout", headers={"Authorization": "Bearer tok-123456"}) as r:
                assert r.status == 200
            async with script.get("/api/auth/me", headers={"Authorization": "Bearer wrong"}) as r:
                assert (await r.json())["principal"]["kind"] == "resident"
        assert refused == 5
