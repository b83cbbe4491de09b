"""TURN credentials (the TURN REST API scheme) against a real coturn: ours are accepted, forged
or expired ones are refused; the relay path itself is tests/media_service/test_media_socket.py's."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac

import pytest
from aioice import stun, turn

from yakuba.server.media.turn import ice_servers, turn_credentials

from .coturn import coturn


def test_credentials_follow_the_rest_scheme():
    user, cred, exp = turn_credentials("s3cret", "session-token", 600, now=1_000_000)
    assert exp == 1_000_600 and user.startswith("1000600:") and "session" not in user
    assert cred == base64.b64encode(hmac.new(b"s3cret", user.encode(), hashlib.sha1).digest()).decode()
    assert turn_credentials("s3cret", "other", 600, now=1_000_000)[0] != user  # per session


def test_ice_servers_only_what_is_configured():
    assert ice_servers((), (), "s", "t", 60) == []
    assert ice_servers(("turn:h:3478",), (), None, "t", 60) == []  # no secret: no TURN at all
    out = ice_servers(("turn:h:3478", "turns:h:443?transport=tcp"), ("stun:h:3478",), "s", "t", 60)
    assert out[0] == {"urls": ["stun:h:3478"]} and out[1]["urls"] == ["turn:h:3478", "turns:h:443?transport=tcp"]


async def _allocate(port: int, user: str, cred: str) -> str:
    transport, _ = await asyncio.wait_for(turn.create_turn_endpoint(
        asyncio.DatagramProtocol, ("127.0.0.1", port), user, cred), 5)
    try:
        return transport.get_extra_info("sockname")[0]
    finally:
        transport.close()


async def test_coturn_allocates_for_our_credentials_and_refuses_others():
    with coturn() as (port, secret, log):
        user, cred, _ = turn_credentials(secret, "tok", 600)
        assert await _allocate(port, user, cred) == "127.0.0.1"  # a relayed address was allocated
        forged = turn_credentials("not-the-secret", "tok", 600)
        expired = turn_credentials(secret, "tok", -60)
        for u, c in (forged[:2], expired[:2]):
            with pytest.raises(stun.TransactionFailed, match="401"):
                await _allocate(port, u, c)
