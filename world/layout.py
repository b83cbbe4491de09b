"""The city hall floor plan (assets/cityhall/plan.json) as typed, validated data.

The plan is the single source for the server's walls and doors and for the 3D model the browser
draws, so both read it through here (the client bundles the same JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class LayoutError(ValueError):
    """The floor plan is inconsistent (a programming or data error, caught at start-up)."""


ACCESS_KINDS = ("public", "staff", "members_when_locked", "salon")  # salon: verified staff (zones.may_enter)


@dataclass(frozen=True)
class Zone:
    id: str
    name: dict[str, str]
    kind: str
    access: str
    rect: tuple[float, float, float, float]  # x0, y0, x1, y1
    anchor: tuple[float, float]
    area: str  # zones of one area see each other (open-plan spaces); chat stays per zone
    topic: str | None = None
    capacity: int | None = None

    def contains(self, x: float, y: float) -> bool:
        x0, y0, x1, y1 = self.rect
        return x0 <= x < x1 and y0 <= y < y1


@dataclass(frozen=True)
class Door:
    id: str
    zone: str
    a: tuple[float, float]
    b: tuple[float, float]
    open: bool


@dataclass(frozen=True)
class Box:
    id: str
    kind: str
    rect: tuple[float, float, float, float]
    height: float
    walkable: bool


@dataclass
class Layout:
    name: dict[str, str]
    bounds: tuple[float, float, float, float]
    wall_height: float
    wall_thickness: float
    avatar_radius: float
    zones: dict[str, Zone]
    walls: list[tuple[tuple[float, float], tuple[float, float]]]
    doors: dict[str, Door]
    furniture: list[Box]
    spawns: list[tuple[float, float, float]]  # x, y, heading
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    def zone_at(self, x: float, y: float) -> Zone | None:
        # ~15 rectangles: a linear scan beats any index at this size.
        for z in self.zones.values():
            if z.contains(x, y):
                return z
        return None


# Open-plan spaces: people in these zones see one another although chat stays per zone.
DEFAULT_AREAS = {"entrance": "lobby", "infodesk": "lobby", "corridor": "lobby"}


def _rect_of(polygon: list[list[float]]) -> tuple[float, float, float, float]:
    xs = [p[0] for p in polygon]
    ys = [p[1] for p in polygon]
    if len(polygon) != 4 or len(set(xs)) != 2 or len(set(ys)) != 2:
        raise LayoutError("zones must be axis-aligned rectangles")
    return (min(xs), min(ys), max(xs), max(ys))


def parse_layout(plan: dict[str, Any]) -> Layout:
    zones: dict[str, Zone] = {}
    for z in plan["zones"]:
        if z["access"] not in ACCESS_KINDS:
            raise LayoutError(f"zone {z['id']}: unknown access {z['access']!r}")
        if z["id"] in zones:
            raise LayoutError(f"duplicate zone id {z['id']}")
        zone = Zone(
            id=z["id"],
            name=z["name"],
            kind=z["kind"],
            access=z["access"],
            rect=_rect_of(z["polygon"]),
            anchor=(float(z["anchor"][0]), float(z["anchor"][1])),
            area=z.get("area") or DEFAULT_AREAS.get(z["id"], z["id"]),
            topic=z.get("topic"),
            capacity=z.get("capacity"),
        )
        if not zone.contains(*zone.anchor):
            raise LayoutError(f"zone {zone.id}: anchor outside the zone")
        zones[zone.id] = zone
    doors = {
        d["id"]: Door(d["id"], d["zone"], tuple(d["a"]), tuple(d["b"]), bool(d.get("open", True)))  # type: ignore[arg-type]
        for d in plan["doors"]
    }
    for d in doors.values():
        if d.zone not in zones:
            raise LayoutError(f"door {d.id}: unknown zone {d.zone}")
    walls = [(tuple(a), tuple(b)) for a, b in plan["walls"]]
    for a, b in walls + [(d.a, d.b) for d in doors.values()]:
        if a[0] != b[0] and a[1] != b[1]:
            raise LayoutError(f"wall {a}-{b} is not axis-aligned")
    furniture = [
        Box(f["id"], f["kind"], tuple(f["box"]), float(f["height"]), bool(f.get("walkable", False)))  # type: ignore[arg-type]
        for f in plan["furniture"]
    ]
    spawns = [(float(s["at"][0]), float(s["at"][1]), float(s.get("heading", 0))) for s in plan["spawns"]]
    return Layout(
        name=plan["name"],
        bounds=tuple(plan["bounds"]),  # type: ignore[arg-type]
        wall_height=float(plan["wall_height"]),
        wall_thickness=float(plan["wall_thickness"]),
        avatar_radius=float(plan["avatar_radius"]),
        zones=zones,
        walls=walls,  # type: ignore[arg-type]
        doors=doors,
        furniture=furniture,
        spawns=spawns,
        raw=plan,
    )


def default_plan_path() -> Path:
    import yakuba.assets

    return Path(yakuba.assets.__file__).parent / "cityhall" / "plan.json"


def load_layout(path: str | Path | None = None) -> Layout:
    p = Path(path) if path else default_plan_path()
    return parse_layout(json.loads(p.read_text(encoding="utf-8")))
