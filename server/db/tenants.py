"""Municipalities as tenants (issue #20): registration, suspension, invitations and the OpenID
identities of their staff. Functions take an ``AsyncSession`` like accounts.py does.

Invitation tokens are 256-bit random strings handed out once; only their SHA-256 is stored.
Accepting one is a conditional UPDATE (unused and unexpired at that moment), so the same link
used twice at once, on two nodes, admits one person."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from yakuba.server.db.accounts import add_municipality, get_municipality
from yakuba.server.db.errors import InvalidRecord, InvitationRefused, UnknownMunicipality
from yakuba.server.db.models import Invitation, Municipality, OidcIdentity, StaffAccount, utcnow
from yakuba.server.salon import lgcode

STATES = ("active", "suspended")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
MAX_INVITATION_S = 30 * 24 * 3600


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_issuer(issuer: str) -> str:
    """An issuer is an https URL (http only on loopback, for tests and a local provider), with no
    query or fragment (OpenID Connect Discovery 1.0, section 4)."""
    u = urlsplit(issuer) if isinstance(issuer, str) else None
    if u is None or not u.hostname or u.query or u.fragment or len(issuer) > 255:
        raise InvalidRecord("oidc issuer must be an https URL without query or fragment")
    if u.scheme != "https" and not (u.scheme == "http" and u.hostname in _LOOPBACK):
        raise InvalidRecord("oidc issuer must be https (http only on loopback)")
    return issuer


def check_domains(domains: list[str] | None) -> list[str]:
    out = []
    for d in domains or []:
        d = d.strip().lower() if isinstance(d, str) else ""
        if not _DOMAIN.match(d):
            raise InvalidRecord(f"not a mail domain: {d[:60]!r}")
        out.append(d)
    return sorted(set(out))


async def register(s: AsyncSession, code: str, name: str, email_domains: list[str] | None = None,
                   oidc_issuer: str | None = None, oidc_client_id: str | None = None) -> Municipality:
    why = lgcode.problem(code)
    if why is not None:
        raise InvalidRecord(f"municipality code: {why}")
    if (oidc_issuer is None) != (oidc_client_id is None):
        raise InvalidRecord("oidc issuer and client id go together")
    if oidc_issuer is not None:
        check_issuer(oidc_issuer)
        if not 1 <= len(oidc_client_id) <= 255:
            raise InvalidRecord("oidc client id must be 1-255 characters")
        if await municipality_by_issuer(s, oidc_issuer) is not None:
            # one issuer, one municipality: the issuer that signed is what says which city
            raise InvalidRecord("this oidc issuer is registered for another municipality")
    domains = check_domains(email_domains)
    m = await add_municipality(s, code, name)
    m.state, m.email_domains, m.oidc_issuer, m.oidc_client_id = "active", domains, oidc_issuer, oidc_client_id
    await s.flush()
    return m


async def require(s: AsyncSession, code: str) -> Municipality:
    m = await get_municipality(s, code) if isinstance(code, str) else None
    if m is None:
        raise UnknownMunicipality(f"unknown municipality {str(code)[:16]}")
    return m


async def set_state(s: AsyncSession, code: str, state: str) -> Municipality:
    if state not in STATES:
        raise InvalidRecord(f"state must be one of {', '.join(STATES)}")
    m = await require(s, code)
    if m.state != state:
        m.state, m.state_changed_at = state, utcnow()
        await s.flush()
    return m


async def municipality_by_issuer(s: AsyncSession, issuer: str) -> Municipality | None:
    return (await s.scalars(select(Municipality).where(Municipality.oidc_issuer == issuer))).one_or_none()


async def list_all(s: AsyncSession) -> list[Municipality]:
    return list((await s.scalars(select(Municipality).order_by(Municipality.code))).all())


# --- invitations ---------------------------------------------------------------------------------
async def create_invitation(s: AsyncSession, code: str, created_by: str, ttl_s: float,
                            department: str | None = None, now: datetime | None = None) -> tuple[str, Invitation]:
    """A new invitation; returns the token (shown once, never stored) and its row."""
    m = await require(s, code)
    if m.state != "active":
        raise InvalidRecord("the municipality is suspended")
    if not 60 <= ttl_s <= MAX_INVITATION_S:
        raise InvalidRecord("an invitation lives 1 minute to 30 days")
    token = secrets.token_urlsafe(32)
    inv = Invitation(municipality_code=code, token_hash=token_hash(token), department=department,
                     expires_at=(now or utcnow()) + timedelta(seconds=ttl_s), created_by=created_by)
    s.add(inv)
    await s.flush()
    return token, inv


async def peek_invitation(s: AsyncSession, token: str, now: datetime | None = None) -> Invitation:
    """The invitation if it could be accepted now (nothing is changed), else InvitationRefused."""
    inv = (await s.scalars(select(Invitation).where(Invitation.token_hash == token_hash(token or "")))).one_or_none()
    if inv is None:
        raise InvitationRefused("invitation_unknown")
    if inv.used_at is not None:
        raise InvitationRefused("invitation_used")
    if inv.expires_at <= (now or utcnow()):
        raise InvitationRefused("invitation_expired")
    m = await get_municipality(s, inv.municipality_code)
    if m is None or m.state != "active":
        raise InvitationRefused("municipality_suspended")
    return inv


async def use_invitation(s: AsyncSession, token: str, now: datetime | None = None) -> Invitation:
    """Mark the invitation used (set ``used_by`` in the same transaction once the account
    exists). Exactly one caller wins a race; the others get InvitationRefused."""
    now = now or utcnow()
    inv = await peek_invitation(s, token, now)
    r = await s.execute(update(Invitation).where(Invitation.id == inv.id, Invitation.used_at.is_(None),
                                                 Invitation.expires_at > now).values(used_at=now))
    if r.rowcount != 1:
        raise InvitationRefused("invitation_used")
    await s.refresh(inv)
    return inv


# --- staff identities ----------------------------------------------------------------------------
async def staff_for_subject(s: AsyncSession, issuer: str, subject: str) -> StaffAccount | None:
    q = select(StaffAccount).join(OidcIdentity, OidcIdentity.staff_id == StaffAccount.id).where(
        OidcIdentity.issuer == issuer, OidcIdentity.subject == subject)
    return (await s.scalars(q)).one_or_none()


async def add_oidc_staff(s: AsyncSession, issuer: str, subject: str, municipality_code: str, joined_via: str,
                         display_name: str | None, department: str | None) -> StaffAccount:
    """A staff account that signs in only through its identity provider: its username is derived
    from (issuer, subject) and it has no password (login by password is refused for it)."""
    uname = "oidc." + hashlib.sha256(f"{issuer}\x00{subject}".encode()).hexdigest()[:24]
    a = StaffAccount(username=uname, municipality_code=municipality_code, password_hash="", roles=["staff"],
                     is_admin=False, disabled=False, display_name=display_name, department=department,
                     joined_via=joined_via)
    s.add(a)
    await s.flush()
    s.add(OidcIdentity(issuer=issuer, subject=subject, staff_id=a.id))
    await s.flush()
    return a


__all__ = ["MAX_INVITATION_S", "STATES", "add_oidc_staff", "check_domains", "check_issuer", "create_invitation",
           "list_all", "municipality_by_issuer", "peek_invitation", "register", "require", "set_state",
           "staff_for_subject", "token_hash", "use_invitation"]
