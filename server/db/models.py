"""Durable records (SQLAlchemy 2 declarative). The same models run on SQLite (the embedded
default) and PostgreSQL; schema changes go through Alembic migrations in ``migrations/``.

Audit rows and logs carry ids, never names or message content."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy import DateTime
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# Named constraints: SQLite migrations rebuild tables (batch mode) and can only drop or alter a
# constraint that has a name; the same names on PostgreSQL keep the two schemas comparable.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC in and out on both backends: SQLite stores no zone and hands back naive
    datetimes, which would compare differently from PostgreSQL's (and raise against aware ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:  # a naive datetime is taken as UTC (datetime.utcnow() style)
            value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None:
            value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# BigInteger ids on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Municipality(Base):
    """A tenant (issue #20): its staff act only while ``state`` is ``active``. ``oidc_issuer``:
    the one identity provider whose signature makes someone staff of it (None: password login
    only); its client secret is never stored here (Settings.oidc_client_secrets)."""

    __tablename__ = "municipalities"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)  # 全国地方公共団体コード, e.g. 271209
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="active", server_default="active")  # active | suspended
    email_domains: Mapped[list] = mapped_column(JSON, default=list)  # ["city.sakai.lg.jp"]: verified e-mails join
    oidc_issuer: Mapped[str | None] = mapped_column(String(255), nullable=True, unique=True)
    oidc_client_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    state_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class StaffAccount(Base):
    __tablename__ = "staff_accounts"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"))
    password_hash: Mapped[str] = mapped_column(String(255))
    roles: Mapped[list] = mapped_column(JSON, default=list)  # e.g. ["staff"], ["staff", "admin"]
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Server-issued identity shown in the salon (issue #20): set by an administrator, an
    # invitation or the municipality's identity provider, never by the member's own client.
    display_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    department: Mapped[str | None] = mapped_column(String(60), nullable=True)
    joined_via: Mapped[str | None] = mapped_column(String(16), nullable=True)  # admin | invitation | oidc | email


class AuditEvent(Base):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(40))  # refused | login | login_failed | logout | staff_disabled | ...
    principal: Mapped[str] = mapped_column(String(80))  # Principal.key (staff:12, anon:<sid>), never a name
    action: Mapped[str | None] = mapped_column(String(60), nullable=True)
    code: Mapped[str | None] = mapped_column(String(60), nullable=True)
    resource: Mapped[str | None] = mapped_column(String(120), nullable=True)  # an id (zone, dataset, job)
    node: Mapped[str | None] = mapped_column(String(80), nullable=True)


class Dataset(Base):
    __tablename__ = "datasets"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(Text)  # directory, relative to the data dir
    buildings: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(80), nullable=True)  # Principal.key


class Job(Base):
    """An import or a simulation. Visible from every node; survives restarts."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # import | simulation | montecarlo
    dataset: Mapped[str | None] = mapped_column(String(100), nullable=True)
    owner: Mapped[str] = mapped_column(String(80))  # Principal.key
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(20), default="queued")  # queued|running|done|failed|cancelled
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str | None] = mapped_column(String(60), nullable=True)
    node: Mapped[str | None] = mapped_column(String(80), nullable=True)  # node running it
    result_path: Mapped[str | None] = mapped_column(Text, nullable=True)  # relative to the data dir
    error: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # {code, message}
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_jobs_owner_state", "owner", "state"), Index("ix_jobs_state", "state"))


class ConsultSlot(Base):
    """A consultation time staff publish for one catalogue topic (assets/consult/catalogue.json).
    ``booked`` counts active bookings and only moves by a conditional UPDATE (booked < capacity),
    so two nodes booking the last place at once cannot both get it."""

    __tablename__ = "consult_slots"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(70))  # catalogue topic id, e.g. tax.payment
    department: Mapped[str] = mapped_column(String(40))  # its department id, kept for the day view
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # the retention purge reads it
    capacity: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(80))  # Principal.key of the staff member (staff:12)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_consult_slots_topic_start_at", "topic", "start_at"),
                      Index("ix_consult_slots_start_at", "start_at"))


class ConsultBooking(Base):
    """A resident's booking. ``code`` is what they read out or type (reservations.CODE_ALPHABET);
    ``email`` and ``name`` only when given, and erased ``consult_retention_days`` after the slot."""

    __tablename__ = "consult_bookings"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("consult_slots.id"), index=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    name: Mapped[str | None] = mapped_column(String(60), nullable=True)
    lang: Mapped[str] = mapped_column(String(8), default="ja")  # the language of its e-mails
    status: Mapped[str] = mapped_column(String(16), default="booked")  # booked|cancelled|checked_in|no_show
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


__all__ = ["AuditEvent", "Base", "ConsultBooking", "ConsultSlot", "Dataset", "Job", "Municipality", "StaffAccount",
           "UTCDateTime", "utcnow"]


# --- events in the hall (issue #18; server/events, migration 0003) -----------------------------
class HallEvent(Base):
    """An event in the hall staff schedule (a meeting or a recruiting briefing). ``attendees``
    and ``spectators`` count active registrations and move only by conditional UPDATEs
    (attendees < capacity), so two nodes registering for the last place cannot both get it.
    Cancelling an event sets ``cancelled`` (its registrations' codes then say so)."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # meeting | briefing
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # upcoming lists and the purge read it
    capacity: Mapped[int] = mapped_column(Integer)
    attendees: Mapped[int] = mapped_column(Integer, default=0)
    spectators: Mapped[int] = mapped_column(Integer, default=0)
    presenters: Mapped[list] = mapped_column(JSON, default=list)  # staff_accounts.id values
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(80))  # Principal.key of the staff member (staff:12)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_events_starts_at", "starts_at"),)


class EventRegistration(Base):
    """A resident's registration: no account, a ``code`` to read out or type (the reservations'
    alphabet). ``name`` (for the name tag) and ``email`` only when given; shown to staff only and
    erased ``events_retention_days`` after the event."""

    __tablename__ = "event_registrations"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str | None] = mapped_column(String(60), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    role: Mapped[str] = mapped_column(String(16))  # attendee | spectator
    status: Mapped[str] = mapped_column(String(16), default="registered")  # registered | cancelled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    # the first spectator still registered (a cancel's promotion) and an event's list
    __table_args__ = (Index("ix_event_registrations_event_id_role_status", "event_id", "role", "status"),)


__all__ += ["EventRegistration", "HallEvent"]


# --- tenants (issue #20; server/db/tenants.py, migration 0004) ----------------------------------
class OidcIdentity(Base):
    """Who signed in through an identity provider: keyed on (issuer, subject) as OpenID Connect
    says, never on an e-mail address (an address can be reassigned; a subject cannot)."""

    __tablename__ = "oidc_identities"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_oidc_identities_issuer_subject"),)


class Invitation(Base):
    """A single-use, expiring link to join a municipality. Only the SHA-256 of its token is kept:
    a database leak does not hand out invitations. ``used_at`` is set by a conditional UPDATE
    (used_at IS NULL), so two nodes cannot both accept one invitation."""

    __tablename__ = "invitations"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    department: Mapped[str | None] = mapped_column(String(60), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    used_by: Mapped[int | None] = mapped_column(Integer, nullable=True)  # staff_accounts.id
    created_by: Mapped[str] = mapped_column(String(80))  # Principal.key of the administrator
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


__all__ += ["Invitation", "OidcIdentity"]


# --- the salon's spaces and conduct (issue #20; server/salon/records.py, migration 0005) -------
class SalonBooking(Base):
    """A salon meeting room booked by a member for a time slot, for their municipality. Bookings
    of one room never overlap (checked in the transaction that writes one; records.book)."""

    __tablename__ = "salon_bookings"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    room: Mapped[str] = mapped_column(String(40))  # a salon zone id (salon-meeting1)
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"))  # who booked
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Locked from inside by its municipality's staff (salon.lock). Kept here, not only in memory,
    # so a node that starts during the booking knows the lock.
    locked: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_salon_bookings_room_starts_at", "room", "starts_at"),)


class SalonConduct(Base):
    """The code of conduct's version an account accepted, and when (one row per account)."""

    __tablename__ = "salon_conduct"
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SalonReport(Base):
    """A report to the administrators: who reported whom, where and when, by ids. ``note`` holds
    the reporter's own words or a message they chose to attach; nothing else of a conversation."""

    __tablename__ = "salon_reports"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    reporter: Mapped[int] = mapped_column(Integer)  # staff_accounts.id
    reported_staff: Mapped[int | None] = mapped_column(Integer, nullable=True)  # from the server's card, never the client
    reported_avatar: Mapped[int] = mapped_column(Integer)
    room: Mapped[str] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class SalonEvent(Base):
    """An event in a salon room (a study session, a briefing between municipalities): it holds
    the room through its own booking, so events and meetings never overlap."""

    __tablename__ = "salon_events"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(100))
    booking_id: Mapped[int] = mapped_column(ForeignKey("salon_bookings.id"))
    organiser: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"))
    capacity: Mapped[int] = mapped_column(Integer)
    hybrid: Mapped[bool] = mapped_column(Boolean, default=False)  # the venue's feed shown as the room's screen
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SalonEventMember(Base):
    """A member registered for a salon event; the organiser's moderation is kept on the row
    (removed, muted) so every node, and one that starts during the event, applies it."""

    __tablename__ = "salon_event_members"
    event_id: Mapped[int] = mapped_column(ForeignKey("salon_events.id"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"), primary_key=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    muted: Mapped[bool] = mapped_column(Boolean, default=False)


class SalonPin(Base):
    """A department booth's pinned topic and links, set by a member standing at the booth."""

    __tablename__ = "salon_pins"
    booth: Mapped[str] = mapped_column(String(40), primary_key=True)
    topic: Mapped[str] = mapped_column(String(200))
    links: Mapped[list] = mapped_column(JSON, default=list)  # [{"title": ..., "url": "https://..."}]
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


__all__ += ["SalonBooking", "SalonConduct", "SalonEvent", "SalonEventMember", "SalonPin", "SalonReport"]
