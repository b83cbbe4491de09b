"""The tenant API over real HTTP (real app, SQLite, memory store; and two nodes on a real Redis):
administrators only; password invitations for municipalities without a provider; forged identity
fields refused; suspension ends sessions and sockets at once, on every node."""

from __future__ import annotations

from datetime import timedelta

import pytest

from yakuba.server.app import DB_KEY
from yakuba.server.auth.sessions import COOKIE
from yakuba.server.auth.setup import WATCH_KEY
from yakuba.server.db import tenants
from yakuba.server.salon.refusals import REFUSALS_KEY

from server.realtime_client import running_app, until

from auth.helpers import PASSWORD, add_staff, login, session_for
from auth.test_socket import CookiePeer

TOKEN = "test-admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
CODE = "271209"


async def _post(http, path: str, body: dict | None = None, headers: dict | None = None):
    async with http.post(path, json=body if body is not None else {}, headers=headers or {}) as r:
        return r.status, await r.json()


async def _card(http, cookie: str | None = None) -> dict:
    async with http.get("/api/salon/me", cookies={COOKIE: cookie} if cookie else None) as r:
        return await r.json()


async def test_only_administrators_manage_tenants(tmp_path):
    async with running_app(tmp_path, argon2_profile="test", api_token=TOKEN) as (url, app):
        await add_staff(app[DB_KEY], "clerk", code="131016")
        async with session_for(url) as http:
            st, body = await _post(http, "/api/salon/municipalities", {"code": CODE, "name": "X"})
            assert st == 403 and body["error"]["code"] == "forbidden"  # a resident
            st, body, r = await login(http, url, "clerk")
            h = {"Origin": url, "X-CSRF-Token": body["csrf"]}
            for path in ("/api/salon/municipalities", f"/api/salon/municipalities/{CODE}/suspend",
                         f"/api/salon/municipalities/131016/invitations"):
                st, body = await _post(http, path, {"code": CODE, "name": "X"} if path.endswith("ies") else {}, h)
                assert st == 403, (path, body)  # staff, not an administrator
            async with http.get("/api/salon/municipalities") as r:
                assert r.status == 403
            st, body = await _post(http, "/api/salon/municipalities", {"code": "271208", "name": "X"}, ADMIN)
            assert st == 400 and "check digit" in body["error"]["message"]
            st, body = await _post(http, "/api/salon/municipalities", {"code": CODE, "name": "X", "admin": True}, ADMIN)
            assert st == 400 and body["error"]["code"] == "invalid_request"
            st, body = await _post(http, "/api/salon/municipalities/999999/suspend", {}, ADMIN)
            assert st == 404


async def test_password_invitation_join_and_its_refusals(tmp_path):
    async with running_app(tmp_path, argon2_profile="test", api_token=TOKEN) as (url, app):
        refused = app[REFUSALS_KEY].counts
        async with session_for(url) as http:
            assert (await _post(http, "/api/salon/municipalities", {"code": CODE, "name": "大阪市中央区"}, ADMIN))[0] == 201
            st, inv = await _post(http, f"/api/salon/municipalities/{CODE}/invitations", {"department": "防災課"}, ADMIN)
            assert st == 201 and inv["link"] == f"/salon/join#invite={inv['token']}"
            join = {"token": inv["token"], "username": "yamada", "password": PASSWORD, "display_name": "山田 一郎"}
            # identity fields a client might add are not part of the body: refused, nothing used
            for forged in ({"verified": True}, {"municipality": "131016"}, {"kind": "admin"}):
                st, body = await _post(http, "/api/salon/invitations/accept", {**join, **forged})
                assert st == 400 and body["error"]["code"] == "invalid_request"
            st, body = await _post(http, "/api/salon/invitations/accept", join)
            assert st == 201 and body["municipality"] == CODE
            st, body = await _post(http, "/api/salon/invitations/accept", {**join, "username": "yamada2"})
            assert st == 403 and body["error"]["code"] == "not_invited" and refused["invitation_used"] == 1
            st, body, _ = await login(http, url, "yamada")
            assert st == 200
            me = await _card(http)
            assert isinstance(me.pop("staff"), int)
            assert me == {"display_name": "山田 一郎", "department": "防災課",
                          "municipality": {"code": CODE, "name": "大阪市中央区"}, "verified": True}
        async with app[DB_KEY].session() as s:
            tok, inv = await tenants.create_invitation(s, CODE, "admin:api-token", 60)
            inv.expires_at -= timedelta(seconds=61)
        async with session_for(url) as http:
            st, body = await _post(http, "/api/salon/invitations/accept", {**join, "token": tok, "username": "late"})
            assert st == 403 and refused["invitation_expired"] == 1
            st, body = await _post(http, "/api/salon/invitations/accept", {**join, "token": "x" * 43, "username": "guess"})
            assert st == 403 and refused["invitation_unknown"] == 1


async def test_suspension_ends_password_sessions_and_sockets(tmp_path):
    async with running_app(tmp_path, argon2_profile="test", api_token=TOKEN) as (url, app):
        sid = await add_staff(app[DB_KEY], "ueda", code=CODE)
        await add_staff(app[DB_KEY], "other", code="131016")
        async with session_for(url) as http:
            st, body, r = await login(http, url, "ueda")
            cookie = r.cookies[COOKIE].value
            assert (await _card(http))["verified"] is True
        async with session_for(url) as http:
            st, body, r = await login(http, url, "other")
            other = r.cookies[COOKIE].value
        peer = await CookiePeer(url, cookie).connect()
        bystander = await CookiePeer(url, other).connect()
        try:
            assert (await peer.join(name="u"))["role"] == "staff"
            assert (await bystander.join(name="o"))["role"] == "staff"
            async with session_for(url) as http:
                st, body = await _post(http, f"/api/salon/municipalities/{CODE}/suspend", {}, ADMIN)
                assert st == 200
                await until(lambda: any(n.get("kind") == "session_ended" for n in peer.notices), 5, "socket ended")
                assert (await _card(http, cookie))["staff"] is None  # the cookie is no staff session
                assert (await _card(http, other))["staff"] is not None  # another municipality's is
                st, body, _ = await login(http, url, "ueda")
                assert st == 401 and body["error"]["code"] == "login_failed"
            assert bystander.sio.connected
            assert app[REFUSALS_KEY].counts["municipality_suspended"] == 1  # the password login above
        finally:
            await peer.close()
            await bystander.close()
        assert sid


@pytest.mark.redis
async def test_suspension_on_one_node_drops_the_staff_socket_on_the_other(tmp_path, redis_server):
    db_url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    common = dict(argon2_profile="test", api_token=TOKEN, redis_url=redis_server.url, database_url=db_url)
    async with running_app(tmp_path / "a", **common) as (url_a, app_a), \
            running_app(tmp_path / "b", **common) as (url_b, app_b):
        await add_staff(app_a[DB_KEY], "kato", code=CODE)
        async with session_for(url_b) as http:  # log in on node B, walk on node B
            st, body, r = await login(http, url_b, "kato")
            cookie = r.cookies[COOKIE].value
        peer = await CookiePeer(url_b, cookie).connect()
        try:
            assert (await peer.join(name="k"))["role"] == "staff"
            await app_b[WATCH_KEY].stop()  # only the bus may end it: node B's own account watch is off
            async with session_for(url_a) as http:  # the administrator acts on node A
                st, body = await _post(http, f"/api/salon/municipalities/{CODE}/suspend", {}, ADMIN)
                assert st == 200
            await until(lambda: any(n.get("kind") == "session_ended" for n in peer.notices), 5, "ended on node B")
            await until(lambda: not peer.sio.connected, 5, "dropped on node B")
            assert app_b[WATCH_KEY].revoked == 0
            async with session_for(url_b) as http:  # and node B refuses the cookie from now on
                assert (await _card(http, cookie))["staff"] is None
                st, body, _ = await login(http, url_b, "kato")
                assert st == 401
        finally:
            await peer.close()


@pytest.mark.redis
async def test_invitations_are_single_use_and_expire_across_two_nodes(tmp_path, redis_server):
    """An invitation made on node A, accepted on node B, cannot be used again on A; an expired one
    and forged identity fields are refused on B; each refusal is counted on the node that saw it."""
    db_url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    common = dict(argon2_profile="test", api_token=TOKEN, redis_url=redis_server.url, database_url=db_url)
    async with running_app(tmp_path / "a", **common) as (url_a, app_a), \
            running_app(tmp_path / "b", **common) as (url_b, app_b):
        async with session_for(url_a) as http:
            assert (await _post(http, "/api/salon/municipalities", {"code": CODE, "name": "大阪市中央区"}, ADMIN))[0] == 201
            st, inv = await _post(http, f"/api/salon/municipalities/{CODE}/invitations", {"department": "防災課"}, ADMIN)
            assert st == 201
        join = {"token": inv["token"], "username": "mori", "password": PASSWORD, "display_name": "森 一郎"}
        async with session_for(url_b) as http:
            st, body = await _post(http, "/api/salon/invitations/accept", {**join, "verified": True})
            assert st == 400 and body["error"]["code"] == "invalid_request"  # a forged field: nothing used
            st, body = await _post(http, "/api/salon/invitations/accept", join)
            assert st == 201 and body["municipality"] == CODE
        async with session_for(url_a) as http:
            st, body = await _post(http, "/api/salon/invitations/accept", {**join, "username": "mori2"})
            assert st == 403 and app_a[REFUSALS_KEY].counts["invitation_used"] == 1
        async with app_a[DB_KEY].session() as s:
            tok, row = await tenants.create_invitation(s, CODE, "admin:api-token", 60)
            row.expires_at -= timedelta(seconds=61)
        async with session_for(url_b) as http:
            st, body = await _post(http, "/api/salon/invitations/accept", {**join, "token": tok, "username": "late"})
            assert st == 403 and app_b[REFUSALS_KEY].counts["invitation_expired"] == 1
            st, body, _ = await login(http, url_b, "mori")  # the account made on B logs in on B
            assert st == 200 and (await _card(http))["verified"] is True
