"""The hall room's rules, pure: the stage, the view document, questions, reactions, polls."""

from __future__ import annotations

import pytest

from yakuba.server.auth.principal import Kind, Principal, resident
from yakuba.server.rooms.base import RoomError
from yakuba.server.rooms.hall import HallRoom

STAFF = Principal(kind=Kind.STAFF, staff_id=1)
STAFF2 = Principal(kind=Kind.STAFF, staff_id=2)
RES = resident("r")
P, C, A, B = 1, 2, 3, 4  # presenter, co-presenter, attendees


@pytest.fixture
def hall():
    h = HallRoom("hall")
    for m in (P, C, A, B):
        h.join(m)
    return h


def refused(fn, *args, code: str | None = None):
    with pytest.raises(RoomError) as e:
        fn(*args)
    if code:
        assert e.value.code == code, e.value.code


def test_stage_handover_and_takeover_on_leave(hall):
    refused(hall.present, RES, A, code="forbidden")  # residents don't present
    hall.present(STAFF, P)
    refused(hall.present, STAFF2, C, code="busy")
    refused(hall.cohost, STAFF2, C, C, True, code="forbidden")  # only the presenter names co-presenters
    refused(hall.cohost, STAFF, P, A, False, code="forbidden")  # a resident cannot be one
    hall.cohost(STAFF, P, C, True)
    assert hall.state["copresenters"] == [C]
    hall.handover(STAFF, P, C)
    assert (hall.state["presenter"], hall.state["copresenters"]) == (C, [P])
    hall.handover(STAFF2, C, P)
    hall.leave(P)  # the presenter disconnects: the co-presenter carries on
    assert (hall.state["presenter"], hall.state["copresenters"]) == (C, [])
    hall.leave(C)
    assert hall.state["presenter"] is None


def test_only_the_presenter_writes_the_view(hall):
    hall.present(STAFF, P)
    hall.cohost(STAFF, P, C, True)
    v = hall.show(STAFF, P, {"sim": "job-1", "t": 120.0, "playing": True}, [])
    assert v == 1 and hall.state["show"]["sim"] == "job-1" and hall.state["show"]["t"] == 120.0
    refused(hall.show, RES, A, {"t": 999.0}, [], code="forbidden")
    refused(hall.show, STAFF2, C, {"t": 999.0}, [], code="forbidden")  # co-presenters moderate, not drive
    assert hall.state["show"]["t"] == 120.0 and hall.state["show_v"] == 1
    hall.show(STAFF, P, {}, ["sim"])
    assert hall.state["show"]["sim"] is None and hall.state["show_v"] == 2
    refused(hall.show, STAFF, 99, {"t": 1.0}, [], code="not_member")


def test_questions_votes_pick_and_the_summary_has_no_names(hall):
    hall.present(STAFF, P)
    q1 = hall.ask(RES, A, "道路はいつ広がりますか", "山田")
    q2 = hall.ask(RES, B, "避難場所は？", None)
    hall.upvote(RES, A, q2)
    hall.upvote(RES, A, q2)  # once per person
    hall.upvote(RES, B, q2)
    qs = hall.state["questions"]
    assert [q["id"] for q in qs] == [q2, q1] and qs[0]["votes"] == 2 and qs[0]["by"] is None and qs[1]["by"] == "山田"
    refused(hall.pick, RES, A, q1, code="forbidden")
    hall.pick(STAFF, P, q2)
    hall.answered(STAFF, P, q2)
    assert hall.state["on_screen"] == q2 and hall.state["questions"][-1]["answered"]
    for _ in range(2):
        hall.ask(RES, A, "もう一つ", "山田")
    refused(hall.ask, RES, A, "4つ目", "山田", code="rate_limited")
    pid = hall.open_poll(STAFF, P, "どちらの案がよいですか", ["道路拡幅", "広場"])
    hall.vote(RES, A, pid, 0, "通学路が安全になる")
    hall.vote(RES, B, pid, 1, None)
    hall.vote(RES, B, pid, 0, None)  # a second vote replaces the first
    assert hall.state["poll"]["counts"] == [2, 0]
    refused(hall.vote, RES, A, pid, 5, None, code="invalid_payload")
    hall.react(RES, A, "clap")
    hall.react(RES, B, "clap")
    s = hall.summary(STAFF, P)
    assert s["reactions"]["clap"] == 2 and s["polls"][0]["counts"] == [2, 0]
    assert s["polls"][0]["reasons"] == [{"option": "道路拡幅", "why": "通学路が安全になる"}]
    assert "山田" not in repr(s) and all(set(q) == {"text", "votes", "answered"} for q in s["questions"])
    refused(hall.summary, RES, A, code="forbidden")


def test_another_nodes_message_reaches_only_the_hall_operations(hall):
    from yakuba.server.hall import replication as rep

    hall.present(STAFF, P)
    before = (set(hall.members), hall.version)
    for op in ("leave", "join", "update", "handle", "summary", "_apply"):
        with pytest.raises(ValueError):
            rep.apply(hall, {"op": op, "a": [], "actor": P, "p": ["staff", 1], "patch": {}})
    assert (set(hall.members), hall.version) == before
    rep.apply(hall, {"op": "show", "a": [{"t": 60.0}, []], "actor": P, "p": ["staff", 1], "patch": {}})
    assert hall.state["show"]["t"] == 60.0
