"""The desk queue and the booths as pure rules: plain data in, plain data out, time passed in.

No sockets, no store, no clock. The service (server/consult/service.py) reads the documents
from the store, applies one of these operations and writes them back atomically; every node
applies the same rules to the same documents, so two nodes never disagree about who holds a
ticket or a booth.

Documents (JSON-friendly, ``to_doc``/``from_doc``):

    DeptQueue  one per department: its ticket counter, active tickets, the waiting order per
               topic and the recent service times per topic (the wait estimate)
    Booth      one per booth zone: its staff member, members, serving ticket, lock

Ticket life: waiting -> called (invited to a booth) -> serving (accepted) -> done; a called
ticket not accepted in time goes back to the front once (``recalled``), then expires; the
resident may leave while waiting or called. Booth life: closed -> open (a staff member in it)
-> resident admitted -> locked -> unlocked -> closed; a booth with no resident left unlocks; a
staff member who disconnects keeps the booth for the grace period, then it is released.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

SERVICE_SAMPLES = 10  # recent service times kept per topic for the estimate


class ConsultError(Exception):
    """A refused operation; ``code`` is the wire error code (server/protocol ErrorCode)."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


# --- the queue ---------------------------------------------------------------------------------
@dataclass
class Ticket:
    id: str  # the readable code in Latin letters, e.g. "R-012" (unique while active)
    number: int
    topic: str
    owner: str  # Principal.key of whoever took it (identity from the session, never the client)
    avatar: int
    taken: float
    state: str = "waiting"  # waiting | called | serving
    called: float | None = None
    booth: str | None = None
    recalled: bool = False
    priority: bool = False  # a reservation's check-in (reservations.check_in)


@dataclass
class DeptQueue:
    dept: str
    seq: int = 0
    tickets: dict[str, Ticket] = field(default_factory=dict)
    order: dict[str, list[str]] = field(default_factory=dict)  # topic -> waiting ticket ids, front first
    service: dict[str, list[float]] = field(default_factory=dict)  # topic -> recent service seconds

    def to_doc(self) -> dict:
        return {"dept": self.dept, "seq": self.seq, "tickets": {k: asdict(t) for k, t in self.tickets.items()},
                "order": self.order, "service": self.service}

    @classmethod
    def from_doc(cls, dept: str, doc: dict | None) -> "DeptQueue":
        if not doc:
            return cls(dept)
        return cls(doc["dept"], doc["seq"], {k: Ticket(**t) for k, t in doc["tickets"].items()},
                   {k: list(v) for k, v in doc["order"].items()}, {k: list(v) for k, v in doc["service"].items()})

    # -- reading --------------------------------------------------------------------------------
    def ticket_of(self, avatar: int) -> Ticket | None:
        for t in self.tickets.values():
            if t.avatar == avatar:
                return t
        return None

    def mean_service(self, topic: str, prior_s: float) -> float:
        """The recent mean service time; the catalogue's minutes count as one sample, so the
        first real times move the estimate without one odd consultation taking it over."""
        xs = self.service.get(topic, [])
        return (prior_s + sum(xs)) / (1 + len(xs))

    def positions(self, topic: str, prior_s: float, servers: int) -> dict[str, tuple[int, float]]:
        """Waiting ticket id -> (position from 1, estimated wait in seconds)."""
        mean = self.mean_service(topic, prior_s)
        k = max(1, servers)
        return {tid: (i + 1, round(math.floor(i / k) * mean + (mean / 2 if i >= k else 0.0), 1))
                for i, tid in enumerate(self.order.get(topic, []))}

    # -- operations -----------------------------------------------------------------------------
    def take(self, topic: str, owner: str, avatar: int, now: float, priority: bool = False, prefix: str = "T") -> Ticket:
        if self.ticket_of(avatar) is not None:
            raise ConsultError("already_queued", "this avatar already holds a ticket here")
        self.seq += 1
        number = self.seq % 1000 or 1000
        tid = f"{prefix}-{number:03d}"
        while tid in self.tickets:  # a thousand tickets later the numbers come round again
            self.seq += 1
            number = self.seq % 1000 or 1000
            tid = f"{prefix}-{number:03d}"
        t = Ticket(tid, number, topic, owner, avatar, now, priority=priority)
        self.tickets[tid] = t
        q = self.order.setdefault(topic, [])
        if priority:
            # A reserved time goes before walk-ins, after other reservations already waiting.
            i = 0
            while i < len(q) and self.tickets[q[i]].priority:
                i += 1
            q.insert(i, tid)
        else:
            q.append(tid)
        return t

    def leave(self, tid: str) -> Ticket:
        t = self.tickets.pop(tid, None)
        if t is None:
            raise ConsultError("not_found", "no such ticket")
        self._unqueue(t)
        return t

    def _unqueue(self, t: Ticket) -> None:
        q = self.order.get(t.topic, [])
        if t.id in q:
            q.remove(t.id)

    def next_for(self, topics: set[str]) -> Ticket | None:
        """The ticket a booth serving ``topics`` calls next: a recalled ticket first, then
        reservations, then the one waiting longest."""
        heads = [self.tickets[q[0]] for tp, q in self.order.items() if tp in topics and q]
        if not heads:
            return None
        return min(heads, key=lambda t: (not t.recalled, not t.priority, t.taken, t.number))

    def call(self, tid: str, booth: str, now: float) -> Ticket:
        t = self.tickets.get(tid)
        if t is None:
            raise ConsultError("not_found", "no such ticket")
        if t.state != "waiting":
            raise ConsultError("ticket_taken", "this ticket has already been called")
        self._unqueue(t)
        t.state, t.called, t.booth = "called", now, booth
        return t

    def accept(self, tid: str, owner: str, avatar: int) -> Ticket:
        t = self.tickets.get(tid)
        if t is None or t.owner != owner or t.avatar != avatar:
            raise ConsultError("not_found", "no such ticket")  # someone else's ticket looks absent
        if t.state != "called":
            raise ConsultError("not_invited", "this ticket has not been called")
        t.state = "serving"
        return t

    def finish(self, tid: str, now: float, started: float | None) -> Ticket | None:
        """The consultation ended: the ticket goes, its duration feeds the estimate."""
        t = self.tickets.pop(tid, None)
        if t is not None:
            self._unqueue(t)
            if started is not None and now > started:
                xs = self.service.setdefault(t.topic, [])
                xs.append(round(now - started, 1))
                del xs[:-SERVICE_SAMPLES]
        return t

    def expire(self, now: float, timeout_s: float) -> list[tuple[Ticket, str]]:
        """Called tickets not accepted within ``timeout_s``: recalled once (to the front), then
        expired. Returns (ticket, "recalled" | "expired") for each."""
        out: list[tuple[Ticket, str]] = []
        for t in list(self.tickets.values()):
            if t.state != "called" or t.called is None or now - t.called < timeout_s:
                continue
            if t.recalled:
                del self.tickets[t.id]
                out.append((t, "expired"))
            else:
                t.state, t.recalled, t.called, t.booth = "waiting", True, None, None
                self.order.setdefault(t.topic, []).insert(0, t.id)
                out.append((t, "recalled"))
        return out


# --- the booths --------------------------------------------------------------------------------
@dataclass
class Booth:
    id: str
    staff: int | None = None  # the staff member's avatar id
    staff_key: str | None = None  # its Principal.key
    locked: bool = False
    members: list[int] = field(default_factory=list)  # who may be inside while locked (staff first)
    ticket: str | None = None  # the ticket being served or invited
    dept: str | None = None
    started: float | None = None  # the resident's admission (service time)
    away_since: float | None = None  # the staff member's socket went away at
    # Renewed by the node that holds the staff member's socket while it is connected: when that
    # node dies nobody sets away_since, so a lease that ran out counts as "away since then".
    lease_until: float | None = None

    @property
    def state(self) -> str:
        if self.staff is None:
            return "closed"
        if self.locked:
            return "locked"
        return "occupied" if self.residents else "open"

    @property
    def residents(self) -> list[int]:
        return [m for m in self.members if m != self.staff]

    def sign(self) -> dict:
        """What everyone may see (a 相談中 sign): never who is inside."""
        return {"booth": self.id, "state": self.state, "locked": self.locked, "occupied": bool(self.residents)}

    def to_doc(self) -> dict:
        return asdict(self)

    @classmethod
    def from_doc(cls, booth: str, doc: dict | None) -> "Booth":
        return cls(**doc) if doc else cls(booth)

    # -- operations (the caller has asked the policy; these check the booth's own rules) --------
    def require_staff(self, key: str, avatar: int) -> None:
        if self.staff is None or self.staff_key != key or self.staff != avatar:
            raise ConsultError("not_booth_staff", "only the staff member in this booth may do this")

    def open(self, key: str, avatar: int) -> bool:
        """A staff member takes the booth (True when it was closed); its own again after a
        reconnect. Another staff member's booth is busy."""
        if self.staff is not None and self.staff_key != key:
            raise ConsultError("booth_busy", "another staff member holds this booth")
        was_closed = self.staff is None
        if self.staff is not None and self.staff != avatar and self.staff in self.members:
            self.members.remove(self.staff)  # back with a new avatar (a fresh join)
        self.staff, self.staff_key, self.away_since, self.lease_until = avatar, key, None, None
        if avatar not in self.members:
            self.members.insert(0, avatar)
        return was_closed

    def invite(self, tid: str, dept: str) -> None:
        if self.ticket is not None:
            raise ConsultError("booth_busy", "this booth is already serving a ticket")
        self.ticket, self.dept = tid, dept

    def admit(self, avatar: int, now: float) -> None:
        if avatar not in self.members:
            self.members.append(avatar)
        if self.started is None:
            self.started = now

    def remove(self, avatar: int) -> bool:
        """Out of the members (and so out of a locked booth); True if it was one."""
        if avatar == self.staff or avatar not in self.members:
            return False
        self.members.remove(avatar)
        return True

    def lock(self) -> None:
        if self.staff is None:
            raise ConsultError("booth_closed", "no staff member in this booth")
        self.locked = True

    def unlock(self) -> None:
        self.locked = False

    def left(self, avatar: int) -> str | None:
        """A member walked out (or went away for good). Returns what happened to the booth:
        "closed" (the staff member left), "emptied" (no resident left: unlocked), or None."""
        if avatar == self.staff:
            self.close()
            return "closed"
        if not self.remove(avatar):
            return None
        if not self.residents:
            self.locked = False
            return "emptied"
        return None

    def close(self) -> None:
        self.staff = self.staff_key = self.ticket = self.dept = self.started = self.away_since = self.lease_until = None
        self.locked = False
        self.members = []

    def staff_away(self, now: float) -> None:
        if self.staff is not None and self.away_since is None:
            self.away_since = now

    def staff_back(self) -> None:
        self.away_since = None

    def grace_over(self, now: float, grace_s: float) -> bool:
        if self.staff is None:
            return False
        gone = self.away_since if self.away_since is not None else self.lease_until
        return gone is not None and now - gone >= grace_s


__all__ = ["Booth", "ConsultError", "DeptQueue", "SERVICE_SAMPLES", "Ticket"]
