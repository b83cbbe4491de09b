"""The salon's rules as pure decisions: the world's door rule (verified mark, locked meeting rooms)
and the policy's answers for a principal (conduct, locks, reports)."""

from __future__ import annotations

from yakuba.server.auth.policy import Action, SalonRoomResource, ZoneResource, decide
from yakuba.server.auth.principal import Kind, Principal, resident
from yakuba.world.layout import load_layout
from yakuba.world.zones import Role, may_enter

LAYOUT = load_layout()
LOUNGE, ROOM1 = LAYOUT.zones["salon-lounge"], LAYOUT.zones["salon-meeting1"]
A = dict(kind=Kind.STAFF, staff_id=1, municipality="271403", verified=True)
B = dict(kind=Kind.STAFF, staff_id=2, municipality="131016", verified=True)


def test_the_world_rule_reads_the_verified_mark_and_the_lock():
    assert may_enter(LOUNGE, 1, Role.RESIDENT, verified=True) == "salon_staff_only"  # a resident is never verified staff
    assert may_enter(LOUNGE, 1, Role.STAFF) == "salon_staff_only"
    assert may_enter(LOUNGE, 1, Role.STAFF, verified=True) is None
    assert may_enter(ROOM1, 1, Role.STAFF, verified=True, municipality="131016", held_by="271403") == "salon_room_locked"
    assert may_enter(ROOM1, 1, Role.STAFF, verified=True, municipality="271403", held_by="271403") is None


def test_the_door_asks_for_verified_staff_then_the_code_of_conduct():
    door = ZoneResource(LOUNGE, 1)
    assert decide(resident("x"), Action.ENTER_ZONE, door).code == "salon_staff_only"
    assert decide(Principal(kind=Kind.STAFF, staff_id=3, municipality="271403"), Action.ENTER_ZONE, door).code == "salon_staff_only"
    assert decide(Principal(**A), Action.ENTER_ZONE, door).code == "conduct_required"
    assert decide(Principal(**A, salon_conduct=True), Action.ENTER_ZONE, door)
    assert decide(Principal(**A, salon_conduct=True), Action.CHAT, door)
    assert decide(resident("x"), Action.CHAT, door).code == "salon_staff_only"
    locked = ZoneResource(ROOM1, 1, held_by="271403")
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
