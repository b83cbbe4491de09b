"""1,000+ generated malformed, oversized and wrong-typed events: error events, no crash, and a
well-formed client is served normally afterwards."""

from __future__ import annotations

import asyncio
import logging

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yakuba.server.app import HUB_KEY, METRICS_KEY

from .realtime_client import Peer, running_app, until

EVENTS = ["join", "move", "chat", "appearance", "leave", "snap", "error", "zone", "", "x" * 300, "__proto__"]
json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=60), st.binary(max_size=40),
)
payloads = st.recursive(json_leaf, lambda kids: st.one_of(st.lists(kids, max_size=5), st.dictionaries(st.text(max_size=12), kids, max_size=5)), max_leaves=12)
known_keys = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(st.text(max_size=300), st.integers(), st.none()),
        "vx": st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5), st.integers()),
        "vy": st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.booleans()),
        "target": st.one_of(st.lists(st.floats(allow_nan=True), max_size=4), st.text(max_size=5)),
        "goto": st.one_of(st.text(max_size=50), st.integers()),
        "text": st.one_of(st.text(max_size=700), st.integers(), st.lists(st.text(max_size=3))),
        "color": st.text(max_size=10),
        "style": st.text(max_size=10),
        "resume": st.text(max_size=80),
        "stop": st.one_of(st.booleans(), st.integers()),
    },
)
fuzz_event = st.tuples(st.sampled_from(EVENTS), st.one_of(payloads, known_keys))


async def test_fuzzed_events_get_errors_and_server_keeps_serving(tmp_path, caplog):
    caplog.set_level(logging.ERROR)
    async with running_app(tmp_path) as (url, app):
        hub, metrics = app[HUB_KEY], app[METRICS_KEY]
        fuzzer = await Peer(url).connect()
        await fuzzer.join(name="fuzzer")
        sent: list[tuple[str, object]] = []

        @settings(max_examples=1100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(fuzz_event)
        def collect(ev):
            sent.append(ev)

        collect()
        assert len(sent) >= 1000
        # Every malformed event must get its clear error here, so this connection gets a refusal
        # budget for the whole fuzz; closing a flooder is tested in tests/realtime/test_flood.py.
        from yakuba.server.realtime.limits import TokenBucket

        hub.clients[fuzzer.sio.get_sid()].refusal_budget = TokenBucket(1, 10**6)
        for i, (event, data) in enumerate(sent):
            # The rate limiter is part of what is tested, but refill it so schema errors are reached.
            c = hub.clients[fuzzer.sio.get_sid()]
            c.events.tokens = c.events.burst
            if not fuzzer.sio.connected:
                break
            await fuzzer.sio.emit(event or "join", data)
            if i % 50 == 0:
                await asyncio.sleep(0)
        # oversize frame: refused by the transport limit (the connection is dropped, not the server)
        big = Peer(url)
        await big.connect()
        await big.join()
        await big.sio.emit("chat", {"text": "あ" * 20000})
        await until(lambda: not big.sio.connected, timeout=10, what="oversize frame closes the connection")

        await until(lambda: len(fuzzer.errors) >= 900, timeout=30, what="error events for the fuzz")
        codes = {e["code"] for e in fuzzer.errors}
        assert "invalid_payload" in codes and "unknown_event" in codes
        assert all(isinstance(e["message"], str) and e["message"] for e in fuzzer.errors)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "a handler raised"

        # A well-formed client is served normally afterwards.
        ok1, ok2 = await Peer(url).connect(), await Peer(url).connect()
        j1, j2 = await ok1.join(name="普通の人"), await ok2.join(name="もう一人")
        assert j1["ok"] and j2["ok"]
        await until(lambda: j1["id"] in ok2.view and j2["id"] in ok1.view, what="normal service after fuzz")
        await ok1.emit("chat", {"text": "大丈夫"})
        await until(lambda: any(c["text"] == "大丈夫" for c in ok2.chats))
        rejected = sum(s.value for m in metrics.rejected.collect() for s in m.samples if s.name.endswith("_total"))
        assert rejected >= 900
        for p in (fuzzer, big, ok1, ok2):
            await p.close()
