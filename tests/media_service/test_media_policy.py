"""The media rules of the one policy module: who may publish, watch and show documents where."""

from __future__ import annotations

import pytest

from yakuba.server.auth.policy import Action, MediaResource, decide
from yakuba.server.auth.principal import Kind, Principal, resident

STAFF = Principal(kind=Kind.STAFF, staff_id=7, municipality="131016")
RES = resident("r1")
PUB, SUB, DOC = Action.PUBLISH_MEDIA, Action.SUBSCRIBE_MEDIA, Action.SHARE_DOC


def m(room_type: str = "booth", member: bool = True, source: str | None = "mic", presenter: int | None = None) -> MediaResource:
    return MediaResource("booth1" if room_type == "booth" else room_type, room_type, 5, member, presenter, source)


@pytest.mark.parametrize("who,action,res,allowed,code", [
    (RES, PUB, m(), True, None),  # a resident speaks in the booth they are in
    (RES, PUB, m(source="camera"), True, None),
    (RES, PUB, m(source="screen"), False, "media_forbidden"),  # screens: staff only
    (STAFF, PUB, m(source="screen"), True, None),
    (RES, DOC, m(source=None), False, "media_forbidden"),
    (STAFF, DOC, m(source=None), True, None),
    (RES, SUB, m(member=False), False, "media_forbidden"),  # a bystander outside (or locked out)
    (STAFF, SUB, m(member=False), False, "media_forbidden"),  # staff too: a member or nothing
    (STAFF, PUB, m(member=False), False, "media_forbidden"),
    (RES, SUB, m(), True, None),
    (RES, PUB, m("lobby"), False, "media_forbidden"),  # never in the open lobby
    (STAFF, SUB, m("lobby"), False, "media_forbidden"),
    (RES, SUB, m("hall", source=None), True, None),  # the audience listens
    (RES, PUB, m("hall"), False, "media_forbidden"),
    (STAFF, PUB, m("hall", presenter=9), False, "media_forbidden"),  # staff, not the presenter
    (STAFF, PUB, m("hall", source="screen", presenter=5), True, None),
    (STAFF, DOC, m("hall", source=None, presenter=5), True, None),
    (RES, SUB, m("salon", source=None), False, "media_forbidden"),
    (STAFF, PUB, m("salon"), True, None),
])
def test_media_rules(who, action, res, allowed, code):
    d = decide(who, action, res)
    assert d.allowed is allowed and d.code == code, d


def test_media_actions_without_a_media_resource_are_denied():
    assert not decide(STAFF, PUB, None)
    assert not decide(STAFF, SUB, "booth1")  # a bare room id is not a MediaResource: default deny
