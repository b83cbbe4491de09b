"""The MediaBackend contract against Janus: a real Janus VideoRoom (Debian ``janus``) in a network
namespace, driven by JanusBackend; the aiortc peers gather on the root side of the veth."""

from __future__ import annotations

import pytest

from yakuba.server.media.janus import JanusBackend

from .contract import MediaContract
from .janus_netns import JanusInstance, janus_server  # noqa: F401 (the module's Janus)


class TestJanusContract(MediaContract):
    @pytest.fixture
    def peer_host(self, janus_server: JanusInstance) -> str:  # noqa: F811
        return janus_server.host_ip  # not loopback: Janus skips loopback candidates

    @pytest.fixture
    async def backend(self, janus_server: JanusInstance, _candidates_on_peer_host):  # noqa: F811
        b = JanusBackend(janus_server.api_url, janus_server.admin_url, janus_server.admin_secret)
        await b.start()
        yield b
        await b.close()
