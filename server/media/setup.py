"""Media on the app: the backend chosen by configuration, the service, its socket events, its
HTTP routes and its metrics. ``media_backend=off`` leaves the city hall without media (the
`media.*` events then answer media_unavailable)."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from .backend import MediaBackend
from .doc_routes import setup_doc_routes
from .documents import DocumentShelf
from .loopback import offer_loopback
from .service import MediaService
from .socket_handlers import MediaDesk

log = logging.getLogger("yakuba.media")


def make_backend(config: Any) -> MediaBackend | None:
    if config.media_backend == "off":
        return None
    if config.media_loopback:
        offer_loopback()
    if config.media_backend == "janus":
        from .janus import JanusBackend

        if not config.janus_url:
            raise ValueError("media_backend=janus needs YAKUBA_JANUS_URL")
        secret = config.janus_admin_secret.get_secret_value() if config.janus_admin_secret else None
        return JanusBackend(api_url=config.janus_url, admin_url=config.janus_admin_url, admin_secret=secret)
    from .embedded import EmbeddedRelay

    return EmbeddedRelay(max_video_bitrate_bps=config.media_max_video_kbps * 1000)


class MediaCollector:
    """/metrics: publishers, subscribers, bitrate and loss (RTCP), relay CPU, refusals; read at
    scrape time from the backend's counters (nothing runs between scrapes)."""

    def __init__(self, service: MediaService) -> None:
        self.service = service

    def collect(self):
        st = self.service.backend.stats()
        g = GaugeMetricFamily("yakuba_media_peers", "media peers in the backend", labels=["role"])
        g.add_metric(["publisher"], st.publishers)
        g.add_metric(["subscriber"], st.subscribers)
        yield g
        b = GaugeMetricFamily("yakuba_media_bitrate_bps", "media bitrate summed over peers", labels=["role"])
        lost = GaugeMetricFamily("yakuba_media_fraction_lost", "worst RTCP fraction lost over peers", labels=["role"])
        for role in ("publisher", "subscriber"):
            peers = [p for p in st.peers if p.role == role]
            b.add_metric([role], sum(p.bitrate_bps for p in peers))
            lost.add_metric([role], max((p.fraction_lost for p in peers), default=0.0))
        yield b
        yield lost
        cpu = CounterMetricFamily("yakuba_media_cpu_seconds", "CPU time of the media relay")
        cpu.add_metric([], st.cpu_seconds)
        yield cpu
        r = CounterMetricFamily("yakuba_media_refused", "media requests the policy refused", labels=["action"])
        for action, n in sorted(self.service.refused.items()):
            r.add_metric([action], n)
        yield r


def setup_media(app: web.Application, hub: Any, config: Any, audit: Any, registry: Any) -> MediaService | None:
    backend = make_backend(config)
    if backend is None:
        MediaDesk.unavailable(hub)
        return None
    shelf = DocumentShelf(config.media_max_doc_bytes, config.data_dir / "documents")
    svc = MediaService(backend, hub.rooms, hub.world.booths, shelf, emit=None,  # type: ignore[arg-type]
                       max_streams_per_room=config.media_max_streams_per_room,
                       max_subscriptions=config.media_max_subscriptions)
    svc.audit = audit
    hub.media = svc
    MediaDesk(hub, svc, config)
    setup_doc_routes(app, svc, hub)
    registry.register(MediaCollector(svc))

    async def start(_app: web.Application) -> None:
        await backend.start()
        log.info("media backend=%s", backend.name)

    async def stop(_app: web.Application) -> None:
        await svc.close()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return svc


__all__ = ["MediaCollector", "make_backend", "setup_media"]
