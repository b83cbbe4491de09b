"""The MediaBackend contract, for every backend (embedded relay, Janus).

A subclass provides two fixtures: ``backend`` (a started MediaBackend, closed after the test) and
``peer_host`` (the IP address the Python peers gather their host candidates on). It may override
``ice_servers`` (default: none) and ``room``. Media is real time: the tests wait on real frames
decoded by aiortc peers, with timeouts, never on fixed sleeps alone.
"""

from __future__ import annotations

import asyncio

import pytest

from yakuba.server.media.backend import MediaBackend, MediaError

from .aiortc_peers import Publisher, Subscriber, host_candidates, wait_until

FLOW_TIMEOUT = 6.0  # s until frames flow (ICE, DTLS, the first keyframe)
QUIET = 1.0  # s a stopped stream is watched to be sure it stays stopped


class MediaContract:
    @pytest.fixture
    def ice_servers(self) -> list[dict]:
        return []

    @pytest.fixture
    def room(self) -> str:
        return "booth-1"

    @pytest.fixture(autouse=True)
    def _candidates_on_peer_host(self, peer_host: str):
        with host_candidates(peer_host):
            yield

    @pytest.fixture
    async def peers(self):
        """Every aiortc peer a test makes, closed at the end."""
        made: list[Publisher | Subscriber] = []
        yield made
        await asyncio.gather(*(p.close() for p in made), return_exceptions=True)

    # -- helpers -------------------------------------------------------------------------------------
    async def publish(self, backend: MediaBackend, room: str, pub: str, ice: list[dict], peers: list,
                      **kw) -> Publisher:
        p = Publisher(ice, **kw)
        peers.append(p)
        await p.accept(await backend.publish(room, pub, await p.offer(), ice))
        return p

    async def subscribe(self, backend: MediaBackend, room: str, sub: str, pub: str, ice: list[dict],
                        peers: list) -> Subscriber:
        s = Subscriber(ice)
        peers.append(s)
        offer = await backend.subscribe(room, sub, pub, ice)
        await backend.answer(sub, await s.answer(offer))
        return s

    @staticmethod
    async def stays_still(sub: Subscriber, kind: str) -> bool:
        """True when ``sub``'s ``kind`` frame count does not move for QUIET seconds (after what
        was already on the wire has drained)."""
        await asyncio.sleep(0.3)
        before = sub.frames[kind]
        await asyncio.sleep(QUIET)
        return sub.frames[kind] == before

    # -- the contract --------------------------------------------------------------------------------
    async def test_video_and_audio_reach_a_subscriber(self, backend, room, ice_servers, peers):
        await self.publish(backend, room, "pub-a", ice_servers, peers)
        sub = await self.subscribe(backend, room, "sub-a", "pub-a", ice_servers, peers)
        assert await wait_until(lambda: sub.frames["video"] > 15 and sub.frames["audio"] > 25, FLOW_TIMEOUT), sub.frames
        assert sub.sizes == {(320, 240)}

    async def test_two_subscribers_both_receive(self, backend, room, ice_servers, peers):
        await self.publish(backend, room, "pub-b", ice_servers, peers)
        s1 = await self.subscribe(backend, room, "sub-b1", "pub-b", ice_servers, peers)
        s2 = await self.subscribe(backend, room, "sub-b2", "pub-b", ice_servers, peers)
        assert await wait_until(lambda: min(s1.frames["video"], s2.frames["video"]) > 15, FLOW_TIMEOUT), \
            (s1.frames, s2.frames)
        assert s1.frames["audio"] > 0 and s2.frames["audio"] > 0

    async def test_closing_a_subscriber_stops_its_frames(self, backend, room, ice_servers, peers):
        await self.publish(backend, room, "pub-c", ice_servers, peers)
        gone = await self.subscribe(backend, room, "sub-c1", "pub-c", ice_servers, peers)
        stays = await self.subscribe(backend, room, "sub-c2", "pub-c", ice_servers, peers)
        assert await wait_until(lambda: min(gone.frames["video"], stays.frames["video"]) > 5, FLOW_TIMEOUT)
        await backend.close_peer("sub-c1")
        kept_from = stays.frames["video"]
        assert await self.stays_still(gone, "video"), "frames still reach a closed subscriber"
        assert await self.stays_still(gone, "audio")
        assert stays.frames["video"] > kept_from + 10, "the other subscriber must keep receiving"

    async def test_closing_the_publisher_stops_every_subscriber(self, backend, room, ice_servers, peers):
        await self.publish(backend, room, "pub-d", ice_servers, peers)
        subs = [await self.subscribe(backend, room, f"sub-d{i}", "pub-d", ice_servers, peers) for i in (1, 2)]
        assert await wait_until(lambda: min(s.frames["video"] for s in subs) > 5, FLOW_TIMEOUT)
        await backend.close_peer("pub-d")
        stills = await asyncio.gather(*(self.stays_still(s, "video") for s in subs))
        assert all(stills), [s.frames for s in subs]
        assert backend.stats().publishers == 0
        await backend.close_peer("sub-d1")  # already gone with its publisher: ignored

    async def test_bad_sdp_raises_media_error(self, backend, room, ice_servers):
        with pytest.raises(MediaError) as e:
            await backend.publish(room, "pub-e", "this is not SDP", ice_servers)
        assert e.value.code
        with pytest.raises(MediaError):
            await backend.subscribe(room, "sub-e", "no-such-publisher", ice_servers)

    async def test_bad_answer_raises_media_error(self, backend, room, ice_servers, peers):
        await self.publish(backend, room, "pub-f", ice_servers, peers)
        await backend.subscribe(room, "sub-f", "pub-f", ice_servers)
        with pytest.raises(MediaError):
            await backend.answer("sub-f", "v=0\r\nnot an answer\r\n")

    async def test_unknown_ids_are_ignored_by_close_peer(self, backend):
        await backend.close_peer("never-seen")
        await backend.close_peer("")

    async def test_stats_count_publishers_and_subscribers(self, backend, room, ice_servers, peers):
        assert (backend.stats().publishers, backend.stats().subscribers) == (0, 0)
        await self.publish(backend, room, "pub-g", ice_servers, peers)
        s1 = await self.subscribe(backend, room, "sub-g1", "pub-g", ice_servers, peers)
        await self.subscribe(backend, room, "sub-g2", "pub-g", ice_servers, peers)
        assert await wait_until(lambda: s1.frames["video"] > 5, FLOW_TIMEOUT)
        st = backend.stats()
        assert (st.publishers, st.subscribers) == (1, 2)
        assert {p.peer: p.role for p in st.peers} == {"pub-g": "publisher", "sub-g1": "subscriber",
                                                     "sub-g2": "subscriber"}
        await backend.close_peer("sub-g2")
        st = backend.stats()
        assert (st.publishers, st.subscribers) == (1, 1)
