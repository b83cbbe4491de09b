"""Socket event models: bad input refused with the right code; outgoing models accurate."""

from __future__ import annotations

import typing

import pytest

from yakuba.server.auth.principal import Kind, Principal
from yakuba.server.protocol import (
    EVENTS,
    HTTP_STATUS,
    INCOMING,
    LANGS,
    MESSAGES,
    OUTGOING,
    REGISTRY,
    STYLES,
    ErrorCode,
    ErrorOut,
    JoinAck,
    JoinIn,
    NoticeOut,
    ProtocolError,
    RoomPatchOut,
    RoomStateOut,
    error_payload,
    parse,
)
from yakuba.server.protocol.events import AppearanceIn


def _code(event, data) -> ErrorCode:
    with pytest.raises(ProtocolError) as e:
        parse(event, data)
    return e.value.code


@pytest.mark.parametrize("event, data", [
    ("join", {"name": "a", "role": "staff"}),  # a client-sent role is an unknown field
    ("join", {"municipality": "131016"}),
    ("join", {"name": 5}),  # strict: a number is not a name
    ("join", {"name": "x" * 201}),
    ("join", {"name": "長" * 25}),  # NAME_MAX after clean-up
    ("join", {"style": "giant"}),
    ("join", {"color": "red"}),
    ("join", {"resume": "short"}),
    ("join", ["not", "an", "object"]),
    ("move", {"vx": "1", "vy": 0}),
    ("move", {"vx": 1e6, "vy": 0}),
    ("move", {"target": [1, 2, 3]}),
    ("move", {"goto": "../etc"}),
    ("move", {"stop": 1}),
    ("chat", {}),
    ("chat", {"text": ""}),
    ("chat", {"text": "x" * 4001}),
    ("chat", {"text": "hi", "zone": "staff"}),
    ("appearance", {"style": "tall", "name": "x"}),
    ("leave", {"now": True}),
])
def test_bad_payloads_are_invalid_payload(event, data):
    assert _code(event, data) is ErrorCode.INVALID_PAYLOAD


def test_unknown_event_and_accepted_forms():
    assert _code("teleport", {}) is ErrorCode.UNKNOWN_EVENT
    assert parse("join", None) == JoinIn()
    j = parse("join", {"name": " \u202eＡｌｉｃｅ\u200b  ", "style": "senior", "color": "#A1b2C3", "lang": "en"})
    assert j.name == "Alice"  # NFKC, bidi override and zero-width removed
    m = parse("move", {"vx": 1, "vy": -0.5})
    assert m.kind() == "velocity"
    with pytest.raises(ProtocolError) as e:
        parse("move", {"vx": 1}).kind()
    assert e.value.code is ErrorCode.INVALID_PAYLOAD and "both" in e.value.message
    with pytest.raises(ProtocolError):
        parse("move", {"vx": 1, "vy": 1, "stop": True}).kind()
    assert parse("appearance", {"color": "#000000"}).color == "#000000"


def test_style_and_lang_literals_are_the_limits():
    assert typing.get_args(typing.get_args(JoinIn.model_fields["style"].annotation)[0]) == STYLES
    assert typing.get_args(typing.get_args(AppearanceIn.model_fields["style"].annotation)[0]) == STYLES
    assert typing.get_args(typing.get_args(JoinIn.model_fields["lang"].annotation)[0]) == LANGS


def test_registry():
    from yakuba.server.protocol.consult_events import CONSULT_EVENTS
    from yakuba.server.protocol.hall_events import HALL_EVENTS
    from yakuba.server.protocol.media_events import MEDIA_EVENTS
    from yakuba.server.protocol.salon_events import SALON_EVENTS

    feature = CONSULT_EVENTS + MEDIA_EVENTS + HALL_EVENTS + SALON_EVENTS
    consult_in = {e.name for e in feature if e.direction == "in"}
    consult_out = {e.name for e in feature if e.direction == "out"}
    assert "queue.take" in consult_in and "queue.invite" in consult_out
    assert set(INCOMING) == {"join", "move", "chat", "appearance", "leave"} | consult_in
    assert set(OUTGOING) == {"snap", "chat", "zone", "error", "notice", "room", "room_patch"} | consult_out
    assert REGISTRY[("in", "chat")].model is not REGISTRY[("out", "chat")].model
    assert len(REGISTRY) == len(EVENTS)  # no (direction, name) twice
    assert [e.name for e in EVENTS if e.binary] == ["snap"]


def test_every_code_has_a_message_and_http_statuses_are_errors():
    assert set(MESSAGES) == set(ErrorCode)
    assert all(400 <= s <= 599 for s in HTTP_STATUS.values())
    assert len({c.value for c in ErrorCode}) == len(ErrorCode)
    e = ProtocolError(ErrorCode.BLOCKED)
    assert (e.message, e.status) == (MESSAGES[ErrorCode.BLOCKED], 400)
    assert ProtocolError(ErrorCode.TOO_LARGE, "big", 413).body() == {"error": {"code": "too_large", "message": "big"}}
    ErrorOut.model_validate(error_payload(ErrorCode.NO_PATH, "move"))


def _ack(**over):
    staff = Principal(kind=Kind.ADMIN, staff_id=1, municipality="131016", roles=frozenset({"desk", "hall"}))
    base = {"ok": True, "id": 7, "token": "t" * 32, "zone": "entrance", "role": "staff", "x": 1.5, "y": 2.0,
            "heading": 90.0, "tick_hz": 10.0, "principal": staff.public(), "protocol": 1}
    return {**base, **over}


def test_join_ack_model():
    ack = JoinAck.model_validate(_ack())
    assert ack.principal.kind == "admin" and ack.principal.roles == ["desk", "hall"]
    for bad in ({"tick_hz": 0}, {"role": "admin"}, {"principal": {"kind": "mayor"}}, {"extra": 1}):
        with pytest.raises(ValueError):
            JoinAck.model_validate(_ack(**bad))
    for missing in ("tick_hz", "principal"):
        doc = _ack()
        del doc[missing]
        with pytest.raises(ValueError):
            JoinAck.model_validate(doc)


def test_notice_and_room_models():
    NoticeOut.model_validate({"kind": "draining", "retry_after_s": 2})
    NoticeOut.model_validate({"kind": "session_ended"})
    with pytest.raises(ValueError):
        NoticeOut.model_validate({"kind": "party"})
    RoomStateOut.model_validate({"room": "booth-1", "type": "booth", "version": 0, "state": {"locked": False}})
    RoomPatchOut.model_validate({"room": "booth-1", "version": 1, "patch": {"locked": True}})
    with pytest.raises(ValueError):
        RoomPatchOut.model_validate({"room": "booth-1", "version": 0, "patch": {}})  # a patch follows version 0
    with pytest.raises(ValueError):
        RoomStateOut.model_validate({"room": "hall", "version": 0, "state": {}})  # type missing


def test_rooms_send_what_the_models_say():
    # The real room classes (pure; the caller passes the time) against RoomStateOut/RoomPatchOut,
    # and the client rule the docs give (apply any newer patch, keys replace, null is a value)
    # ends with the room's own state although versions jump.
    from yakuba.server.rooms.booth import BoothRoom
    from yakuba.server.rooms.hall import HallRoom
    from yakuba.server.rooms.lobby import LobbyRoom
    from yakuba.server.rooms.salon import SalonRoom

    for cls in (LobbyRoom, SalonRoom, HallRoom, BoothRoom):
        room = cls("r-" + cls.type)
        room.join(1)
        got = RoomStateOut.model_validate(room.snapshot())
        assert got.type == cls.type
        have = {"version": got.version, "state": dict(got.state)}
        room.due(0.0)  # the patch of what the snapshot already holds
        room.join(2)
        room.leave(1)
        room.join(3)
        msg = room.due(10.0)
        if msg is None:  # a room whose state ignores members
            assert room.snapshot()["state"] == have["state"]
            continue
        patch = RoomPatchOut.model_validate(msg)
        assert patch.version == got.version + 3  # three changes, one patch
        if patch.version > have["version"]:
            have["state"].update(patch.patch)
            have["version"] = patch.version
        assert have == {"version": room.version, "state": room.state}
    hall = HallRoom("hall")
    st = RoomStateOut.model_validate(hall.snapshot()).state
    assert st["presenter"] is None and st["show_v"] == 0 and st["questions"] == [] and st["streams"] == []


def test_every_code_the_code_base_sends_is_in_the_one_list():
    # ONE list: a code written as a string literal anywhere in server/, gis/ or world/ (a room's
    # refusal, a policy denial, a world rejection, an upload or API error, a job's error dict) must
    # be an ErrorCode, or the browser would get a code it cannot translate and ErrorCode(code) raise.
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    pat = re.compile(r'(?:RoomError|UploadError|_deny|ProtocolError|ErrorCode)\(\s*"([a-z_]+)"'
                     r'|ApiError\(\s*\d+\s*,\s*"([a-z_]+)"|Rejection\([\w.]+,\s*"([a-z_]+)"|"code":\s*"([a-z_]+)"')
    known = {c.value for c in ErrorCode}
    seen, unknown = set(), []
    for base in ("server", "gis", "world"):
        for p in sorted((root / base).rglob("*.py")):
            if "protocol" in p.relative_to(root).parts:
                continue
            for m in pat.finditer(p.read_text(encoding="utf-8")):
                code = next(g for g in m.groups() if g)
                seen.add(code)
                if code not in known:
                    unknown.append(f"{p.relative_to(root)}: {code}")
    assert not unknown, f"codes missing from server/protocol/errors.py: {unknown}"
    assert {"blocked", "unknown_intent", "forbidden", "bad_zip"} <= seen  # the scan does find them
