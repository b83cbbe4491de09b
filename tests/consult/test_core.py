"""The desk queue and booth rules, pure, with time passed in (no store, no sockets)."""

from __future__ import annotations

import pytest

from yakuba.server.consult.core import Booth, ConsultError, DeptQueue


def test_tickets_are_numbered_per_department_and_positions_and_eta_follow_service_times():
    q = DeptQueue("resident")
    a = q.take("resident.moving", "resident:1", 1, now=0.0, prefix="R")
    b = q.take("resident.moving", "resident:2", 2, now=1.0, prefix="R")
    c = q.take("resident.moving", "resident:3", 3, now=2.0, prefix="R")
    assert [a.id, b.id, c.id] == ["R-001", "R-002", "R-003"]
    # prior 900 s (15 minutes), one booth: waits of 0, 1 and 2 services (plus half a service
    # once the booth is busy with someone ahead)
    pos = q.positions("resident.moving", 900.0, 1)
    assert pos == {"R-001": (1, 0.0), "R-002": (2, 1350.0), "R-003": (3, 2250.0)}
    # two booths serve it: the first two are next
    assert q.positions("resident.moving", 900.0, 2)["R-002"] == (2, 0.0)
    # real service times move the estimate (the prior counts as one sample)
    q.call("R-001", "booth5", now=10.0)
    q.tickets["R-001"].state = "serving"
    q.finish("R-001", now=400.0, started=100.0)  # 300 s
    assert q.mean_service("resident.moving", 900.0) == 600.0
    assert q.positions("resident.moving", 900.0, 1) == {"R-002": (1, 0.0), "R-003": (2, 900.0)}
    with pytest.raises(ConsultError) as e:
        q.take("resident.seal", "resident:2", 2, now=3.0, prefix="R")
    assert e.value.code == "already_queued"


def test_called_ticket_not_accepted_is_recalled_once_to_the_front_then_expires():
    q = DeptQueue("tax")
    t1 = q.take("tax.resident_tax", "resident:1", 1, now=0.0, prefix="T")
    q.take("tax.resident_tax", "resident:2", 2, now=1.0, prefix="T")
    q.call(t1.id, "booth5", now=10.0)
    assert q.expire(now=69.9, timeout_s=60.0) == []
    [(t, what)] = q.expire(now=70.0, timeout_s=60.0)
    assert (t.id, what, t.state, t.recalled) == ("T-001", "recalled", "waiting", True)
    assert q.order["tax.resident_tax"] == ["T-001", "T-002"]  # back at the front
    assert q.next_for({"tax.resident_tax"}).id == "T-001"
    q.call("T-001", "booth6", now=100.0)
    [(t, what)] = q.expire(now=160.0, timeout_s=60.0)
    assert what == "expired" and "T-001" not in q.tickets
    assert q.order["tax.resident_tax"] == ["T-002"]


def test_a_ticket_is_called_once_and_accepted_only_by_its_holder():
    q = DeptQueue("tax")
    q.take("tax.resident_tax", "resident:1", 1, now=0.0, prefix="T")
    q.call("T-001", "booth5", now=1.0)
    with pytest.raises(ConsultError) as e:
        q.call("T-001", "booth6", now=1.0)
    assert e.value.code == "ticket_taken"
    for owner, avatar in (("resident:2", 2), ("resident:1", 2), ("staff:9", 1)):
        with pytest.raises(ConsultError) as e:
            q.accept("T-001", owner, avatar)
        assert e.value.code == "not_found"
    assert q.accept("T-001", "resident:1", 1).state == "serving"


def test_priority_ticket_goes_before_walk_ins_after_earlier_reservations():
    q = DeptQueue("tax")
    q.take("tax.resident_tax", "resident:1", 1, now=0.0, prefix="T")
    q.take("tax.resident_tax", "resident:2", 2, now=1.0, prefix="T", priority=True)
    q.take("tax.resident_tax", "resident:3", 3, now=2.0, prefix="T", priority=True)
    assert q.order["tax.resident_tax"] == ["T-002", "T-003", "T-001"]
    assert q.next_for({"tax.resident_tax"}).id == "T-002"


def test_document_round_trip():
    q = DeptQueue("tax")
    q.take("tax.resident_tax", "resident:1", 1, now=0.0, prefix="T")
    assert DeptQueue.from_doc("tax", q.to_doc()).to_doc() == q.to_doc()
    b = Booth("booth5")
    b.open("staff:1", 10)
    assert Booth.from_doc("booth5", b.to_doc()) == b


def test_booth_lifecycle_open_admit_lock_unlock_empties_and_closes():
    b = Booth("booth5")
    assert b.state == "closed" and b.sign() == {"booth": "booth5", "state": "closed", "locked": False, "occupied": False}
    with pytest.raises(ConsultError):
        b.lock()  # nobody to hold it
    assert b.open("staff:1", 10) is True
    assert b.state == "open"
    with pytest.raises(ConsultError) as e:
        b.open("staff:2", 11)
    assert e.value.code == "booth_busy"
    b.invite("T-001", "tax")
    b.admit(20, now=5.0)
    assert b.state == "occupied" and b.started == 5.0
    b.lock()
    assert b.state == "locked" and b.sign()["occupied"] and "members" not in b.sign()
    b.unlock()
    b.lock()
    assert b.left(20) == "emptied"  # the last resident walked out: unlocked
    assert b.state == "open" and not b.locked
    b.admit(21, now=6.0)
    assert b.left(10) == "closed"  # the staff member left: the booth closes
    assert b.state == "closed" and b.members == [] and b.ticket is None


def test_removed_member_is_out_and_staff_cannot_be_removed():
    b = Booth("booth1")
    b.open("staff:1", 10)
    b.admit(20, now=1.0)
    b.admit(21, now=2.0)
    b.lock()
    assert b.remove(21) and b.members == [10, 20]
    assert not b.remove(10) and b.locked  # the staff member stays; one resident is left
    with pytest.raises(ConsultError) as e:
        b.require_staff("staff:2", 10)
    assert e.value.code == "not_booth_staff"


def test_staff_disconnect_keeps_the_booth_for_the_grace_period():
    b = Booth("booth2")
    b.open("staff:1", 10)
    b.admit(20, now=0.0)
    b.lock()
    b.staff_away(now=100.0)
    b.staff_away(now=105.0)  # the first time counts
    assert not b.grace_over(now=129.9, grace_s=30.0) and b.locked
    assert b.grace_over(now=130.0, grace_s=30.0)
    b.staff_back()
    assert not b.grace_over(now=1000.0, grace_s=30.0)
    assert b.open("staff:1", 12) is False  # the same staff member back with a new avatar keeps it
    assert b.staff == 12 and b.locked and b.members == [12, 20]
