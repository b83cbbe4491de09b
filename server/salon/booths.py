"""The salon's department booths (issue #20): 防災, 子育て, DX, 福祉 side by side between the
partitions of the ``salon-depts`` zone, each with a pinned topic and links that a member standing
at the booth sets (kept in SQL, ``salon_pins``). Everyone in a salon room gets them in the state
of ``salon-depts`` (``booths``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from yakuba.server.db.models import SalonPin, utcnow

if TYPE_CHECKING:
    from yakuba.server.realtime.hub import Hub

ROOM = "salon-depts"
# id, names, the booth's floor rectangle (x0, y0, x1, y1) between the partitions in plan.json
DEPT_BOOTHS: tuple[tuple[str, dict[str, str], tuple[float, float, float, float]], ...] = (
    ("bousai", {"ja": "防災", "en": "Disaster prevention"}, (44.0, 0.0, 49.0, 9.0)),
    ("kosodate", {"ja": "子育て", "en": "Child-rearing"}, (49.0, 0.0, 54.0, 9.0)),
    ("dx", {"ja": "DX", "en": "Digital transformation"}, (54.0, 0.0, 59.0, 9.0)),
    ("fukushi", {"ja": "福祉", "en": "Welfare"}, (59.0, 0.0, 64.0, 9.0)),
)
BOOTH_IDS = tuple(b[0] for b in DEPT_BOOTHS)


def at_booth(booth: str, x: float, y: float) -> bool:
    rect = next((r for b, _, r in DEPT_BOOTHS if b == booth), None)
    return rect is not None and rect[0] <= x <= rect[2] and rect[1] <= y <= rect[3]


async def pins(s: Any) -> dict[str, dict]:
    return {p.booth: {"topic": p.topic, "links": list(p.links or []), "staff": p.staff_id,
                      "at": p.updated_at.isoformat()} for p in await s.scalars(select(SalonPin))}


async def pin(s: Any, booth: str, topic: str, links: list[dict], staff_id: int) -> None:
    row = await s.get(SalonPin, booth)
    if row is None:
        s.add(SalonPin(booth=booth, topic=topic, links=links, staff_id=staff_id, updated_at=utcnow()))
    else:
        row.topic, row.links, row.staff_id, row.updated_at = topic, links, staff_id, utcnow()


class Booths:
    def __init__(self, hub: "Hub") -> None:
        self.hub = hub

    def load(self, pinned: dict[str, dict]) -> None:
        state = [{"id": b, "name": name, "rect": list(rect), **(pinned.get(b) or {"topic": None, "links": []})}
                 for b, name, rect in DEPT_BOOTHS]
        room = self.hub.rooms.get(ROOM)
        if room.state.get("booths") != state:
            room.update({"booths": state})


__all__ = ["BOOTH_IDS", "Booths", "DEPT_BOOTHS", "at_booth", "pin", "pins"]
