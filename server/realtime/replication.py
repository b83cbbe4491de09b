"""Replication between nodes: the bus codec and zone subscriptions.

Each node publishes its own avatars' changes once per tick, one message per zone, on that zone's
channel (``ZONE_CHANNEL + zone``); every ``KEYFRAME_S`` the message holds all of them in full so
a node that just subscribed catches up. A node listens only to the zones of areas where it has
local clients, and keeps replicas of remote avatars only there. Messages (msgpack maps, every one
tagged with its node ``n``):

    zone batch  {n, add: [[id, name, style, color, role, x_cm, y_cm, h_u8, zone]...], upd: bytes, del: [id...]}
    chat        {n, k: "chat", chat: {id, name, text, zone, ts}}
    claim       {n, claim: avatar_id}                      (control channel)
    revoke      {n, revoke: {session: str|None, staff: int|None}}   (control channel)

An avatar that changed zone is also announced on its old zone's channel, so nodes watching only
the old area see it go (they drop replicas of zones they do not watch); a removed avatar's
delete goes to its last zone's channel.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

import msgpack
import numpy as np

from yakuba.server.protocol import UPD_DTYPE
from yakuba.server.store.base import ZONE_CHANNEL, Store, StoreUnavailable
from yakuba.world.interest import zones_of_area
from yakuba.world.layout import Layout
from yakuba.world.state import Avatar, World
from yakuba.world.zones import Role

log = logging.getLogger("yakuba.realtime.replication")

KEYFRAME_S = 2.0  # full state of this node's avatars on the bus, for late subscribers
REMOTE_TTL_S = 6.0  # a remote avatar not refreshed this long belonged to a node that died


# --- codec ------------------------------------------------------------------------------------
def zone_channel(zone: str) -> str:
    return ZONE_CHANNEL + zone


def pack_batch(node: str, add: list[list[Any]], upd: bytes, dels: list[int]) -> bytes:
    return msgpack.packb({"n": node, "add": add, "upd": upd, "del": dels}, use_bin_type=True)


def pack_chat(node: str, chat: dict[str, Any], pos: tuple[float, float] | None = None) -> bytes:
    """A chat line for the other nodes; ``pos`` is the speaker's place (open-area hearing)."""
    m: dict[str, Any] = {"n": node, "k": "chat", "chat": chat}
    if pos is not None:
        m["pos"] = [float(pos[0]), float(pos[1])]
    return msgpack.packb(m, use_bin_type=True)


def pack_claim(node: str, avatar_id: int) -> bytes:
    return msgpack.packb({"n": node, "claim": avatar_id}, use_bin_type=True)


def pack_revoke(node: str, session_id: str | None, staff_id: int | None, municipality: str | None = None) -> bytes:
    r: dict[str, Any] = {"session": session_id, "staff": staff_id}
    if municipality is not None:  # a suspended municipality (issue #20): all its staff
        r["municipality"] = municipality
    return msgpack.packb({"n": node, "revoke": r}, use_bin_type=True)


def unpack(data: bytes) -> dict[str, Any]:
    m = msgpack.unpackb(data, raw=False)
    if not isinstance(m, dict):
        raise ValueError("bus message is not a map")
    return m


# --- replication --------------------------------------------------------------------------------
class Replicator:
    """Publishes this node's avatars and applies other nodes' batches to the local world.

    ``remove(aid)`` takes an avatar out of the world and every cache; ``dirty(aid)`` marks its
    name/appearance/zone changed (both belong to the hub)."""

    def __init__(self, store: Store, world: World, record: Callable[[Avatar], list[Any]], pack_upd: Callable[[list[int]], bytes], remove: Callable[[int], None], dirty: Callable[[int], None]) -> None:
        self.store, self.world = store, world
        self._record, self._pack_upd, self._remove, self._dirty = record, pack_upd, remove, dirty
        self.remote_seen: dict[int, float] = {}  # remote avatar id -> last time the bus spoke of it
        self.last_key = -math.inf
        self.watch_count: dict[str, int] = {}  # area -> local clients in it
        self.watched_zones: set[str] = set()

    @property
    def layout(self) -> Layout:
        return self.world.layout

    # -- outgoing -------------------------------------------------------------------------------
    def outgoing(self, changed: set[int], meta_dirty: set[int], moved_from: Mapping[int, str], gone: Mapping[int, str], now: float) -> list[tuple[str, bytes]]:
        """The (channel, message) pairs of this tick. ``moved_from``: local avatar -> zone it
        left this tick; ``gone``: local avatar removed -> its last zone."""
        keyframe = now - self.last_key >= KEYFRAME_S
        if keyframe:
            self.last_key = now
        node = self.store.node_id
        per_zone: dict[str, tuple[list, list]] = {}
        for aid, a in self.world.avatars.items():
            if not a.local:
                continue
            if keyframe or aid in meta_dirty:
                rec = self._record(a)
                per_zone.setdefault(a.zone, ([], []))[0].append(rec)
                old = moved_from.get(aid)
                if old is not None and old != a.zone:
                    per_zone.setdefault(old, ([], []))[0].append(rec)
            elif aid in changed:
                per_zone.setdefault(a.zone, ([], []))[1].append(aid)
        dels: dict[str, list[int]] = {}
        for aid, zone in gone.items():
            dels.setdefault(zone, []).append(aid)
        out = []
        for zone in sorted(per_zone.keys() | dels.keys()):
            add, upd = per_zone.get(zone, ([], []))
            out.append((zone_channel(zone), pack_batch(node, add, self._pack_upd(upd), dels.get(zone, []))))
        return out

    async def publish(self, changed: set[int], meta_dirty: set[int], moved_from: Mapping[int, str], gone: Mapping[int, str], now: float) -> bool:
        if not self.store.shared:
            return True
        try:
            for channel, data in self.outgoing(changed, meta_dirty, moved_from, gone, now):
                await self.store.publish(channel, data)
        except StoreUnavailable:
            # Other nodes expire our replicas after REMOTE_TTL_S of silence, and a bare position
            # update names no avatar they still hold: the first tick back carries full records.
            self.last_key = -math.inf
            return False
        return True

    # -- incoming -------------------------------------------------------------------------------
    def apply(self, m: dict[str, Any], now: float) -> dict | None:
        """Apply another node's zone batch; returns the chat it carries, if any."""
        if m.get("k") == "chat":
            chat = dict(m["chat"])
            pos = m.get("pos")
            if isinstance(pos, list) and len(pos) == 2 and all(isinstance(v, (int, float)) for v in pos):
                chat["_pos"] = (float(pos[0]), float(pos[1]))  # for the hearing rule; never sent on
            return chat
        for rec in m.get("add", ()):
            self._upsert(rec, now)
        upd = m.get("upd") or b""
        if upd:
            for aid, qx, qy, qh in np.frombuffer(upd, dtype=UPD_DTYPE).tolist():
                a = self.world.avatars.get(aid)
                if a is not None and not a.local:
                    a.x, a.y, a.heading = qx / 100, qy / 100, qh * 360 / 256
                    self.remote_seen[aid] = now
        for aid in m.get("del", ()):
            self._drop(aid)
        return None

    def _upsert(self, rec: list, now: float) -> None:
        aid, name, style, color, role, qx, qy, qh, zone = rec[:9]
        away = bool(rec[9]) if len(rec) > 9 else False  # a node of the previous protocol sends 9
        # the salon card its owner's node set from the session (nodes trust one another's records)
        card = rec[10] if len(rec) > 10 and isinstance(rec[10], dict) else None
        a = self.world.avatars.get(aid)
        if a is not None and a.local:
            return  # we own it (resumed here); the other node's view is stale
        if zone not in self.watched_zones:
            self._drop(aid)  # it left for a zone nobody here watches
            return
        if a is None:
            a = Avatar(id=aid, name=name, style=style, color=color, role=Role(role), x=qx / 100, y=qy / 100, heading=qh * 360 / 256, zone=zone, local=False)
            a.away = away
            _set_card(a, card)
            self.world.avatars[aid] = a
            self._dirty(aid)
        else:
            if (a.name, a.style, a.color, a.zone, a.away) != (name, style, color, zone, away):
                self._dirty(aid)
            a.name, a.style, a.color, a.zone, a.away = name, style, color, zone, away
            _set_card(a, card)
            a.x, a.y, a.heading = qx / 100, qy / 100, qh * 360 / 256
        self.remote_seen[aid] = now

    def _drop(self, aid: int) -> None:
        a = self.world.avatars.get(aid)
        self.remote_seen.pop(aid, None)
        if a is not None and not a.local:
            self._remove(aid)

    def expire(self, now: float) -> list[int]:
        """Remote avatars not heard of for REMOTE_TTL_S (their node died) leave the world."""
        gone = [aid for aid, seen in self.remote_seen.items() if now - seen > REMOTE_TTL_S]
        for aid in gone:
            self._drop(aid)
        return gone

    # -- subscriptions --------------------------------------------------------------------------
    async def watch(self, area: str) -> None:
        """A local client entered ``area``: listen to its zones when it is the first."""
        n = self.watch_count.get(area, 0)
        self.watch_count[area] = n + 1
        if n == 0:
            for z in zones_of_area(self.layout, area):
                self.watched_zones.add(z)
                await self.store.subscribe_channel(zone_channel(z))

    async def unwatch(self, area: str) -> None:
        """A local client left ``area``: stop listening when it was the last, drop the replicas."""
        n = self.watch_count.get(area, 0) - 1
        if n > 0:
            self.watch_count[area] = n
            return
        self.watch_count.pop(area, None)
        zones = zones_of_area(self.layout, area)
        for z in zones:
            self.watched_zones.discard(z)
            await self.store.unsubscribe_channel(zone_channel(z))
        for aid in [aid for aid, a in self.world.avatars.items() if not a.local and a.zone in zones]:
            self._drop(aid)


__all__ = ["KEYFRAME_S", "REMOTE_TTL_S", "Replicator", "pack_batch", "pack_chat", "pack_claim", "pack_revoke", "unpack", "zone_channel"]


def _set_card(a: Avatar, card: dict | None) -> None:
    """A replica's salon identity: the verified mark and municipality the zone rule reads."""
    muni = card.get("municipality") if card else None
    a.card, a.verified = card, bool(card and card.get("verified"))
    a.municipality = muni.get("code") if isinstance(muni, dict) else None
    staff = card.get("staff") if card else None
    a.staff = staff if isinstance(staff, int) else None
