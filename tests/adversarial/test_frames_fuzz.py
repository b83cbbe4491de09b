"""Generated frames below the event layer: raw websocket text and binary frames with random
engine.io packet types, socket.io packet types, namespaces, ack ids, attachment counts and JSON,
against the real `yakuba serve` process. The server refuses what it must, closes what floods,
and stays as it was (Target.check). Example counts are modest (the suite's budget is ~90 s);
with CI=true the examples are derandomized (the same frames every run)."""

from __future__ import annotations

import asyncio
import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import Target, fresh_address
from .rawsock import RawSocket

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.text(max_size=30))
json_value = st.recursive(json_leaf, lambda k: st.one_of(st.lists(k, max_size=4), st.dictionaries(st.text(max_size=8), k, max_size=4)), max_leaves=10)
event_names = st.one_of(st.sampled_from(["join", "move", "chat", "leave", "appearance", "disconnect", "connect", "snap", "consult_queue", ""]), st.text(max_size=20))
placeholder = st.builds(lambda n: {"_placeholder": True, "num": n}, st.one_of(st.integers(-2, 4), st.text(max_size=3)))
sio_body = st.one_of(
    st.builds(lambda n, d: json.dumps([n, d]), event_names, st.one_of(json_value, placeholder)),
    st.builds(json.dumps, json_value),
    st.text(max_size=40),
)
sio_frame = st.builds(
    lambda typ, att, ns, ack, body: "4" + typ + att + ns + ack + body,
    st.sampled_from(list("0123456") + ["7", "9", "x", ""]),
    st.one_of(st.just(""), st.builds(lambda n: f"{n}-", st.one_of(st.integers(0, 3), st.integers(0, 10**10)))),
    st.one_of(st.just(""), st.sampled_from(["/,", "/admin,", "/x?y=1,", "/"]), st.builds(lambda t: "/" + t + ",", st.text(max_size=10))),
    st.one_of(st.just(""), st.builds(str, st.integers(0, 10**12))),
    sio_body,
)
eio_frame = st.one_of(
    st.builds(lambda t, rest: t + rest, st.sampled_from(list("0123456789") + ["b", "x", "{"]), st.text(max_size=40)),
    st.binary(max_size=200),
    st.builds(lambda d: "4" + "[" * d + "]" * d, st.integers(1, 3000)),  # deep JSON at the engine.io layer
)
frames = st.lists(st.one_of(sio_frame, sio_frame, eio_frame), min_size=1, max_size=6)


def collect(n: int) -> list[list[str | bytes]]:
    out: list[list[str | bytes]] = []

    @settings(max_examples=n, deadline=None, database=None, derandomize=CI, suppress_health_check=list(HealthCheck))
    @given(frames)
    def gen(batch):
        out.append(batch)

    gen()
    return out


async def test_generated_engineio_and_socketio_frames(target: Target):
    before = await target.metrics()
    batches = collect(250)
    assert len(batches) >= 100
    sent = opened = 0
    raw: RawSocket | None = None
    try:
        for batch in batches:
            if raw is None or raw.closed:
                if raw is not None:
                    await raw.close()
                # a fresh address now and then: the per-address join rate is not what this tests
                raw = await RawSocket(target.url, fresh_address()).open()
                opened += 1
                await raw.call("join", {"name": "fuzz"}, ack=900)
            for f in batch:
                if await raw.send(f):
                    sent += 1
            await asyncio.sleep(0)
        await asyncio.sleep(0.3)
    finally:
        if raw is not None:
            await raw.close()
    assert sent >= 200
    # some were refused or closed: the generated frames reached the guards
    assert await target.refusals(before, "invalid_payload", "unknown_event", "too_large", "bad_packet_closed", "flood_closed") > 0
    await target.check(f"{sent} generated frames on {opened} sockets")
