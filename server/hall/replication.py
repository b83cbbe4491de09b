"""The hall on several nodes: every node keeps a copy of the hall room, kept equal through the bus.

Attendees of one meeting connect to whichever node the proxy gives them, so the presenter, the
co-presenters and the audience are spread over nodes. Each change is decided once, on the node
of the person who made it (its policy, its copy of the state), applied there, and published on
the control channel every node hears: the operation with its arguments (so each copy's questions,
votes and polls stay whole for the summary) and the public state it produced (so every copy
shows exactly what the deciding node shows, even one that missed earlier messages). Receiving
nodes apply it trusted -- not decided again: their copy of the sender's avatar may lag the
message -- and send the patch to their own members and spectators.

Which avatars are in the hall: this node's own by the room's members, the others' by the world's
replicas (a node that has clients in the hall replicates the hall's area). The stage follows:
when the presenter's own node sees them leave, it hands the stage on and publishes that.
Ids made on one node (questions, polls) carry the time and randomness, so copies never clash.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

import msgpack

from yakuba.server.auth.principal import Kind, Principal
from yakuba.server.rooms.base import RoomError
from yakuba.server.rooms.hall import HallRoom

log = logging.getLogger("yakuba.hall")

# The operations a node may ask the others to apply (HallRoom's methods of the same names):
# nothing else of the room, its base class included, is reachable from the bus.
OPS = frozenset({"present", "release", "cohost", "handover", "show", "agenda", "ask", "upvote", "pick", "answered",
                 "react", "open_poll", "close_poll", "vote"})
STATE_KEYS = ("presenter", "copresenters", "show", "show_v", "agenda", "questions", "on_screen", "reactions", "poll")


def new_id() -> int:
    """A question or poll id unique across nodes, growing with time (JSON-safe: < 2**53)."""
    return (int(time.time() * 1000) << 8) | secrets.randbelow(256)


def public(room: HallRoom) -> dict[str, Any]:
    return {k: room.state[k] for k in STATE_KEYS}


def diff(before: dict[str, Any], room: HallRoom) -> dict[str, Any]:
    return {k: room.state[k] for k in STATE_KEYS if room.state[k] != before[k]}


def pack(node: str, room: str, op: str, args: list, actor: int, p: Principal, patch: dict) -> bytes:
    return msgpack.packb({"hall": 1, "n": node, "room": room, "op": op, "a": args, "actor": actor,
                          "p": [p.kind.value, p.staff_id], "patch": patch}, use_bin_type=True)


def principal(m: dict) -> Principal:
    kind, staff_id = m["p"]
    return Principal(kind=Kind(kind), staff_id=staff_id)


def apply(room: HallRoom, m: dict) -> None:
    """Another node's change to our copy: the operation (trusted), then its public state."""
    op = m["op"]
    if op != "stage":
        if op not in OPS:
            raise ValueError(f"not a hall operation: {op!r}")
        fn = getattr(HallRoom, op)
        room.trusted = True
        try:
            fn(room, principal(m), m["actor"], *m["a"])
        except RoomError as e:  # our copy disagrees (a message missed): its state below still wins
            log.info("hall copy differs on %s: %s", op, e.code)
        finally:
            room.trusted = False
    patch = {k: v for k, v in (m.get("patch") or {}).items() if k in STATE_KEYS}
    if patch:
        room.update(patch)


__all__ = ["OPS", "STATE_KEYS", "apply", "diff", "new_id", "pack", "principal", "public"]
