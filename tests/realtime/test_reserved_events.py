"""A client that sends events named `disconnect` or `connect` must not run the server's own
handlers: it would be forgotten by the hub while its socket stays in its zone's chat room (an
invisible listener), or reset its per-connection limits. Real sockets, a real server."""

from __future__ import annotations

from yakuba.server.app import HUB_KEY

from server.realtime_client import Peer, running_app, until


async def test_client_sent_reserved_events_are_refused_and_change_nothing(tmp_path):
    async with running_app(tmp_path) as (url, app):
        hub = app[HUB_KEY]
        attacker, other = await Peer(url).connect(), await Peer(url).connect()
        try:
            assert (await attacker.join(name="mallory"))["ok"] and (await other.join(name="bob"))["ok"]
            aid = attacker.id
            for name in ("disconnect", "connect", "message", "connect_error"):
                await attacker.emit(name, {"x": 1})
            await until(lambda: len(attacker.errors) >= 4, what="four refusals")
            assert {e["code"] for e in attacker.errors} == {"unknown_event"}
            assert all("reserved" in e["message"] for e in attacker.errors)
            # still a known, joined client with a present avatar: nothing was reset or detached
            assert len(hub.clients) == 2 and aid in hub.by_avatar and not hub.world.avatars[aid].away
            # and it gets no second join (the connect handler did not reset its state)
            again = await attacker.join(name="mallory2")
            assert not again["ok"] and again["error"]["code"] == "already_joined"
            # the other resident sees the attacker's avatar as a normal, visible avatar
            await until(lambda: aid in other.view, what="attacker visible to others")
        finally:
            await attacker.close()
            await other.close()
        await until(lambda: not hub.clients, what="both gone on a real disconnect")
