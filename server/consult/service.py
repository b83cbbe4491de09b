"""The desk queue and booths as a service: the pure core (core.py) applied to the documents of a
ConsultStore, atomically, with the policy asked inside the transaction (so it decides on the
state that is written, not on a stale copy).

No sockets here. Every operation returns an ``Outcome``: its result, the documents it changed
(the caller broadcasts them to the other nodes) and the events to deliver to avatars, wherever
they are connected. Time comes from ``clock`` (wall time by default: deadlines written by one
node are read by another), so tests pass their own.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from yakuba.server.auth.policy import Action, BoothResource, decide
from yakuba.server.auth.principal import Principal

from .catalogue import Catalogue
from .core import Booth, ConsultError, DeptQueue, Ticket
from .store import ConsultStore

log = logging.getLogger("yakuba.consult")

INVITE_TIMEOUT_S = 60.0  # a called ticket not accepted by then is recalled once, then expires
CAS_TRIES = 20

Send = tuple[int, str, dict]  # (avatar id, event, payload)


@dataclass
class Outcome:
    result: Any = None
    changed: dict[str, tuple[int, dict]] = field(default_factory=dict)  # key -> (version, doc)
    sends: list[Send] = field(default_factory=list)
    audit: list[tuple[str, str, str]] = field(default_factory=list)  # (principal key, event, booth or ticket id)


def owner_of(p: Principal, avatar: int) -> str:
    """Whose ticket: a signed-in principal's key; for an anonymous resident, its avatar (the
    resume token is the credential for the avatar, and a resumed socket has a new key)."""
    return p.key if p.staff_id is not None or p.is_staff else f"resident:{avatar}"


def dept_key(dept: str) -> str:
    return "dept:" + dept


def booth_key(booth: str) -> str:
    return "booth:" + booth


def _prefixes(names: list[tuple[str, str]]) -> dict[str, str]:
    """Shortest distinct prefixes: department id -> prefix (R, T, EL, ...)."""
    out: dict[str, str] = {}
    for dept, text in names:
        for n in range(1, len(text) + 1):
            p = text[:n]
            if p not in out.values():
                out[dept] = p
                break
        else:
            out[dept] = text + str(len(out))
    return out


class ConsultService:
    def __init__(self, catalogue: Catalogue, store: ConsultStore, booths: list[str], clock: Callable[[], float] | None = None,
                 invite_timeout_s: float = INVITE_TIMEOUT_S, grace_s: float = 30.0) -> None:
        self.catalogue, self.store = catalogue, store
        self.booths = sorted(booths)
        self.now = clock or time.time
        self.invite_timeout_s, self.grace_s = invite_timeout_s, grace_s
        depts = list(catalogue.departments.values())
        self.prefix_en = _prefixes([(d.id, "".join(ch for ch in d.id.upper() if ch.isalpha())[:3] or "X") for d in depts])
        self.prefix_ja = _prefixes([(d.id, d.name_ja) for d in depts])
        self.dept_of_prefix = {p: d for d, p in self.prefix_en.items()}
        self.docs: dict[str, tuple[int, dict | None]] = {}  # key -> (version, doc): this node's copy
        self._lock = asyncio.Lock()  # one transaction at a time per node; the store arbitrates nodes

    # -- the node's copy ------------------------------------------------------------------------
    async def load(self) -> None:
        keys = [k for k in await self.store.keys() if k.startswith(("dept:", "booth:"))]
        if keys:
            for k, d in (await self.store.read(keys)).items():
                self.apply(k, *d)

    def apply(self, key: str, version: int, doc: dict | None) -> bool:
        """Take a document version heard from the bus (or read); False if it is not newer."""
        if version <= self.docs.get(key, (0, None))[0]:
            return False
        self.docs[key] = (version, doc)
        return True

    def dept(self, dept: str) -> DeptQueue:
        return DeptQueue.from_doc(dept, self.docs.get(dept_key(dept), (0, None))[1])

    def booth(self, booth: str) -> Booth:
        return Booth.from_doc(booth, self.docs.get(booth_key(booth), (0, None))[1])

    def ticket_of(self, avatar: int) -> Ticket | None:
        for d in self.catalogue.departments:
            t = self.dept(d).ticket_of(avatar)
            if t is not None:
                return t
        return None

    def code(self, t: Ticket) -> dict:
        dept = self.catalogue.topics[t.topic].department
        return {"ja": f"{self.prefix_ja[dept]}-{t.number:03d}", "en": t.id}

    def ticket_view(self, t: Ticket, q: DeptQueue | None = None, state: str | None = None) -> dict:
        topic = self.catalogue.topics[t.topic]
        out = {"ticket": t.id, "code": self.code(t), "topic": t.topic, "state": state or t.state, "position": None,
               "eta_s": None, "booth": t.booth, "recalled": t.recalled, "priority": t.priority}
        if t.state == "waiting" and state is None:
            q = q or self.dept(topic.department)
            pos = q.positions(t.topic, topic.minutes * 60.0, len(topic.booths)).get(t.id)
            if pos is not None:
                out["position"], out["eta_s"] = pos
        return out

    def board(self, topics: list[str] | None = None) -> dict:
        out = []
        for tp in topics or list(self.catalogue.topics):
            topic = self.catalogue.topics[tp]
            q = self.dept(topic.department)
            pos = q.positions(tp, topic.minutes * 60.0, len(topic.booths))
            ts = [t for t in q.tickets.values() if t.topic == tp]
            if not ts and topics is None:
                continue
            ts.sort(key=lambda t: (pos.get(t.id, (0, 0))[0], t.taken))
            rows = [{"ticket": t.id, "state": t.state, "position": pos.get(t.id, (None, None))[0], "eta_s": pos.get(t.id, (None, None))[1],
                     "booth": t.booth, "recalled": t.recalled, "priority": t.priority} for t in ts]
            out.append({"topic": tp, "mean_s": round(q.mean_service(tp, topic.minutes * 60.0), 1), "tickets": rows})
        return {"topics": out, "booths": [self.booth(b).sign() for b in self.booths]}

    # -- the transaction ------------------------------------------------------------------------
    async def transact(self, keys: list[str], fn: Callable[[dict[str, Any], float], Any]) -> Outcome:
        """Apply ``fn(objects, now)`` to the documents of ``keys`` and write them back only if
        none changed meanwhile (else read again and retry). ``fn`` raises ConsultError to refuse
        and may return an Outcome (its result and sends) or a plain result."""
        async with self._lock:
            fresh = not all(k in self.docs for k in keys)
            for attempt in range(CAS_TRIES):
                if fresh:
                    for k, d in (await self.store.read(keys)).items():
                        self.docs[k] = d if d[0] >= self.docs.get(k, (0, None))[0] else self.docs[k]
                read = {k: self.docs.get(k, (0, None)) for k in keys}
                objs = {k: (DeptQueue.from_doc(k[5:], d) if k.startswith("dept:") else Booth.from_doc(k[6:], d)) for k, (_, d) in read.items()}
                r = fn(objs, self.now())
                out = r if isinstance(r, Outcome) else Outcome(result=r)
                docs = {k: o.to_doc() for k, o in objs.items()}
                changes = {k: (read[k][0], docs[k]) for k in keys if docs[k] != read[k][1]}
                if not changes:
                    return out
                vers = await self.store.write(changes)
                if vers is not None:
                    for k, v in vers.items():
                        self.docs[k] = (v, docs[k])
                        out.changed[k] = (v, docs[k])
                    return out
                fresh = True  # another node wrote first: read its version and decide again
                await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        log.warning("consult transaction on %s gave up after %d tries", ",".join(keys), CAS_TRIES)
        raise ConsultError("busy", "the desk is busy; try again")

    def _booth_resource(self, b: Booth, actor: int, zone: str | None) -> BoothResource:
        return BoothResource(b.id, actor, zone, b.staff_key, b.staff, frozenset(b.members))

    def _require(self, p: Principal, action: Action, b: Booth, actor: int, zone: str | None) -> None:
        d = decide(p, action, self._booth_resource(b, actor, zone))
        if not d:
            raise ConsultError(d.code or "forbidden", d.reason)

    # -- the queue ------------------------------------------------------------------------------
    async def take(self, p: Principal, avatar: int, topic_id: str, priority: bool = False) -> Outcome:
        """A ticket for ``topic_id``. ``priority=True`` is the reservations' hook: a checked-in
        reservation (reservations.check_in(code) -> topic) goes before walk-ins."""
        if not decide(p, Action.TAKE_TICKET):
            raise ConsultError("forbidden")
        topic = self.catalogue.topics.get(topic_id)
        if topic is None:
            raise ConsultError("unknown_topic")
        if self.ticket_of(avatar) is not None:
            raise ConsultError("already_queued")
        dk = dept_key(topic.department)

        def fn(o: dict, now: float) -> Outcome:
            q: DeptQueue = o[dk]
            t = q.take(topic_id, owner_of(p, avatar), avatar, now, priority=priority, prefix=self.prefix_en[topic.department])
            view = self.ticket_view(t, q)
            return Outcome(result=view, sends=[(avatar, "queue.ticket", view)], audit=[(p.key, "queue.take", t.id)])

        return await self.transact([dk], fn)

    async def leave(self, p: Principal, avatar: int) -> Outcome:
        t = self.ticket_of(avatar)
        if t is None or t.owner != owner_of(p, avatar):
            raise ConsultError("not_found", "no ticket to leave")
        dept = self.catalogue.topics[t.topic].department
        keys = [dept_key(dept)] + ([booth_key(t.booth)] if t.booth else [])

        def fn(o: dict, now: float) -> Outcome:
            q: DeptQueue = o[keys[0]]
            cur = q.tickets.get(t.id)
            if cur is None or cur.avatar != avatar:
                raise ConsultError("not_found", "no ticket to leave")
            q.leave(t.id)
            if cur.booth and booth_key(cur.booth) in o:
                b: Booth = o[booth_key(cur.booth)]
                if b.ticket == t.id:
                    b.ticket = b.dept = None
                    b.remove(avatar)
            return Outcome(result=True, sends=[(avatar, "queue.ticket", self.ticket_view(cur, q, "left"))], audit=[(p.key, "queue.leave", t.id)])

        return await self.transact(keys, fn)

    async def call(self, p: Principal, avatar: int, zone: str | None, booth: str, ticket: str | None = None) -> Outcome:
        if booth not in self.booths:
            raise ConsultError("unknown_zone")
        serves = {t.id for t in self.catalogue.topics_for_booth(booth)}
        if ticket is not None:
            dept = self.dept_of_prefix.get(ticket.split("-")[0])
            if dept is None:
                raise ConsultError("not_found", "no such ticket")
            depts = [dept]
        else:
            depts = sorted({self.catalogue.topics[t].department for t in serves})
        bk = booth_key(booth)
        keys = [bk] + [dept_key(d) for d in depts]

        def fn(o: dict, now: float) -> Outcome:
            b: Booth = o[bk]
            self._require(p, Action.CALL_TICKET, b, avatar, zone)
            if b.ticket is not None:
                raise ConsultError("booth_busy", "finish the current consultation first")
            if ticket is not None:
                q: DeptQueue = o[keys[1]]
                t = q.tickets.get(ticket)
                if t is None:
                    raise ConsultError("not_found", "no such ticket")
                if t.topic not in serves:
                    raise ConsultError("forbidden", "this booth does not serve that topic")
            else:
                heads = [(q.next_for(serves), q) for q in (o[k] for k in keys[1:])]
                heads = [(t, q) for t, q in heads if t is not None]
                if not heads:
                    raise ConsultError("queue_empty")
                t, q = min(heads, key=lambda h: (not h[0].recalled, not h[0].priority, h[0].taken))
            b.open(p.key, avatar)
            q.call(t.id, booth, now)
            b.invite(t.id, q.dept)
            invite = {"ticket": t.id, "code": self.code(t), "booth": booth, "expires_s": self.invite_timeout_s}
            return Outcome(result=self.ticket_view(t, q), sends=[(t.avatar, "queue.invite", invite), (t.avatar, "queue.ticket", self.ticket_view(t, q))],
                           audit=[(p.key, "queue.call", f"{booth}:{t.id}")])

        return await self.transact(keys, fn)

    async def accept(self, p: Principal, avatar: int, ticket: str) -> Outcome:
        dept = self.dept_of_prefix.get(ticket.split("-")[0])
        t = self.dept(dept).tickets.get(ticket) if dept else None
        if t is None or t.booth is None:
            raise ConsultError("not_invited")
        dk, bk = dept_key(dept), booth_key(t.booth)  # type: ignore[arg-type]

        def fn(o: dict, now: float) -> Outcome:
            q: DeptQueue = o[dk]
            cur = q.accept(ticket, owner_of(p, avatar), avatar)
            b: Booth = o[bk]
            if b.ticket != ticket:
                raise ConsultError("not_invited")
            b.admit(avatar, now)
            return Outcome(result=self.ticket_view(cur, q), sends=[(avatar, "queue.ticket", self.ticket_view(cur, q))],
                           audit=[(p.key, "invite.accept", f"{b.id}:{ticket}")])

        return await self.transact([dk, bk], fn)

    # -- the booths -----------------------------------------------------------------------------
    async def booth_op(self, p: Principal, avatar: int, zone: str | None, booth: str, op: str, target: int | None = None,
                       card: dict | None = None) -> Outcome:
        """lock | unlock | admit | decline | remove | card, by the staff member inside."""
        if booth not in self.booths:
            raise ConsultError("unknown_zone")
        action = {"lock": Action.LOCK_BOOTH, "unlock": Action.LOCK_BOOTH, "admit": Action.ADMIT, "decline": Action.ADMIT,
                  "remove": Action.REMOVE, "card": Action.PUSH_CARD}[op]
        bk = booth_key(booth)

        def fn(o: dict, now: float) -> Outcome:
            b: Booth = o[bk]
            self._require(p, action, b, avatar, zone)
            b.open(p.key, avatar)
            out = Outcome(result=True, audit=[(p.key, "booth." + op, booth if target is None else f"{booth}:{target}")])
            if op == "lock":
                b.lock()
                out.sends = [(m, "booth.notice", {"booth": booth, "kind": "locked"}) for m in b.residents]
            elif op == "unlock":
                b.unlock()
                out.sends = [(m, "booth.notice", {"booth": booth, "kind": "unlocked"}) for m in b.residents]
            elif op == "admit":
                b.admit(target, now)  # type: ignore[arg-type]
                out.sends = [(target, "booth.notice", {"booth": booth, "kind": "admitted"})]  # type: ignore[list-item]
                if b.locked:  # "_enter": the node holding the avatar puts it inside the closed door
                    out.sends.append((target, "_enter", {"booth": booth}))  # type: ignore[arg-type]
            elif op == "decline":
                out.sends = [(target, "booth.notice", {"booth": booth, "kind": "declined"})]  # type: ignore[list-item]
            elif op == "remove":
                if target == b.staff:
                    raise ConsultError("forbidden", "staff cannot remove themselves")
                b.remove(target)  # type: ignore[arg-type]
                # "_eject": the node holding the avatar places it outside the door.
                out.sends = [(target, "booth.notice", {"booth": booth, "kind": "removed"}), (target, "_eject", {"booth": booth})]  # type: ignore[list-item]
            elif op == "card":
                out.sends = [(m, "booth.card", {"booth": booth, **(card or {})}) for m in b.residents]
                out.audit = [(p.key, "booth.card", booth)]  # the card's content is not kept
            return out

        return await self.transact([bk], fn)

    def knock(self, p: Principal, avatar: int, booth: str) -> Outcome:
        """Nothing is written: the booth's staff member is told (wherever it is connected)."""
        if booth not in self.booths:
            raise ConsultError("unknown_zone")
        b = self.booth(booth)
        d = decide(p, Action.KNOCK, self._booth_resource(b, avatar, None))
        if not d:
            raise ConsultError(d.code or "forbidden", d.reason)
        if b.staff is None:
            raise ConsultError("booth_closed")
        return Outcome(result=True, sends=[(b.staff, "booth.knocked", {"booth": booth, "avatar": avatar})], audit=[(p.key, "booth.knock", booth)])

    async def member_left(self, booth: str, avatar: int) -> Outcome:
        """A member walked out or went for good: the staff member leaving closes the booth; the
        last resident leaving unlocks it and ends the consultation (its time feeds the estimate)."""
        bk = booth_key(booth)
        b0 = self.booth(booth)
        keys = [bk] + ([dept_key(b0.dept)] if b0.dept else [])

        def fn(o: dict, now: float) -> Outcome:
            b: Booth = o[bk]
            if avatar not in b.members:
                return Outcome()
            residents, ticket, started, dept = list(b.residents), b.ticket, b.started, b.dept
            what = b.left(avatar)
            out = Outcome(result=what, audit=[("-", f"booth.{what or 'left'}", f"{booth}:{avatar}")])
            if what == "closed":
                out.sends = [(m, "booth.notice", {"booth": booth, "kind": "closed"}) for m in residents]
            if what in ("closed", "emptied") and ticket and dept and dept_key(dept) in o:
                q: DeptQueue = o[dept_key(dept)]
                served = q.tickets.get(ticket)
                if served is not None and served.state == "serving":
                    q.finish(ticket, now, started)
                    b.ticket = b.dept = b.started = None
                elif served is None:
                    b.ticket = b.dept = b.started = None
            return out

        return await self.transact(keys, fn)

    async def renew_lease(self, booth: str, until: float) -> Outcome:
        """The holding node says "the staff member is still here" (see Booth.lease_until)."""
        bk = booth_key(booth)

        def fn(o: dict, now: float) -> None:
            b: Booth = o[bk]
            if b.staff is not None:
                b.lease_until = until

        return await self.transact([bk], fn)

    async def staff_presence(self, booth: str, present: bool) -> Outcome:
        bk = booth_key(booth)

        def fn(o: dict, now: float) -> None:
            b: Booth = o[bk]
            b.staff_back() if present else b.staff_away(now)

        return await self.transact([bk], fn)

    # -- deadlines (any node may run them; the store lets one win) -------------------------------
    def due(self, now: float) -> tuple[list[str], list[str]]:
        """Departments with a called ticket past its time; booths whose staff's grace is over."""
        depts = []
        for d in self.catalogue.departments:
            q = self.dept(d)
            if any(t.state == "called" and t.called is not None and now - t.called >= self.invite_timeout_s for t in q.tickets.values()):
                depts.append(d)
        booths = [b for b in self.booths if self.booth(b).grace_over(now, self.grace_s)]
        return depts, booths

    async def expire_invites(self, dept: str) -> Outcome:
        dk = dept_key(dept)
        booths = sorted({t.booth for t in self.dept(dept).tickets.values() if t.state == "called" and t.booth})
        keys = [dk] + [booth_key(b) for b in booths]

        def fn(o: dict, now: float) -> Outcome:
            q: DeptQueue = o[dk]
            out = Outcome()
            for t, what in q.expire(now, self.invite_timeout_s):
                for k in keys[1:]:
                    b: Booth = o[k]
                    if b.ticket == t.id:
                        b.ticket = b.dept = None
                        b.remove(t.avatar)
                out.sends.append((t.avatar, "queue.ticket", self.ticket_view(t, q, None if what == "recalled" else "expired")))
                out.audit.append(("-", "queue." + what, t.id))
            return out

        return await self.transact(keys, fn)

    async def release_booth(self, booth: str) -> Outcome:
        """The staff member did not come back within the grace period: the booth is closed."""
        bk = booth_key(booth)
        b0 = self.booth(booth)
        keys = [bk] + ([dept_key(b0.dept)] if b0.dept else [])

        def fn(o: dict, now: float) -> Outcome:
            b: Booth = o[bk]
            if not b.grace_over(now, self.grace_s):
                return Outcome()
            residents, ticket, started, dept = list(b.residents), b.ticket, b.started, b.dept
            b.close()
            if ticket and dept and dept_key(dept) in o:
                o[dept_key(dept)].finish(ticket, now, started)
            return Outcome(result="released", sends=[(m, "booth.notice", {"booth": booth, "kind": "closed"}) for m in residents],
                           audit=[("-", "booth.released", booth)])

        return await self.transact(keys, fn)


__all__ = ["ConsultService", "INVITE_TIMEOUT_S", "Outcome", "booth_key", "dept_key", "owner_of"]
