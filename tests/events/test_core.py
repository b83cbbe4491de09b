"""The pure rules of events (server/events/core.py) and their policy rules (server/auth/policy.py):
validation with the field named, codes, capacity -> spectator, a cancel promoting the first
spectator, the running event, presenters on the stage and the full hall's door. No I/O."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from yakuba.server.auth.policy import Action, HallResource, ZoneResource, decide
from yakuba.server.auth.principal import Kind, Principal, resident
from yakuba.server.consult.reservations import CODE_ALPHABET
from yakuba.server.events import core
from yakuba.server.protocol.errors import ErrorCode, ProtocolError
from yakuba.world.layout import load_layout

NOW = datetime(2025, 4, 1, 0, 0, tzinfo=timezone.utc)  # 09:00 in Japan
JST = timezone(timedelta(hours=9))
T18 = datetime(2025, 4, 2, 18, 0, tzinfo=JST)


def _refused(fn, *a, **kw) -> ProtocolError:
    with pytest.raises(ProtocolError) as e:
        fn(*a, **kw)
    return e.value


def _event(**kw):
    args = {"title": "採用説明会", "kind": "briefing", "starts": T18, "ends": T18 + timedelta(hours=1), "capacity": 30,
            "presenters": [3, 4], "now": NOW}
    args.update(kw)
    return core.check_event(**args)


def test_a_valid_event_is_kept_as_given():
    e = _event(title="  まちづくり説明会\u0007 ", presenters=[4, 3, 4])
    assert e.title == "まちづくり説明会" and e.kind == "briefing" and e.capacity == 30
    assert e.presenters == (4, 3)  # order kept, repeats dropped
    assert e.starts == T18 and core.jst(e.starts) == "2025-04-02T18:00+09:00"
    # an event may start now or have started, as long as it is not over (an impromptu briefing)
    assert _event(starts=NOW - timedelta(minutes=5), ends=NOW + timedelta(minutes=30)).starts < NOW
    assert _event(kind="meeting", presenters=[]).presenters == ()


@pytest.mark.parametrize("kw, field", [
    ({"title": ""}, "title"), ({"title": " \t "}, "title"), ({"title": "あ" * 101}, "title"),
    ({"kind": "party"}, "kind"),
    ({"starts": datetime(2025, 4, 2, 18, 0)}, "starts"),
    ({"ends": T18}, "ends"), ({"ends": T18 - timedelta(minutes=1)}, "ends"),
    ({"ends": T18 + timedelta(hours=12, minutes=1)}, "ends"),
    ({"starts": NOW - timedelta(hours=2), "ends": NOW}, "ends"),  # over already
    ({"starts": NOW + timedelta(days=400), "ends": NOW + timedelta(days=400, hours=1)}, "starts"),
    ({"capacity": 0}, "capacity"), ({"capacity": 2001}, "capacity"), ({"capacity": True}, "capacity"),
    ({"presenters": [0]}, "presenters"), ({"presenters": list(range(1, 22))}, "presenters"),
])
def test_an_invalid_event_is_refused_naming_the_field(kw, field):
    e = _refused(_event, **kw)
    assert e.code is ErrorCode.INVALID_EVENT and e.status == 400
    assert e.message.startswith(field + ":"), e.message


def test_twelve_hours_and_two_thousand_places_are_the_limits():
    assert _event(ends=T18 + timedelta(hours=12), capacity=2000).capacity == 2000


def test_status_follows_the_clock():
    s, e = T18, T18 + timedelta(hours=1)
    assert core.event_status(s, e, False, s - timedelta(seconds=1)) == "scheduled"
    assert core.event_status(s, e, False, s) == "running"
    assert core.event_status(s, e, False, e) == "ended"
    assert core.event_status(s, e, True, s) == "cancelled"
    core.check_registrable("scheduled")
    core.check_registrable("running")  # late comers register too
    assert _refused(core.check_registrable, "ended").code is ErrorCode.EVENT_CLOSED
    assert _refused(core.check_registrable, "cancelled").code is ErrorCode.EVENT_CLOSED


def test_codes_are_unguessable_and_readable_aloud():
    codes = {core.new_code() for _ in range(2000)}
    assert len(codes) == 2000  # 23^8 = 7.8e10: no repeats in a few thousand
    assert all(len(c) == 8 and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert not set("0O1IL2Z5S8B6G") & set(CODE_ALPHABET)  # nothing misread aloud or on a small screen
    c = codes.pop()
    shown = core.display_code(c)
    assert shown[4] == "-" and core.normalise_code(shown.lower()) == c
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in c)  # typed with a Japanese IME
    assert core.normalise_code(full_width[:4] + "ー" + full_width[4:]) == c
    assert core.normalise_code("ABCD-EFGH") is None and core.normalise_code("x" * 100) is None


def test_capacity_then_spectators_never_turned_away():
    capacity, attendees, roles = 3, 0, []
    for _ in range(5):
        r = core.role_for(attendees, capacity)
        roles.append(r)
        attendees += r == "attendee"
    assert roles == ["attendee"] * 3 + ["spectator"] * 2
    core.check_spectator_room(core.MAX_SPECTATORS - 1)
    assert _refused(core.check_spectator_room, core.MAX_SPECTATORS).code is ErrorCode.BUSY


def test_a_cancel_promotes_the_first_spectator():
    assert core.cancel_effect("attendee", 17) == core.CancelEffect(promote=17, attendees=0, spectators=-1)
    assert core.cancel_effect("attendee", None) == core.CancelEffect(promote=None, attendees=-1, spectators=0)
    assert core.cancel_effect("spectator", 17) == core.CancelEffect(promote=None, attendees=0, spectators=-1)
    core.check_cancel("registered", "running")
    assert _refused(core.check_cancel, "cancelled", "scheduled").code is ErrorCode.REGISTRATION_CANCELLED
    assert _refused(core.check_cancel, "registered", "ended").code is ErrorCode.EVENT_CLOSED


def test_a_roster_driven_by_the_rules_stays_consistent():
    # registrations by id; roles as the service keeps them (counts + first spectator promoted)
    capacity, roles = 2, {}
    for rid in range(1, 6):
        roles[rid] = core.role_for(sum(r == "attendee" for r in roles.values()), capacity)
    assert [roles[i] for i in range(1, 6)] == ["attendee", "attendee", "spectator", "spectator", "spectator"]
    for gone in (1, 4, 2):
        first = min((i for i, r in roles.items() if r == "spectator"), default=None)
        eff = core.cancel_effect(roles.pop(gone), first)
        if eff.promote is not None:
            roles[eff.promote] = "attendee"
    assert roles == {3: "attendee", 5: "attendee"}


def test_the_running_event_is_the_one_in_progress():
    a = core.LiveEvent(1, NOW, NOW + timedelta(hours=1), 2, core.presenter_keys([12]))
    b = core.LiveEvent(2, NOW + timedelta(hours=2), NOW + timedelta(hours=3), 5, core.presenter_keys([]))
    assert a.presenters == frozenset({"staff:12"}) and b.presenters is None
    assert core.running([b, a], NOW - timedelta(seconds=1)) is None
    assert core.running([b, a], NOW) is a
    assert core.running([b, a], NOW + timedelta(hours=1)) is None  # ends is exclusive
    assert core.running([b, a], NOW + timedelta(hours=2, minutes=1)) is b


# --- the policy's rules ----------------------------------------------------------------------------
SATO = Principal(kind=Kind.STAFF, staff_id=12, municipality="131016", roles=frozenset({"staff"}))
KATO = Principal(kind=Kind.STAFF, staff_id=13, municipality="131016", roles=frozenset({"staff"}))
ANON = resident("sid-1")


def test_present_honours_the_running_events_presenters():
    def hall(presenters):
        return HallResource("hall", 7, True, event_presenters=presenters)

    assert decide(KATO, Action.PRESENT, hall(None)).allowed  # no event running: any staff member
    d = decide(KATO, Action.PRESENT, hall(frozenset({"staff:12"})))
    assert not d.allowed and d.code == "forbidden"
    assert decide(SATO, Action.PRESENT, hall(frozenset({"staff:12"}))).allowed
    assert decide(ANON, Action.PRESENT, hall(None)).code == "forbidden"
    busy = HallResource("hall", 7, True, presenter=9, event_presenters=frozenset({"staff:12"}))
    assert decide(SATO, Action.PRESENT, busy).code == "busy"  # listed, but someone is on the stage


def test_a_full_hall_refuses_residents_never_staff():
    zone = load_layout().zones["hall"]
    assert decide(ANON, Action.ENTER_ZONE, ZoneResource(zone, 5)).allowed
    d = decide(ANON, Action.ENTER_ZONE, ZoneResource(zone, 5, full=True))
    assert not d.allowed and d.code == "hall_full"
    assert decide(KATO, Action.ENTER_ZONE, ZoneResource(zone, 6, full=True)).allowed
    assert decide(ANON, Action.CHAT, ZoneResource(zone, 5, full=True)).allowed  # fullness is about the door only
    msg = ProtocolError(ErrorCode.HALL_FULL).message
    assert "spectator" in msg and "watch" in msg


def test_managing_events_is_for_staff_registering_for_anyone():
    assert decide(SATO, Action.MANAGE_EVENTS).allowed
    assert decide(ANON, Action.MANAGE_EVENTS).code == "forbidden"
    assert decide(ANON, Action.REGISTER_EVENT).allowed
