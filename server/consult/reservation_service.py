"""Reservations on SQL: the rules of reservations.py applied to ``consult_slots`` and
``consult_bookings`` rows, shared by the HTTP routes and the desk (``check_in``).

Atomic where two nodes could race: a place is taken by ``UPDATE ... SET booked = booked + 1
WHERE booked < capacity`` (one row changed or none), a status moves by ``UPDATE ... WHERE
status = 'booked'``, and a reminder is claimed by ``UPDATE ... WHERE reminded_at IS NULL``
before it is sent. These hold on SQLite and PostgreSQL alike.

``sweep(now)`` runs every minute (``start``): bookings whose slot ended unused become
``no_show``, reminders go out, and contact data of slots older than the retention period is
erased. ``now`` is passed in, so tests drive it with an explicit clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from yakuba.server.consult import reservations as rules
from yakuba.server.consult.catalogue import Catalogue
from yakuba.server.consult.mailer import MailFacts, Mailer
from yakuba.server.db.models import ConsultBooking, ConsultSlot, utcnow
from yakuba.server.protocol.errors import ErrorCode, ProtocolError

log = logging.getLogger("yakuba.consult.reservations")

SWEEP_INTERVAL_S = 60.0
MAX_LIST = 500


@dataclass(frozen=True)
class Policy:
    cancel_before: timedelta = timedelta(hours=1)
    reminder_before: timedelta = timedelta(hours=24)
    retention: timedelta = timedelta(days=30)

    @classmethod
    def from_settings(cls, s) -> "Policy":
        return cls(timedelta(seconds=s.consult_cancel_before_s), timedelta(seconds=s.consult_reminder_before_s),
                   timedelta(days=s.consult_retention_days))


def iso(dt: datetime) -> str:
    return dt.astimezone(rules.JST).isoformat(timespec="minutes")


def slot_out(s: ConsultSlot) -> dict:
    return {"id": s.id, "topic": s.topic, "department": s.department, "start": iso(s.start_at),
            "end": iso(s.end_at), "capacity": s.capacity, "free": 0 if s.withdrawn else max(0, s.capacity - s.booked)}


class ReservationService:
    def __init__(self, db, catalogue: Catalogue, policy: Policy | None = None, mailer: Mailer | None = None,
                 audit=None, origin: str | None = None, clock: Callable[[], datetime] = utcnow) -> None:
        self.db, self.catalogue, self.policy = db, catalogue, policy or Policy()
        self.mailer, self.audit, self.origin, self.clock = mailer or Mailer(None), audit, origin, clock
        self.task: asyncio.Task | None = None

    # --- helpers
    def _audit(self, kind: str, principal, action: str, resource: str) -> None:
        if self.audit is not None:
            self.audit.record(kind, principal, action=action, resource=resource)

    def _topic(self, topic_id: str):
        t = self.catalogue.topics.get(topic_id)
        if t is None:
            raise ProtocolError(ErrorCode.UNKNOWN_TOPIC)
        return t

    def page_url(self, code: str, origin: str | None = None) -> str:
        return f"{(origin or self.origin or '').rstrip('/')}/reserve.html?code={rules.display_code(code)}"

    def calendar(self, b: ConsultBooking, s: ConsultSlot, origin: str | None = None) -> bytes:
        """The booking's .ics: SUMMARY in Japanese, LOCATION the city hall's address on the web."""
        t = self.catalogue.topics.get(s.topic)
        name = t.name_ja if t else s.topic
        where = (origin or self.origin or "").rstrip("/")
        host = where.split("://", 1)[-1] or "yakuba"
        return rules.ics(
            uid=f"booking-{b.id}@{host}", stamp=b.created_at or self.clock(), start=s.start_at, end=s.end_at,
            summary=f"区役所 相談予約: {name}",
            description=f"予約番号 {rules.display_code(b.code)}\nメタバース区役所の総合案内で予約番号をお伝えください。",
            location=f"メタバース区役所 {where}/" if where else "メタバース区役所",
            url=self.page_url(b.code, origin) if where else None,
            cancelled=b.status == "cancelled",
        )

    def _facts(self, b: ConsultBooking, s: ConsultSlot) -> MailFacts:
        t = self.catalogue.topics.get(s.topic)
        return MailFacts(b.id, b.email or "", b.code, b.lang, t.name_ja if t else s.topic, t.name_en if t else s.topic,
                         s.start_at, s.end_at, self.page_url(b.code), self.calendar(b, s))

    # --- staff: slots
    async def publish(self, principal, topic: str, start: datetime, end: datetime, capacity: int = 1,
                      series: dict | None = None) -> list[dict]:
        t = self._topic(topic)
        now = self.clock()
        times = rules.expand_series(start, end, **(series or {}))
        for st in times:
            rules.check_slot(st.start, st.end, capacity, now)
        rows = [ConsultSlot(topic=t.id, department=t.department, start_at=st.start, end_at=st.end, capacity=capacity,
                            booked=0, withdrawn=False, created_by=principal.key, created_at=now) for st in times]
        async with self.db.session() as s:
            s.add_all(rows)
            await s.flush()
        for r in rows:
            self._audit("slot_published", principal, "manage_slots", f"slot:{r.id}")
        return [slot_out(r) for r in rows]

    async def withdraw(self, principal, slot_id: int) -> int:
        """Withdraw a slot; its booked places are cancelled (their codes then say so). Returns how many."""
        async with self.db.session() as s:
            r = await s.execute(update(ConsultSlot).where(ConsultSlot.id == slot_id, ConsultSlot.withdrawn.is_(False))
                                .values(withdrawn=True, booked=0))
            if r.rowcount != 1:
                raise ProtocolError(ErrorCode.UNKNOWN_SLOT)
            c = await s.execute(update(ConsultBooking).where(ConsultBooking.slot_id == slot_id, ConsultBooking.status == "booked")
                                .values(status="cancelled"))
        self._audit("slot_withdrawn", principal, "manage_slots", f"slot:{slot_id}")
        return c.rowcount or 0

    async def free_slots(self, topic: str | None, start: datetime | None, end: datetime | None) -> list[dict]:
        if topic is not None:
            self._topic(topic)
        now = self.clock()
        start = max(start or now, now)
        end = end or start + timedelta(days=14)
        q = (select(ConsultSlot).where(ConsultSlot.withdrawn.is_(False), ConsultSlot.booked < ConsultSlot.capacity,
                                       ConsultSlot.start_at > start, ConsultSlot.start_at < end)
             .order_by(ConsultSlot.start_at, ConsultSlot.id).limit(MAX_LIST))
        if topic is not None:
            q = q.where(ConsultSlot.topic == topic)
        async with self.db.session() as s:
            return [slot_out(r) for r in (await s.scalars(q)).all()]

    async def day(self, d: date, department: str | None = None) -> dict:
        lo, hi = rules.jst_day(d)
        q = select(ConsultSlot).where(ConsultSlot.start_at >= lo, ConsultSlot.start_at < hi).order_by(ConsultSlot.start_at, ConsultSlot.id)
        if department:
            q = q.where(ConsultSlot.department == department)
        async with self.db.session() as s:
            slots = (await s.scalars(q.limit(MAX_LIST))).all()
            ids = [x.id for x in slots]
            books = (await s.scalars(select(ConsultBooking).where(ConsultBooking.slot_id.in_(ids)).order_by(ConsultBooking.id))).all() if ids else []
        by: dict[int, list] = {}
        for b in books:
            by.setdefault(b.slot_id, []).append({"id": b.id, "code": rules.display_code(b.code), "status": b.status,
                                                 "name": b.name, "email_given": b.email is not None})
        return {"date": d.isoformat(),
                "slots": [{**slot_out(x), "withdrawn": x.withdrawn, "bookings": by.get(x.id, [])} for x in slots]}

    # --- residents: bookings
    async def book(self, principal, slot_id: int, name: str | None = None, email: str | None = None,
                   lang: str = "ja") -> tuple[ConsultBooking, ConsultSlot]:
        now = self.clock()
        name = rules.clean_name(name)
        for attempt in range(5):  # a code already taken (1 in 10^10 per booking) gets a new one
            try:
                async with self.db.session() as s:
                    slot = await s.get(ConsultSlot, slot_id)
                    if slot is None:
                        raise ProtocolError(ErrorCode.UNKNOWN_SLOT)
                    rules.check_bookable(slot.start_at, slot.withdrawn, slot.booked, slot.capacity, now)
                    r = await s.execute(
                        update(ConsultSlot)
                        .where(ConsultSlot.id == slot_id, ConsultSlot.withdrawn.is_(False), ConsultSlot.booked < ConsultSlot.capacity)
                        .values(booked=ConsultSlot.booked + 1).execution_options(synchronize_session=False))
                    if r.rowcount != 1:
                        raise ProtocolError(ErrorCode.SLOT_FULL)  # the last place went to someone else just now
                    # booked close to the time: the confirmation is the reminder
                    reminded = now if slot.start_at - now <= self.policy.reminder_before else None
                    b = ConsultBooking(slot_id=slot_id, code=rules.new_code(), email=email or None, name=name, lang=lang,
                                       status="booked", created_at=now, reminded_at=reminded)
                    s.add(b)
                    await s.flush()
                break
            except IntegrityError:
                if attempt == 4:
                    raise
        self._audit("booked", principal, "book_slot", f"booking:{b.id}")
        if b.email:
            self.mailer.spawn("confirmation", self._facts(b, slot))
        return b, slot

    async def find(self, code: str) -> tuple[ConsultBooking, ConsultSlot] | None:
        c = rules.normalise_code(code)
        if c is None:
            return None
        async with self.db.session() as s:
            row = (await s.execute(select(ConsultBooking, ConsultSlot).join(ConsultSlot, ConsultSlot.id == ConsultBooking.slot_id)
                                   .where(ConsultBooking.code == c))).first()
        return (row[0], row[1]) if row else None

    async def _move(self, booking_id: int, to: str, release: int | None) -> None:
        async with self.db.session() as s:
            r = await s.execute(update(ConsultBooking).where(ConsultBooking.id == booking_id, ConsultBooking.status == "booked")
                                .values(status=to))
            if r.rowcount != 1:
                raise ProtocolError(ErrorCode.BOOKING_CLOSED)
            if release is not None:
                await s.execute(update(ConsultSlot).where(ConsultSlot.id == release, ConsultSlot.booked > 0)
                                .values(booked=ConsultSlot.booked - 1))

    async def cancel(self, principal, code: str) -> tuple[ConsultBooking, ConsultSlot]:
        found = await self.find(code)
        if found is None:
            raise ProtocolError(ErrorCode.UNKNOWN_BOOKING)
        b, s = found
        rules.check_cancel(b.status, s.start_at, self.clock(), self.policy.cancel_before)
        await self._move(b.id, "cancelled", release=s.id)
        b.status = "cancelled"
        self._audit("booking_cancelled", principal, "book_slot", f"booking:{b.id}")
        return b, s

    async def check_in(self, code: str, principal=None, now: datetime | None = None) -> tuple[str, int]:
        """At the desk: a booked code, from 30 min before its time until its end, becomes a
        priority ticket. Returns (topic id, booking id); refusals are ProtocolError
        (unknown_booking, booking_closed, check_in_window)."""
        found = await self.find(code)
        if found is None:
            raise ProtocolError(ErrorCode.UNKNOWN_BOOKING)
        b, s = found
        ok = rules.check_in(s.topic, b.id, b.status, s.start_at, s.end_at, now or self.clock())
        await self._move(b.id, "checked_in", release=None)
        self._audit("checked_in", principal or "desk", "check_in", f"booking:{b.id}")
        return ok.topic, ok.booking_id

    # --- the periodic sweep
    async def sweep(self, now: datetime) -> dict[str, int]:
        out = {"no_show": await self.mark_no_shows(now), "purged": await self.purge_contacts(now),
               "reminded": await self._remind(now) if self.mailer.enabled else 0}
        if any(out.values()):
            log.info("reservations sweep no_show=%(no_show)d purged=%(purged)d reminded=%(reminded)d", out)
        return out

    async def mark_no_shows(self, now: datetime) -> int:
        """Bookings still ``booked`` after their slot ended: nobody came."""
        ended = select(ConsultSlot.id).where(ConsultSlot.end_at <= now).scalar_subquery()
        async with self.db.session() as s:
            r = await s.execute(update(ConsultBooking).where(ConsultBooking.status == "booked", ConsultBooking.slot_id.in_(ended))
                                .values(status="no_show").execution_options(synchronize_session=False))
        return r.rowcount or 0

    async def purge_contacts(self, now: datetime) -> int:
        """Erase names and e-mail addresses of bookings whose slot ended more than the retention
        period before ``now``; the code, status and times stay (they say nothing about who)."""
        old = select(ConsultSlot.id).where(ConsultSlot.end_at < now - self.policy.retention).scalar_subquery()
        async with self.db.session() as s:
            r = await s.execute(update(ConsultBooking)
                                .where(ConsultBooking.slot_id.in_(old), or_(ConsultBooking.email.is_not(None), ConsultBooking.name.is_not(None)))
                                .values(email=None, name=None).execution_options(synchronize_session=False))
        return r.rowcount or 0

    async def _remind(self, now: datetime) -> int:
        due = (select(ConsultBooking, ConsultSlot).join(ConsultSlot, ConsultSlot.id == ConsultBooking.slot_id)
               .where(ConsultBooking.status == "booked", ConsultBooking.email.is_not(None), ConsultBooking.reminded_at.is_(None),
                      ConsultSlot.withdrawn.is_(False),
                      and_(ConsultSlot.start_at > now, ConsultSlot.start_at <= now + self.policy.reminder_before))
               .order_by(ConsultSlot.start_at).limit(MAX_LIST))
        async with self.db.session() as s:
            rows = (await s.execute(due)).all()
        n = 0
        for b, slot in rows:
            async with self.db.session() as s:  # claim first: another node may be sweeping too
                r = await s.execute(update(ConsultBooking).where(ConsultBooking.id == b.id, ConsultBooking.reminded_at.is_(None))
                                    .values(reminded_at=now))
            if r.rowcount == 1 and await self.mailer.send("reminder", self._facts(b, slot)):
                n += 1
        return n

    def start(self, interval_s: float = SWEEP_INTERVAL_S) -> None:
        async def loop() -> None:
            while True:
                await asyncio.sleep(interval_s)  # first sweep after the app's migration has run
                try:
                    await self.sweep(self.clock())
                except Exception as e:  # the database down must not end the loop
                    log.warning("reservations sweep failed (%s)", type(e).__name__)

        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(loop(), name="reservations-sweep")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
        await self.mailer.drain()


__all__ = ["Policy", "ReservationService", "iso", "slot_out"]
