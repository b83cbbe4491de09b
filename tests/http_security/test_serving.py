"""`yakuba serve` as an operator runs it (a real process, raw sockets): a client that trickles
its request head or its body is cut off after the configured time while normal requests go on,
and the access log holds paths without query strings and never a credential."""

from __future__ import annotations

import socket
import time
import urllib.request
from pathlib import Path

import pytest

from yakuba_testing import ServeProcess

TOKEN = "tok-SECRET-TOKEN-" + "x" * 12
HEADER_S, BODY_S = 1.0, 1.0


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    p = ServeProcess(tmp_path_factory.mktemp("serve"), env={
        "YAKUBA_HEADER_TIMEOUT_S": str(HEADER_S), "YAKUBA_BODY_TIMEOUT_S": str(BODY_S),
        "YAKUBA_API_TOKEN": TOKEN, "YAKUBA_TRUSTED_PROXIES": "127.0.0.1", "YAKUBA_JOB_WORKERS": "1",
    }).start()
    yield p
    p.stop()


def _closed(s: socket.socket) -> bool:
    """True once the server closed the connection (EOF or reset); any bytes before it are read."""
    s.settimeout(0.02)
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except (socket.timeout, BlockingIOError):
        return False
    except OSError:
        return True


def _trickle(s: socket.socket, pieces: list[bytes], every: float, limit: float = 8.0) -> float:
    """Send one piece every ``every`` seconds until the server closes; seconds it took."""
    t0 = time.monotonic()
    for piece in pieces:
        try:
            s.sendall(piece)
        except OSError:
            return time.monotonic() - t0
        deadline = time.monotonic() + every
        while time.monotonic() < deadline:
            if _closed(s):
                return time.monotonic() - t0
        if time.monotonic() - t0 > limit:
            break
    raise AssertionError(f"still open after {time.monotonic() - t0:.1f}s")


def _get(node: ServeProcess, path: str, headers: dict | None = None) -> int:
    req = urllib.request.Request(node.url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_trickled_headers_and_idle_connections_are_closed_after_the_header_timeout(node):
    lines = [b"GET /healthz HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n"] + [b"X-Pad-%d: x\r\n" % i for i in range(200)]
    with socket.create_connection(("127.0.0.1", node.port)) as slow, socket.create_connection(("127.0.0.1", node.port)) as idle:
        took = _trickle(slow, lines, every=0.1)
        assert HEADER_S * 0.8 <= took <= HEADER_S + 2.0, took
        assert _closed(idle), "a connection that never sent a byte is gone too"
    # A client that sends its head at once is served, and may send the next request at once too.
    with socket.create_connection(("127.0.0.1", node.port)) as ok:
        ok.settimeout(5)
        for _ in range(2):
            ok.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                head += ok.recv(4096)
            assert head.startswith(b"HTTP/1.1 200"), head[:40]
            time.sleep(HEADER_S / 2)  # idle, but under the timeout
    assert _get(node, "/healthz") == 200


def _upload_head(length: int) -> bytes:
    return (f"POST /api/datasets?name=slow HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/xml\r\nContent-Length: {length}\r\n\r\n").encode()


def test_a_trickled_body_is_cut_off_and_a_steady_long_upload_is_not(node):
    with socket.create_connection(("127.0.0.1", node.port)) as slow:
        slow.sendall(_upload_head(1_000_000) + b"<x")
        took = _trickle(slow, [b"x"] * 200, every=0.05)
        assert BODY_S * 0.8 <= took <= BODY_S + 2.0, took
    # 64 KiB every 0.25 s for 2.5 s (256 KiB/s, over body_min_rate): longer than the period, goes on
    chunk, n = 64 * 1024, 10
    with socket.create_connection(("127.0.0.1", node.port)) as steady:
        steady.sendall(_upload_head(chunk * n))
        for _ in range(n):
            steady.sendall(b"x" * chunk)
            time.sleep(0.25)
        steady.settimeout(10)
        head = steady.recv(4096)
        assert head.startswith(b"HTTP/1.1 202"), head[:60]  # accepted as an import job


def test_access_log_has_paths_without_queries_or_credentials(node):
    headers = {"Authorization": "Bearer SECRET-BEARER", "Cookie": "yakuba_session=SECRET-COOKIE",
               "Referer": "http://127.0.0.1/?q=SECRET-REFERER", "X-Forwarded-For": "198.51.100.23"}
    assert _get(node, "/healthz?token=SECRET-QUERY&x=1", headers) == 200
    assert _get(node, "/socket.io/?EIO=4&transport=polling&sid=SECRET-SID") in (200, 400)
    # /metrics: loopback may read it, but a client behind the (trusted, loopback) proxy may not
    assert _get(node, "/metrics") == 200
    assert _get(node, "/metrics", {"X-Forwarded-For": "198.51.100.23"}) == 403
    log = Path(node.log)
    deadline = time.monotonic() + 5
    while '198.51.100.23 "GET /metrics" 403' not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    text = log.read_text()
    assert '198.51.100.23 "GET /healthz" 200' in text, text[-2000:]
    assert '127.0.0.1 "GET /socket.io/"' in text
    access = [line for line in text.splitlines() if "aiohttp.access" in line]
    assert len(access) >= 4 and not [line for line in access if "SECRET" in line or "?" in line], access
    # (engine.io itself logs an unknown sid it was sent once; a live sid is never logged)
    assert not [line for line in text.splitlines() if "SECRET" in line and "Invalid session SECRET-SID" not in line]


async def test_sockets_outlive_the_header_timeout(node):
    """The header timeout is aiohttp's keep-alive timer: it must not close a socket.io session
    (a websocket is one long request; polling sends the next request at once)."""
    import asyncio

    import socketio

    clients = []
    for transports in (["websocket"], ["polling"]):
        c = socketio.AsyncClient(reconnection=False)
        await c.connect(node.url, transports=transports, wait_timeout=10)
        clients.append(c)
    try:
        await asyncio.sleep(HEADER_S * 2.5)
        assert [c.connected for c in clients] == [True, True]
        assert await clients[1].call("join", {}, timeout=5) is not None, "polling still carries events"
    finally:
        for c in clients:  # abort: a polite polling close waits out the pending long-poll (~15 s)
            await c.eio.disconnect(abort=True)
