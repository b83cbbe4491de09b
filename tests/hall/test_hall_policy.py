"""The hall's rules in the one policy module, and the run on the hall's screen that everyone may fetch."""

from __future__ import annotations

from yakuba.server.auth.policy import Action, HallResource, JobResource, decide
from yakuba.server.auth.principal import Kind, Principal, resident

STAFF = Principal(kind=Kind.STAFF, staff_id=1)


def test_a_run_on_the_hall_screen_is_visible_to_the_audience_only_while_shown():
    res = resident("r")
    assert not decide(res, Action.VIEW_JOB, JobResource(owner="staff:1"))  # someone else's run: hidden (404)
    assert decide(res, Action.VIEW_JOB, JobResource(owner="staff:1", presented=True))
    assert not decide(res, Action.CANCEL_JOB, JobResource(owner="staff:1", presented=True))  # watching is not owning


def test_hall_rules():
    h = HallResource("hall", 5, True, presenter=5, copresenters=frozenset({6}))
    assert decide(STAFF, Action.WRITE_SHOW, h)
    assert not decide(STAFF, Action.WRITE_SHOW, HallResource("hall", 6, True, presenter=5, copresenters=frozenset({6})))
    assert decide(STAFF, Action.MODERATE, HallResource("hall", 6, True, presenter=5, copresenters=frozenset({6})))
    assert decide(resident(), Action.TAKE_PART, HallResource("hall", 7, True, presenter=5)).allowed
    assert decide(resident(), Action.TAKE_PART, HallResource("hall", 7, False, presenter=5)).code == "not_member"
    listed = HallResource("hall", 8, True, event_presenters=frozenset({"staff:2"}))
    assert decide(STAFF, Action.PRESENT, listed).code == "forbidden"  # an event with other presenters
    assert decide(Principal(kind=Kind.STAFF, staff_id=2), Action.PRESENT, listed)
