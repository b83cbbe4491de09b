"""Shared by the auth tests: accounts made with the DB engineer's repository functions, a
movable wall clock, and HTTP calls that keep the cookie jar."""

from __future__ import annotations

import time
from typing import Any

import aiohttp

from yakuba.server.auth.passwords import hash_password, set_profile
from yakuba.server.db import accounts

PASSWORD = "correct horse battery"


class Clock:
    """Wall time that a test moves forward (sessions and the throttle read it)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, s: float) -> None:
        self.offset += s


async def add_staff(db, username: str, code: str = "271209", admin: bool = False, password: str = PASSWORD) -> int:
    set_profile("test")
    async with db.session() as s:
        if await accounts.get_municipality(s, code) is None:
            await accounts.add_municipality(s, code, f"市{code}")
        a = await accounts.add_staff(s, username, code, await hash_password(password), admin=admin)
        return a.id


def session_for(url: str) -> aiohttp.ClientSession:
    # unsafe=True: the cookie jar keeps cookies for 127.0.0.1 (an IP host)
    return aiohttp.ClientSession(base_url=url, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def login(http: aiohttp.ClientSession, url: str, username: str, password: str = PASSWORD,
                origin: str | None = "self") -> tuple[int, dict[str, Any], aiohttp.ClientResponse]:
    headers = {"Origin": url} if origin == "self" else ({"Origin": origin} if origin else {})
    async with http.post("/api/auth/login", json={"username": username, "password": password}, headers=headers) as r:
        return r.status, await r.json(), r
