"""Events on SQL: the rules of core.py applied to ``events`` and ``event_registrations`` rows,
and the running event kept in memory for the live hall.

Atomic where two nodes could race: an attendee's place is taken by ``UPDATE events SET
attendees = attendees + 1 WHERE attendees < capacity`` (one row changed or none: then a
spectator), a registration is cancelled by ``UPDATE ... WHERE status = 'registered'``, and a
spectator is promoted by ``UPDATE ... WHERE role = 'spectator'`` (two cancels racing for the
same first spectator: the loser takes the next one). These hold on SQLite and PostgreSQL alike.

The live hall (rooms/hall.py ``HallRoom.live_event``, realtime/hub.py ``_zone_rule``) reads
``current()``: no database on the realtime loop. It is computed from ``self.soon`` (events not
cancelled overlapping the next SOON_AHEAD), refreshed on create and cancel on this node and
every minute (another node's change reaches this one within a minute). The minute also erases
names and e-mail addresses of events over for longer than the retention period. ``clock`` is
passed in, so tests drive time explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from yakuba.server.db.models import EventRegistration, HallEvent, StaffAccount, utcnow
from yakuba.server.events import core as rules
from yakuba.server.protocol.errors import ErrorCode, ProtocolError

log = logging.getLogger("yakuba.events")

REFRESH_S = 60.0
SOON_AHEAD = timedelta(hours=13)  # longer than any event: the cache holds the one that may start within a refresh
MAX_LIST = 200  # upcoming events in one list
MAX_REGISTRATIONS_LIST = 5000  # one event's registrations for staff (attendees first)


def event_out(e: HallEvent, now: datetime, staff: bool = False) -> dict:
    """An event as the public sees it: counts, never names; the presenters' account ids for staff."""
    out = {"id": e.id, "title": e.title, "kind": e.kind, "starts": rules.jst(e.starts_at), "ends": rules.jst(e.ends_at),
           "capacity": e.capacity, "attendees": e.attendees, "spectators": e.spectators,
           "status": rules.event_status(e.starts_at, e.ends_at, e.cancelled, now)}
    if staff:
        out["presenters"] = list(e.presenters or [])
    return out


def _live(e: HallEvent) -> rules.LiveEvent:
    return rules.LiveEvent(e.id, e.starts_at, e.ends_at, e.capacity, rules.presenter_keys(e.presenters or []))


class EventService:
    def __init__(self, db, audit=None, retention: timedelta = timedelta(days=30),
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db, self.audit, self.retention, self.clock = db, audit, retention, clock
        self.soon: tuple[rules.LiveEvent, ...] = ()  # read by current(); replaced whole, never mutated
        self.task: asyncio.Task | None = None

    def _audit(self, kind: str, principal, action: str, resource: str) -> None:
        if self.audit is not None:
            self.audit.record(kind, principal, action=action, resource=resource)

    # --- the live hall --------------------------------------------------------------------------
    def current(self) -> rules.LiveEvent | None:
        """The event running in the hall now (from memory: safe on the realtime loop)."""
        return rules.running(self.soon, self.clock())

    async def refresh(self) -> None:
        now = self.clock()
        q = (select(HallEvent).where(HallEvent.cancelled.is_(False), HallEvent.ends_at > now,
                                     HallEvent.starts_at < now + SOON_AHEAD)
             .order_by(HallEvent.starts_at, HallEvent.id).limit(50))
        async with self.db.session() as s:
            self.soon = tuple(_live(e) for e in (await s.scalars(q)).all())

    async def _refreshed(self) -> None:
        try:
            await self.refresh()
        except Exception as e:  # the change is stored; the minute's refresh will pick it up
            log.warning("events refresh failed (%s)", type(e).__name__)

    # --- staff: events --------------------------------------------------------------------------
    async def create(self, principal, title: str, kind: str, starts: datetime, ends: datetime, capacity: int,
                     presenters: list[int]) -> dict:
        now = self.clock()
        spec = rules.check_event(title, kind, starts, ends, capacity, presenters, now)
        async with self.db.session() as s:
            if spec.presenters:
                found = set((await s.scalars(select(StaffAccount.id).where(StaffAccount.id.in_(spec.presenters),
                                                                           StaffAccount.disabled.is_(False)))).all())
                missing = [p for p in spec.presenters if p not in found]
                if missing:
                    raise ProtocolError(ErrorCode.INVALID_EVENT, f"presenters: no active staff account {missing[0]}")
            # the hall holds one event at a time (checked here, not locked: two staff members
            # scheduling the same hour on two nodes at once may both succeed; the earlier keeps the hall)
            clash = await s.scalar(select(HallEvent.id).where(HallEvent.cancelled.is_(False), HallEvent.starts_at < spec.ends,
                                                              HallEvent.ends_at > spec.starts).limit(1))
            if clash is not None:
                raise ProtocolError(ErrorCode.EVENT_OVERLAP, f"event {clash} is in the hall at that time")
            e = HallEvent(title=spec.title, kind=spec.kind, starts_at=spec.starts, ends_at=spec.ends, capacity=spec.capacity,
                          attendees=0, spectators=0, presenters=list(spec.presenters), cancelled=False,
                          created_by=principal.key, created_at=now)
            s.add(e)
            await s.flush()
        self._audit("event_created", principal, "manage_events", f"event:{e.id}")
        await self._refreshed()
        return event_out(e, now, staff=True)

    async def cancel_event(self, principal, event_id: int) -> dict:
        """Cancel an event (idempotent). Its registrations stay, so their codes say so."""
        async with self.db.session() as s:
            r = await s.execute(update(HallEvent).where(HallEvent.id == event_id, HallEvent.cancelled.is_(False))
                                .values(cancelled=True))
            e = await s.get(HallEvent, event_id)
            if e is None:
                raise ProtocolError(ErrorCode.UNKNOWN_HALL_EVENT)
            await s.refresh(e)
        if r.rowcount == 1:
            self._audit("event_cancelled", principal, "manage_events", f"event:{event_id}")
            await self._refreshed()
        return event_out(e, self.clock(), staff=True)

    async def get(self, event_id: int) -> HallEvent:
        async with self.db.session() as s:
            e = await s.get(HallEvent, event_id)
        if e is None:
            raise ProtocolError(ErrorCode.UNKNOWN_HALL_EVENT)
        return e

    async def upcoming(self, staff: bool = False) -> list[dict]:
        """Events not over and not cancelled, soonest first, with their counts (no names)."""
        now = self.clock()
        q = (select(HallEvent).where(HallEvent.cancelled.is_(False), HallEvent.ends_at > now)
             .order_by(HallEvent.starts_at, HallEvent.id).limit(MAX_LIST))
        async with self.db.session() as s:
            return [event_out(e, now, staff) for e in (await s.scalars(q)).all()]

    async def registrations(self, event_id: int) -> tuple[HallEvent, list[EventRegistration]]:
        """Staff: an event's registrations with codes, roles and names (never logged)."""
        async with self.db.session() as s:
            e = await s.get(HallEvent, event_id)
            if e is None:
                raise ProtocolError(ErrorCode.UNKNOWN_HALL_EVENT)
            rows = (await s.scalars(select(EventRegistration).where(EventRegistration.event_id == event_id)
                                    .order_by(EventRegistration.id).limit(MAX_REGISTRATIONS_LIST))).all()
        return e, list(rows)

    # --- residents: registrations -----------------------------------------------------------------
    async def register(self, principal, event_id: int, name: str | None = None,
                       email: str | None = None) -> tuple[EventRegistration, HallEvent]:
        """An attendee while places are left, else a spectator; never turned away (up to the
        spectators' bound). Refusals: unknown_hall_event, event_closed, busy."""
        now = self.clock()
        name = rules.clean_name(name)
        for attempt in range(5):  # a code already taken (1 in 10^10 per registration) gets a new one
            try:
                async with self.db.session() as s:
                    e = await s.get(HallEvent, event_id)
                    if e is None:
                        raise ProtocolError(ErrorCode.UNKNOWN_HALL_EVENT)
                    rules.check_registrable(rules.event_status(e.starts_at, e.ends_at, e.cancelled, now))
                    role = await self._take(s, e)
                    reg = EventRegistration(event_id=event_id, code=rules.new_code(), name=name, email=email or None,
                                            role=role, status="registered", created_at=now)
                    s.add(reg)
                    await s.flush()
                    await s.refresh(e)
                break
            except IntegrityError:
                if attempt == 4:
                    raise
        self._audit("event_registered", principal, "register_event", f"registration:{reg.id}")
        return reg, e

    @staticmethod
    async def _take(s, e: HallEvent) -> str:
        """The role core.role_for gives, taken by a conditional UPDATE of the counts: an
        attendee's place only while attendees < capacity, a spectator's only while the places
        are all taken (not while a cancel on another node has just freed one)."""
        role = rules.role_for(e.attendees, e.capacity)
        for _ in range(10):  # each miss: the counts moved under us (a registration or a cancel elsewhere)
            if role == "spectator":
                rules.check_spectator_room(e.spectators)
            attendee = role == "attendee"
            col = HallEvent.attendees if attendee else HallEvent.spectators
            cond = (HallEvent.attendees < HallEvent.capacity if attendee
                    else (HallEvent.attendees >= HallEvent.capacity) & (HallEvent.spectators < rules.MAX_SPECTATORS))
            r = await s.execute(update(HallEvent).where(HallEvent.id == e.id, HallEvent.cancelled.is_(False), cond)
                                .values({col: col + 1}).execution_options(synchronize_session=False))
            if r.rowcount == 1:
                return role
            await s.refresh(e)
            if e.cancelled:
                raise ProtocolError(ErrorCode.EVENT_CLOSED, "the event has been cancelled")
            role = rules.role_for(e.attendees, e.capacity)
        raise ProtocolError(ErrorCode.BUSY)

    async def find(self, event_id: int, code: str) -> tuple[EventRegistration, HallEvent] | None:
        c = rules.normalise_code(code)
        if c is None:
            return None
        async with self.db.session() as s:
            row = (await s.execute(select(EventRegistration, HallEvent).join(HallEvent, HallEvent.id == EventRegistration.event_id)
                                   .where(EventRegistration.code == c, EventRegistration.event_id == event_id))).first()
        return (row[0], row[1]) if row else None

    async def cancel(self, principal, event_id: int, code: str) -> tuple[EventRegistration, HallEvent, int | None]:
        """Cancel by code; an attendee's place goes to the first spectator still registered.
        Returns the registration, the event after the change, and the promoted registration's id."""
        found = await self.find(event_id, code)
        if found is None:
            raise ProtocolError(ErrorCode.UNKNOWN_REGISTRATION)
        reg, e = found
        now = self.clock()
        rules.check_cancel(reg.status, rules.event_status(e.starts_at, e.ends_at, e.cancelled, now))
        promoted: int | None = None
        async with self.db.session() as s:
            # PostgreSQL: the event's row first, so a registration cannot become a spectator
            # between our look for one and our count change (SQLite: one writer at a time)
            await s.execute(select(HallEvent.id).where(HallEvent.id == event_id).with_for_update())
            for _ in range(3):  # the role read with the status: a spectator may have been promoted just now
                cur = await s.get(EventRegistration, reg.id, populate_existing=True)
                if cur is None or cur.status != "registered":
                    raise ProtocolError(ErrorCode.REGISTRATION_CANCELLED)
                r = await s.execute(update(EventRegistration)
                                    .where(EventRegistration.id == reg.id, EventRegistration.status == "registered",
                                           EventRegistration.role == cur.role)
                                    .values(status="cancelled", cancelled_at=now).execution_options(synchronize_session=False))
                if r.rowcount == 1:
                    role = cur.role
                    break
            else:
                raise ProtocolError(ErrorCode.BUSY)
            for _ in range(20):  # each miss is a spectator another cancel promoted (or who cancelled) just now
                first = None
                if role == "attendee":
                    first = await s.scalar(select(EventRegistration.id)
                                           .where(EventRegistration.event_id == event_id, EventRegistration.role == "spectator",
                                                  EventRegistration.status == "registered")
                                           .order_by(EventRegistration.id).limit(1))
                effect = rules.cancel_effect(role, first)
                if effect.promote is None:
                    break
                p = await s.execute(update(EventRegistration)
                                    .where(EventRegistration.id == effect.promote, EventRegistration.role == "spectator",
                                           EventRegistration.status == "registered")
                                    .values(role="attendee").execution_options(synchronize_session=False))
                if p.rowcount == 1:
                    promoted = effect.promote
                    break
            else:
                effect = rules.cancel_effect(role, None)
            await s.execute(update(HallEvent).where(HallEvent.id == event_id)
                            .values(attendees=HallEvent.attendees + effect.attendees,
                                    spectators=HallEvent.spectators + effect.spectators)
                            .execution_options(synchronize_session=False))
            e = await s.get(HallEvent, event_id)
            await s.refresh(e)
        reg.status, reg.cancelled_at, reg.role = "cancelled", now, role
        self._audit("event_registration_cancelled", principal, "register_event", f"registration:{reg.id}")
        if promoted is not None:
            self._audit("event_promoted", principal, "register_event", f"registration:{promoted}")
        return reg, e, promoted

    # --- the minute -------------------------------------------------------------------------------
    async def purge_contacts(self, now: datetime) -> int:
        """Erase names and e-mail addresses of registrations for events over for longer than the
        retention period; codes, roles and counts stay (they say nothing about who)."""
        old = select(HallEvent.id).where(HallEvent.ends_at < now - self.retention).scalar_subquery()
        async with self.db.session() as s:
            r = await s.execute(update(EventRegistration)
                                .where(EventRegistration.event_id.in_(old),
                                       or_(EventRegistration.email.is_not(None), EventRegistration.name.is_not(None)))
                                .values(email=None, name=None).execution_options(synchronize_session=False))
        return r.rowcount or 0

    async def tick(self) -> None:
        await self.refresh()
        n = await self.purge_contacts(self.clock())
        if n:
            log.info("events: contact data of %d past registrations erased", n)

    def start(self, interval_s: float = REFRESH_S) -> None:
        async def loop() -> None:
            fails = 0
            while True:
                try:
                    await self.tick()
                    fails = 0
                except Exception as e:  # the database down (or not migrated yet at start) must not end the loop
                    fails += 1
                    # at start this runs beside the app's migration: retry soon, quietly at first
                    (log.debug if fails < 4 else log.warning)("events refresh failed (%s)", type(e).__name__)
                await asyncio.sleep(interval_s if fails == 0 else min(interval_s, 0.5 * 2 ** fails))

        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(loop(), name="events-refresh")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

__all__ = ["EventService", "event_out"]
