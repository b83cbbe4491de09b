"""The live world of one server node: avatars, their intents, and a pure ``step(dt)``.

No sockets, no clocks: the caller passes dt and reads back what changed. Remote avatars (owned
by other nodes, replicated through the bus) live here too, flagged ``local=False``; only local
ones are simulated.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from .layout import Layout, Zone
from .movement import MAX_SPEED, WALK_SPEED, Collider, Rect, clamp_velocity
from .zones import BoothState, Role, RoomHold, may_enter

ARRIVE_EPS = 0.05


@dataclass
class Avatar:
    id: int
    name: str
    style: str
    color: str
    role: Role
    x: float
    y: float
    heading: float  # degrees clockwise from north (plan +y)
    zone: str
    local: bool = True
    vx: float = 0.0
    vy: float = 0.0
    path: list[tuple[float, float]] = field(default_factory=list)
    away: bool = False  # disconnected, inside the reconnect grace period
    # Server-issued (issue #20), from the owner's session and carried in the bus record, so every
    # node's rule answers alike: staff whose identity the server verified, their municipality's
    # code, and the card others see in the salon (display name, municipality, department).
    verified: bool = False
    municipality: str | None = None
    staff: int | None = None  # the staff account's id (salon holds admit event guests by it)
    card: dict | None = None

    @property
    def moving(self) -> bool:
        return bool(self.path) or self.vx != 0.0 or self.vy != 0.0


@dataclass(frozen=True)
class Rejection:
    avatar_id: int
    code: str  # blocked | zone_forbidden | booth_locked | unknown_zone | no_path


@dataclass
class StepResult:
    moved: set[int] = field(default_factory=set)
    zone_changes: list[tuple[int, str, str]] = field(default_factory=list)  # id, from, to
    rejections: list[Rejection] = field(default_factory=list)


def _crosses(rects: tuple, ax: float, ay: float, bx: float, by: float) -> bool:
    """Whether segment a->b passes through any of the (x0, y0, x1, y1) rectangles (sampled at
    0.25 m, finer than any zone)."""
    if not rects:
        return False
    n = max(1, int(math.hypot(bx - ax, by - ay) / 0.25))
    for k in range(n + 1):
        t = k / n
        x, y = ax + (bx - ax) * t, ay + (by - ay) * t
        for x0, y0, x1, y1 in rects:
            if x0 < x < x1 and y0 < y < y1:
                return True
    return False


class World:
    def __init__(self, layout: Layout, collider: Collider | None = None, seed: int | None = None) -> None:
        self.layout = layout
        self.collider = collider or Collider(layout)
        self.avatars: dict[int, Avatar] = {}
        self.booths: dict[str, BoothState] = {z.id: BoothState() for z in layout.zones.values() if z.access == "members_when_locked"}
        # Held salon rooms (locked by a municipality, or an event running): zone id -> who they
        # admit (server/salon/desk.py)
        self.salon_locks: dict[str, RoomHold] = {}
        self._rng = random.Random(seed)
        self._forbidden_cache: dict[tuple, tuple[Rect, ...]] = {}
        # Who may be in a zone: the pure rule by default; the server injects its policy (which
        # asks the same rule with the connected principal). Returns None or the reason code.
        self.rule: Callable[[Avatar, Zone, BoothState | None], str | None] | None = None
        # What else the injected rule reads about an avatar (the server: its principal's salon
        # rights), as a hashable part of the path cache's key; avatars alike share paths.
        self.rule_key: Callable[[Avatar], object] | None = None

    # -- membership -------------------------------------------------------------------------
    def spawn_point(self) -> tuple[float, float, float]:
        x, y, h = self._rng.choice(self.layout.spawns)
        # Spread arrivals a little so avatars do not stand inside each other.
        for _ in range(8):
            px, py = x + self._rng.uniform(-1.5, 1.5), y + self._rng.uniform(-1.0, 1.0)
            z = self.layout.zone_at(px, py)
            if z is not None and self.collider.is_free(px, py):
                return px, py, h
        return x, y, h

    def add(self, avatar: Avatar) -> None:
        self.avatars[avatar.id] = avatar

    def remove(self, avatar_id: int) -> Avatar | None:
        for b in self.booths.values():
            b.members.discard(avatar_id)
        return self.avatars.pop(avatar_id, None)

    # -- rules ------------------------------------------------------------------------------
    def access(self, avatar: Avatar, zone: Zone | None) -> str | None:
        if zone is None:
            return "blocked"  # outside the building
        booth = self.booths.get(zone.id)
        if self.rule is not None:
            return self.rule(avatar, zone, booth)
        return self.pure_access(avatar, zone, booth)

    def pure_access(self, avatar: Avatar, zone: Zone, booth: BoothState | None) -> str | None:
        """The world's own rule, from what the avatar carries (also for other nodes' avatars)."""
        return may_enter(zone, avatar.id, avatar.role, booth, verified=avatar.verified,
                         municipality=avatar.municipality, staff=avatar.staff,
                         held_by=self.salon_locks.get(zone.id))

    # -- intents ----------------------------------------------------------------------------
    def set_velocity(self, avatar_id: int, vx: float, vy: float) -> bool:
        """Returns True when the request was over the speed limit (and was clamped)."""
        a = self.avatars[avatar_id]
        a.vx, a.vy, clamped = clamp_velocity(vx, vy, MAX_SPEED)
        a.path = []
        if a.vx or a.vy:
            a.heading = math.degrees(math.atan2(a.vx, a.vy)) % 360
        return clamped

    def stop(self, avatar_id: int) -> None:
        a = self.avatars[avatar_id]
        a.vx = a.vy = 0.0
        a.path = []

    def set_target(self, avatar_id: int, x: float, y: float, route: bool = True) -> str | None:
        """Walk to a clicked point: straight when nothing is in the way, else along a path
        around walls, counters and zones the avatar may not enter (``route``: the caller's
        budget allows a path search; without it a blocked straight line is refused). Refused at
        once when the point is somewhere the avatar may not be (a teleport-like request into a
        staff zone never moves the avatar)."""
        a = self.avatars[avatar_id]
        zone = self.layout.zone_at(x, y)
        reason = self.access(a, zone)
        if reason:
            return reason
        if not self.collider.is_free(x, y):
            return "blocked"
        rects = self._forbidden_rects(a)
        if self.collider.first_hit(a.x, a.y, x, y) is None and not _crosses(rects, a.x, a.y, x, y):
            path: list[tuple[float, float]] | None = [(x, y)]
        elif not route:
            return "rate_limited"
        else:
            path = self.collider.find_path((a.x, a.y), (x, y), rects)
            if path is None:
                return "no_path"
            if path:
                path[-1] = (x, y)  # the path ends in the clicked point's cell: end on the point
            else:
                path = [(x, y)]
        a.vx = a.vy = 0.0
        a.path = path
        return None

    def set_goto(self, avatar_id: int, zone_id: str) -> str | None:
        """Walk to a zone's anchor along a path that avoids walls and zones the avatar may not
        enter: the "行き先" menu for people who find 3D navigation hard."""
        a = self.avatars[avatar_id]
        zone = self.layout.zones.get(zone_id)
        if zone is None:
            return "unknown_zone"
        reason = self.access(a, zone)
        if reason:
            return reason
        path = self.collider.find_path((a.x, a.y), zone.anchor, self._forbidden_rects(a))
        if path is None:
            return "no_path"
        if path:
            # Arrivals spread over free places near the anchor, so people who pick the same
            # destination do not stand on one spot with their name tags on top of each other.
            before = path[-2] if len(path) > 1 else (a.x, a.y)
            path[-1] = self._arrival_spot(a, zone, before)
        a.vx = a.vy = 0.0
        a.path = path
        return None

    ARRIVAL_SPACING = 1.0  # metres between arrival spots (an avatar is ~0.5 m wide)

    def _arrival_spot(self, a: Avatar, zone: Zone, before: tuple[float, float]) -> tuple[float, float]:
        """The nearest spot on a grid around the zone's anchor that is inside the zone, free of
        walls, reachable in a straight line from the path's previous point, and not taken by
        another avatar standing there or walking there."""
        ax, ay = zone.anchor
        taken = [(o.x, o.y) for o in self.avatars.values() if o.id != a.id and o.zone == zone.id]
        taken += [o.path[-1] for o in self.avatars.values() if o.id != a.id and o.path]
        x0, y0, x1, y1 = zone.rect
        step, clear = self.ARRIVAL_SPACING, (0.8 * self.ARRIVAL_SPACING) ** 2
        for ring in range(0, 4):
            spots = [(ax + i * step, ay + j * step) for i in range(-ring, ring + 1) for j in range(-ring, ring + 1) if max(abs(i), abs(j)) == ring]
            spots.sort(key=lambda p: (p[0] - ax) ** 2 + (p[1] - ay) ** 2)
            for x, y in spots:
                if not (x0 + 0.4 < x < x1 - 0.4 and y0 + 0.4 < y < y1 - 0.4) or not self.collider.is_free(x, y):
                    continue
                if any((x - tx) ** 2 + (y - ty) ** 2 < clear for tx, ty in taken):
                    continue
                if (x, y) != before and self.collider.first_hit(before[0], before[1], x, y) is not None:
                    continue
                return (x, y)
        return (ax, ay)  # a full zone: the anchor, as before

    def rules_changed(self) -> None:
        """The zone rule now answers differently for the same role and locks (a hall filled or
        emptied by an event): forget the cached forbidden zones, so paths are planned anew."""
        self._forbidden_cache.clear()

    def _forbidden_rects(self, a: Avatar) -> tuple[Rect, ...]:
        """Rectangles of the zones this avatar may not enter, so paths route around them. The
        tuple is also the key of the collider's path floods: avatars with the same rights share
        them. Cached per what the rule looks at: role, the verified mark, locked booths the avatar
        is not a member of, held salon rooms that do not admit it."""
        closed = tuple(sorted(z for z, b in self.booths.items() if b.locked and a.id not in b.members))
        held = tuple(sorted(z for z, h in self.salon_locks.items() if not h.admits(a.municipality, a.staff)))
        key = (a.role, a.verified, closed, held, self.rule_key(a) if self.rule_key is not None else None)
        rects = self._forbidden_cache.get(key)
        if rects is None:
            rects = tuple(z.rect for z in self.layout.zones.values() if self.access(a, z))
            if len(self._forbidden_cache) > 64:
                self._forbidden_cache.clear()  # lock sets churn as consultations come and go
            self._forbidden_cache[key] = rects
        return rects

    # -- simulation -------------------------------------------------------------------------
    def step(self, dt: float) -> StepResult:
        res = StepResult()
        for a in self.avatars.values():
            if not a.local or not a.moving or a.away:
                continue
            if a.path:
                tx, ty = a.path[0]
                dx, dy = tx - a.x, ty - a.y
                dist = math.hypot(dx, dy)
                reach = WALK_SPEED * dt
                if dist <= max(reach, ARRIVE_EPS):
                    nx, ny = tx, ty
                    a.path.pop(0)
                else:
                    nx, ny = a.x + dx / dist * reach, a.y + dy / dist * reach
                if dist > 1e-9:
                    a.heading = math.degrees(math.atan2(dx, dy)) % 360
            else:
                nx, ny = a.x + a.vx * dt, a.y + a.vy * dt
            self._move(a, nx, ny, res)
        return res

    def _move(self, a: Avatar, nx: float, ny: float, res: StepResult) -> None:
        sweep = self.collider.sweep(a.x, a.y, nx, ny)
        zone = self.layout.zone_at(sweep.x, sweep.y)
        if zone is None or zone.id != a.zone:
            reason = self.access(a, zone)
            if reason:
                # The boundary of a zone one may not enter is a wall for this avatar.
                self.stop(a.id)
                res.rejections.append(Rejection(a.id, reason))
                return
        if sweep.blocked:
            if a.path:
                a.path = []  # a door closed on the way: give up rather than push forever
            res.rejections.append(Rejection(a.id, "blocked"))
        if (sweep.x, sweep.y) != (a.x, a.y):
            a.x, a.y = sweep.x, sweep.y
            res.moved.add(a.id)
        if zone is not None and zone.id != a.zone:
            res.zone_changes.append((a.id, a.zone, zone.id))
            a.zone = zone.id

    # -- booths (the lock rules live here; the booth issue adds the protocol) ---------------
    def lock_booth(self, zone_id: str, members: set[int]) -> None:
        booth = self.booths[zone_id]
        booth.locked, booth.members = True, set(members)
        for d in self.layout.doors.values():
            if d.zone == zone_id:
                self.collider.set_door(d.id, False)

    def unlock_booth(self, zone_id: str) -> None:
        booth = self.booths[zone_id]
        booth.locked, booth.members = False, set()
        for d in self.layout.doors.values():
            if d.zone == zone_id:
                self.collider.set_door(d.id, True)
