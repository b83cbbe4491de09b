"""Per-view snapshot building and frame encoding. Pure: no sockets, no clock, no store.

Each tick: ``quantise_changes`` finds the avatars whose quantised position changed (and packs
their 9-byte ``upd`` record once); ``frames`` then gives every viewer the frame for its area of
interest. Viewers of a small area who are in sync see the same delta, so it is encoded once and
the same ``bytes`` object is handed to each of them (the transport builds its packets once per
distinct object). Nothing changed in a view: no frame at all.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from yakuba.server.protocol import UPD, encode_snapshot, quantise
from yakuba.world.interest import AreaPositions, group_by_area
from yakuba.world.layout import Layout
from yakuba.world.state import Avatar

K = TypeVar("K", bound=Hashable)


@dataclass
class ViewState:
    """What one viewer was last sent."""

    known: frozenset[int] = frozenset()
    needs_full: bool = True

    def reset(self) -> None:
        self.known, self.needs_full = frozenset(), True


class Sync:
    def __init__(self, view_limit: int) -> None:
        self.view_limit = view_limit
        self.q: dict[int, tuple[int, int, int]] = {}  # avatar id -> quantised (x_cm, y_cm, h) last sent
        self.rec: dict[int, bytes] = {}  # the same, packed as a 9-byte upd record
        self.area_prev: dict[str, frozenset[int]] = {}  # area -> members at the last tick
        self.encoded = 0  # frames encoded (a test checks encode-once per view)

    def forget(self, aid: int) -> None:
        self.q.pop(aid, None)
        self.rec.pop(aid, None)

    def quantise_changes(self, avatars: Mapping[int, Avatar]) -> set[int]:
        changed: set[int] = set()
        q, rec, pack = self.q, self.rec, UPD.pack
        for aid, a in avatars.items():
            v = quantise(a.x, a.y, a.heading)
            if q.get(aid) != v:
                q[aid] = v
                rec[aid] = pack(aid, *v)
                changed.add(aid)
        return changed

    def record(self, a: Avatar) -> list[Any]:
        """The `add` record: [id, name, style, color, role, x_cm, y_cm, heading_u8, zone]."""
        qx, qy, qh = self.q.get(a.id) or quantise(a.x, a.y, a.heading)
        return [a.id, a.name, a.style, a.color, a.role.value, qx, qy, qh, a.zone]

    def pack_upd(self, ids: Iterable[int]) -> bytes:
        # Records are packed once per avatar per tick (quantise_changes) and joined per view.
        rec = self.rec
        return b"".join([rec[i] for i in ids])

    def frames(
        self,
        tick: int,
        layout: Layout,
        avatars: Mapping[int, Avatar],
        viewers: Iterable[tuple[K, int, ViewState]],
        changed: set[int],
        meta_dirty: set[int],
    ) -> list[tuple[K, bytes]]:
        """(viewer key, frame) for every viewer with something to receive; viewers' states are
        updated to what they were sent. ``viewers`` holds (key, own avatar id, state)."""
        areas = group_by_area(layout, avatars.values())
        members = {area: frozenset(ids) for area, ids in areas.items()}
        shared: dict[str, bytes | None] = {}
        positions: dict[str, AreaPositions] = {}
        limit = self.view_limit
        out: list[tuple[K, bytes]] = []
        zones = layout.zones
        for key, aid, vs in viewers:
            me = avatars.get(aid)
            if me is None:
                continue
            z = zones.get(me.zone)
            area = z.area if z else me.zone
            view = members.get(area, frozenset())
            small = len(view) <= limit
            if small and not vs.needs_full and vs.known == self.area_prev.get(area):
                # Everyone in a small area who is in sync sees the same delta: encode once.
                if area not in shared:
                    shared[area] = self._frame(tick, avatars, vs.known, view, changed, meta_dirty, full=False)
                frame = shared[area]
                vs.known = view
            else:
                if not small:
                    if area not in positions:
                        positions[area] = AreaPositions(areas[area], avatars)
                    view = positions[area].nearest(me, limit)
                frame = self._frame(tick, avatars, vs.known, view, changed, meta_dirty, full=vs.needs_full)
                vs.known, vs.needs_full = view, False
            if frame is not None:
                out.append((key, frame))
        self.area_prev = members
        return out

    def _frame(self, tick: int, avatars: Mapping[int, Avatar], known: frozenset[int], view: frozenset[int], changed: set[int], meta_dirty: set[int], full: bool) -> bytes | None:
        if full:
            add_ids, upd_ids, dels = list(view), [], []
        else:
            add_ids = [i for i in view if i not in known or i in meta_dirty]
            dels = [i for i in known if i not in view]
            upd_ids = [i for i in view if i in changed and i in known and i not in meta_dirty] if changed else []
        if not (full or add_ids or upd_ids or dels):
            return None  # nothing changed: nothing sent
        self.encoded += 1
        return encode_snapshot(tick, full, [self.record(avatars[i]) for i in add_ids], self.pack_upd(upd_ids), dels)


__all__ = ["Sync", "ViewState"]
