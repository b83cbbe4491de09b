"""Who the client is when the server sits behind reverse proxies.

``X-Forwarded-For`` is a list of hops the request went through, each appended by the proxy that
received it: ``client, proxy1, proxy2`` and the TCP peer is the last proxy. Anyone can send the
header, so only the hops added by proxies we trust (``Settings.trusted_proxies``) are facts.
Walking from the right: while the address in hand is a trusted proxy, the hop to its left is the
address that proxy saw; the first address that is not a trusted proxy is the client. Hops further
left were written by that client and are ignored. With no trusted proxies (the default) the
header is never read.

Pure: no aiohttp here; ``auth.identity.request_address`` applies it to requests and sockets.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(items: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDRs (``10.0.0.0/8``, ``127.0.0.1``); Settings already refused typos."""
    return tuple(ipaddress.ip_network(i, strict=False) for i in items)


def _address(text: str | None) -> Address | None:
    """An address as peers and proxies write it: ``1.2.3.4``, ``::1``, ``fe80::1%eth0``, and the
    port-suffixed forms some proxies add (``1.2.3.4:5678``, ``[2001:db8::1]:443``)."""
    t = (text or "").strip().strip('"')
    if t.startswith("["):
        t = t[1:].split("]", 1)[0]
    elif t.count(":") == 1:  # IPv4 with a port; a bare IPv6 has at least two colons
        t = t.split(":", 1)[0]
    t = t.split("%", 1)[0]
    try:
        a = ipaddress.ip_address(t)
    except ValueError:
        return None
    # a dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d; compare and key them as IPv4
    return a.ipv4_mapped if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped else a


def _trusted(a: Address, trusted: tuple[Network, ...]) -> bool:
    return any(a.version == n.version and a in n for n in trusted)


def forwarded_client(peer: str | None, forwarded_for: Iterable[str], trusted: tuple[Network, ...]) -> str:
    """The client address for a connection from ``peer`` carrying these ``X-Forwarded-For``
    header values (several headers count as one list). "-" when the peer is unknown."""
    here = _address(peer)
    if here is None:
        return peer or "-"
    if not trusted or not _trusted(here, trusted):
        return str(here)
    hops = [h for value in forwarded_for for h in value.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(here, trusted):
            break
        prev = _address(hop)
        if prev is None:  # garbage from a trusted proxy: stop at the proxy rather than guess
            break
        here = prev
    return str(here)


__all__ = ["forwarded_client", "parse_networks"]
