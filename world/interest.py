"""Area of interest: who sees whom. Pure, no sockets and no clock.

Zones of one *area* (an open-plan space: the lobby's entrance, info desk and corridor) see each
other; an area holding more avatars than a client's view limit is cut to the nearest N. The
positions of an area are gathered once per tick and shared by every viewer in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

import numpy as np

from .layout import Layout


class Located(Protocol):
    id: int
    x: float
    y: float
    zone: str


def area_of(layout: Layout, zone_id: str) -> str:
    """The area a zone belongs to (an unknown zone is an area of its own)."""
    z = layout.zones.get(zone_id)
    return z.area if z else zone_id


def zones_of_area(layout: Layout, area: str) -> list[str]:
    zs = [z.id for z in layout.zones.values() if z.area == area]
    return zs or [area]


def hearers(layout: Layout, avatars: Iterable[Located], zone_id: str, x: float, y: float, radius: float) -> list[int] | None:
    """Who hears a line said at (x, y) in ``zone_id``: in an open-plan area (several zones seen
    as one, like the lobby) the avatars of that area within ``radius`` -- the people around you,
    whatever zone line they stand across; in a room (an area of one zone: a booth, the hall)
    None, meaning everyone in the room."""
    area = area_of(layout, zone_id)
    if len(zones_of_area(layout, area)) < 2:
        return None
    r2 = radius * radius
    zones = layout.zones
    out = []
    for a in avatars:
        z = zones.get(a.zone)
        if (z.area if z else a.zone) == area and (a.x - x) ** 2 + (a.y - y) ** 2 <= r2:
            out.append(a.id)
    return out


def group_by_area(layout: Layout, avatars: Iterable[Located]) -> dict[str, list[int]]:
    """Area -> avatar ids in it, in iteration order."""
    zones = layout.zones
    areas: dict[str, list[int]] = {}
    for a in avatars:
        z = zones.get(a.zone)
        areas.setdefault(z.area if z else a.zone, []).append(a.id)
    return areas


class AreaPositions:
    """The ids and positions of one area, gathered once and queried by each viewer in it."""

    __slots__ = ("ids", "pos")

    def __init__(self, ids: list[int], avatars: Mapping[int, Located]) -> None:
        self.ids = np.array(ids, dtype=np.int64)
        self.pos = np.array([(avatars[i].x, avatars[i].y) for i in ids], dtype=np.float64).reshape(-1, 2)

    def nearest(self, me: Located, limit: int) -> frozenset[int]:
        """The ``limit`` avatars nearest to ``me`` (itself always included)."""
        if len(self.ids) <= limit:
            return frozenset(self.ids.tolist()) | {me.id}
        d = (self.pos[:, 0] - me.x) ** 2 + (self.pos[:, 1] - me.y) ** 2
        idx = np.argpartition(d, limit - 1)[:limit]
        return frozenset(self.ids[idx].tolist()) | {me.id}

    def ranked(self, me: Located, limit: int) -> list[int]:
        """The ``limit`` avatars nearest to ``me``, nearest first (``me`` first): what adaptive
        rates tier by distance (server/realtime/sync.py)."""
        out = self.ranked_from(me.x, me.y, limit)
        if me.id in out:
            out.remove(me.id)
        return [me.id, *out]  # the same set as ``nearest``

    def ranked_from(self, x: float, y: float, limit: int) -> list[int]:
        """The ``limit`` avatars nearest to the point (x, y), nearest first."""
        return self.ranked_within(x, y, limit, 0.0)[0]

    def ranked_within(self, x: float, y: float, limit: int, radius: float) -> tuple[list[int], int]:
        """``ranked_from``, and how many of them are within ``radius`` of the point."""
        d = (self.pos[:, 0] - x) ** 2 + (self.pos[:, 1] - y) ** 2
        if len(self.ids) > limit:
            idx = np.argpartition(d, limit - 1)[:limit]
            idx = idx[np.argsort(d[idx], kind="stable")]
        else:
            idx = np.argsort(d, kind="stable")
        return self.ids[idx].tolist(), int(np.searchsorted(d[idx], radius * radius, side="right"))


__all__ = ["AreaPositions", "area_of", "hearers", "group_by_area", "zones_of_area"]
