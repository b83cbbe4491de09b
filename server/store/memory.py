"""In-process store: the embedded default (one process, no Redis).

Session records expire by wall clock so that they can outlive the process: ``close()`` (a
graceful stop, after the hub's drain saved every session) writes the unexpired ones to
``path``, and ``start()`` reads them back, so residents resume their own avatars after a
restart. A missing, expired or unreadable file means starting empty (one log line).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import msgpack

from .base import SEQ_SPACE, Store, seq_ahead

log = logging.getLogger("yakuba.store")
FILE_VERSION = 1


class MemoryStore(Store):
    def __init__(self, node_id: str = "local", path: Path | None = None) -> None:
        super().__init__(node_id)
        self.path = Path(path) if path else None
        self._sessions: dict[str, tuple[float, bytes]] = {}  # token -> (wall-clock expiry, record)

    async def start(self) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            saved = msgpack.unpackb(self.path.read_bytes())
            if saved.get("v") != FILE_VERSION:
                raise ValueError(f"version {saved.get('v')!r}")
            now = time.time()
            for token, (exp, data) in saved["sessions"].items():
                if float(exp) > now and isinstance(data, bytes):
                    self._sessions[str(token)] = (float(exp), data)
            # continue after the saved counter when the clock has not passed it (a busy run)
            seq = int(saved.get("seq", 0))
            if 0 < seq < SEQ_SPACE and seq_ahead(seq, self._seq):
                self._seq = seq
            log.info("restored %d session(s) from %s", len(self._sessions), self.path.name)
        except Exception as e:  # a corrupt file must not stop the server: start empty
            log.warning("sessions file %s unreadable (%s): starting without saved sessions", self.path.name, type(e).__name__)
            self._sessions.clear()

    async def close(self) -> None:
        if self.path is None:
            return
        now = time.time()
        live = {t: [exp, data] for t, (exp, data) in self._sessions.items() if exp > now}
        tmp = self.path.with_suffix(".tmp")
        try:
            tmp.write_bytes(msgpack.packb({"v": FILE_VERSION, "seq": self._seq, "sessions": live}))
            os.chmod(tmp, 0o600)  # resume tokens are credentials
            tmp.replace(self.path)
        except OSError as e:
            log.warning("sessions not saved to %s: %s", self.path.name, type(e).__name__)

    async def publish(self, channel: str, data: bytes) -> None:
        if channel in self.channels:
            await self._dispatch(channel, data)

    async def put_session(self, token: str, data: bytes, ttl_s: float, avatar_id: int | None = None) -> None:
        self._sessions[token] = (time.time() + ttl_s, data)
        if len(self._sessions) > 1000 and len(self._sessions) % 100 == 0:
            now = time.time()
            for k in [k for k, (exp, _) in self._sessions.items() if exp < now]:
                del self._sessions[k]

    async def get_session(self, token: str) -> bytes | None:
        item = self._sessions.get(token)
        if item is None or item[0] < time.time():
            self._sessions.pop(token, None)
            return None
        return item[1]

    async def delete_session(self, token: str) -> None:
        self._sessions.pop(token, None)

    async def healthy(self) -> bool:
        return True
