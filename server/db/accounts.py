"""Municipalities and staff accounts. Functions take an ``AsyncSession`` (``async with
db.session() as s``) so a caller can group several in one transaction.

Usernames are stored lower-cased and stripped: ``Tanaka`` and ``tanaka`` are one account, so two
lookalike accounts cannot exist and login is case-insensitive on the name."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from yakuba.server.db.errors import (
    DuplicateMunicipality,
    DuplicateUsername,
    InvalidRecord,
    UnknownMunicipality,
    UnknownStaff,
)
from yakuba.server.db.models import Municipality, StaffAccount, utcnow

_CODE = re.compile(r"^[0-9A-Za-z_-]{1,16}$")  # 全国地方公共団体コード: 6 digits; test codes may differ
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")


def normalise_username(username: str) -> str:
    return username.strip().lower()


def check_username(username: str) -> str:
    """The normalised username, or InvalidRecord (the CLI asks before prompting for a password)."""
    username = normalise_username(username) if isinstance(username, str) else ""
    if not _USERNAME.match(username):
        raise InvalidRecord("username must be 1-64 characters: letters, digits, '.', '_', '@', '-'")
    return username


def _check_code(code: str) -> str:
    if not isinstance(code, str) or not _CODE.match(code):
        raise InvalidRecord(f"municipality code must be 1-16 letters, digits, '-' or '_': {code!r}")
    return code


async def add_municipality(s: AsyncSession, code: str, name: str) -> Municipality:
    _check_code(code)
    name = (name or "").strip()
    if not 1 <= len(name) <= 100:
        raise InvalidRecord("municipality name must be 1-100 characters")
    if await s.get(Municipality, code) is not None:
        raise DuplicateMunicipality(f"municipality {code} already exists")
    m = Municipality(code=code, name=name)
    s.add(m)
    try:
        await s.flush()
    except IntegrityError as e:  # another process added it between the check and the insert
        raise DuplicateMunicipality(f"municipality {code} already exists") from e
    return m


async def get_municipality(s: AsyncSession, code: str) -> Municipality | None:
    return await s.get(Municipality, code)


async def list_municipalities(s: AsyncSession) -> list[Municipality]:
    return list((await s.scalars(select(Municipality).order_by(Municipality.code))).all())


async def add_staff(s: AsyncSession, username: str, municipality_code: str, password_hash: str,
                    admin: bool = False) -> StaffAccount:
    username = check_username(username)
    if not password_hash:
        raise InvalidRecord("a password hash is required")
    if await s.get(Municipality, municipality_code) is None:
        raise UnknownMunicipality(f"unknown municipality {municipality_code}")
    if await get_staff_by_username(s, username) is not None:
        raise DuplicateUsername(f"username {username} already exists")
    a = StaffAccount(username=username, municipality_code=municipality_code, password_hash=password_hash,
                     roles=["staff", "admin"] if admin else ["staff"], is_admin=admin, disabled=False)
    s.add(a)
    try:
        await s.flush()
    except IntegrityError as e:
        raise DuplicateUsername(f"username {username} already exists") from e
    return a


async def get_staff_by_username(s: AsyncSession, username: str) -> StaffAccount | None:
    q = select(StaffAccount).where(StaffAccount.username == normalise_username(username))
    return (await s.scalars(q)).one_or_none()


async def get_staff(s: AsyncSession, staff_id: int) -> StaffAccount | None:
    return await s.get(StaffAccount, staff_id)


async def list_staff(s: AsyncSession, municipality_code: str | None = None) -> list[StaffAccount]:
    q = select(StaffAccount).order_by(StaffAccount.id)
    if municipality_code is not None:
        q = q.where(StaffAccount.municipality_code == municipality_code)
    return list((await s.scalars(q)).all())


async def _require(s: AsyncSession, username: str) -> StaffAccount:
    a = await get_staff_by_username(s, username)
    if a is None:
        raise UnknownStaff(f"unknown staff account {normalise_username(username)}")
    return a


async def set_disabled(s: AsyncSession, username: str, disabled: bool) -> StaffAccount:
    a = await _require(s, username)
    a.disabled = disabled
    await s.flush()
    return a


async def set_password_hash(s: AsyncSession, username: str, password_hash: str) -> StaffAccount:
    """New hash; ``password_changed_at`` moves on so sessions issued before it can be refused."""
    if not password_hash:
        raise InvalidRecord("a password hash is required")
    a = await _require(s, username)
    a.password_hash = password_hash
    a.password_changed_at = utcnow()
    await s.flush()
    return a


__all__ = ["add_municipality", "add_staff", "check_username", "get_municipality", "get_staff", "get_staff_by_username",
           "list_municipalities", "list_staff", "normalise_username", "set_disabled", "set_password_hash"]
