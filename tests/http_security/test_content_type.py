"""Writes to /api/ must send their route's media type: JSON routes application/json, the dataset
upload its archive and XML types. A cross-origin page can POST text/plain or a form without a
preflight; such a write is refused with 415 before any route reads it, cookie or not."""

from __future__ import annotations

import aiohttp
import pytest

from yakuba.server.http.content_type import BODY_TYPES

from server.realtime_client import running_app

TOKEN = "tok-" + "x" * 20
EVIL = "https://evil.example"


async def _post(http, path: str, body: bytes | None, ctype: str | None, **headers: str) -> tuple[int, dict]:
    h = dict(headers)
    if ctype is not None:
        h["Content-Type"] = ctype
    async with http.post(path, data=body, headers=h, skip_auto_headers=["Content-Type"]) as r:
        try:
            return r.status, await r.json()
        except aiohttp.ContentTypeError:
            return r.status, {}


@pytest.fixture
async def app_url(tmp_path):
    async with running_app(tmp_path, argon2_profile="test", api_token=TOKEN) as (url, app):
        yield url


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None])
async def test_json_routes_refuse_other_types_even_without_a_cookie(app_url, ctype):
    async with aiohttp.ClientSession(base_url=app_url) as http:
        body = b'{"username": "a", "password": "b"}'
        # the simulation route: no cookie, from another origin (a form on some web page)
        st, err = await _post(http, "/api/datasets/osaka/simulations", body, ctype, Origin=EVIL)
        assert st == 415, (ctype, st, err)
        assert err["error"]["code"] == "unsupported_media_type" and "application/json" in err["error"]["message"]
        # the login, from this site: the type alone refuses it
        st, err = await _post(http, "/api/auth/login", body, ctype, Origin=app_url)
        assert (st, err["error"]["code"]) == (415, "unsupported_media_type")


async def test_json_with_a_charset_and_empty_writes_pass(app_url):
    async with aiohttp.ClientSession(base_url=app_url) as http:
        st, err = await _post(http, "/api/auth/login", b'{"username": "nobody", "password": "x"}',
                              "application/json; charset=utf-8", Origin=app_url)
        assert (st, err["error"]["code"]) == (401, "login_failed"), "reached the route"
        st, body = await _post(http, "/api/auth/logout", None, None, Origin=app_url)  # the browser's logout
        assert st == 200 and body["principal"]["kind"] == "resident"
        # an empty body carries nothing to misread, whatever its label (aiohttp's client says octet-stream)
        st, _ = await _post(http, "/api/auth/logout", b"", "application/octet-stream", Origin=app_url)
        assert st == 200
        # a body with no Content-Type at all is refused like a wrong one
        st, err = await _post(http, "/api/auth/logout", b"{}", None, Origin=app_url)
        assert (st, err["error"]["code"]) == (415, "unsupported_media_type")
        # unknown routes keep their own answer (404, or 405 where a GET route matches)
        st, _ = await _post(http, "/api/nothing-here", b"x", "text/plain")
        assert st in (404, 405)


async def test_the_upload_takes_only_its_declared_types(app_url):
    assert ("POST", "/api/datasets") in BODY_TYPES
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(base_url=app_url) as http:
        for ctype in ("application/json", "text/plain", "multipart/form-data; boundary=x", None):
            st, err = await _post(http, "/api/datasets?name=x", b"PK\x03\x04junk", ctype, **auth)
            assert (st, err["error"]["code"]) == (415, "unsupported_media_type"), ctype
            assert "application/zip" in err["error"]["message"]
        # a declared type reaches the route, which reads the body and answers about the zip
        st, err = await _post(http, "/api/datasets?name=x", b"PK\x03\x04junk", "application/zip", **auth)
        assert (st, err["error"]["code"]) == (400, "bad_zip")
        st, err = await _post(http, "/api/datasets?name=x", b"", "application/xml", **auth)
        assert (st, err["error"]["code"]) == (400, "empty")
