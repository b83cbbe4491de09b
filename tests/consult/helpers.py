"""Socket.io clients that record the desk's events, and staff logins (tests/auth/helpers)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from auth.helpers import login, session_for
from auth.test_socket import CookiePeer
from yakuba.server.auth.sessions import COOKIE

EVENTS = ("queue.ticket", "queue.invite", "queue.board", "booth.state", "booth.knocked", "booth.notice", "booth.card", "room", "room_patch")


class DeskPeer(CookiePeer):
    def __init__(self, url: str, cookie: str | None = None, auth: dict | None = None) -> None:
        super().__init__(url, cookie, auth)
        self.got: dict[str, list[dict]] = {e: [] for e in EVENTS}
        self.seen_ids: set[int] = set()  # every avatar id any snapshot ever showed this client
        for e in EVENTS:
            self.sio.on(e, lambda d, e=e: self.got[e].append(d))

    def _snap(self, frame: bytes) -> None:
        super()._snap(frame)
        self.seen_ids |= set(self.view)

    async def call(self, event: str, data: Any = None) -> dict:
        return await self.sio.call(event, data if data is not None else {}, timeout=10)


async def staff_cookie(url: str, username: str) -> str:
    async with session_for(url) as http:
        st, body, r = await login(http, url, username)
        assert st == 200, body
        return r.cookies[COOKIE].value


class Refusals:
    """Each adversarial attempt must be refused; counted per kind and printed as one JSON line."""

    def __init__(self, name: str) -> None:
        self.name, self.counts = name, Counter()

    def expect(self, kind: str, ack: dict | None, *codes: str) -> None:
        assert ack is not None and ack.get("ok") is False, f"{kind}: not refused: {ack}"
        assert ack["error"]["code"] in codes, f"{kind}: {ack['error']['code']} not in {codes}"
        self.counts[kind] += 1

    def count(self, kind: str, ok: bool) -> None:
        assert ok, f"{kind}: not refused"
        self.counts[kind] += 1

    def report(self) -> None:
        print(json.dumps({"test": self.name, "refused": dict(sorted(self.counts.items())), "total": sum(self.counts.values())}))
