"""Refusals of the salon's identity paths (OpenID logins, invitations, suspended staff): one
audit line (ids only), one Prometheus counter ``yakuba_identity_refused{reason}``, and a count
per reason that tests read. One object per app, at ``REFUSALS_KEY``."""

from __future__ import annotations

import logging
from collections import Counter as Tally
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

log = logging.getLogger("yakuba.salon")


class Refusals:
    def __init__(self, audit: Any, registry: CollectorRegistry | None = None) -> None:
        self.audit = audit
        self.counts: Tally[str] = Tally()
        self.counter = Counter("yakuba_identity_refused", "salon identity refusals (logins, invitations), by reason",
                               ["reason"], registry=registry)

    def refuse(self, principal: Any, action: str, reason: str, resource: Any = None) -> None:
        """``principal``: a Principal or its key; ``resource``: an id (a municipality code)."""
        self.counts[reason] += 1
        self.counter.labels(reason).inc()
        self.audit.refused(principal, action, reason, resource)


REFUSALS_KEY = web.AppKey("salon_refusals", Refusals)

__all__ = ["REFUSALS_KEY", "Refusals"]
