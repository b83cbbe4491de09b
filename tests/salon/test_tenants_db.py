"""The tenant records on SQLite and PostgreSQL (the ``db`` fixture runs both): registration
checks, suspension, single-use expiring invitations (two takers at once: one wins), and
identities keyed on (issuer, subject)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from yakuba.server.db import tenants
from yakuba.server.db.errors import DuplicateMunicipality, InvalidRecord, InvitationRefused
from yakuba.server.db.models import Invitation, utcnow

ISS = "https://idp.city.sakai.lg.jp"


async def test_register_checks_the_code_issuer_and_domains(db):
    async with db.session() as s:
        m = await tenants.register(s, "271403", "堺市", ["City.Sakai.LG.jp"], ISS, "yakuba")
        assert (m.state, m.email_domains, m.oidc_issuer) == ("active", ["city.sakai.lg.jp"], ISS)
    bad = [dict(code="271404"), dict(code="27140"), dict(oidc_issuer="http://idp.example.jp"),
           dict(oidc_issuer="https://idp.example.jp/?x=1"), dict(oidc_issuer=ISS + "/b", oidc_client_id=None),
           dict(email_domains=["not a domain"]), dict(code="131016", oidc_issuer=ISS)]  # the last: issuer taken
    for kw in bad:
        args = {"code": "131016", "name": "千代田区", "email_domains": [], "oidc_issuer": None, "oidc_client_id": None, **kw}
        if args["oidc_issuer"] and "oidc_client_id" not in kw:
            args["oidc_client_id"] = "yakuba"
        with pytest.raises(InvalidRecord):
            async with db.session() as s:
                await tenants.register(s, **args)
    with pytest.raises(DuplicateMunicipality):
        async with db.session() as s:
            await tenants.register(s, "271403", "again")
    async with db.session() as s:
        assert (await tenants.municipality_by_issuer(s, ISS)).code == "271403"
        m = await tenants.set_state(s, "271403", "suspended")
        assert m.state == "suspended" and m.state_changed_at is not None


async def test_invitations_are_single_use_and_expire(db):
    async with db.session() as s:
        await tenants.register(s, "271403", "堺市")
        token, inv = await tenants.create_invitation(s, "271403", "admin:api-token", 3600, "防災課")
        assert inv.token_hash == tenants.token_hash(token) and token not in inv.token_hash
    async with db.session() as s:
        assert (await tenants.use_invitation(s, token)).used_at is not None
    for expected in ("invitation_used", "invitation_unknown"):
        with pytest.raises(InvitationRefused) as e:
            async with db.session() as s:
                await tenants.use_invitation(s, token if expected == "invitation_used" else token + "x")
        assert e.value.code == expected
    async with db.session() as s:
        old, _ = await tenants.create_invitation(s, "271403", "admin:api-token", 60)
    with pytest.raises(InvitationRefused) as e:
        async with db.session() as s:
            await tenants.use_invitation(s, old, now=utcnow() + timedelta(seconds=61))
    assert e.value.code == "invitation_expired"
    async with db.session() as s:  # a suspended municipality's invitations are dead too
        live, _ = await tenants.create_invitation(s, "271403", "admin:api-token", 600)
        await tenants.set_state(s, "271403", "suspended")
    with pytest.raises(InvitationRefused) as e:
        async with db.session() as s:
            await tenants.use_invitation(s, live)
    assert e.value.code == "municipality_suspended"


async def test_two_takers_of_one_invitation_at_once_one_wins(db):
    async with db.session() as s:
        await tenants.register(s, "131016", "千代田区")
        token, _ = await tenants.create_invitation(s, "131016", "admin:api-token", 600)

    async def take() -> str:
        try:
            async with db.session() as s:
                await tenants.use_invitation(s, token)
            return "ok"
        except InvitationRefused as e:
            return e.code
        except Exception as e:  # SQLite: the second writer may find the database busy
            return type(e).__name__

    results = await asyncio.gather(*(take() for _ in range(4)))
    assert results.count("ok") == 1, results
    async with db.session() as s:
        from sqlalchemy import select

        assert len((await s.scalars(select(Invitation).where(Invitation.used_at.is_not(None)))).all()) == 1


async def test_identities_are_keyed_on_issuer_and_subject(db):
    async with db.session() as s:
        await tenants.register(s, "271403", "堺市", [], ISS, "yakuba")
        await tenants.register(s, "131016", "千代田区", [], "https://idp.city.chiyoda.lg.jp", "yakuba")
        a = await tenants.add_oidc_staff(s, ISS, "u-1", "271403", "invitation", "堺 花子", "危機管理課")
        # the same subject at another issuer is another person
        b = await tenants.add_oidc_staff(s, "https://idp.city.chiyoda.lg.jp", "u-1", "131016", "email", None, None)
        assert a.id != b.id and a.password_hash == ""
        assert (await tenants.staff_for_subject(s, ISS, "u-1")).id == a.id
        assert await tenants.staff_for_subject(s, ISS, "u-2") is None
    with pytest.raises(IntegrityError):
        async with db.session() as s:
            await tenants.add_oidc_staff(s, ISS, "u-1", "271403", "email", None, None)
