"""aiohttp application factory: socket.io, health, metrics, static client, GIS routes."""

from __future__ import annotations

import asyncio
import gc
import logging
from pathlib import Path

from aiohttp import web
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from yakuba.server.auth.audit import AUDIT_KEY, AuditLog
from yakuba.server.auth.identity import TRUSTED_PROXIES_KEY, request_address
from yakuba.server.http.content_type import content_type_middleware
from yakuba.server.http.proxies import parse_networks
from yakuba.server.http.serving import serve_options
from yakuba.server.http.timeouts import BODY_LIMITS_KEY, BodyLimits, body_deadline_middleware
from yakuba.server.auth.setup import attach_realtime, setup_auth
from yakuba.server.db.engine import Database
from yakuba.server.settings import Settings
from yakuba.server.protocol import MAX_FRAME_BYTES
from yakuba.server.realtime.server import GuardedServer
from yakuba.server.realtime.hub import Hub, HubConfig
from yakuba.server.realtime.limits import MaskingFilter
from yakuba.server.realtime.metrics import Metrics
from yakuba.server.store.base import Store
from yakuba.server.store.memory import MemoryStore
from yakuba.world.layout import default_plan_path, load_layout
from yakuba.world.state import World

log = logging.getLogger("yakuba.app")
REPO_ROOT = Path(__file__).resolve().parent.parent
HUB_KEY = web.AppKey("hub", Hub)
STORE_KEY = web.AppKey("store", Store)
METRICS_KEY = web.AppKey("metrics", Metrics)
CONFIG_KEY = web.AppKey("settings", Settings)
DB_KEY = web.AppKey("db", Database)
GLB_KEY = web.AppKey("cityhall_glb", dict)  # filled on first request (the app is frozen by then)

PLACEHOLDER = """<!doctype html><html lang="ja"><meta charset="utf-8"><title>Yakuba</title>
<body><h1>メタバース庁舎 (Yakuba)</h1><p>ブラウザ版クライアントは <code>make setup</code> でビルドされます。</p>
<p>The browser client is built by <code>make setup</code>.</p></body></html>"""


def make_store(config: Settings) -> Store:
    if config.redis_url:
        from yakuba.server.store.redis_store import RedisStore

        return RedisStore(config.redis_url, config.node_id)
    # sessions saved across a graceful restart (resume tokens: the file is 0600)
    return MemoryStore(config.node_id, config.data_dir / "sessions.msgpack")


def create_app(config: Settings) -> web.Application:
    metrics = Metrics()
    store = make_store(config)
    # The transport limit refuses oversize frames before any handler sees them.
    sio = GuardedServer(
        async_mode="aiohttp",
        max_http_buffer_size=MAX_FRAME_BYTES,
        cors_allowed_origins=list(config.cors_origins) if config.cors_origins else None,
        ping_interval=10,
        ping_timeout=10,
    )
    layout = load_layout()
    world = World(layout)
    hub = Hub(
        sio,
        world,
        store,
        metrics,
        HubConfig(tick_hz=config.tick_hz, view_limit=config.view_limit, grace_s=config.grace_s,
                  join_timeout_s=config.join_timeout_s, max_connections=config.max_connections,
                  max_per_address=config.max_connections_per_address,
                  max_attachments=config.max_attachments, max_attachment_bytes=config.max_attachment_bytes,
                  join_burst=config.join_burst, join_rate=config.join_rate,
                  max_away_per_address=config.max_away_per_address, new_avatars_per_s=config.new_avatars_per_s,
                  session_save_s=config.session_save_s),
        MaskingFilter(config.word_filter),
    )
    db = Database(config.effective_database_url)
    # outermost: a body's clock starts when its headers are in, before any lookup
    app = web.Application(client_max_size=config.max_json_bytes, middlewares=[body_deadline_middleware])
    app[BODY_LIMITS_KEY] = BodyLimits(config.body_timeout_s, config.body_min_rate)
    app[TRUSTED_PROXIES_KEY] = parse_networks(config.trusted_proxies)
    app[HUB_KEY], app[STORE_KEY], app[METRICS_KEY], app[CONFIG_KEY], app[DB_KEY] = hub, store, metrics, config, db
    app[GLB_KEY] = {}
    app[AUDIT_KEY] = audit = AuditLog(db, config.node_id)
    hub.consult.audit = audit  # booth and queue events by ids (never content)
    hub.consult.lease_s = config.consult_lease_s
    # sessions, login/logout/me, and the middlewares (security headers, principal, CSRF)
    identity = setup_auth(app, config, store, db, audit)
    app.middlewares.append(content_type_middleware)  # inside the security headers: its 415 gets them
    # The socket reads the same session cookie; logout and the staff watch end sessions on
    # every node through the hub's revoke.
    hub.gateway.authenticate = identity.for_socket
    attach_realtime(app, lambda: [c.principal for c in list(hub.clients.values()) if not c.ended], hub.revoke)
    from yakuba.server.salon.setup import setup_salon

    setup_salon(app, config, identity, store, audit, metrics.registry, hub)  # municipalities, invitations, OpenID, the salon's spaces (issue #20)
    sio.attach(app)

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    app.router.add_get("/assets/cityhall/plan.json", plan_view)
    app.router.add_get("/assets/cityhall.glb", cityhall_glb_view)
    _api_routes(app, config)
    from yakuba.server.media.setup import setup_media

    setup_media(app, hub, config, audit, metrics.registry)  # voice, screen, documents (server/media)
    from yakuba.server.hall.socket_handlers import HallDesk

    HallDesk(hub)  # the event hall: the presenter's view and the meeting tools (server/hall)
    _static(app, config)

    async def on_startup(app: web.Application) -> None:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        await db.migrate()  # an empty database gets its schema; an old one its new revisions
        await store.start()
        hub.start()
        # Everything alive now (modules, models, the world's geometry) lives as long as the
        # process: freezing it keeps full garbage collections proportional to the live clients.
        gc.freeze()
        log.info("node=%s serving (store=%s)", config.node_id, "redis" if store.shared else "memory")

    async def on_shutdown(app: web.Application) -> None:
        await hub.drain()

    async def on_cleanup(app: web.Application) -> None:
        await hub.stop()
        await audit.close()
        await store.close()
        await db.close()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    return app


def _api_routes(app: web.Application, config: Settings) -> None:
    """GIS and simulation routes live with their modules."""
    from yakuba.server.gis_api import setup_gis_routes
    from yakuba.server.jobs.routes import setup_jobs
    from yakuba.server.simulation_api import setup_simulation_routes

    setup_jobs(app, config, app[DB_KEY])  # imports and simulations: jobs in worker processes
    setup_gis_routes(app, config)
    setup_simulation_routes(app, config)
    from yakuba.server.consult.reservation_routes import RESERVATIONS_KEY, setup_reservations

    setup_reservations(app, config, app[DB_KEY], app[STORE_KEY], app[AUDIT_KEY])  # consultation bookings
    app[HUB_KEY].consult.reservations = app[RESERVATIONS_KEY]  # a code at the desk: a priority ticket
    from yakuba.server.events.routes import attach_hall, setup_events

    events = setup_events(app, config, app[DB_KEY], app[STORE_KEY], app[AUDIT_KEY])  # events in the hall (issue #18)
    attach_hall(app[HUB_KEY].rooms, events)  # the running event's presenters and capacity, from memory
    from yakuba.server.http.audit_routes import setup_audit_routes

    setup_audit_routes(app, app[DB_KEY])  # administrators read the trail (ids only)


def _static(app: web.Application, config: Settings) -> None:
    root = config.web_root or REPO_ROOT / "clients" / "web" / "dist"
    if (root / "index.html").is_file():

        async def index(request: web.Request) -> web.FileResponse:
            return web.FileResponse(root / "index.html", headers={"Cache-Control": "no-cache"})

        app.router.add_get("/", index)
        app.router.add_static("/", root, show_index=False, append_version=False)
    else:

        async def placeholder(request: web.Request) -> web.Response:
            return web.Response(text=PLACEHOLDER, content_type="text/html")

        app.router.add_get("/", placeholder)


async def healthz(request: web.Request) -> web.Response:
    store = request.app[STORE_KEY]
    hub = request.app[HUB_KEY]
    ok = await store.healthy()
    request.app[METRICS_KEY].store_up.set(1 if ok else 0)
    body = {
        "status": "ok" if ok and not hub.draining else ("draining" if hub.draining else "store_unavailable"),
        "node": store.node_id,
        "store": "redis" if store.shared else "memory",
        "clients": len(hub.clients),
        "avatars": len(hub.world.avatars),
        "tick": hub.tick,
    }
    return web.json_response(body, status=200 if ok and not hub.draining else 503)


async def metrics_view(request: web.Request) -> web.Response:
    import ipaddress

    allow = request.app[CONFIG_KEY].metrics_allow
    try:
        # the client's address, not a same-host proxy's: behind nginx on loopback, the public
        # would otherwise be "local"
        addr = ipaddress.ip_address(request_address(request))
        ok = any(addr in ipaddress.ip_network(n, strict=False) for n in allow)
    except ValueError:
        ok = False
    if not ok:
        return web.json_response({"error": {"code": "forbidden", "message": "metrics are not public (YAKUBA_METRICS_ALLOW)"}}, status=403)
    data = generate_latest(request.app[METRICS_KEY].registry)
    return web.Response(body=data, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def plan_view(request: web.Request) -> web.FileResponse:
    return web.FileResponse(default_plan_path())


async def cityhall_glb_view(request: web.Request) -> web.Response:
    """The city hall model, generated once per app from the same plan the server collides against."""
    cache = request.app[GLB_KEY]
    glb = cache.get("glb")
    if glb is None:
        from yakuba.world.gltf import cityhall_glb

        hub = request.app[HUB_KEY]
        glb = await asyncio.get_running_loop().run_in_executor(None, cityhall_glb, hub.world.layout.raw)
        cache["glb"] = glb
    return web.Response(body=glb, content_type="model/gltf-binary", headers={"Cache-Control": "public, max-age=300"})


def run(config: Settings) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(config)
    # aiohttp runs on_shutdown (our drain) on SIGINT and SIGTERM: clients are told and their
    # sessions saved before the sockets close.
    print(f"Yakuba: http://{config.host}:{config.port}/  (store: {'redis' if config.redis_url else 'memory'})", flush=True)
    web.run_app(app, host=config.host, port=config.port, print=None, handle_signals=True, shutdown_timeout=5,
                **serve_options(config))  # header timeout, access log without queries (server/http/serving.py)
    return 0


__all__ = ["create_app", "run"]
