"""A small asyncio client for Janus's HTTP API (sessions, plugin handles, long-poll events) and
its Admin API (stored tokens, handle_info). No media logic here: backend.py owns that.

Janus's HTTP API, as used here (Janus 1.x):
- ``POST /janus {"janus": "create", "token": T}`` -> a session id; every request on the session
  carries the token it was made with (``token_auth = true``: tokens come from the Admin API).
- ``POST /janus/<session> {"janus": "attach", "plugin": ...}`` -> a handle id.
- ``POST /janus/<session>/<handle> {"janus": "message", "body": {...}, "jsep": {...}}``: a plugin
  answers synchronously (``success`` with ``plugindata``) or with ``ack``, and the real answer
  comes later as an event carrying the same ``transaction``.
- ``GET /janus/<session>?maxev=N&token=T``: the long poll; one event, a list of events, or a
  ``keepalive`` after ~30 s of nothing. Events without a pending transaction (``webrtcup``,
  ``hangup``, ``media``, ``detached``, ``slowlink``, unsolicited plugin events) go to the
  session's ``on_event``.
- Sessions end after ``session_timeout`` (60 s) without a request: ``keepalive`` them.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

VIDEOROOM = "janus.plugin.videoroom"
# Janus core error codes used below (janus/apierror.h).
SESSION_NOT_FOUND = 458
HANDLE_NOT_FOUND = 459
UNAUTHORIZED = 403

EventHandler = Callable[["JanusSession", dict], Awaitable[None] | None]


class JanusError(Exception):
    """Janus refused a request. ``code``: Janus's (core 4xx) or the plugin's (VideoRoom 42x-43x)
    error code; 0 when Janus could not be reached or answered something unexpected."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"janus error {code}: {reason}")
        self.code = code
        self.reason = reason


def _tid() -> str:
    return secrets.token_hex(8)


class JanusClient:
    """One aiohttp session to one Janus: the Janus API at ``api_url``, the Admin API at
    ``admin_url`` (with ``admin_secret``)."""

    def __init__(self, api_url: str, admin_url: str | None = None, admin_secret: str | None = None, *,
                 request_timeout: float = 10.0, poll_timeout: float = 45.0, maxev: int = 10) -> None:
        self.api_url = api_url.rstrip("/")
        self.admin_url = admin_url.rstrip("/") if admin_url else None
        self.admin_secret = admin_secret
        self.request_timeout = request_timeout
        self.poll_timeout = poll_timeout  # Janus answers a long poll after 30 s at the latest
        self.maxev = maxev
        self.sessions: dict[int, JanusSession] = {}
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._http is None:
            # limit=0: one long poll per session stays open, so the pool must not cap them.
            self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                               json_serialize=_dumps)

    async def close(self) -> None:
        for s in list(self.sessions.values()):
            s.stop_polling()
        if self._http is not None:
            await self._http.close()
            self._http = None

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            raise JanusError(0, "client not started or closed")
        return self._http

    async def post(self, url: str, body: dict, timeout: float | None = None) -> dict:
        try:
            async with self.http.post(url, json=body,
                                      timeout=aiohttp.ClientTimeout(total=timeout or self.request_timeout)) as r:
                if r.status != 200:
                    raise JanusError(0, f"HTTP {r.status} from {url}")
                reply = await r.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as e:
            raise JanusError(0, f"{type(e).__name__}: {e}") from e
        if not isinstance(reply, dict):
            raise JanusError(0, f"unexpected reply {reply!r:.200}")
        if reply.get("janus") == "error":
            err = reply.get("error") or {}
            raise JanusError(int(err.get("code", 0)), str(err.get("reason", "")))
        return reply

    async def info(self) -> dict:
        try:
            async with self.http.get(self.api_url + "/info",
                                     timeout=aiohttp.ClientTimeout(total=self.request_timeout)) as r:
                return await r.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as e:
            raise JanusError(0, f"{type(e).__name__}: {e}") from e

    # --- Admin API -----------------------------------------------------------------------------

    async def admin(self, request: str, path: str = "", **fields: Any) -> dict:
        if not self.admin_url:
            raise JanusError(0, "no Admin API URL configured")
        body = {"janus": request, "transaction": _tid(), "admin_secret": self.admin_secret, **fields}
        return await self.post(self.admin_url + path, body)

    async def add_token(self, token: str, plugins: tuple[str, ...] = (VIDEOROOM,)) -> None:
        """Janus accepts API requests carrying ``token`` (for these plugins only) from now on."""
        await self.admin("add_token", token=token, plugins=list(plugins))

    async def remove_token(self, token: str) -> None:
        await self.admin("remove_token", token=token)

    async def list_tokens(self) -> list[str]:
        reply = await self.admin("list_tokens")
        return [t["token"] for t in (reply.get("data") or {}).get("tokens", [])]

    async def handle_info(self, session_id: int, handle_id: int) -> dict:
        reply = await self.admin("handle_info", f"/{session_id}/{handle_id}")
        return reply.get("info") or {}

    # --- Janus API -----------------------------------------------------------------------------

    async def create_session(self, token: str | None, on_event: EventHandler | None = None) -> JanusSession:
        body = {"janus": "create", "transaction": _tid()}
        if token:
            body["token"] = token
        reply = await self.post(self.api_url, body)
        session = JanusSession(self, int(reply["data"]["id"]), token, on_event)
        self.sessions[session.id] = session
        session.start_polling()
        return session


class JanusSession:
    """A Janus session: its handles, the requests waiting for an event, and its long poll."""

    def __init__(self, client: JanusClient, session_id: int, token: str | None,
                 on_event: EventHandler | None) -> None:
        self.client = client
        self.id = session_id
        self.token = token
        self.on_event = on_event
        self.handles: dict[int, JanusHandle] = {}
        self.closed = False
        self._pending: dict[str, asyncio.Future] = {}  # transaction -> future of its event
        self._poller: asyncio.Task | None = None

    @property
    def url(self) -> str:
        return f"{self.client.api_url}/{self.id}"

    def _body(self, janus: str, **fields: Any) -> dict:
        body = {"janus": janus, "transaction": _tid(), **fields}
        if self.token:
            body["token"] = self.token
        return body

    async def request(self, janus: str, path: str = "", **fields: Any) -> dict:
        """A synchronous Janus request on this session (or one of its handles: ``path``)."""
        return await self.client.post(self.url + path, self._body(janus, **fields))

    async def request_event(self, janus: str, path: str, timeout: float, **fields: Any) -> dict:
        """A request that Janus may answer with ``ack`` and then an event: that event (or the
        synchronous answer when there is one)."""
        body = self._body(janus, **fields)
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[body["transaction"]] = fut
        try:
            reply = await self.client.post(self.url + path, body)
            if reply.get("janus") != "ack":
                return reply
            try:
                return await asyncio.wait_for(fut, timeout)
            except asyncio.TimeoutError:
                what = body.get("body", {}).get("request", janus)
                raise JanusError(0, f"no answer to {what} in {timeout} s") from None
        finally:
            self._pending.pop(body["transaction"], None)

    async def attach(self, plugin: str = VIDEOROOM) -> JanusHandle:
        reply = await self.request("attach", plugin=plugin)
        handle = JanusHandle(self, int(reply["data"]["id"]), plugin)
        self.handles[handle.id] = handle
        return handle

    async def keepalive(self) -> None:
        await self.request("keepalive")

    async def destroy(self) -> None:
        """End the session (Janus detaches its handles and hangs up their PeerConnections)."""
        if self.closed:
            return
        self.closed = True
        self.client.sessions.pop(self.id, None)
        try:
            await self.request("destroy")
        finally:
            self.stop_polling()
            self._fail_pending(JanusError(SESSION_NOT_FOUND, "session destroyed"))

    # --- events --------------------------------------------------------------------------------

    def start_polling(self) -> None:
        if self._poller is None:
            self._poller = asyncio.get_running_loop().create_task(self._poll(), name=f"janus-poll-{self.id}")

    def stop_polling(self) -> None:
        if self._poller is not None and self._poller is not asyncio.current_task():
            self._poller.cancel()
        self._poller = None

    def _fail_pending(self, exc: Exception) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(exc)

    async def _poll(self) -> None:
        params = {"maxev": str(self.client.maxev)}
        if self.token:
            params["token"] = self.token
        failures = 0
        while not self.closed:
            try:
                async with self.client.http.get(self.url, params=params,
                                                timeout=aiohttp.ClientTimeout(total=self.client.poll_timeout)) as r:
                    events = await r.json(content_type=None)
                failures = 0
            except asyncio.CancelledError:
                raise
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as e:
                failures += 1
                if failures >= 5:  # Janus is gone: the session is gone with it
                    log.warning("janus session %s: long poll failed %d times (%s)", self.id, failures, e)
                    await self.expire("poll failed")
                    return
                await asyncio.sleep(min(0.2 * 2 ** failures, 3.0))
                continue
            for event in events if isinstance(events, list) else [events]:
                if not isinstance(event, dict):
                    continue
                if event.get("janus") == "error":
                    code = int((event.get("error") or {}).get("code", 0))
                    if code in (SESSION_NOT_FOUND, UNAUTHORIZED):
                        await self.expire(f"error {code}")
                        return
                    continue
                await self._dispatch(event)

    async def _dispatch(self, event: dict) -> None:
        kind = event.get("janus")
        if kind in ("keepalive", "ack"):
            return
        fut = self._pending.get(event.get("transaction") or "")
        if fut is not None and not fut.done():
            fut.set_result(event)
            return
        if kind == "timeout":
            await self.expire("timeout")
            return
        await self._emit(event)

    async def expire(self, reason: str) -> None:
        """Janus forgot the session (timeout, restart) or cannot be reached."""
        if self.closed:
            return
        self.closed = True
        self.client.sessions.pop(self.id, None)
        self._fail_pending(JanusError(SESSION_NOT_FOUND, f"session ended: {reason}"))
        await self._emit({"janus": "timeout", "session_id": self.id, "reason": reason})

    async def _emit(self, event: dict) -> None:
        if self.on_event is None:
            return
        try:
            result = self.on_event(self, event)
            if asyncio.iscoroutine(result):
                await result
        except Exception:  # an event handler's bug must not stop the long poll
            log.exception("janus session %s: event handler failed", self.id)


class JanusHandle:
    """A plugin handle within a session."""

    def __init__(self, session: JanusSession, handle_id: int, plugin: str) -> None:
        self.session = session
        self.id = handle_id
        self.plugin = plugin

    @property
    def path(self) -> str:
        return f"/{self.id}"

    async def message(self, body: dict, jsep: dict | None = None, timeout: float = 10.0) -> tuple[dict, dict | None]:
        """A plugin request, synchronous or asynchronous alike: (plugin data, JSEP or None).
        A plugin error (``error_code`` in its data) raises JanusError."""
        fields: dict[str, Any] = {"body": body}
        if jsep is not None:
            fields["jsep"] = jsep
        reply = await self.session.request_event("message", self.path, timeout, **fields)
        if reply.get("janus") == "error":
            err = reply.get("error") or {}
            raise JanusError(int(err.get("code", 0)), str(err.get("reason", "")))
        data = (reply.get("plugindata") or {}).get("data") or {}
        if "error_code" in data or "error" in data:
            raise JanusError(int(data.get("error_code", 0)), str(data.get("error", "")))
        return data, reply.get("jsep")

    async def trickle(self, candidate: dict | None) -> None:
        """A late candidate ({candidate, sdpMid, sdpMLineIndex}), or None: no more candidates."""
        await self.session.request("trickle", self.path,
                                   candidate=candidate if candidate is not None else {"completed": True})

    async def hangup(self) -> None:
        await self.session.request("hangup", self.path)

    async def detach(self) -> None:
        self.session.handles.pop(self.id, None)
        await self.session.request("detach", self.path)


def _dumps(obj: Any) -> str:
    import json

    return json.dumps(obj, separators=(",", ":"))


__all__ = ["JanusClient", "JanusError", "JanusHandle", "JanusSession", "VIDEOROOM"]
