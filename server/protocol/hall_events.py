"""Socket events of the event hall (issue #18): the presenter's view document and the meeting tools.

The hall is a room (rooms/hall.py). Its state, sent whole on entering and as `room_patch`:
  presenter (avatar | null), copresenters [avatar], show (ShowOut: what everyone's model view
  follows), show_v (its version), agenda {items, current, timer_end}, questions (the top
  QUESTIONS_SHOWN: {id, text, by (name | null when anonymous), votes, answered}), on_screen
  (question id | null), reactions {clap, agree, unclear}, poll (PollOut | null), plus the media keys.
Who may write what is the policy's (Action.PRESENT for the stage, Action.MODERATE for the tools);
identity is the socket's own, never a field here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictFloat, StrictInt, field_validator

from .consult_events import AvatarId, ZoneId
from .events import ErrorAck, EventSpec, OkAck, _In, _Out, clean_text

Num = StrictFloat | StrictInt
IdText = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
QUESTION_MAX = 200
QUESTIONS_SHOWN = 30
REACTIONS = ("clap", "agree", "unclear")


class Camera(_In):
    """The presenter's camera: target point (dataset's local metres, x east y north z up) and
    the orbit around it."""

    x: Annotated[Num, Field(ge=-1e6, le=1e6)]
    y: Annotated[Num, Field(ge=-1e6, le=1e6)]
    z: Annotated[Num, Field(ge=-1e4, le=1e4)] = 0
    distance: Annotated[Num, Field(gt=0, le=1e6)]
    heading: Annotated[Num, Field(ge=-720, le=720)] = 0  # degrees
    pitch: Annotated[Num, Field(ge=-90, le=90)] = -45


class ShowPatch(_In):
    """What the presenter changes in the shared view; absent fields stay as they are, null clears."""

    dataset: IdText | None = None
    colour: Annotated[str, Field(max_length=32, pattern=r"^[a-z_]+$")] | None = None
    scenario: IdText | None = None  # a scenario's name or id, shown as a caption
    sim: IdText | None = None  # the simulation (job) id everyone plays
    sim_b: IdText | None = None  # the B side of an A/B comparison
    split: Annotated[Num, Field(ge=0, le=1)] | None = None  # A/B split position; null: no split
    t: Annotated[Num, Field(ge=0, le=7 * 24 * 3600)] | None = None  # playback time, seconds since ignition
    speed: Annotated[Num, Field(ge=0, le=3600)] | None = None  # simulated seconds per second
    playing: StrictBool | None = None
    camera: Camera | None = None
    highlight: Annotated[str, Field(max_length=80)] | None = None  # a building's gml id


class HallRoomIn(_In):
    """`hall.present`, `hall.release`, `hall.summary`: just the room."""

    room: ZoneId


class HallAvatarIn(_In):
    """`hall.cohost` (make a staff member in the hall a co-presenter), `hall.handover` (give
    them the stage)."""

    room: ZoneId
    avatar: AvatarId


class HallShowIn(_In):
    """`hall.show`: the presenter's change; ``base`` is the show version it was made on (for
    the log; the presenter is the only writer, so the last write wins)."""

    room: ZoneId
    patch: ShowPatch
    clear: list[Literal["dataset", "scenario", "sim", "sim_b", "split", "camera", "highlight"]] = Field(default_factory=list, max_length=8)


class HallAgendaIn(_In):
    room: ZoneId
    items: Annotated[list[Annotated[str, Field(min_length=1, max_length=80)]], Field(max_length=20)] | None = None
    current: Annotated[StrictInt, Field(ge=0, le=19)] | None = None
    timer_s: Annotated[Num, Field(ge=0, le=4 * 3600)] | None = None  # 0 stops the timer

    @field_validator("items")
    @classmethod
    def _clean(cls, v):
        return None if v is None else [clean_text(x)[:80] for x in v]


class HallAskIn(_In):
    room: ZoneId
    text: Annotated[str, Field(min_length=1, max_length=1000)]
    anonymous: StrictBool = False

    @field_validator("text")
    @classmethod
    def _clean(cls, v: str) -> str:
        v = clean_text(v)
        if not v:
            raise ValueError("empty question")
        if len(v) > QUESTION_MAX:
            raise ValueError(f"questions are limited to {QUESTION_MAX} characters")
        return v


class HallQuestionIn(_In):
    """`hall.upvote` (anyone, once per question), `hall.pick` (moderator: show it on the screen;
    null clears), `hall.answered` (moderator)."""

    room: ZoneId
    question: Annotated[StrictInt, Field(ge=1)] | None = None


class HallReactIn(_In):
    room: ZoneId
    kind: Literal["clap", "agree", "unclear"]


class HallPollIn(_In):
    """`hall.poll`: open a poll (moderator); ``options`` e.g. the scenarios shown."""

    room: ZoneId
    question: Annotated[str, Field(min_length=1, max_length=200)]
    options: Annotated[list[Annotated[str, Field(min_length=1, max_length=60)]], Field(min_length=2, max_length=6)]


class HallVoteIn(_In):
    """`hall.vote`: one answer per person (a second one replaces the first); ``why`` is free text
    kept only in the summary's list of reasons, never with who wrote it."""

    room: ZoneId
    poll: Annotated[StrictInt, Field(ge=1)]
    option: Annotated[StrictInt, Field(ge=0, le=5)]
    why: Annotated[str, Field(max_length=300)] | None = None


class HallWatchIn(_In):
    """`hall.watch`: follow the hall as a spectator, without an avatar (a full hall, a phone):
    allowed before `join`. ``event`` is the registration code or the event id (not used yet
    when the hall is open to all)."""

    room: ZoneId = "hall"


class HallSummaryAck(_Out):
    ok: Literal[True] = True
    summary: dict = Field(description="questions (text, votes, answered; no names), reactions, polls with counts and reasons, agenda")


class HallWatchAck(_Out):
    ok: Literal[True] = True
    room: dict = Field(description="the hall's state as `room` sends it")


HALL_EVENTS: tuple[EventSpec, ...] = (
    EventSpec("hall.present", "in", HallRoomIn, ack=(OkAck, ErrorAck)),
    EventSpec("hall.release", "in", HallRoomIn, ack=(OkAck, ErrorAck)),
    EventSpec("hall.cohost", "in", HallAvatarIn, ack=(OkAck, ErrorAck)),
    EventSpec("hall.handover", "in", HallAvatarIn, ack=(OkAck, ErrorAck)),
    EventSpec("hall.show", "in", HallShowIn, ack=(OkAck, ErrorAck)),
    EventSpec("hall.agenda", "in", HallAgendaIn, ack=(OkAck, ErrorAck)),
    EventSpec("hall.ask", "in", HallAskIn, ack=(OkAck, ErrorAck)),
    EventSpec("hall.upvote", "in", HallQuestionIn, ack=(OkAck, ErrorAck)),
    EventSpec("hall.pick", "in", HallQuestionIn, ack=(OkAck, ErrorAck)),
    EventSpec("hall.answered", "in", HallQuestionIn, ack=(OkAck, ErrorAck)),
    EventSpec("hall.react", "in", HallReactIn),
    EventSpec("hall.poll", "in", HallPollIn, ack=(OkAck, ErrorAck)),
    EventSpec("hall.poll_close", "in", HallRoomIn, ack=(OkAck, ErrorAck)),
    EventSpec("hall.vote", "in", HallVoteIn, ack=(OkAck, ErrorAck)),
    EventSpec("hall.summary", "in", HallRoomIn, ack=(HallSummaryAck, ErrorAck)),
    EventSpec("hall.watch", "in", HallWatchIn, ack=(HallWatchAck, ErrorAck)),
)

__all__ = ["HALL_EVENTS", "QUESTIONS_SHOWN", "REACTIONS"] + [n for n in dir() if n.endswith(("In", "Out", "Ack", "Patch"))]
