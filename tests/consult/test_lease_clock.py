"""The booth lease on an explicit clock, two services on one store (memory and a real Redis) as
two nodes: the holder's renewals keep the lock; once they stop (its node died) the other node
releases the booth after lease + grace and tells the resident; and a release decided on a stale
copy loses to a renewal written meanwhile (the store's check-and-write decides, not the copy).
The SIGKILL version with real processes is test_lease.py."""

from __future__ import annotations

from yakuba.server.auth.principal import resident
from yakuba.server.consult.catalogue import load_catalogue
from yakuba.server.consult.service import ConsultService, booth_key

from .test_store_contract import BOOTHS, Clock, staff, stores  # noqa: F401  (stores: the memory/Redis fixture)

LEASE, GRACE = 15.0, 10.0


async def test_renewed_lease_holds_the_lock_a_lapsed_one_is_released_by_the_other_node(stores):  # noqa: F811
    sa, sb = stores
    clock = Clock()
    cat = load_catalogue(booths=set(BOOTHS))
    a = ConsultService(cat, sa, BOOTHS, clock, grace_s=GRACE)  # holds the staff member's socket
    b = ConsultService(cat, sb, BOOTHS, clock, grace_s=GRACE)
    topic = cat.departments["childcare"].topics[0]
    tid = (await a.take(resident("r"), 8, topic)).result["ticket"]
    await a.call(staff(1), 1, "booth2", "booth2")
    await a.accept(resident("r"), 8, tid)
    await a.booth_op(staff(1), 1, "booth2", "booth2", "lock")
    t0 = clock.t
    await a.renew_lease("booth2", t0 + LEASE)
    clock.t = t0 + 10
    await a.renew_lease("booth2", clock.t + LEASE)  # lease now t0 + 25
    await b.load()
    assert b.booth("booth2").lease_until == t0 + 25
    clock.t = t0 + 25 + GRACE - 1  # lease over, grace not yet
    assert b.due(clock.t)[1] == [] and (await b.release_booth("booth2")).result is None
    assert (await sb.read([booth_key("booth2")]))[booth_key("booth2")][1]["locked"] is True

    # b's copy says the lease ran out long ago; a (alive after all) renews first: no release
    clock.t = t0 + 25 + GRACE
    assert b.due(clock.t)[1] == ["booth2"]
    await a.renew_lease("booth2", clock.t + LEASE)
    out = await b.release_booth("booth2")
    assert out.result is None and out.sends == [] and b.booth("booth2").locked  # b re-read the store

    # a dies: no more renewals; after lease + grace b releases and tells the resident inside
    clock.t += LEASE + GRACE
    assert b.due(clock.t)[1] == ["booth2"]
    out = await b.release_booth("booth2")
    assert out.result == "released" and out.sends == [(8, "booth.notice", {"booth": "booth2", "kind": "closed"})]
    doc = (await sa.read([booth_key("booth2")]))[booth_key("booth2")][1]
    assert doc["locked"] is False and doc["staff"] is None and doc["lease_until"] is None
    assert ("-", "booth.released", "booth2") in out.audit
