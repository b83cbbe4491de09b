"""Prometheus metrics, one registry per app (several apps may live in one test process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.clients = Gauge("yakuba_clients", "connected socket clients", registry=self.registry)
        self.events = Counter("yakuba_events", "socket events received", ["event"], registry=self.registry)
        self.rejected = Counter("yakuba_rejected", "events or moves rejected, by reason", ["reason"], registry=self.registry)
        self.tick = Histogram(
            "yakuba_tick_seconds", "tick duration", registry=self.registry,
            # Fine below 20 ms: bench/presence.py reads the p99 from these buckets.
            buckets=(0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.006, 0.008, 0.01, 0.0125, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.07, 0.1, 0.2, 0.5),
        )
        self.snapshots = Counter("yakuba_snapshots", "snapshot frames sent", registry=self.registry)
        self.snapshots_skipped = Counter(
            "yakuba_snapshots_skipped", "snapshots not sent to a congested client (it gets a full one later)", registry=self.registry)
        self.store_up = Gauge("yakuba_store_up", "1 when the shared store answers", registry=self.registry)
