"""Salon test helpers: staff of two municipalities with server-issued identities, their logged-in
sockets (a CookiePeer that also keeps the salon room's state), and walking to the salon's door."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from yakuba.server.app import DB_KEY, HUB_KEY
from yakuba.server.auth.sessions import COOKIE
from yakuba.server.db import accounts
from yakuba.server.db.models import StaffAccount

from auth.helpers import add_staff, login, session_for
from auth.test_socket import CookiePeer
from server.realtime_client import until

A, B = ("271403", "堺市"), ("131016", "千代田区")
NEAR_DOOR = (42.5, 26.0)  # the corridor by the salon's door (44, 25-27)


async def staff(app, username: str, muni: tuple[str, str], name: str, dept: str) -> int:
    """A password account the installation made (so: verified), with its display name and department."""
    db = app[DB_KEY]
    async with db.session() as s:
        if await accounts.get_municipality(s, muni[0]) is None:
            await accounts.add_municipality(s, muni[0], muni[1])
    sid = await add_staff(db, username, code=muni[0])
    async with db.session() as s:
        await s.execute(update(StaffAccount).where(StaffAccount.id == sid).values(display_name=name, department=dept))
    return sid


class SalonPeer(CookiePeer):
    def __init__(self, url: str, cookie: str | None = None, csrf: str | None = None) -> None:
        super().__init__(url, cookie)
        self.csrf = csrf
        self.rooms: dict[str, dict] = {}  # room id -> its state as patched
        self.sio.on("room", lambda d: self.rooms.__setitem__(d["room"], dict(d["state"])))
        self.sio.on("room_patch", lambda d: self.rooms.setdefault(d["room"], {}).update(d["patch"]))

    async def call(self, event: str, data: Any) -> dict:
        return await self.sio.call(event, data, timeout=10)

    def people(self, room: str = "salon-lounge") -> list[dict]:
        return self.rooms.get(room, {}).get("people") or []


async def logged_in(url: str, username: str | None) -> SalonPeer:
    """A joined socket: staff by password login, or (None) an anonymous resident."""
    cookie = csrf = None
    if username is not None:
        async with session_for(url) as http:
            st, body, r = await login(http, url, username)
            assert st == 200, body
            cookie, csrf = r.cookies[COOKIE].value, body["csrf"]
    p = await SalonPeer(url, cookie, csrf).connect()
    ack = await p.join(name=username or "guest")
    assert ack["ok"], ack
    return p


def to_door(app, p: SalonPeer) -> None:
    """Test setup only: stand the avatar in the corridor by the salon's door (saves a long walk);
    the door itself is then crossed by walking, through the zone rule."""
    a = app[HUB_KEY].world.avatars[p.id]
    a.x, a.y = NEAR_DOOR
    a.path, a.vx, a.vy = [], 0.0, 0.0


async def walk_in(app, p: SalonPeer, zone: str = "salon-lounge", timeout: float = 20) -> None:
    to_door(app, p)
    await p.emit("move", {"goto": zone})
    await until(lambda: zone in p.zones and zone in p.rooms, timeout, f"{zone} reached")


async def refused(p: SalonPeer, code: str, n: int = 1) -> None:
    await until(lambda: sum(e["code"] == code for e in p.errors) >= n, 5, f"{code} x{n}")
