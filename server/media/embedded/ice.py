"""The relay's RTCConfiguration from the browser-shaped ICE server list.

``ice_servers`` is what the browser gets (RTCIceServer dicts: ``{"urls": [...], "username",
"credential"}``). An empty list (or None) means no STUN or TURN at all: aiortc otherwise falls
back to a public Google STUN server, which a city hall server must not contact unasked (and
which these machines cannot reach). aiortc takes one STUN and one TURN server; the rest are
ignored. All peers bundle onto one transport (max-bundle: one ICE agent per peer).

``ice_transport_policy`` forces relay-only ICE (tests of TURN paths): it must be aiortc's
``RTCIceTransportPolicy`` enum, never the string "relay".
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from aiortc import RTCConfiguration, RTCIceServer
from aiortc.rtcconfiguration import RTCBundlePolicy, RTCIceTransportPolicy

from ..backend import MediaError

_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")

# Module-wide: every peer the relay creates from now on (tests; never set in production).
ice_transport_policy: RTCIceTransportPolicy = RTCIceTransportPolicy.ALL


def set_ice_transport_policy(policy: RTCIceTransportPolicy) -> RTCIceTransportPolicy:
    """Use ``policy`` for the relay's new peers; returns the previous one."""
    global ice_transport_policy
    if not isinstance(policy, RTCIceTransportPolicy):
        raise TypeError("an RTCIceTransportPolicy, e.g. RTCIceTransportPolicy.RELAY")
    previous, ice_transport_policy = ice_transport_policy, policy
    return previous


@contextlib.contextmanager
def relay_only_ice() -> Iterator[None]:
    """Within: the relay gathers and uses TURN-relayed candidates only."""
    previous = set_ice_transport_policy(RTCIceTransportPolicy.RELAY)
    try:
        yield
    finally:
        set_ice_transport_policy(previous)


def ice_server(entry: dict) -> RTCIceServer | None:
    urls = entry.get("urls", entry.get("url"))
    if isinstance(urls, str):
        urls = [urls]
    if not isinstance(urls, list):
        raise MediaError("media_failed", "an ICE server without urls")
    urls = [u for u in urls if isinstance(u, str) and u.startswith(_SCHEMES)]
    if not urls:
        return None
    return RTCIceServer(urls=urls, username=entry.get("username"), credential=entry.get("credential"))


def rtc_configuration(ice_servers: list[dict] | None) -> RTCConfiguration:
    servers = [s for s in (ice_server(e) for e in ice_servers or []) if s is not None]
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=ice_transport_policy,
                            bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


__all__ = ["ice_server", "ice_transport_policy", "relay_only_ice", "rtc_configuration",
           "set_ice_transport_policy"]
