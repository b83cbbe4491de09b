"""The media service's decisions on one node, with the room registry and the world's booth locks
real and the backend a recorder (the real backends are the contract suite's, tests/media): who
gets a stream, what ends when someone leaves or a booth locks, and that ids are per owner."""

from __future__ import annotations

import pytest

from yakuba.server.auth.principal import Kind, Principal, resident
from yakuba.server.media.backend import BackendStats, MediaBackend, MediaError
from yakuba.server.media.documents import DocumentShelf
from yakuba.server.media.service import MediaService
from yakuba.server.rooms.registry import RoomRegistry
from yakuba.world.layout import load_layout
from yakuba.world.zones import BoothState

STAFF = Principal(kind=Kind.STAFF, staff_id=1)
RES, BY = resident("r"), resident("b")
S, R, B = 1, 2, 3  # avatars: staff, resident, bystander
PDF = b"%PDF-1.4\n1 0 obj << /Type /Page >> endobj\n2 0 obj << /Type /Page >> endobj\n%%EOF\n"


class Recorder(MediaBackend):
    """Records what the service asks (the service's tests); never negotiates anything."""

    name = "embedded"

    def __init__(self) -> None:
        super().__init__()
        self.open: set[str] = set()
        self.closed: list[str] = []

    async def publish(self, room, pub, offer_sdp, ice_servers=None):
        self.open.add(pub)
        return "answer:" + pub

    async def subscribe(self, room, sub, pub, ice_servers=None):
        self.open.add(sub)
        return "offer:" + sub

    async def answer(self, sub, answer_sdp):
        pass

    async def close_peer(self, peer):
        self.open.discard(peer)
        self.closed.append(peer)

    def stats(self):
        return BackendStats(publishers=len(self.open))


@pytest.fixture
def world():
    layout = load_layout()
    rooms = RoomRegistry(layout)
    booths = {z.id: BoothState() for z in layout.zones.values() if z.access == "members_when_locked"}
    told: list[tuple[int, str, dict]] = []

    async def emit(aid, event, payload):
        told.append((aid, event, payload))

    principals = {S: STAFF, R: RES, B: BY}
    svc = MediaService(Recorder(), rooms, booths, DocumentShelf(1 << 20), emit)
    svc.principal_of = principals.get
    return svc, rooms, booths, told


async def test_members_publish_and_subscribe_and_outsiders_are_refused(world):
    svc, rooms, booths, told = world
    rooms.move(S, None, "booth1")
    rooms.move(R, None, "booth1")
    rooms.move(B, None, "corridor")
    sid, answer = await svc.publish(STAFF, S, "booth1", "mic", "offer", [])
    assert answer == "answer:" + sid
    assert rooms.rooms["booth1"].state["streams"] == [{"id": sid, "owner": S, "source": "mic", "muted": False, "audio_only": False}]
    sub, offer = await svc.subscribe(RES, R, "booth1", sid, [])
    assert offer == "offer:" + sub
    for call in (svc.subscribe(BY, B, "booth1", sid, []), svc.publish(BY, B, "booth1", "mic", "o", [])):
        with pytest.raises(MediaError) as e:
            await call
        assert e.value.code == "media_forbidden"
    assert svc.refused == {"subscribe_media": 1, "publish_media": 1}
    # someone else's ids are not theirs to stop, answer or mute
    for call in (svc.stop(B, sid), svc.answer(B, sub, "x"), svc.mute(R, sid, True)):
        with pytest.raises(MediaError) as e:
            await call
        assert e.value.code == "unknown_stream"
    with pytest.raises(MediaError):
        await svc.subscribe(STAFF, S, "booth1", sid, [])  # one's own stream


async def test_lock_ends_the_media_of_everyone_not_admitted(world):
    svc, rooms, booths, told = world
    for a in (S, R, B):
        rooms.move(a, None, "booth1")
    sid, _ = await svc.publish(STAFF, S, "booth1", "screen", "offer", [])
    sub_r, _ = await svc.subscribe(RES, R, "booth1", sid, [])
    sub_b, _ = await svc.subscribe(BY, B, "booth1", sid, [])
    booths["booth1"].locked, booths["booth1"].members = True, {S, R}
    assert await svc.revalidate("booth1", "locked") == 1
    assert (B, "media.ended", {"id": sub_b, "reason": "locked"}) in told
    assert sub_b in svc.backend.closed and sub_r not in svc.backend.closed
    assert set(svc.subs) == {sub_r}


async def test_leaving_the_room_ends_ones_media_at_once(world):
    svc, rooms, booths, told = world
    rooms.move(S, None, "booth1")
    rooms.move(R, None, "booth1")
    sid, _ = await svc.publish(STAFF, S, "booth1", "mic", "offer", [])
    sub, _ = await svc.subscribe(RES, R, "booth1", sid, [])
    svc.reason_hint[R] = "removed"
    rooms.move(R, "booth1", "corridor")  # put out: synchronous bookkeeping, then the close
    assert sub not in svc.subs and sid in svc.streams
    await svc.settle()
    assert (R, "media.ended", {"id": sub, "reason": "removed"}) in told
    rooms.move(S, "booth1", "corridor")  # the publisher leaves: its stream ends
    assert rooms.rooms["booth1"].state["streams"] == [] and not svc.streams
    await svc.settle()
    assert not svc.backend.open


async def test_a_stopped_stream_ends_its_subscriptions(world):
    svc, rooms, booths, told = world
    rooms.move(S, None, "booth1")
    rooms.move(R, None, "booth1")
    sid, _ = await svc.publish(STAFF, S, "booth1", "mic", "offer", [])
    sub, _ = await svc.subscribe(RES, R, "booth1", sid, [])
    await svc.stop(S, sid)
    assert (R, "media.ended", {"id": sub, "reason": "stopped"}) in told
    assert not any(a == S for a, _, _ in told)  # the one who stopped asked: not told again
    assert not svc.backend.open


async def test_documents_pages_pointer_and_signed_addresses(world):
    svc, rooms, booths, told = world
    rooms.move(S, None, "booth1")
    rooms.move(R, None, "booth1")
    doc = svc.shelf.add("booth1", PDF, STAFF.key)
    assert (doc.type, doc.pages) == ("pdf", 2)
    with pytest.raises(MediaError):
        svc.show_doc(RES, R, "booth1", doc.id, 1)  # residents don't share documents
    svc.show_doc(STAFF, S, "booth1", doc.id, 2)
    svc.point(STAFF, S, "booth1", (0.25, 0.5))
    st = rooms.rooms["booth1"].state
    assert st["doc"]["id"] == doc.id and st["page"] == 2 and st["pointer"] == [0.25, 0.5]
    token, kind = svc.doc_token(RES, R, "booth1", doc.id, 60)
    assert kind == "pdf" and svc.shelf.verify(doc.id, token) == R
    assert svc.shelf.verify(doc.id, token.replace(str(R), str(B), 1)) is None  # not transferable
    assert svc.shelf.verify(doc.id, svc.shelf.sign(doc.id, R, -1)) is None  # expired
    with pytest.raises(MediaError):
        svc.doc_token(BY, B, "booth1", doc.id, 60)  # not a member
    rooms.move(S, "booth1", None)
    rooms.move(R, "booth1", None)  # the room empties: nothing kept
    assert svc.shelf.get(doc.id) is None and rooms.rooms["booth1"].state["doc"] is None


async def test_the_hall_presenter_alone_shares_and_stops_on_handing_over(world):
    svc, rooms, booths, told = world
    from yakuba.server.rooms.hall import HallRoom

    for a in (S, R):
        rooms.move(a, None, "hall")
    hall = rooms.rooms["hall"]
    assert isinstance(hall, HallRoom)
    with pytest.raises(MediaError):
        await svc.publish(STAFF, S, "hall", "screen", "offer", [])  # staff, but not on the stage
    hall.present(STAFF, S)
    sid, _ = await svc.publish(STAFF, S, "hall", "screen", "offer", [])
    sub, _ = await svc.subscribe(RES, R, "hall", sid, [])  # the audience watches
    with pytest.raises(MediaError):
        await svc.publish(RES, R, "hall", "mic", "offer", [])
    hall.release(STAFF, S)
    assert await svc.revalidate("hall") == 2  # the stream and, with it, its subscription
    assert (S, "media.ended", {"id": sid, "reason": "denied"}) in told and not svc.streams
