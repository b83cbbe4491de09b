"""The one place that decides who may do what.

Every socket handler and HTTP route asks ``decide(principal, action, resource)`` (or ``require``,
which raises) before acting; nothing else compares roles. A refusal carries the wire error code
the caller returns, and ``require`` writes it to the audit log (ids only). The pure zone rule
stays in ``world.zones.may_enter``; this module is where it meets the principal.

Rules for the rooms and services still to come (booths, queue, media, salon) are added here as
new actions, with tests in tests/auth/test_policy.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from yakuba.server.auth.principal import Kind, Principal
from yakuba.world.layout import Zone
from yakuba.world.zones import BoothState, RoomHold, may_enter


class Action(str, Enum):
    JOIN = "join"  # take an avatar in the city hall
    ENTER_ZONE = "enter_zone"  # resource: ZoneResource
    CHAT = "chat"  # resource: ZoneResource (the speaker's zone)
    VIEW_DATASET = "view_dataset"
    UPLOAD_DATASET = "upload_dataset"
    RUN_SIMULATION = "run_simulation"
    RUN_MONTECARLO = "run_montecarlo"  # hundreds of runs: staff only
    VIEW_JOB = "view_job"  # resource: JobResource
    CANCEL_JOB = "cancel_job"  # resource: JobResource
    LIST_ALL_JOBS = "list_all_jobs"
    MANAGE_STAFF = "manage_staff"
    LOCK_BOOTH = "lock_booth"  # resource: the booth's room id; staff only (rooms/booth.py)
    PRESENT = "present"  # resource: the hall's room id; take the stage (rooms/hall.py)
    # desk queue and booths (server/consult); booth actions take a BoothResource
    TAKE_TICKET = "take_ticket"  # anyone with an avatar; the ticket is the session's
    VIEW_QUEUE = "view_queue"  # the queue board: staff
    CALL_TICKET = "call_ticket"  # staff inside the booth that holds it (or a free booth)
    ADMIT = "admit"
    REMOVE = "remove"
    PUSH_CARD = "push_card"
    KNOCK = "knock"  # anyone outside the booth
    READ_AUDIT = "read_audit"  # the audit trail: administrators
    # reservations (server/consult/reservation_routes.py)
    MANAGE_SLOTS = "manage_slots"  # publish and withdraw consultation slots: staff
    BOOK_SLOT = "book_slot"  # see free slots, book, read or cancel by code: anyone, residents included
    VIEW_DAY = "view_day"  # a day's slots with their bookings: staff
    # media (server/media): resource a MediaResource
    PUBLISH_MEDIA = "publish_media"  # voice, camera or screen into a room
    SUBSCRIBE_MEDIA = "subscribe_media"  # hear and see a room's streams
    SHARE_DOC = "share_doc"  # upload, show, page and point at a document in a room
    # the event hall (rooms/hall.py): resource a HallResource
    WRITE_SHOW = "write_show"  # the shared view everyone follows: the presenter only
    MODERATE = "moderate"  # agenda, timer, the question on screen, polls: presenter and co-presenters
    COHOST = "cohost"  # name a co-presenter, hand over the stage: the presenter
    TAKE_PART = "take_part"  # ask, upvote, react, vote: anyone in the hall
    # events in the hall (server/events)
    MANAGE_EVENTS = "manage_events"  # schedule and cancel events, see their registrations: staff
    REGISTER_EVENT = "register_event"  # see events, register, read or cancel by code: anyone, no account
    # the inter-municipal salon (issue #20; server/salon)
    MANAGE_TENANTS = "manage_tenants"  # register, suspend, resume municipalities; invite their staff: administrators
    ENTER_SALON = "enter_salon"  # be in the salon (join, chat, presence): verified staff of an active municipality
    BOOK_SALON_ROOM = "book_salon_room"  # book a salon meeting room for a time slot: salon members
    LOCK_SALON_ROOM = "lock_salon_room"  # resource: SalonRoomResource; the booking's municipality, from inside
    REPORT_CONDUCT = "report_conduct"  # report someone in the salon to the administrators: salon members
    READ_REPORTS = "read_reports"  # the reports: administrators
    CANCEL_SALON_BOOKING = "cancel_salon_booking"  # resource: SalonRoomResource (booked_by); its municipality, administrators
    RUN_SALON_EVENT = "run_salon_event"  # cancel, mute, remove; resource: the event's organiser (staff id): them, administrators
    PIN_SALON_BOOTH = "pin_salon_booth"  # a department booth's topic and links; resource: standing at it (bool)


@dataclass(frozen=True)
class ZoneResource:
    zone: Zone
    avatar_id: int
    booth: BoothState | None = None
    full: bool = False  # the hall during an event whose places are taken (realtime/hub.py _zone_rule)
    held_by: RoomHold | None = None  # a held salon room: who it admits, who is muted (world/zones.py)


@dataclass(frozen=True)
class SalonRoomResource:
    """A salon meeting room as the actor stands to it (read from the live world and the bookings,
    never from the client): inside it or not, and which municipality's booking covers now."""

    room: str
    inside: bool
    booked_by: str | None = None  # municipality code of the booking running now (None: not booked)


@dataclass(frozen=True)
class BoothResource:
    """A booth as the actor stands to it: where the actor's avatar is, who holds the booth."""

    id: str
    actor_avatar: int
    actor_zone: str | None
    staff_key: str | None = None  # the Principal.key of the staff member holding it (None: free)
    staff_avatar: int | None = None
    members: frozenset[int] = frozenset()


_BOOTH_STAFF = frozenset({"call_ticket", "admit", "remove", "push_card", "lock_booth"})


def _booth(p: Principal, action: "Action", b: BoothResource) -> Decision:
    if action is Action.KNOCK:
        return ALLOW if b.actor_avatar not in b.members else _deny("invalid_payload", "already a member")
    if not p.is_staff:
        return _deny("forbidden", f"{action.value} is for staff")
    if b.actor_zone != b.id:
        return _deny("not_in_booth", f"{action.value} from outside {b.id}")
    if b.staff_key is not None and (b.staff_key != p.key or b.staff_avatar != b.actor_avatar):
        return _deny("not_booth_staff", f"{b.id} is held by another staff member")
    return ALLOW


@dataclass(frozen=True)
class MediaResource:
    """A room as the actor stands to it, for media. ``member``: the actor's avatar is in the
    room now (for a locked booth: among the members the staff admitted) -- the service reads
    it from the live room, never from the client."""

    room: str
    room_type: str  # "booth", "hall", "salon", "lobby"
    actor_avatar: int
    member: bool
    presenter: int | None = None  # the hall's presenter (avatar id)
    source: str | None = None  # publish: "mic", "camera" or "screen"
    muted: bool = False  # a salon event's organiser muted the actor
    event_screen: bool | None = None  # a salon event runs in the room: is the actor its organiser?
    near: bool | None = None  # subscribe in an open-plan room (the salon's lounge): is the owner within hearing?


_MEDIA_ROOMS = frozenset({"booth", "hall", "salon"})  # never the open lobby: no one is recorded walking by


def _media(p: Principal, action: "Action", m: MediaResource) -> Decision:
    if m.room_type not in _MEDIA_ROOMS:
        return _deny("media_forbidden", f"no media in a {m.room_type}")
    if not m.member:
        return _deny("media_forbidden", f"not a member of {m.room}")
    if m.room_type == "salon" and not p.is_staff:
        return _deny("media_forbidden", "the salon is for staff")
    if action is Action.SUBSCRIBE_MEDIA:  # in the lounge one hears those near, as one reads their chat
        return ALLOW if m.near is not False else _deny("media_forbidden", "out of hearing")
    if m.muted:
        return _deny("salon_muted", "muted by the event's organiser")
    if m.event_screen is False and m.source == "screen":  # the venue's feed (hybrid) or slides
        return _deny("media_forbidden", "during an event the organiser shares the screen")
    if m.room_type == "hall":  # the audience listens; the presenter (staff, Action.PRESENT) speaks and shows
        return ALLOW if m.presenter == m.actor_avatar else _deny("media_forbidden", "only the presenter shares in the hall")
    if action is Action.SHARE_DOC or m.source == "screen":
        # staff show documents and screens; a resident's screen could show more than they meant
        return ALLOW if p.is_staff else _deny("media_forbidden", f"{action.value} ({m.source or 'document'}) is for staff")
    return ALLOW  # voice (and camera) for every member of a booth or salon


@dataclass(frozen=True)
class HallResource:
    """The hall as the actor stands to it (read from the live room, never from the client)."""

    room: str
    actor_avatar: int
    member: bool
    presenter: int | None = None
    copresenters: frozenset[int] = frozenset()
    target_is_staff: bool = False  # COHOST: the avatar to be named is a staff member's
    # PRESENT: Principal keys ("staff:12") of the running event's presenters (server/events);
    # None: no event runs now (or it names none), and any staff member may present
    event_presenters: frozenset[str] | None = None


def _hall(p: Principal, action: "Action", h: HallResource) -> Decision:
    if not h.member:
        return _deny("not_member", f"not in {h.room}")
    if action is Action.TAKE_PART:
        return ALLOW
    if action is Action.PRESENT:  # take the stage: staff, when it is free or theirs by hand-over
        if not p.is_staff:
            return _deny("forbidden", "presenting is for staff")
        if h.event_presenters is not None and p.key not in h.event_presenters:  # issue #18
            return _deny("forbidden", "the running event's presenters take the stage")
        if h.presenter not in (None, h.actor_avatar):
            return _deny("busy", "someone is presenting: ask them to hand over")
        return ALLOW
    if action in (Action.WRITE_SHOW, Action.COHOST):
        if h.presenter != h.actor_avatar:
            return _deny("forbidden", "only the presenter")
        if action is Action.COHOST and not h.target_is_staff:
            return _deny("forbidden", "co-presenters are staff")
        return ALLOW
    if action is Action.MODERATE:
        ok = h.actor_avatar == h.presenter or h.actor_avatar in h.copresenters
        return ALLOW if ok else _deny("forbidden", "only the presenter and co-presenters")
    return _deny("forbidden", f"no hall rule for {action.value}")


@dataclass(frozen=True)
class JobResource:
    owner: str  # Principal.key of whoever started it
    # A run on a hall's screen (show.sim / sim_b): everyone at the meeting, spectators included,
    # already sees it there, so anyone may fetch it to follow the presenter (issue #18).
    presented: bool = False


@dataclass(frozen=True)
class Decision:
    allowed: bool
    code: str | None = None  # wire error code when refused (server/protocol ErrorCode values)
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Decision(True)


def _deny(code: str, reason: str) -> Decision:
    return Decision(False, code, reason)


def decide(p: Principal, action: Action, resource: Any = None) -> Decision:
    if action in (Action.JOIN, Action.VIEW_DATASET, Action.RUN_SIMULATION):
        return ALLOW  # open to residents; job limits per principal bound the cost
    if action in (Action.ENTER_ZONE, Action.CHAT):
        r: ZoneResource = resource
        why = may_enter(r.zone, r.avatar_id, p.world_role, r.booth, verified=p.is_verified_staff,
                        municipality=p.municipality, staff=p.staff_id, held_by=r.held_by)
        if why is None and action is Action.CHAT and r.held_by is not None and p.staff_id in r.held_by.muted:
            why = "salon_muted"  # the event's organiser muted them: they may stay and listen
        if why is None and r.full and action is Action.ENTER_ZONE and not p.is_staff:
            why = "hall_full"  # a running event's places are taken: watch as a spectator (staff always enter)
        if why is None and r.zone.access == "salon":
            d = decide(p, Action.ENTER_SALON)  # the same answer as the salon's HTTP routes get
            if not d:
                return d
            if not p.salon_conduct:  # accepted once per account, before the first entry
                why = "conduct_required"
        return ALLOW if why is None else _deny(why, f"{action.value} {r.zone.id}")
    if isinstance(resource, BoothResource) and action.value in _BOOTH_STAFF | {"knock"}:
        return _booth(p, action, resource)
    if isinstance(resource, HallResource):
        return _hall(p, action, resource)
    if isinstance(resource, MediaResource) and action in (Action.PUBLISH_MEDIA, Action.SUBSCRIBE_MEDIA, Action.SHARE_DOC):
        return _media(p, action, resource)
    if action is Action.TAKE_TICKET:
        return ALLOW
    if action in (Action.BOOK_SLOT, Action.REGISTER_EVENT):
        return ALLOW  # no account needed; the code is the booking's only key, its lookups are throttled
    if action in (Action.MANAGE_SLOTS, Action.VIEW_DAY, Action.MANAGE_EVENTS):
        return ALLOW if p.is_staff else _deny("forbidden", f"{action.value} is for staff")
    if action is Action.VIEW_QUEUE:
        return ALLOW if p.is_staff else _deny("forbidden", "the queue board is for staff")
    if action is Action.ENTER_SALON:
        # The server set every field this reads (sessions.py); a suspended municipality's staff
        # have no session any more (identity.account_state), so they never get here as staff.
        if not p.is_staff:
            return _deny("salon_staff_only", "the salon is for municipal staff")
        return ALLOW if p.is_verified_staff else _deny("salon_staff_only", "the salon needs a verified staff identity")
    if action in (Action.BOOK_SALON_ROOM, Action.REPORT_CONDUCT):
        return decide(p, Action.ENTER_SALON)
    if action is Action.LOCK_SALON_ROOM:
        d = decide(p, Action.ENTER_SALON)
        r = resource
        if not d or not isinstance(r, SalonRoomResource):
            return d if not d else _deny("forbidden", "no room")
        if not r.inside:
            return _deny("not_member", f"lock {r.room} from inside")
        if r.booked_by != p.municipality:  # only the booking's municipality, while it runs
            return _deny("salon_room_not_booked", f"{r.room} is not booked by this municipality now")
        return ALLOW
    if action is Action.CANCEL_SALON_BOOKING:
        d = decide(p, Action.ENTER_SALON)
        if d and not p.is_admin and (not isinstance(resource, SalonRoomResource) or resource.booked_by != p.municipality):
            return _deny("forbidden", "a booking is cancelled by its municipality's staff")
        return d
    if action is Action.RUN_SALON_EVENT:
        d = decide(p, Action.ENTER_SALON)
        if d and resource is None:
            return _deny("not_member", "no salon event runs here")
        if d and not p.is_admin and resource != p.staff_id:
            return _deny("forbidden", "the event is run by its organiser")
        return d
    if action is Action.PIN_SALON_BOOTH:
        d = decide(p, Action.ENTER_SALON)
        return d if not d or resource is True else _deny("not_member", "pin a booth's topic standing at the booth")
    if action is Action.READ_REPORTS:
        return ALLOW if p.is_admin else _deny("forbidden", "reports are read by an administrator")
    if action is Action.MANAGE_TENANTS:
        return ALLOW if p.is_admin else _deny("forbidden", "municipalities are managed by an administrator")
    if action is Action.READ_AUDIT:
        return ALLOW if p.is_admin else _deny("forbidden", "the audit trail needs an administrator")
    if action in (Action.LOCK_BOOTH, Action.PRESENT):
        return ALLOW if p.is_staff else _deny("forbidden", f"{action.value} is for staff")
    if action is Action.RUN_MONTECARLO:
        return ALLOW if p.is_staff else _deny("forbidden", "monte carlo runs are for staff")
    if action in (Action.UPLOAD_DATASET, Action.MANAGE_STAFF):
        return ALLOW if p.kind is Kind.ADMIN else _deny("forbidden", f"{action.value} needs an administrator")
    if action is Action.LIST_ALL_JOBS:
        return ALLOW if p.is_staff else _deny("forbidden", "only staff see every job")
    if action is Action.VIEW_JOB:
        j: JobResource = resource
        return ALLOW if (j.owner == p.key or p.is_staff or j.presented) else _deny("not_found", "not this principal's job")
    if action is Action.CANCEL_JOB:
        j = resource
        return ALLOW if (j.owner == p.key or p.is_admin) else _deny("forbidden", "only the owner or an administrator cancels a job")
    return _deny("forbidden", f"no rule for {action!r}")  # default deny


class PolicyDenied(Exception):
    def __init__(self, decision: Decision, action: Action) -> None:
        super().__init__(decision.reason)
        self.decision, self.action = decision, action

    @property
    def code(self) -> str:
        return self.decision.code or "forbidden"


def require(p: Principal, action: Action, resource: Any = None, audit: Any = None) -> None:
    """``decide`` or raise PolicyDenied; a refusal is recorded by ``audit`` (an AuditLog) when given."""
    d = decide(p, action, resource)
    if not d.allowed:
        if audit is not None:
            audit.refused(p, action.value, d.code or "forbidden", resource)  # the audit keeps only its id
        raise PolicyDenied(d, action)


__all__ = ["ALLOW", "Action", "BoothResource", "Decision", "HallResource", "JobResource", "MediaResource", "PolicyDenied", "SalonRoomResource", "ZoneResource", "decide", "require"]
