"""Loopback candidates for the embedded relay (YAKUBA_MEDIA_LOOPBACK=1: tests and one-machine demos).

aioice leaves 127.0.0.1 out of its host candidates on purpose (useless between machines). A
browser on the same machine as the server, with no other interface shared, then finds no path.
This offers 127.0.0.1 as well; it is never on by default."""

from __future__ import annotations

_done = False


def offer_loopback() -> None:
    global _done
    if _done:
        return
    from aioice import ice

    original = ice.get_host_addresses

    def with_loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        addrs = original(use_ipv4, use_ipv6)
        return (["127.0.0.1"] if use_ipv4 else []) + [a for a in addrs if a != "127.0.0.1"]

    ice.get_host_addresses = with_loopback
    _done = True


__all__ = ["offer_loopback"]
