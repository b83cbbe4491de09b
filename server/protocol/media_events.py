"""Socket events of media: voice, screen and document sharing in rooms (issue #17).

Signalling rides the existing socket: the browser offers to publish, asks to subscribe to a
stream (the server offers, the browser answers), sends late ICE candidates, and stops. What a
room shows about its media (streams, the shared document, its page, the pointer) is room state
(rooms/media_state.py keys ``streams``, ``doc``, ``page``, ``pointer``), sent on join and as
`room_patch` like any other room state. Whose stream, who may publish or see it: always the
server's session and the socket's own avatar, never a field here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictFloat, StrictInt

from .consult_events import ZoneId
from .events import ErrorAck, EventSpec, OkAck, _In, _Out

SDP_MAX = 32_000  # a browser offer with audio, video and its candidates is ~5-10 kB
MediaId = Annotated[str, Field(min_length=6, max_length=24, pattern=r"^[A-Za-z0-9_-]+$")]
DocId = MediaId
Source = Literal["mic", "camera", "screen"]
Unit = Annotated[StrictFloat | StrictInt, Field(ge=0, le=1)]


class MediaPublishIn(_In):
    """`media.publish`: an SDP offer (sendonly) into a room the sender is a member of."""

    room: ZoneId
    source: Source
    sdp: Annotated[str, Field(min_length=10, max_length=SDP_MAX)]
    audio_only: bool = Field(False, description="a weak connection: the publisher sends no video")


class MediaSubscribeIn(_In):
    """`media.subscribe`: a stream id from the room's `streams`."""

    room: ZoneId
    stream: MediaId


class MediaAnswerIn(_In):
    """`media.answer`: the browser's answer to the offer of a `media.subscribe` ack."""

    id: MediaId
    sdp: Annotated[str, Field(min_length=10, max_length=SDP_MAX)]


class IceCandidate(_In):
    candidate: Annotated[str, Field(max_length=1000)]
    sdpMid: Annotated[str, Field(max_length=40)] | None = None
    sdpMLineIndex: Annotated[StrictInt, Field(ge=0, le=64)] | None = None


class MediaIceIn(_In):
    """`media.ice`: a late candidate for one of the sender's own peers (null: no more)."""

    id: MediaId
    candidate: IceCandidate | None = None


class MediaStopIn(_In):
    """`media.stop`: end one of the sender's own publications or subscriptions."""

    id: MediaId


class MediaMuteIn(_In):
    """`media.mute`: the publisher's own mute state, shown to the room."""

    id: MediaId
    muted: bool


class MediaDocIn(_In):
    """`media.doc`: show a document uploaded to this room (POST /api/media/docs), at a page;
    ``doc`` null stops sharing. Staff (the hall: the presenter) only."""

    room: ZoneId
    doc: DocId | None = None
    page: Annotated[StrictInt, Field(ge=1, le=2000)] = 1


class MediaPointerIn(_In):
    """`media.pointer`: where the sharer points on the shown page (0..1 of its width and
    height); null hides the pointer."""

    room: ZoneId
    x: Unit | None = None
    y: Unit | None = None


class MediaConfigIn(_In):
    """`media.config`: what the browser needs before it offers: the ICE servers with this
    session's time-limited TURN credentials (TURN REST API scheme), the backend, the caps."""


class MediaDocUrlIn(_In):
    """`media.doc_url`: a short-lived address to fetch the shown document, for a member of the
    room (documents are never served to anyone else)."""

    room: ZoneId
    doc: DocId


class MediaIceServer(_Out):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class MediaConfigAck(_Out):
    ok: Literal[True] = True
    backend: Literal["embedded", "janus"]
    iceServers: list[MediaIceServer]
    ttl_s: int = Field(description="the TURN credentials expire after this; ask again before")
    max_video_kbps: int = Field(description="the cap a publisher applies to its video (sender maxBitrate)")
    max_audio_kbps: int
    max_doc_bytes: int = Field(description="the largest document the upload takes")


class MediaDocUrlAck(_Out):
    ok: Literal[True] = True
    url: str = Field(description="same-site path with a signed token; GET it within expires_s")
    type: Literal["pdf", "png", "jpeg", "webp"]
    expires_s: int


class MediaPublishAck(_Out):
    ok: Literal[True] = True
    id: MediaId = Field(description="the stream id the room's `streams` show")
    sdp: str = Field(description="the answer")


class MediaSubscribeAck(_Out):
    ok: Literal[True] = True
    id: MediaId = Field(description="the subscription id (for `media.answer`, `media.stop`)")
    sdp: str = Field(description="the server's offer (recvonly for the browser)")


class MediaEndedOut(_Out):
    """`media.ended`: one of the client's publications or subscriptions ended on the server:
    ``locked`` (the booth locked and the client is not a member), ``left`` (the client left the
    room), ``removed`` (staff removed the client), ``stopped`` (the publisher stopped),
    ``failed`` (the connection failed), ``denied`` (the policy no longer allows it),
    ``moderated`` (a salon event's organiser muted the publisher, or the screen is the organiser's),
    ``out_of_hearing`` (in the salon's lounge, the subscriber walked out of the owner's hearing)."""

    id: MediaId
    reason: Literal["locked", "left", "removed", "stopped", "failed", "denied", "moderated", "out_of_hearing"]


MEDIA_EVENTS: tuple[EventSpec, ...] = (
    EventSpec("media.config", "in", MediaConfigIn, ack=(MediaConfigAck, ErrorAck)),
    EventSpec("media.doc_url", "in", MediaDocUrlIn, ack=(MediaDocUrlAck, ErrorAck)),
    EventSpec("media.publish", "in", MediaPublishIn, ack=(MediaPublishAck, ErrorAck)),
    EventSpec("media.subscribe", "in", MediaSubscribeIn, ack=(MediaSubscribeAck, ErrorAck)),
    EventSpec("media.answer", "in", MediaAnswerIn, ack=(OkAck, ErrorAck)),
    EventSpec("media.ice", "in", MediaIceIn, ack=(OkAck, ErrorAck)),
    EventSpec("media.stop", "in", MediaStopIn, ack=(OkAck, ErrorAck)),
    EventSpec("media.mute", "in", MediaMuteIn, ack=(OkAck, ErrorAck)),
    EventSpec("media.doc", "in", MediaDocIn, ack=(OkAck, ErrorAck)),
    EventSpec("media.pointer", "in", MediaPointerIn),
    EventSpec("media.ended", "out", MediaEndedOut),
)

__all__ = ["MEDIA_EVENTS", "SDP_MAX"] + [n for n in dir() if n.endswith(("In", "Out", "Ack"))]
