"""The event hall: who presents, the view everyone follows, and the meeting tools. Pure (the
caller passes the time and the principals' facts); the policy decides who may do what
(Action.PRESENT / WRITE_SHOW / COHOST / MODERATE / TAKE_PART with a HallResource).

State (sent whole on entering, then as patches):
  presenter, copresenters   the stage: one writer of ``show``; co-presenters moderate and take
                            over when the presenter leaves (disconnects, walks out)
  show, show_v              the view document (dataset, colour, scenario, sim, sim_b, split, t,
                            speed, playing, camera, highlight) and its version
  agenda                    {items, current, timer_end (epoch s | None)}
  questions, on_screen      the top QUESTIONS_SHOWN open questions first, by votes; the one shown
  reactions                 {clap, agree, unclear} counters
  poll                      the open or last poll {id, question, options, counts, open}
Names appear only with questions asked non-anonymously; nothing here is logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from yakuba.server.auth.policy import Action, HallResource, decide
from yakuba.server.auth.principal import Principal

from .base import Room, RoomError
from .media_state import media_state

QUESTIONS_SHOWN = 30
MAX_QUESTIONS = 500
OPEN_QUESTIONS_EACH = 3  # a person's unanswered questions at once
SHOW_DEFAULT: dict[str, Any] = {"dataset": None, "colour": "structure", "scenario": None, "sim": None, "sim_b": None,
                                "split": None, "t": 0.0, "speed": 60.0, "playing": False, "camera": None, "highlight": None}


@dataclass
class Question:
    id: int
    text: str
    by: str | None  # the asker's display name, None when anonymous
    asker: int  # avatar (never sent)
    votes: set[int] = field(default_factory=set)
    answered: bool = False

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "by": self.by, "votes": len(self.votes), "answered": self.answered}


@dataclass
class Poll:
    id: int
    question: str
    options: list[str]
    votes: dict[int, int] = field(default_factory=dict)  # avatar -> option
    reasons: list[tuple[int, str]] = field(default_factory=list)  # (option, why): no avatar kept
    open: bool = True

    def counts(self) -> list[int]:
        c = [0] * len(self.options)
        for o in self.votes.values():
            c[o] += 1
        return c

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "question": self.question, "options": list(self.options), "counts": self.counts(), "open": self.open}


class HallRoom(Room):
    type = "hall"
    patch_hz = 20.0  # the presenter's changes reach attendees within a tick (issue #18: 200 ms p99)

    def __init__(self, room_id: str) -> None:
        super().__init__(room_id)
        self.questions: dict[int, Question] = {}
        self.polls: list[Poll] = []
        self._next_q = 1
        # Several nodes (server/hall/replication.py): who is in the hall on any node (default:
        # this node's members), and ``trusted`` while applying another node's change, which that
        # node's policy already allowed (our copy of its avatars' zones may lag its message).
        self.in_hall: Callable[[int], bool] = lambda a: a in self.members
        self.trusted = False

    def initial_state(self) -> dict[str, Any]:
        return {"presenter": None, "copresenters": [], "show": dict(SHOW_DEFAULT), "show_v": 0,
                "agenda": {"items": [], "current": 0, "timer_end": None}, "questions": [], "on_screen": None,
                "reactions": {"clap": 0, "agree": 0, "unclear": 0}, "poll": None, **media_state()}

    # The running event, if any (issue #18): set by server/events/routes.py attach_hall to the
    # event service's in-memory current(); its presenters decide PRESENT, its capacity the door
    # (realtime/hub.py _zone_rule). None: no events, any staff member presents.
    live_event: Callable[[], Any] | None = None

    # -- the policy's view ----------------------------------------------------------------------
    def resource(self, member: int, target_is_staff: bool = False) -> HallResource:
        ev = self.live_event() if self.live_event is not None else None
        return HallResource(self.id, member, self.in_hall(member), self.state["presenter"],
                            frozenset(self.state["copresenters"]), target_is_staff,
                            event_presenters=ev.presenters if ev is not None else None)

    def require(self, p: Principal, action: Action, member: int, target_is_staff: bool = False) -> None:
        if self.trusted:
            return
        d = decide(p, action, self.resource(member, target_is_staff))
        if not d:
            raise RoomError(d.code or "forbidden", d.reason)

    # -- the stage -------------------------------------------------------------------------------
    def on_members(self) -> dict[str, Any] | None:
        """Whoever left the room leaves the stage; the presenter's place goes to the first
        co-presenter still here (the presenter disconnected: the meeting goes on)."""
        co = [a for a in self.state["copresenters"] if self.in_hall(a)]
        patch: dict[str, Any] = {}
        if co != self.state["copresenters"]:
            patch["copresenters"] = co
        if self.state["presenter"] is not None and not self.in_hall(self.state["presenter"]):
            patch["presenter"] = co[0] if co else None
            patch["copresenters"] = co[1:]
        return patch or None

    def present(self, p: Principal, member: int) -> None:
        self.require(p, Action.PRESENT, member)
        if self.state["presenter"] != member:
            self._apply({"presenter": member, "copresenters": [a for a in self.state["copresenters"] if a != member]})

    def release(self, p: Principal, member: int) -> None:
        if self.state["presenter"] != member:
            raise RoomError("forbidden", "only the presenter")
        co = self.state["copresenters"]
        self._apply({"presenter": co[0] if co else None, "copresenters": co[1:]})

    def cohost(self, p: Principal, member: int, target: int, target_is_staff: bool) -> None:
        self.require(p, Action.COHOST, member, target_is_staff)
        if not self.trusted and not self.in_hall(target):
            raise RoomError("not_member", "the co-presenter must be in the hall")
        if target != member and target not in self.state["copresenters"]:
            self._apply({"copresenters": self.state["copresenters"] + [target]})

    def handover(self, p: Principal, member: int, target: int) -> None:
        self.require(p, Action.COHOST, member, True)
        if target not in self.state["copresenters"] or not (self.trusted or self.in_hall(target)):
            raise RoomError("not_member", "hand over to a co-presenter in the hall")
        co = [a for a in self.state["copresenters"] if a != target] + [member]
        self._apply({"presenter": target, "copresenters": co})

    # -- the view everyone follows ----------------------------------------------------------------
    def show(self, p: Principal, member: int, patch: dict[str, Any], clear: list[str]) -> int:
        self.require(p, Action.WRITE_SHOW, member)
        show = dict(self.state["show"])
        show.update({k: v for k, v in patch.items() if v is not None})
        for k in clear:
            show[k] = None
        v = self.state["show_v"] + 1
        self._apply({"show": show, "show_v": v})
        return v

    # -- meeting tools --------------------------------------------------------------------------------
    def agenda(self, p: Principal, member: int, items: list[str] | None, current: int | None,
               timer_s: float | None, now_wall: float) -> None:
        self.require(p, Action.MODERATE, member)
        a = dict(self.state["agenda"])
        if items is not None:
            a["items"] = list(items)
        if current is not None:
            a["current"] = min(current, max(len(a["items"]) - 1, 0))
        if timer_s is not None:
            a["timer_end"] = round(now_wall + timer_s, 1) if timer_s > 0 else None
        self._apply({"agenda": a})

    def ask(self, p: Principal, member: int, text: str, name: str | None, qid: int | None = None) -> int:
        self.require(p, Action.TAKE_PART, member)
        mine = sum(1 for q in self.questions.values() if q.asker == member and not q.answered)
        if mine >= OPEN_QUESTIONS_EACH and not self.trusted:
            raise RoomError("rate_limited", f"at most {OPEN_QUESTIONS_EACH} open questions each")
        if len(self.questions) >= MAX_QUESTIONS and not self.trusted:
            raise RoomError("rate_limited", "the question list is full")
        q = Question(qid if qid is not None else self._next_q, text, name, member)  # qid: the asking node's
        self._next_q = max(self._next_q, q.id) + 1
        self.questions[q.id] = q
        self._questions_changed()
        return q.id

    def upvote(self, p: Principal, member: int, qid: int | None) -> None:
        self.require(p, Action.TAKE_PART, member)
        q = self.questions.get(qid or 0)
        if q is None:
            raise RoomError("not_found", "no such question")
        if member not in q.votes:
            q.votes.add(member)
            self._questions_changed()

    def pick(self, p: Principal, member: int, qid: int | None) -> None:
        self.require(p, Action.MODERATE, member)
        if qid is not None and qid not in self.questions:
            raise RoomError("not_found", "no such question")
        self._apply({"on_screen": qid})

    def answered(self, p: Principal, member: int, qid: int | None) -> None:
        self.require(p, Action.MODERATE, member)
        q = self.questions.get(qid or 0)
        if q is None:
            raise RoomError("not_found", "no such question")
        q.answered = True
        self._questions_changed()

    def _questions_changed(self) -> None:
        qs = sorted(self.questions.values(), key=lambda q: (q.answered, -len(q.votes), q.id))
        self._apply({"questions": [q.public() for q in qs[:QUESTIONS_SHOWN]]})

    def react(self, p: Principal, member: int, kind: str) -> None:
        self.require(p, Action.TAKE_PART, member)
        r = dict(self.state["reactions"])
        r[kind] = r.get(kind, 0) + 1
        self._apply({"reactions": r})

    def open_poll(self, p: Principal, member: int, question: str, options: list[str], pid: int | None = None) -> int:
        self.require(p, Action.MODERATE, member)
        for old in self.polls:
            old.open = False
        poll = Poll(pid if pid is not None else (self.polls[-1].id + 1 if self.polls else 1), question, list(options))
        self.polls.append(poll)
        self._apply({"poll": poll.public()})
        return poll.id

    def close_poll(self, p: Principal, member: int) -> None:
        self.require(p, Action.MODERATE, member)
        if self.polls and self.polls[-1].open:
            self.polls[-1].open = False
            self._apply({"poll": self.polls[-1].public()})

    def vote(self, p: Principal, member: int, poll_id: int, option: int, why: str | None) -> None:
        self.require(p, Action.TAKE_PART, member)
        poll = self.polls[-1] if self.polls else None
        if poll is None or poll.id != poll_id or not poll.open:
            raise RoomError("not_found", "no such open poll")
        if option >= len(poll.options):
            raise RoomError("invalid_payload", "no such option")
        poll.votes[member] = option
        if why:
            poll.reasons.append((option, why))
        self._apply({"poll": poll.public()})

    def summary(self, p: Principal, member: int) -> dict[str, Any]:
        """For the minutes: what was asked and decided, counted; no names, no avatars."""
        self.require(p, Action.MODERATE, member)
        return {
            "agenda": self.state["agenda"]["items"],
            "questions": [{"text": q.text, "votes": len(q.votes), "answered": q.answered}
                          for q in sorted(self.questions.values(), key=lambda q: q.id)],
            "reactions": dict(self.state["reactions"]),
            "polls": [{"question": pl.question, "options": pl.options, "counts": pl.counts(),
                       "reasons": [{"option": pl.options[o], "why": w} for o, w in pl.reasons]} for pl in self.polls],
        }


__all__ = ["HallRoom", "Poll", "Question", "SHOW_DEFAULT"]
