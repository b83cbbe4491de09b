"""The salon's rules as pure decisions: the world's door rule (verified mark, locked meeting rooms)
and the policy's answers for a principal (conduct, locks, reports)."""

from __future__ import annotations

from yakuba.server.auth.policy import Action, SalonRoomResource, ZoneResource, decide
from yakuba.server.auth.principal import Kind, Principal, resident
from yakuba.world.layout import load_layout
from yakuba.server.auth.policy import MediaResource
from yakuba.world.zones import Role, RoomHold, may_enter

LAYOUT = load_layout()
LOUNGE, ROOM1 = LAYOUT.zones["salon-lounge"], LAYOUT.zones["salon-meeting1"]
A = dict(kind=Kind.STAFF, staff_id=1, municipality="271403", verified=True)
B = dict(kind=Kind.STAFF, staff_id=2, municipality="131016", verified=True)


def test_the_world_rule_reads_the_verified_mark_and_the_lock():
    assert may_enter(LOUNGE, 1, Role.RESIDENT, verified=True) == "salon_staff_only"  # a resident is never verified staff
    assert may_enter(LOUNGE, 1, Role.STAFF) == "salon_staff_only"
    assert may_enter(LOUNGE, 1, Role.STAFF, verified=True) is None
    assert may_enter(ROOM1, 1, Role.STAFF, verified=True, municipality="131016", held_by=RoomHold("271403")) == "salon_room_locked"
    assert may_enter(ROOM1, 1, Role.STAFF, verified=True, municipality="271403", held_by=RoomHold("271403")) is None


def test_the_door_asks_for_verified_staff_then_the_code_of_conduct():
    door = ZoneResource(LOUNGE, 1)
    assert decide(resident("x"), Action.ENTER_ZONE, door).code == "salon_staff_only"
    assert decide(Principal(kind=Kind.STAFF, staff_id=3, municipality="271403"), Action.ENTER_ZONE, door).code == "salon_staff_only"
    assert decide(Principal(**A), Action.ENTER_ZONE, door).code == "conduct_required"
    assert decide(Principal(**A, salon_conduct=True), Action.ENTER_ZONE, door)
    assert decide(Principal(**A, salon_conduct=True), Action.CHAT, door)
    assert decide(resident("x"), Action.CHAT, door).code == "salon_staff_only"
    locked = ZoneResource(ROOM1, 1, held_by=RoomHold("271403"))
    assert decide(Principal(**B, salon_conduct=True), Action.ENTER_ZONE, locked).code == "salon_room_locked"
    assert decide(Principal(**A, salon_conduct=True), Action.ENTER_ZONE, locked)


def test_locks_reports_and_bookings():
    a, b = Principal(**A), Principal(**B)
    assert decide(a, Action.LOCK_SALON_ROOM, SalonRoomResource("salon-meeting1", True, "271403"))
    assert decide(b, Action.LOCK_SALON_ROOM, SalonRoomResource("salon-meeting1", True, "271403")).code == "salon_room_not_booked"
    assert decide(a, Action.LOCK_SALON_ROOM, SalonRoomResource("salon-meeting1", False, "271403")).code == "not_member"
    assert decide(a, Action.LOCK_SALON_ROOM, SalonRoomResource("salon-meeting1", True, None)).code == "salon_room_not_booked"
    for action in (Action.BOOK_SALON_ROOM, Action.REPORT_CONDUCT):
        assert decide(a, action) and decide(resident(), action).code == "salon_staff_only"
    assert not decide(a, Action.READ_REPORTS)
    assert decide(Principal(kind=Kind.ADMIN, staff_id=9, municipality="271403"), Action.READ_REPORTS)


def test_an_event_holds_its_room_for_its_guests_and_the_organiser_moderates():
    hold = RoomHold(guests=frozenset({1, 5}), muted=frozenset({5}), organiser=1)
    assert may_enter(ROOM1, 1, Role.STAFF, verified=True, municipality="131016", staff=1, held_by=hold) is None
    assert may_enter(ROOM1, 1, Role.STAFF, verified=True, municipality="271403", staff=2, held_by=hold) == "salon_room_locked"
    assert may_enter(ROOM1, 1, Role.STAFF, verified=True, municipality="271403", staff=None, held_by=hold) == "salon_room_locked"
    room = ZoneResource(ROOM1, 1, held_by=hold)
    guest = Principal(kind=Kind.STAFF, staff_id=5, municipality="131016", verified=True, salon_conduct=True)
    assert decide(guest, Action.ENTER_ZONE, room)  # muted members stay and listen
    assert decide(guest, Action.CHAT, room).code == "salon_muted"
    assert decide(Principal(**A, salon_conduct=True), Action.CHAT, room)
    # media: a muted member publishes nothing; during an event the screen is the organiser's
    muted = MediaResource("salon-meeting1", "salon", 7, True, source="mic", muted=True, event_screen=False)
    assert decide(guest, Action.PUBLISH_MEDIA, muted).code == "salon_muted"
    assert decide(guest, Action.SUBSCRIBE_MEDIA, muted)
    screen = MediaResource("salon-meeting1", "salon", 7, True, source="screen", event_screen=False)
    assert decide(guest, Action.PUBLISH_MEDIA, screen).code == "media_forbidden"
    assert decide(Principal(**A), Action.PUBLISH_MEDIA, MediaResource("salon-meeting1", "salon", 8, True, source="screen", event_screen=True))
    # running the event (cancel, mute, remove): its organiser or an administrator
    assert decide(Principal(**A), Action.RUN_SALON_EVENT, 1)
    assert decide(Principal(**B), Action.RUN_SALON_EVENT, 1).code == "forbidden"
    assert decide(Principal(**A), Action.RUN_SALON_EVENT, None).code == "not_member"
    assert decide(Principal(kind=Kind.ADMIN, staff_id=9, municipality="131016", verified=True), Action.RUN_SALON_EVENT, 1)
    assert decide(resident(), Action.RUN_SALON_EVENT, 1).code == "salon_staff_only"


def test_cancelling_bookings_and_pinning_booths():
    a, b = Principal(**A), Principal(**B)
    booked = SalonRoomResource("salon-meeting1", False, "271403")
    assert decide(a, Action.CANCEL_SALON_BOOKING, booked)
    assert decide(b, Action.CANCEL_SALON_BOOKING, booked).code == "forbidden"
    assert decide(Principal(kind=Kind.ADMIN, staff_id=9, municipality="131016", verified=True), Action.CANCEL_SALON_BOOKING, booked)
    assert decide(a, Action.PIN_SALON_BOOTH, True)
    assert decide(a, Action.PIN_SALON_BOOTH, False).code == "not_member"
    assert decide(resident(), Action.PIN_SALON_BOOTH, True).code == "salon_staff_only"
