"""Wiring the salon's tenant and identity parts into the app (app.py calls ``setup_salon`` once,
after ``setup_auth``): the refusal counter, the OpenID relying party and its routes, the tenant
API. Kept here so app.py stays a list of parts."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from yakuba.server.auth.identity import Identity
from yakuba.server.auth.oidc import OidcClient
from yakuba.server.auth.oidc_routes import setup_oidc_routes
from yakuba.server.salon.refusals import REFUSALS_KEY, Refusals
from yakuba.server.salon.desk import SalonDesk, with_conduct
from yakuba.server.salon.routes import setup_tenant_routes
from yakuba.server.salon.space_routes import DESK_KEY, setup_space_routes


def setup_salon(app: web.Application, config: Any, identity: Identity, store: Any, audit: Any,
                registry: Any = None, hub: Any = None) -> Refusals:
    refusals = app[REFUSALS_KEY] = Refusals(audit, registry)
    setup_oidc_routes(app, OidcClient(store), config.oidc_secret)  # secrets from settings, never the database
    setup_tenant_routes(app, config.invitation_ttl_s)
    setup_space_routes(app)  # bookings, conduct, reports (part 2)
    if hub is not None:  # the salon on the realtime node: doors, presence, locks, conduct, reports
        app[DESK_KEY] = SalonDesk(hub, identity.db, refusals, audit)
        hub.gateway.authenticate = with_conduct(hub.gateway.authenticate, identity.db)
    return refusals


__all__ = ["setup_salon"]
