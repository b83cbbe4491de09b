"""The embedded relay beyond the contract: it forwards without decoding or encoding, relays and
paces keyframe requests, starts a new viewer on a keyframe, caps a publisher, answers NACKs,
notices peers that end by themselves, and builds the ICE configuration it is asked for."""

from __future__ import annotations

import asyncio
import struct
import time

import aiortc.rtcrtpreceiver
import aiortc.rtcrtpsender
import pytest
from aiortc import RTCIceGatherer
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from aiortc.rtp import RTCP_PSFB_PLI
from aioice import TransportPolicy

from yakuba.server.media.backend import MediaError
from yakuba.server.media.embedded import (EmbeddedRelay, KeyframePacer, relay_only_ice, rtc_configuration,
                                          set_ice_transport_policy)
from yakuba.server.media.embedded import aiortc_hooks as hooks
from yakuba.server.media.embedded.forwarding import h264_keyframe_start, vp8_keyframe_start
from yakuba.server.media.embedded.relay import pick_codecs, with_bandwidth

from .aiortc_peers import Publisher, SyntheticVideo, Subscriber, host_candidates, wait_until

ROOM = "booth-1"


@pytest.fixture
async def relay():
    with host_candidates("127.0.0.1"):
        r = EmbeddedRelay()
        await r.start()
        yield r
        await r.close()


@pytest.fixture
async def peers():
    made: list[Publisher | Subscriber] = []
    yield made
    await asyncio.gather(*(p.close() for p in made), return_exceptions=True)


async def publish(relay: EmbeddedRelay, peers: list, pub: str = "pub", **kw) -> Publisher:
    max_bps = kw.pop("max_bitrate_bps", None)
    p = Publisher([], **kw)
    peers.append(p)
    await p.accept(await relay.publish(ROOM, pub, await p.offer(), [], max_bitrate_bps=max_bps))
    return p


async def subscribe(relay: EmbeddedRelay, peers: list, sub: str, pub: str = "pub") -> Subscriber:
    s = Subscriber([])
    peers.append(s)
    await relay.answer(sub, await s.answer(await relay.subscribe(ROOM, sub, pub, [])))
    return s


def video_downstream(relay: EmbeddedRelay, sub: str):
    return next(d for d in relay.downstreams(sub) if d.source.kind == "video")


# -- forwarding without transcoding ------------------------------------------------------------------


async def test_the_relay_neither_decodes_nor_encodes(relay, peers, monkeypatch):
    """Every decoder and encoder made in this process belongs to the test's own peers: one encoder
    per track of the publisher, one decoder per track of each viewer, none for the relay."""
    decoders: list[str] = []
    encoders: list[str] = []
    get_decoder, get_encoder = aiortc.rtcrtpreceiver.get_decoder, aiortc.rtcrtpsender.get_encoder

    def counting_decoder(codec):
        decoders.append(codec.mimeType)
        return get_decoder(codec)

    def counting_encoder(codec):
        encoders.append(codec.mimeType)
        return get_encoder(codec)

    monkeypatch.setattr(aiortc.rtcrtpreceiver, "get_decoder", counting_decoder)
    monkeypatch.setattr(aiortc.rtcrtpsender, "get_encoder", counting_encoder)
    await publish(relay, peers)
    subs = [await subscribe(relay, peers, f"sub{i}") for i in range(3)]
    assert await wait_until(lambda: min(s.frames["video"] for s in subs) > 20
                            and min(s.frames["audio"] for s in subs) > 20, 6)
    assert sorted(encoders) == ["audio/opus", "video/VP8"]  # the publisher's, once
    assert sorted(decoders) == ["audio/opus"] * 3 + ["video/VP8"] * 3  # the viewers' own
    for src in relay.sources("pub"):
        buf = src.receiver._RTCRtpReceiver__jitter_buffer
        assert isinstance(buf, hooks.PassThroughBuffer) and buf.packets > 0
        assert src.packets == buf.packets
    video = next(s for s in relay.sources("pub") if s.kind == "video")
    assert video.frames > 20
    # each viewer got the same payloads: as many video frames forwarded as it decoded, give or take
    # the ones in flight
    for i, s in enumerate(subs):
        assert abs(video_downstream(relay, f"sub{i}").frames - s.frames["video"]) <= 3


async def test_h264_passes_through(relay, peers):
    await publish(relay, peers, video_codec="video/H264", audio=False)
    assert [s.codec.name for s in relay.sources("pub")] == ["H264"]
    sub = await subscribe(relay, peers, "sub")
    assert await wait_until(lambda: sub.frames["video"] > 15, 6), sub.frames
    assert sub.sizes == {(320, 240)}


# -- keyframes ---------------------------------------------------------------------------------------


async def test_viewers_plis_reach_the_publisher_paced_on_its_media_ssrc(relay, peers):
    pub = await publish(relay, peers, audio=False)
    sub = await subscribe(relay, peers, "sub")
    assert await wait_until(lambda: sub.frames["video"] > 5, 6)
    await asyncio.sleep(relay.keyframe_interval)  # past the request of the viewer's start
    d = video_downstream(relay, "sub")
    receiver = next(t.receiver for t in sub.pc.getTransceivers() if t.kind == "video")
    before = len(pub.keyframe_requests)
    for _ in range(20):  # a viewer asking every 100 ms for 2 s
        await receiver._send_rtcp_pli(d.ssrc)
        await asyncio.sleep(0.1)
    await asyncio.sleep(relay.keyframe_interval + 0.2)  # the one folded into the last interval
    assert d.keyframe_requests >= 20
    got = pub.keyframe_requests[before:]
    assert 3 <= len(got) <= 6, got  # ~2.5 s at one per 0.5 s, not 20
    assert all(fmt == RTCP_PSFB_PLI and ssrc == pub.video_ssrc for _, fmt, ssrc in got)
    gaps = [b[0] - a[0] for a, b in zip(got, got[1:], strict=False)]
    assert min(gaps) >= relay.keyframe_interval * 0.9, gaps


async def test_a_new_viewer_asks_for_a_keyframe_and_decodes_quickly(relay, peers):
    pub = await publish(relay, peers, audio=False)
    first = await subscribe(relay, peers, "first")
    assert await wait_until(lambda: first.frames["video"] > 5, 6)
    await asyncio.sleep(1.0)  # well past the stream's first keyframe
    before = len(pub.keyframe_requests)
    t0 = time.monotonic()
    late = await subscribe(relay, peers, "late")
    assert await wait_until(lambda: late.frames["video"] > 0, 3)
    took = late.first_frame_at["video"] - t0
    assert took < 1.5, took
    assert len(pub.keyframe_requests) > before
    d = video_downstream(relay, "late")
    assert d.started and d.keyframe_requests == 0  # the relay asked by itself


def test_keyframe_detection_on_aiortc_packets():
    enc = Vp8Encoder()
    track = SyntheticVideo(320, 240)

    async def two_frames():
        return [await track.recv(), await track.recv()]

    frames = asyncio.run(two_frames())
    key, _ = enc.encode(frames[0], force_keyframe=True)
    delta, _ = enc.encode(frames[1])
    assert vp8_keyframe_start(key[0])
    assert not any(vp8_keyframe_start(p) for p in key[1:] + delta)
    # H264: an SPS in a STAP-A, an IDR FU-A start; not a P slice or a middle fragment
    assert h264_keyframe_start(bytes([24, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xCE]))
    assert h264_keyframe_start(bytes([0x7C, 0x85, 1, 2]))
    assert not h264_keyframe_start(bytes([0x7C, 0x05, 1, 2]))
    assert not h264_keyframe_start(bytes([0x41, 0x9A]))


async def test_keyframe_pacer_folds_requests_into_one_per_interval():
    sent: list[float] = []
    loop = asyncio.get_running_loop()
    pacer = KeyframePacer(lambda: sent.append(loop.time()) is None, interval=0.2)
    for _ in range(10):
        pacer.request()
    assert len(sent) == 1  # the first at once
    await asyncio.sleep(0.3)
    assert len(sent) == 2  # the nine others: one, when the interval ended
    await asyncio.sleep(0.3)
    assert len(sent) == 2 and pacer.requested == 10
    # nothing can be sent before the publisher's SSRC is known: the request waits for it
    ready = False
    waiting = KeyframePacer(lambda: ready, interval=0.2)
    waiting.request()
    assert waiting.sent == 0 and waiting.waiting
    ready = True
    waiting.poke()
    assert waiting.sent == 1
    pacer.close()


# -- caps, NACK, ending ------------------------------------------------------------------------------


async def test_max_bitrate_is_in_the_answer_and_in_the_remb(relay, peers):
    pub = Publisher([], audio=False)
    peers.append(pub)
    answer = await relay.publish(ROOM, "pub", await pub.offer(), [], max_bitrate_bps=300_000)
    await pub.accept(answer)
    video_section = answer.split("m=video", 1)[1]
    assert "b=AS:300\r\n" in video_section and "b=TIAS:300000\r\n" in video_section
    sender = next(t.sender for t in pub.pc.getTransceivers() if t.kind == "video")

    def target() -> int | None:
        enc = sender._RTCRtpSender__encoder
        return None if enc is None else enc.target_bitrate

    assert await wait_until(lambda: target() == 300_000, 5), target()


async def test_a_viewers_nack_is_answered_with_rtx(relay, peers):
    await publish(relay, peers, audio=False)
    sub = await subscribe(relay, peers, "sub")
    assert await wait_until(lambda: sub.frames["video"] > 5, 6)
    d = video_downstream(relay, "sub")
    assert d.rtx_pt is not None
    newest = (d.source.loss.max + d.seq_offset) & 0xFFFF
    receiver = next(t.receiver for t in sub.pc.getTransceivers() if t.kind == "video")
    await receiver._send_rtcp_nack(d.ssrc, [newest])
    await receiver._send_rtcp_nack(d.ssrc, [(newest - 5000) & 0xFFFF])  # long gone: not answered
    assert await wait_until(lambda: d.retransmitted == 1, 2)
    # it came as RTX (its own SSRC, announced in the offer): the viewer took it in
    streams = receiver._RTCRtpReceiver__remote_streams
    assert await wait_until(lambda: d.rtx_ssrc in streams, 1), list(streams)
    await asyncio.sleep(0.2)
    assert d.retransmitted == 1


async def test_late_candidates(relay, peers):
    await publish(relay, peers)
    await relay.subscribe(ROOM, "sub", "pub", [])
    await relay.add_ice("sub", {"candidate": "candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host",
                                "sdpMid": "0", "sdpMLineIndex": 0})
    await relay.add_ice("sub", {"candidate": "", "sdpMid": "0", "sdpMLineIndex": 0})  # end of candidates
    await relay.add_ice("sub", None)
    await relay.add_ice("nobody", {"candidate": "candidate:x", "sdpMid": "0"})  # unknown: ignored
    with pytest.raises(MediaError):
        await relay.add_ice("pub", {"candidate": "candidate:garbage", "sdpMid": "0", "sdpMLineIndex": 0})


async def test_close_peer_cuts_forwarding_before_it_returns(relay, peers):
    await publish(relay, peers)
    sub = await subscribe(relay, peers, "sub")
    assert await wait_until(lambda: sub.frames["video"] > 5, 6)
    downs = relay.downstreams("sub")
    task = asyncio.ensure_future(relay.close_peer("sub"))
    await asyncio.sleep(0)  # close_peer has run up to its first await
    assert not any(d.active for d in downs)
    assert not any(d in d.source.downstreams for d in downs)
    await task


async def test_a_peer_that_goes_away_is_reported(relay, peers):
    ended: list[str] = []

    async def on_closed(peer: str) -> None:
        ended.append(peer)

    relay.on_peer_closed = on_closed
    pub = await publish(relay, peers)
    s1 = await subscribe(relay, peers, "sub1")
    await subscribe(relay, peers, "sub2")
    assert await wait_until(lambda: s1.frames["video"] > 5, 6)
    await s1.close()  # the viewer leaves (DTLS close): the relay notices
    assert await wait_until(lambda: ended == ["sub1"], 3), ended
    assert relay.stats().subscribers == 1
    await pub.close()  # the publisher leaves: reported; its viewers end with it
    assert await wait_until(lambda: ended == ["sub1", "pub"], 3), ended
    st = relay.stats()
    assert (st.publishers, st.subscribers) == (0, 0)


async def test_stats_report_bitrate_packets_frames_and_loss(relay, peers):
    await publish(relay, peers)
    sub = await subscribe(relay, peers, "sub")
    assert await wait_until(lambda: sub.frames["video"] > 5, 6)
    relay.stats()
    await asyncio.sleep(2.5)  # a window, and receiver reports from the viewer
    st = {p.peer: p for p in relay.stats().peers}
    pub_st, sub_st = st["pub"], st["sub"]
    assert pub_st.kinds == sub_st.kinds == ("audio", "video")
    assert pub_st.bitrate_bps > 50_000 and sub_st.bitrate_bps > 50_000
    assert sub_st.packets > 100 and pub_st.frames >= sub_st.frames > 30
    assert pub_st.packets_lost == 0 and sub_st.packets_lost == 0 and sub_st.fraction_lost == 0.0
    assert all(d.packets > 0 for d in relay.downstreams("sub"))
    assert relay.stats().cpu_seconds > 0


async def test_unknown_publisher_and_wrong_room_are_refused(relay, peers):
    await publish(relay, peers)
    with pytest.raises(MediaError) as e:
        await relay.subscribe("another-room", "sub", "pub", [])
    assert e.value.code == "unknown_stream"
    with pytest.raises(MediaError) as e:
        await relay.publish(ROOM, "pub", "v=0\r\n", [])
    assert e.value.code == "media_failed"


# -- configuration -----------------------------------------------------------------------------------


def test_ice_configuration_maps_browser_servers_and_forces_relay():
    turn = {"urls": ["turn:127.0.0.1:3478?transport=udp", "https://not-ice"], "username": "1:u",
            "credential": "c"}
    cfg = rtc_configuration([turn, {"urls": "stun:127.0.0.1:3478"}])
    assert cfg.iceTransportPolicy is RTCIceTransportPolicy.ALL
    assert [(s.urls, s.username, s.credential) for s in cfg.iceServers] == [
        (["turn:127.0.0.1:3478?transport=udp"], "1:u", "c"), (["stun:127.0.0.1:3478"], None, None)]
    with relay_only_ice():
        cfg = rtc_configuration([turn])
        assert cfg.iceTransportPolicy is RTCIceTransportPolicy.RELAY
        conn = RTCIceGatherer(iceServers=cfg.iceServers, iceTransportPolicy=cfg.iceTransportPolicy)._connection
        assert conn._transport_policy is TransportPolicy.RELAY
        assert conn.turn_server == ("127.0.0.1", 3478) and conn.stun_server is None
    assert rtc_configuration([]).iceTransportPolicy is RTCIceTransportPolicy.ALL
    # no servers means none: not aiortc's default public STUN server
    empty = rtc_configuration(None)
    assert empty.iceServers == []
    assert RTCIceGatherer(iceServers=empty.iceServers)._connection.stun_server is None
    with pytest.raises(TypeError):
        set_ice_transport_policy("relay")  # type: ignore[arg-type]


def test_codec_choice_and_bandwidth_lines():
    from aiortc.codecs import CODECS

    video = CODECS["video"]
    h264_first = [c for c in video if c.name == "H264"] + [c for c in video if c.name != "H264"]
    chosen = pick_codecs("video", h264_first)
    assert chosen[0].name == "VP8" and [c.name for c in chosen[1:]] == ["rtx"]
    assert chosen[1].parameters["apt"] == chosen[0].payloadType
    assert pick_codecs("video", [c for c in video if c.name != "VP8"])[0].name == "H264"
    sdp = ("v=0\r\nm=audio 9 X 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
           "m=video 9 X 97\r\nc=IN IP4 0.0.0.0\r\nb=AS:9\r\na=mid:1\r\n")
    assert with_bandwidth(sdp, "video", 1_500_000) == sdp.replace(
        "b=AS:9\r\n", "b=AS:1500\r\nb=TIAS:1500000\r\n")


def test_unsupported_aiortc_is_refused(monkeypatch):
    monkeypatch.setattr(aiortc, "__version__", "1.99.0", raising=False)
    with pytest.raises(hooks.UnsupportedAiortc):
        EmbeddedRelay()


# -- forwarding state, without a network -------------------------------------------------------------


class _FakeSender:
    _ssrc, _rtx_ssrc = 1111, 2222


def _forwarding_pair(monkeypatch):
    """A VP8 TrackSource and one started Downstream whose writes are recorded."""
    from aiortc.codecs import CODECS
    from aiortc.rtcrtpparameters import RTCRtpSendParameters

    import yakuba.server.media.embedded.forwarding as fw

    codecs = [c for c in CODECS["video"] if c.name in ("VP8", "rtx")][:2]
    src = fw.TrackSource("video", codecs[0], receiver=None)
    d = fw.Downstream(src, _FakeSender())
    sent: list[bytes] = []

    async def write(data: bytes) -> None:
        sent.append(data)

    monkeypatch.setattr(fw.hooks, "rtp_writer", lambda sender: write)
    d.start(RTCRtpSendParameters(codecs=codecs, muxId="1"))
    return src, d, sent


def _vp8_packet(seq: int, key: bool, marker: int = 1):
    from aiortc.rtp import RtpPacket

    # descriptor: S=1, partition 0; then the VP8 frame header's P bit (0: keyframe)
    return RtpPacket(payload_type=97, marker=marker, sequence_number=seq, timestamp=seq * 6000, ssrc=42,
                     payload=bytes([0x10, 0x00 if key else 0x01]) + b"x" * 100)


async def test_a_viewer_starts_on_a_keyframe_and_keeps_asking_until_one_comes(monkeypatch):
    import yakuba.server.media.embedded.forwarding as fw

    src, d, sent = _forwarding_pair(monkeypatch)
    asked = src.pacer.requested
    await src.on_packet(_vp8_packet(10, key=False))
    assert sent == [] and not d.started  # a delta frame: not decodable from here
    monkeypatch.setattr(fw, "KEYFRAME_RETRY", 0.0)
    await src.on_packet(_vp8_packet(11, key=False))
    assert src.pacer.requested > asked  # asked again while waiting
    await src.on_packet(_vp8_packet(12, key=True))
    await src.on_packet(_vp8_packet(13, key=False))
    assert d.started and len(sent) == 2
    # same payload, the viewer's header: its SSRC, consecutive sequence numbers
    hdr = [struct.unpack("!BBHLL", p[:12]) for p in sent]
    assert [h[4] for h in hdr] == [1111, 1111]
    assert (hdr[1][2] - hdr[0][2]) & 0xFFFF == 1
    assert sent[0].endswith(_vp8_packet(12, key=True).payload)
    src.close()
    await src.on_packet(_vp8_packet(14, key=False))
    assert len(sent) == 2 and not d.active  # closed: nothing more


async def test_retransmissions_are_limited_per_viewer(monkeypatch):
    import yakuba.server.media.embedded.forwarding as fw

    src, d, sent = _forwarding_pair(monkeypatch)
    for seq in range(100, 120):
        await src.on_packet(_vp8_packet(seq, key=seq == 100))
    sent.clear()

    class Clock:  # the token bucket's clock stands still
        now = 1000.0
        monotonic = staticmethod(lambda: Clock.now)
        time = staticmethod(time.time)

    monkeypatch.setattr(fw, "time", Clock)
    d._rtx_at = Clock.now
    out = (110 + d.seq_offset) & 0xFFFF
    for _ in range(fw.RTX_RATE + 100):  # a viewer NACKing the same packet over and over
        await d.retransmit(out)
    assert (d.retransmitted, d.rtx_refused) == (fw.RTX_RATE, 100)
    Clock.now += 0.5  # half a second later: half the budget again
    for _ in range(fw.RTX_RATE):
        await d.retransmit(out)
    assert d.retransmitted == fw.RTX_RATE + fw.RTX_RATE // 2
    rtx = sent[0]
    assert rtx[1] & 0x7F == d.rtx_pt and int.from_bytes(rtx[8:12], "big") == 2222
    src.close()


async def test_peer_sockets_get_bigger_buffers():
    import socket

    from aiortc import RTCPeerConnection

    from .aiortc_peers import configuration

    with host_candidates("127.0.0.1"):
        pc = RTCPeerConnection(configuration([]))
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        try:
            assert hooks.enlarge_socket_buffers(pc, 1 << 19) == 1
            ice = pc.getTransceivers()[0].receiver.transport.transport
            sock = ice._connection._protocols[0].transport.get_extra_info("socket")
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= 1 << 19
        finally:
            await pc.close()
