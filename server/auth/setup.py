"""Wiring identity into the app: the factory calls ``setup_auth`` once, and ``attach_realtime``
once the socket gateway exists. Kept here so app.py stays a list of parts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from yakuba.server.auth import passwords
from yakuba.server.auth.identity import IDENTITY_KEY, Identity, principal_middleware
from yakuba.server.auth.principal import Principal
from yakuba.server.auth.routes import REVOKE_KEY, setup_auth_routes
from yakuba.server.auth.sessions import Sessions
from yakuba.server.auth.throttle import LoginThrottle
from yakuba.server.auth.watch import StaffWatch
from yakuba.server.http.csrf import csrf_middleware, security_headers_middleware

WATCH_KEY = web.AppKey("staff_watch", StaffWatch)


def setup_auth(app: web.Application, config: Any, store: Any, db: Any, audit: Any = None) -> Identity:
    """Sessions in ``store``, accounts in ``db``, refusals to ``audit`` (an AuditLog; one is
    made for the app when None). Adds the middlewares (security headers, principal, CSRF) and
    the /api/auth routes. Call before the app is frozen."""
    passwords.set_profile(config.argon2_profile)
    own_audit = audit is None
    if own_audit:
        from yakuba.server.auth.audit import AuditLog

        audit = AuditLog(db, config.node_id)
    identity = Identity(
        Sessions(store, config.session_ttl_s),
        LoginThrottle(store, config.login_max_failures, config.login_window_s),
        db, audit,
        api_token=config.api_token.get_secret_value() if config.api_token else None,
        behind_tls=config.behind_tls, public_origin=config.public_origin,
    )
    app[IDENTITY_KEY] = identity
    app.middlewares.extend([security_headers_middleware, principal_middleware, csrf_middleware])
    setup_auth_routes(app)

    async def warm(app: web.Application) -> None:
        await passwords.warm()  # the dummy hash, so the first unknown-user login is not faster

    async def close(app: web.Application) -> None:
        w = app.get(WATCH_KEY)
        if w is not None:
            await w.stop()
        if own_audit:
            await audit.close()

    app.on_startup.append(warm)
    app.on_cleanup.append(close)
    return identity


def attach_realtime(app: web.Application, connected: Callable[[], Iterable[Principal]],
                    revoke: Callable[..., Awaitable[None]], interval_s: float = 2.0, start: bool = True) -> StaffWatch:
    """Logout revokes through ``revoke(session_id=..., staff_id=...)`` (the gateway's, which
    reaches every node), and a watch re-checks the connected staff every ``interval_s``.
    ``connected()`` lists the principals of this node's sockets."""
    app[REVOKE_KEY] = revoke
    watch = StaffWatch(app[IDENTITY_KEY], connected, revoke, interval_s)
    app[WATCH_KEY] = watch
    if start:
        async def go(app: web.Application) -> None:
            watch.start()

        app.on_startup.append(go)
    return watch


def socket_authenticator(app: web.Application) -> Callable[[dict, Any], Awaitable[Principal]]:
    """The gateway's ``authenticate(environ, auth) -> Principal``."""
    identity = app[IDENTITY_KEY]
    return identity.for_socket


__all__ = ["WATCH_KEY", "attach_realtime", "setup_auth", "socket_authenticator"]
