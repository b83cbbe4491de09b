"""JSON bodies are read whole: a body that arrives in many small packets is the same body
(before, the route read only what was buffered and refused an 800 kB simulation as invalid
JSON), and a body over the limit is refused with too_large however it is sent."""

from __future__ import annotations

import asyncio
import json

import pytest

from yakuba.server.protocol.http import MAX_BODY_BYTES

from server.realtime_client import running_app


@pytest.fixture
async def app_url(tmp_path):
    async with running_app(tmp_path, argon2_profile="test") as (url, app):
        yield url


async def _post_trickled(url: str, path: str, body: bytes, piece: int = 16 * 1024) -> tuple[int, dict]:
    host, port = url.split("//")[1].split(":")
    r, w = await asyncio.open_connection(host, int(port))
    w.write(f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode())
    for i in range(0, len(body), piece):
        w.write(body[i : i + piece])
        await w.drain()
        await asyncio.sleep(0)  # separate packets
    raw = await r.read()
    w.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    if b"Transfer-Encoding: chunked" in head:
        out, data = b"", rest
        while data:
            n, _, data = data.partition(b"\r\n")
            size = int(n, 16)
            if not size:
                break
            out, data = out + data[:size], data[size + 2 :]
        rest = out
    return status, json.loads(rest)


async def test_a_large_body_in_many_packets_reaches_the_schema(app_url):
    # A valid JSON object of ~1 MB (padding in an unknown field): the schema, not the reader, refuses it.
    body = json.dumps({"scenario": {}, "pad": "x" * 1_000_000}).encode()
    st, err = await _post_trickled(app_url, "/api/datasets/nosuch/simulations", body)
    assert st != 500 and err["error"]["code"] != "invalid_json", (st, err)


async def test_over_the_limit_is_too_large(app_url):
    body = b'{"pad": "' + b"x" * (MAX_BODY_BYTES + 10) + b'"}'
    st, err = await _post_trickled(app_url, "/api/datasets/nosuch/simulations", body, piece=256 * 1024)
    assert st == 413 and err["error"]["code"] == "too_large"


async def test_api_token_guessing_is_throttled(tmp_path):
    """Wrong Bearer tokens count as failed logins per address: after the limit even the right
    token waits (429), so guessing stays slow."""
    import aiohttp

    async with running_app(tmp_path, argon2_profile="test", api_token="right-" + "t" * 24, login_max_failures=3) as (url, app):
        async with aiohttp.ClientSession(base_url=url) as http:
            for i in range(3):
                async with http.get("/api/jobs", headers={"Authorization": f"Bearer wrong{i}"}) as r:
                    assert r.status in (401, 403, 200)
            async with http.get("/api/jobs", headers={"Authorization": "Bearer right-" + "t" * 24}) as r:
                assert r.status == 429 and (await r.json())["error"]["code"] == "login_throttled"


async def test_deep_nesting_is_a_clear_400(app_url):
    deep = b"[" * 100_000 + b"]" * 100_000
    st, err = await _post_trickled(app_url, "/api/datasets/nosuch/simulations", b'{"a": ' + deep + b"}")
    assert st == 400 and err["error"]["code"] == "invalid_json", (st, err)
