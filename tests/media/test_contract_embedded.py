"""The MediaBackend contract against the embedded relay (in this process, on 127.0.0.1)."""

from __future__ import annotations

import pytest

from yakuba.server.media.embedded import EmbeddedRelay

from .contract import MediaContract


class TestEmbeddedRelayContract(MediaContract):
    @pytest.fixture
    def peer_host(self) -> str:
        return "127.0.0.1"

    @pytest.fixture
    async def backend(self, _candidates_on_peer_host):
        relay = EmbeddedRelay()
        await relay.start()
        yield relay
        await relay.close()
