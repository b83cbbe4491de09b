"""The salon's board of who is online, by municipality, across nodes (issue #20).

Each node knows its own avatars in the salon; a node's list goes to the others on the control
channel when it changes (and every KEYFRAME_S, so a node that starts late learns it), and a
node's list is forgotten TTL_S after its last message (a node that died). Everyone in a salon
room gets the board in the room's state (``board``), patched when it changes. Whoever chose
``salon.hide`` is left out, and so are avatars whose owner is disconnected (away).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import msgpack

from yakuba.server.store.base import CONTROL_CHANNEL, StoreUnavailable

if TYPE_CHECKING:
    from yakuba.server.realtime.hub import Hub

log = logging.getLogger("yakuba.salon")

EVERY_S = 1.0  # a board, not a radar: once a second is enough (and costs nothing at 20 Hz ticks)
KEYFRAME_S = 5.0
TTL_S = 12.0
MAX_REMOTE = 5000  # entries taken from one node's message (a bound, not a seat count)


def _entry(a: Any) -> dict:
    card = a.card
    return {"avatar": a.id, "room": a.zone, "display_name": card.get("display_name"),
            "department": card.get("department"), "municipality": card.get("municipality")}


def group(people: list[dict]) -> list[dict]:
    """People by municipality (code order), each list by name then avatar: what the board shows."""
    by: dict[str, dict] = {}
    for p in people:
        m = p.get("municipality") or {}
        code = m.get("code") or ""
        g = by.setdefault(code, {"code": m.get("code"), "name": m.get("name"), "people": []})
        g["people"].append({k: p[k] for k in ("avatar", "room", "display_name", "department")})
    for g in by.values():
        g["people"].sort(key=lambda x: (x["display_name"] or "", x["avatar"]))
    return [by[k] for k in sorted(by)]


class Board:
    def __init__(self, hub: "Hub") -> None:
        self.hub = hub
        self.remote: dict[str, tuple[float, list[dict]]] = {}  # node -> (forget at, its people)
        self._sent: list[dict] | None = None
        self._sent_at = 0.0
        self._at = 0.0
        self._zones = {z.id for z in hub.world.layout.zones.values() if z.access == "salon"}

    def local(self) -> list[dict]:
        return sorted((_entry(a) for a in self.hub.world.avatars.values()
                       if a.local and a.zone in self._zones and a.card and not a.card.get("hidden") and not a.away),
                      key=lambda p: p["avatar"])

    def tick(self, wall: float, rooms: list) -> None:
        if wall - self._at < EVERY_S:
            return
        self._at = wall
        mine = self.local()
        store = self.hub.store
        if store.shared and (mine != self._sent or wall - self._sent_at >= KEYFRAME_S):
            self._sent, self._sent_at = mine, wall
            asyncio.ensure_future(self._publish(mine))
        for node in [n for n, (until, _) in self.remote.items() if until <= wall]:
            del self.remote[node]
        if not rooms:
            return
        board = group(mine + [p for _, people in self.remote.values() for p in people])
        for r in rooms:
            if r.state.get("board") != board:
                r.update({"board": board})

    async def _publish(self, mine: list[dict]) -> None:
        try:
            await self.hub.store.publish(CONTROL_CHANNEL, msgpack.packb({"n": self.hub.store.node_id, "salon_board": mine}))
        except StoreUnavailable:
            log.warning("salon board not published: store unavailable")

    def on_bus(self, m: dict, wall: float) -> None:
        people = m.get("salon_board")
        if not isinstance(people, list) or not isinstance(m.get("n"), str):
            raise ValueError("salon_board: a list from a node")
        ok = [p for p in people[:MAX_REMOTE] if isinstance(p, dict) and isinstance(p.get("avatar"), int)
              and p.get("room") in self._zones]
        self.remote[m["n"]] = (wall + TTL_S, [{"avatar": p["avatar"], "room": p["room"],
                                               "display_name": p.get("display_name"), "department": p.get("department"),
                                               "municipality": p.get("municipality") if isinstance(p.get("municipality"), dict) else None}
                                              for p in ok])


__all__ = ["Board", "group"]
