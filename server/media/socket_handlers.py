"""Media signalling on the realtime node: the `media.*` socket events (server/protocol/media_events.py).

Each handler goes through the gateway's guard (rate limit, schema, joined) and then the service,
which asks the policy. The identity is the socket's: its principal from the server session and
its own avatar; a stream or subscription id from the client only names one of its own.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from yakuba.server.protocol import ErrorCode, ProtocolError

from .backend import MediaError
from .service import MediaService
from .turn import ice_servers

if TYPE_CHECKING:
    from yakuba.server.realtime.gateway import Client
    from yakuba.server.realtime.hub import Hub
    from yakuba.server.settings import Settings

log = logging.getLogger("yakuba.media")
_CODES = {c.value for c in ErrorCode}
MEDIA_EVENTS_IN = ("media.config", "media.publish", "media.subscribe", "media.answer", "media.ice", "media.stop",
                   "media.mute", "media.doc", "media.pointer", "media.doc_url")


class MediaDesk:
    def __init__(self, hub: "Hub", service: MediaService, config: "Settings") -> None:
        self.hub, self.service, self.config = hub, service, config
        service.emit = self._emit
        service.principal_of = self._principal_of
        g = hub.gateway
        for event in MEDIA_EVENTS_IN:
            fn = getattr(self, "on_" + event.split(".", 1)[1])
            hub.sio.on(event, g._guard(event, self._refusing(fn)))

    @staticmethod
    def unavailable(hub: "Hub") -> None:
        """media_backend=off: every media event answers media_unavailable."""
        async def refuse(c: "Client", msg: Any) -> Any:
            raise ProtocolError(ErrorCode.MEDIA_UNAVAILABLE)
        for event in MEDIA_EVENTS_IN:
            hub.sio.on(event, hub.gateway._guard(event, refuse))

    def _refusing(self, fn):
        async def handler(c: "Client", msg: Any) -> Any:
            try:
                return await fn(c, msg)
            except MediaError as e:
                code = ErrorCode(e.code) if e.code in _CODES else ErrorCode.MEDIA_FAILED
                if code is ErrorCode.MEDIA_FAILED:
                    log.warning("media failed sid=%s: %s", c.sid, str(e)[:200])
                raise ProtocolError(code, str(e)[:200]) from None
        return handler

    async def _emit(self, avatar: int, event: str, payload: dict) -> None:
        c = self.hub.by_avatar.get(avatar)
        if c is not None:
            await self.hub.sio.emit(event, payload, to=c.sid)

    def _principal_of(self, avatar: int):
        c = self.hub.by_avatar.get(avatar)
        return c.principal if c is not None else None

    def _ice(self, c: "Client") -> list[dict]:
        cfg = self.config
        secret = cfg.turn_secret.get_secret_value() if cfg.turn_secret else None
        return ice_servers(cfg.turn_urls, cfg.stun_urls, secret, c.token or c.sid, cfg.turn_ttl_s)

    def _server_ice(self) -> list[dict]:
        """The relay's own ICE servers: STUN only (it has an address; browsers bring TURN)."""
        return [{"urls": list(self.config.stun_urls)}] if self.config.stun_urls else []

    # -- events ---------------------------------------------------------------------------------------
    async def on_config(self, c: "Client", msg) -> dict:
        cfg = self.config
        return {"ok": True, "backend": self.service.backend.name, "iceServers": self._ice(c), "ttl_s": cfg.turn_ttl_s,
                "max_video_kbps": cfg.media_max_video_kbps, "max_audio_kbps": cfg.media_max_audio_kbps,
                "max_doc_bytes": cfg.media_max_doc_bytes}

    async def on_publish(self, c: "Client", msg) -> dict:
        sid, answer = await self.service.publish(c.principal, c.avatar_id, msg.room, msg.source, msg.sdp,
                                                 self._server_ice(), msg.audio_only)
        return {"ok": True, "id": sid, "sdp": answer}

    async def on_subscribe(self, c: "Client", msg) -> dict:
        sub, offer = await self.service.subscribe(c.principal, c.avatar_id, msg.room, msg.stream, self._server_ice())
        return {"ok": True, "id": sub, "sdp": offer}

    async def on_answer(self, c: "Client", msg) -> dict:
        await self.service.answer(c.avatar_id, msg.id, msg.sdp)
        return {"ok": True}

    async def on_ice(self, c: "Client", msg) -> dict:
        cand = msg.candidate.model_dump() if msg.candidate is not None else None
        await self.service.add_ice(c.avatar_id, msg.id, cand)
        return {"ok": True}

    async def on_stop(self, c: "Client", msg) -> dict:
        await self.service.stop(c.avatar_id, msg.id)
        return {"ok": True}

    async def on_mute(self, c: "Client", msg) -> dict:
        await self.service.mute(c.avatar_id, msg.id, msg.muted)
        return {"ok": True}

    async def on_doc(self, c: "Client", msg) -> dict:
        self.service.show_doc(c.principal, c.avatar_id, msg.room, msg.doc, msg.page)
        return {"ok": True}

    async def on_pointer(self, c: "Client", msg) -> None:
        xy = (float(msg.x), float(msg.y)) if msg.x is not None and msg.y is not None else None
        self.service.point(c.principal, c.avatar_id, msg.room, xy)

    async def on_doc_url(self, c: "Client", msg) -> dict:
        ttl = self.config.media_doc_url_s
        token, kind = self.service.doc_token(c.principal, c.avatar_id, msg.room, msg.doc, ttl)
        return {"ok": True, "url": f"api/media/docs/{msg.doc}?t={token}", "type": kind, "expires_s": ttl}


__all__ = ["MediaDesk"]
