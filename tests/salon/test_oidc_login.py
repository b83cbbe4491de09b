"""OpenID Connect login per municipality, end to end over real HTTP: our app on a loopback port,
two real providers (A and B, npm oidc-provider), an aiohttp client following the redirects.
Every refusal is checked where it is counted (the refusal counter and the audit log)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from yarl import URL

from yakuba.server.app import AUDIT_KEY, DB_KEY
from yakuba.server.auth.oidc import OidcRefused, Registration
from yakuba.server.auth.oidc_routes import CALLBACK, OIDC_KEY
from yakuba.server.auth.sessions import COOKIE
from yakuba.server.db import tenants
from yakuba.server.salon.refusals import REFUSALS_KEY

from server.realtime_client import running_app

from auth.helpers import session_for

from .conftest import A_CODE, A_SECRET, B_CODE, raw_tokens, register_body, walk_to_callback

TOKEN = "test-admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def app_settings(**kw):
    return dict(argon2_profile="test", api_token=TOKEN, oidc_client_secrets=f"{A_CODE}={A_SECRET}", **kw)


async def register(url: str, body: dict) -> dict:
    async with session_for(url) as http:
        async with http.post("/api/salon/municipalities", json=body, headers=ADMIN) as r:
            js = await r.json()
            assert r.status == 201, js
            return js


async def setup_two(url: str, providers) -> None:
    await register(url, register_body(providers["A"], A_CODE, "堺市", domains=["city.sakai.lg.jp"]))
    await register(url, register_body(providers["B"], B_CODE, "千代田区"))


async def begin(http, url: str, code: str, hint: str, invite: str | None = None) -> str:
    q = f"?login_hint={hint}" + (f"&invite={invite}" if invite else "")
    return await walk_to_callback(http, f"{url}/auth/oidc/{code}/login{q}", url + CALLBACK)


async def finish(http, callback_url: str) -> int:
    async with http.get(callback_url, allow_redirects=False) as r:
        return r.status


async def card(http) -> dict:
    async with http.get("/api/salon/me") as r:
        return await r.json()


async def test_staff_of_a_log_in_through_a_and_carry_a_server_issued_identity(tmp_path, providers):
    async with running_app(tmp_path, **app_settings()) as (url, app):
        await setup_two(url, providers)
        async with session_for(url) as http:
            cb = await begin(http, url, A_CODE, "hanako")
            q = parse_qs(urlsplit(cb).query)
            assert q["iss"] == [providers["A"].issuer] and "code" in q and "state" in q
            assert await finish(http, cb) == 302
            me = await card(http)
            assert me["municipality"] == {"code": A_CODE, "name": "堺市"}
            assert me["display_name"] == "堺 花子" and me["department"] == "危機管理課" and me["verified"] is True
            async with http.get("/api/auth/me") as r:
                assert (await r.json())["principal"] == {"kind": "staff", "municipality": A_CODE, "roles": ["staff"]}
            # the same person again: the same account (keyed on issuer + subject)
            cb2 = await begin(http, url, A_CODE, "hanako")
            assert await finish(http, cb2) == 302
            assert (await card(http))["staff"] == me["staff"]
        # B's staff log in through B and belong to B
        async with session_for(url) as http:
            # jiro has no invitation and B allows no e-mail domain: refused until invited
            assert await finish(http, await begin(http, url, B_CODE, "jiro")) == 401
            assert app[REFUSALS_KEY].counts["oidc_not_member"] == 1
        async with session_for(url) as http:
            async with http.post(f"/api/salon/municipalities/{B_CODE}/invitations", json={"department": "子育て支援課"},
                                 headers=ADMIN) as r:
                inv = await r.json()
                assert r.status == 201 and inv["link"].startswith(f"/auth/oidc/{B_CODE}/login?invite=")
            assert await finish(http, await begin(http, url, B_CODE, "jiro", inv["token"])) == 302
            me = await card(http)
            assert me["municipality"]["code"] == B_CODE and me["verified"] and me["display_name"] == "千代田 次郎"
        async with app[DB_KEY].session() as s:
            from sqlalchemy import select

            from yakuba.server.db.models import OidcIdentity

            ids = (await s.scalars(select(OidcIdentity))).all()
            assert {(i.issuer, i.subject) for i in ids} == {(providers["A"].issuer, "hanako"), (providers["B"].issuer, "jiro")}


async def test_replayed_code_and_state_are_refused(tmp_path, providers):
    async with running_app(tmp_path, **app_settings()) as (url, app):
        await setup_two(url, providers)
        refused = app[REFUSALS_KEY].counts
        async with session_for(url) as http:
            cb = await begin(http, url, A_CODE, "hanako")
            assert await finish(http, cb) == 302
            assert await finish(http, cb) == 401  # the very same callback again: its state is spent
            assert refused["oidc_state_mismatch"] + refused["oidc_state_unknown"] == 1
            # the old code under a new login's state: the provider redeems a code once (and
            # only with the verifier of the login that asked for it)
            old_code = parse_qs(urlsplit(cb).query)["code"][0]
            cb_new = await begin(http, url, A_CODE, "hanako")
            q = parse_qs(urlsplit(cb_new).query)
            forged = f"{url}{CALLBACK}?code={old_code}&state={q['state'][0]}&iss={q['iss'][0]}"
            assert await finish(http, forged) == 401
            assert refused["oidc_code_refused"] == 1
        # a callback in a browser that did not begin that login (login CSRF): no state cookie
        async with session_for(url) as http:
            cb = await begin(http, url, A_CODE, "hanako")
        async with session_for(url) as other:
            assert await finish(other, cb) == 401
            assert refused["oidc_state_mismatch"] >= 1
            assert (await card(other))["verified"] is False


async def test_tokens_that_are_not_for_us_are_refused(tmp_path, providers):
    """Real tokens from the real providers, each wrong in one way, given to A's verification."""
    async with running_app(tmp_path, **app_settings()) as (url, app):
        await setup_two(url, providers)
        client = app[OIDC_KEY]
        a = providers["A"]
        reg = Registration(A_CODE, a.issuer, "yakuba", A_SECRET)
        meta = await client.discover(a.issuer)
        good = await raw_tokens(a, "hanako", secret=A_SECRET)
        claims = await client.verify(good["id_token"], reg, meta, "test-nonce")
        assert claims["sub"] == "hanako" and claims["iss"] == a.issuer

        async def refused(token: str, reg=reg, nonce="test-nonce", now=None) -> str:
            with pytest.raises(OidcRefused) as e:
                await client.verify(token, reg, meta, nonce, now=now)
            return e.value.code

        from_b = await raw_tokens(providers["B"], "jiro")  # B signed it (for a client also called "yakuba")
        assert await refused(from_b["id_token"]) == "oidc_bad_signature"
        other_app = await raw_tokens(a, "hanako", client_id="other-app")  # A signed it for another client
        assert await refused(other_app["id_token"]) == "oidc_wrong_audience"
        assert await refused(good["id_token"], now=claims["exp"] + 120) == "oidc_expired"
        assert await refused(good["id_token"], nonce="another-login") == "oidc_bad_nonce"
        # registered under another name for the same provider: its tokens' iss is not that name
        alias = Registration(A_CODE, a.issuer.replace("127.0.0.1", "localhost"), "yakuba", A_SECRET)
        assert await refused(good["id_token"], reg=alias) == "oidc_wrong_issuer"


async def test_mismatched_issuer_is_refused_at_discovery(tmp_path, providers):
    """A municipality registered with an issuer whose discovery document names another issuer
    (A's provider reached as "localhost"): no login starts."""
    async with running_app(tmp_path, **app_settings()) as (url, app):
        a = providers["A"]
        await register(url, register_body(a, "011002", "札幌市", issuer=a.issuer.replace("127.0.0.1", "localhost")))
        async with session_for(url) as http:
            async with http.get(f"{url}/auth/oidc/011002/login?login_hint=hanako", allow_redirects=False) as r:
                assert r.status == 502
        assert app[REFUSALS_KEY].counts["oidc_wrong_issuer"] == 1
        await app[AUDIT_KEY].flush()


async def test_email_domain_join_needs_a_verified_address_and_invitations_are_single_use(tmp_path, providers):
    async with running_app(tmp_path, **app_settings()) as (url, app):
        await setup_two(url, providers)
        refused = app[REFUSALS_KEY].counts
        async with session_for(url) as http:  # an allowed domain, but the provider did not verify it
            assert await finish(http, await begin(http, url, A_CODE, "mallory")) == 401
            assert refused["oidc_not_member"] == 1
        async with session_for(url) as http:
            async with http.post(f"/api/salon/municipalities/{A_CODE}/invitations", json={}, headers=ADMIN) as r:
                token = (await r.json())["token"]
            assert await finish(http, await begin(http, url, A_CODE, "taro", token)) == 302
            assert (await card(http))["department"] == "DX推進課"
        async with session_for(url) as http:  # the same invitation again: refused before the provider
            async with http.get(f"{url}/auth/oidc/{A_CODE}/login?login_hint=mallory&invite={token}",
                                allow_redirects=False) as r:
                assert r.status == 403
            assert refused["invitation_used"] == 1
        # an expired one
        async with app[DB_KEY].session() as s:
            tok, inv = await tenants.create_invitation(s, A_CODE, "admin:api-token", 60)
            from datetime import timedelta

            inv.expires_at = inv.expires_at - timedelta(seconds=120)
        async with session_for(url) as http:
            async with http.get(f"{url}/auth/oidc/{A_CODE}/login?login_hint=mallory&invite={tok}",
                                allow_redirects=False) as r:
                assert r.status == 403
            assert refused["invitation_expired"] == 1
        # B's invitation is not a way into A
        async with app[DB_KEY].session() as s:
            tok_b, _ = await tenants.create_invitation(s, B_CODE, "admin:api-token", 600)
        async with session_for(url) as http:
            async with http.get(f"{url}/auth/oidc/{A_CODE}/login?login_hint=mallory&invite={tok_b}",
                                allow_redirects=False) as r:
                assert r.status == 403
            assert refused["invitation_other_municipality"] == 1


async def test_suspended_municipality_staff_are_out_at_once(tmp_path, providers):
    async with running_app(tmp_path, **app_settings()) as (url, app):
        await setup_two(url, providers)
        async with session_for(url) as http:
            assert await finish(http, await begin(http, url, A_CODE, "hanako")) == 302
            assert (await card(http))["verified"] is True
            cookie = http.cookie_jar.filter_cookies(URL(url))[COOKIE].value
            async with http.post(f"/api/salon/municipalities/{A_CODE}/suspend", headers=ADMIN) as r:
                assert r.status == 200 and (await r.json())["state"] == "suspended"
            me = await card(http)  # the session is no staff session any more, at once
            assert me["verified"] is False and me["staff"] is None
            # a new login through the provider is refused before it starts
            async with http.get(f"{url}/auth/oidc/{A_CODE}/login?login_hint=hanako", allow_redirects=False) as r:
                assert r.status == 403
            assert app[REFUSALS_KEY].counts["municipality_suspended"] == 1
            # resuming does not bring the old session back (it began before the suspension)
            async with http.post(f"/api/salon/municipalities/{A_CODE}/resume", headers=ADMIN) as r:
                assert r.status == 200
            async with http.get("/api/salon/me", cookies={COOKIE: cookie}) as r:
                assert (await r.json())["verified"] is False
        await app[AUDIT_KEY].flush()
