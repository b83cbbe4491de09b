"""A hub on a real (unattached) socket.io server, a real memory store and a manual clock:
the realtime core driven by hand, no sockets and no waiting."""

from __future__ import annotations

import socketio

from yakuba.server.auth.principal import Principal, resident
from yakuba.server.realtime.clock import ManualClock
from yakuba.server.realtime.gateway import Client
from yakuba.server.realtime.hub import Hub, HubConfig
from yakuba.server.realtime.metrics import Metrics
from yakuba.server.store.base import Store
from yakuba.server.store.memory import MemoryStore
from yakuba.world.layout import load_layout
from yakuba.world.state import Avatar, World
from yakuba.world.zones import Role


def make_hub(store: Store | None = None, clock: ManualClock | None = None, **config) -> Hub:
    sio = socketio.AsyncServer(async_mode="aiohttp")
    return Hub(sio, World(load_layout(), seed=1), store or MemoryStore("n1"), Metrics(), HubConfig(**config), clock=clock or ManualClock())


def avatar(aid: int, x: float = 5.0, y: float = 5.0, zone: str = "entrance", local: bool = True, role: Role = Role.RESIDENT) -> Avatar:
    return Avatar(id=aid, name=f"a{aid}", style="round", color="#000000", role=role, x=x, y=y, heading=0.0, zone=zone, local=local)


async def attach(hub: Hub, aid: int, principal: Principal | None = None, **kw) -> Client:
    """A connected client holding avatar ``aid`` (as the gateway's join leaves it)."""
    eio_sid = f"e{aid}"
    sid = await hub.sio.manager.connect(eio_sid, "/")  # the socket.io manager's record of a connection
    c = Client(sid=sid, eio_sid=eio_sid, principal=principal or resident(sid), token=f"tok-{aid:08d}")
    hub.clients[sid] = c
    a = avatar(aid, **kw)
    hub.world.add(a)
    c.avatar_id = aid
    hub.by_avatar[aid] = c
    hub.meta_dirty.add(aid)
    await hub.gateway.enter_zone(c, a.zone)
    return c
