"""Many arrivals from one address (a hall's shared Wi-Fi) are let in at a steady rate: the
browser that is refused with rate_limited says so and tries again by itself until it is in,
instead of showing a failure."""

from __future__ import annotations

import pytest

from .conftest import Server
from .test_web_client import open_page, state


@pytest.fixture(scope="module")
def server(tmp_path_factory, built_client):
    # one new avatar at once per address, then one every 2 s
    s = Server(tmp_path_factory.mktemp("yakuba-join"), env={"YAKUBA_JOIN_BURST": "1", "YAKUBA_JOIN_RATE": "0.5"})
    s.start()
    yield s
    s.stop()


def test_a_refused_join_waits_and_gets_in(browser, server):
    ca, a = open_page(browser, server)
    cb, b = open_page(browser, server)
    try:
        a.click("#enter")
        a.wait_for_function("() => window.__yakuba.state.connection === 'connected'", timeout=20_000)
        b.click("#enter")  # same address, at once: refused, waits
        b.wait_for_function("() => document.querySelector('#entry-error').textContent.length > 0", timeout=10_000)
        assert "混み合って" in b.inner_text("#entry-error")
        b.wait_for_function("() => window.__yakuba.state.connection === 'connected' && window.__yakuba.state.zone", timeout=20_000)
        assert state(b)["me"]["id"] != state(a)["me"]["id"]
        assert a.errors == [] and b.errors == []
    finally:
        ca.close()
        cb.close()
