"""One contract for both desk stores (memory and a real Redis), and the service on top of them:
two services on one store are two nodes; the store lets one of them win every claim."""

from __future__ import annotations

import asyncio

import pytest

from yakuba.server.auth.principal import Kind, Principal, resident
from yakuba.server.consult.catalogue import load_catalogue
from yakuba.server.consult.core import ConsultError
from yakuba.server.consult.service import ConsultService
from yakuba.server.consult.store import MemoryConsultStore, RedisConsultStore

BOOTHS = [f"booth{i}" for i in range(1, 7)]


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


def staff(n: int) -> Principal:
    return Principal(kind=Kind.STAFF, staff_id=n, municipality="131016", roles=frozenset({"staff"}))


@pytest.fixture(params=["memory", "redis"])
async def stores(request):
    if request.param == "memory":
        s = MemoryConsultStore()
        yield s, s
        return
    redis_server = request.getfixturevalue("redis_server")
    import redis.asyncio as aioredis

    r = aioredis.Redis.from_url(redis_server.url)
    await r.flushdb()
    await r.aclose()
    a, b = RedisConsultStore(redis_server.url), RedisConsultStore(redis_server.url)
    yield a, b
    await a.close()
    await b.close()


async def test_compare_and_set_is_all_or_nothing(stores):
    a, b = stores
    assert await a.read(["x", "y"]) == {"x": (0, None), "y": (0, None)}
    assert await a.write({"x": (0, {"n": 1}), "y": (0, {"n": 2})}) == {"x": 1, "y": 1}
    assert await b.read(["x"]) == {"x": (1, {"n": 1})}
    # one stale version: nothing is written
    assert await b.write({"x": (1, {"n": 10}), "y": (0, {"n": 20})}) is None
    assert await a.read(["x", "y"]) == {"x": (1, {"n": 1}), "y": (1, {"n": 2})}
    assert await b.write({"x": (1, {"n": 10})}) == {"x": 2}
    assert sorted(await a.keys()) == ["x", "y"]


async def test_one_ticket_called_by_two_nodes_at_once_goes_to_one(stores):
    a, b = stores
    cat = load_catalogue(booths=set(BOOTHS))
    clock = Clock()
    n1, n2 = ConsultService(cat, a, BOOTHS, clock), ConsultService(cat, b, BOOTHS, clock)
    won = lost = 0
    for i in range(10):
        out = await n1.take(resident(f"r{i}"), 100 + i, "tax.resident_tax")
        tid = out.result["ticket"]
        await n2.load()
        # two staff members in two booths that serve the topic, on two nodes, at the same time
        r = await asyncio.gather(n1.call(staff(1), 1, "booth5", "booth5", tid), n2.call(staff(2), 2, "booth6", "booth6", tid),
                                 return_exceptions=True)
        oks = [x for x in r if not isinstance(x, Exception)]
        errs = [x for x in r if isinstance(x, ConsultError)]
        assert len(oks) == 1 and len(errs) == 1 and errs[0].code in ("ticket_taken", "booth_busy"), r
        won += 1
        lost += 1
        # the booth that won is busy; end the consultation so both booths are free again
        winner = n1 if oks[0].result["booth"] == "booth5" else n2
        b_id = oks[0].result["booth"]
        await winner.load()
        await winner.accept(resident(f"r{i}"), 100 + i, tid)
        await winner.member_left(b_id, 100 + i)
        await n1.load()
        await n2.load()
    assert (won, lost) == (10, 10)
    assert n1.dept("tax").tickets == {}  # every consultation ended; nothing left behind


async def test_service_deadlines_with_an_explicit_clock(stores):
    a, _ = stores
    cat = load_catalogue(booths=set(BOOTHS))
    clock = Clock()
    svc = ConsultService(cat, a, BOOTHS, clock, invite_timeout_s=60.0, grace_s=30.0)
    p = resident("r1")
    tid = (await svc.take(p, 7, "childcare.nursery" if "childcare.nursery" in cat.topics else cat.departments["childcare"].topics[0])).result["ticket"]
    out = await svc.call(staff(1), 1, "booth2", "booth2")
    assert out.result["ticket"] == tid and [(s[0], s[1]) for s in out.sends] == [(7, "queue.invite"), (7, "queue.ticket")]
    clock.t += 61
    depts, _ = svc.due(clock.t)
    assert depts == ["childcare"]
    out = await svc.expire_invites("childcare")
    assert out.sends[0][2]["state"] == "waiting" and out.sends[0][2]["recalled"] and out.sends[0][2]["position"] == 1
    assert svc.booth("booth2").ticket is None  # the booth may call again
    await svc.call(staff(1), 1, "booth2", "booth2")
    clock.t += 61
    out = await svc.expire_invites("childcare")
    assert out.sends[0][2]["state"] == "expired" and svc.dept("childcare").tickets == {}
    # staff grace: the lock stays for grace_s, then the booth is released and the resident told
    tid = (await svc.take(resident("r2"), 8, cat.departments["childcare"].topics[0])).result["ticket"]
    await svc.call(staff(1), 1, "booth2", "booth2")
    await svc.accept(resident("r2"), 8, tid)
    await svc.booth_op(staff(1), 1, "booth2", "booth2", "lock")
    await svc.staff_presence("booth2", False)
    clock.t += 29
    assert svc.due(clock.t)[1] == [] and svc.booth("booth2").locked
    clock.t += 1
    assert svc.due(clock.t)[1] == ["booth2"]
    out = await svc.release_booth("booth2")
    assert out.result == "released" and out.sends == [(8, "booth.notice", {"booth": "booth2", "kind": "closed"})]
    assert svc.booth("booth2").state == "closed" and svc.dept("childcare").tickets == {}
    assert svc.dept("childcare").service[cat.departments["childcare"].topics[0]] == [30.0]  # fed the estimate


async def test_policy_inside_the_transaction(stores):
    a, _ = stores
    cat = load_catalogue(booths=set(BOOTHS))
    svc = ConsultService(cat, a, BOOTHS, Clock())
    codes = []
    attempts = [
        lambda: svc.booth_op(resident("r"), 5, "booth1", "booth1", "lock"),  # a resident
        lambda: svc.booth_op(staff(1), 1, "corridor", "booth1", "lock"),  # staff outside the booth
        lambda: svc.call(resident("r"), 5, "booth1", "booth1"),
    ]
    await svc.booth_op(staff(2), 2, "booth3", "booth3", "lock")
    attempts += [
        lambda: svc.booth_op(staff(1), 1, "booth3", "booth3", "unlock"),  # someone else's booth
        lambda: svc.booth_op(staff(1), 1, "booth3", "booth3", "admit", 9),
    ]
    for f in attempts:
        with pytest.raises(ConsultError) as e:
            await f()
        codes.append(e.value.code)
    assert codes == ["forbidden", "not_in_booth", "forbidden", "not_booth_staff", "not_booth_staff"]
    assert svc.booth("booth3").locked and svc.booth("booth1").state == "closed"
