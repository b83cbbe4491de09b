"""Server configuration: CLI flags over environment variables over defaults. Secrets (staff
tokens, the admin token) come from the environment or files, never from the repo."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path


def _tokens(value: str | None) -> frozenset[str]:
    if not value:
        return frozenset()
    p = Path(value)
    if p.is_file():
        value = p.read_text()
    return frozenset(t.strip() for t in value.replace(",", "\n").splitlines() if t.strip())


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    redis_url: str | None = None
    data_dir: Path = Path("var")
    node_id: str = field(default_factory=lambda: f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}")
    tick_hz: float = 10.0
    view_limit: int = 50
    grace_s: float = 30.0
    staff_tokens: frozenset[str] = frozenset()
    admin_token: str | None = None
    word_list: tuple[str, ...] = ()
    web_root: Path | None = None
    # None = same origin only (engine.io's default). Never [], which turns origin checks off.
    cors_origins: str | list[str] | None = None

    @classmethod
    def from_env(cls, **overrides) -> "Config":
        env = os.environ
        cfg = cls(
            redis_url=env.get("YAKUBA_REDIS_URL") or None,
            data_dir=Path(env.get("YAKUBA_DATA", "var")),
            tick_hz=float(env.get("YAKUBA_TICK_HZ", "10")),
            view_limit=int(env.get("YAKUBA_VIEW_LIMIT", "50")),
            grace_s=float(env.get("YAKUBA_GRACE_S", "30")),
            staff_tokens=_tokens(env.get("YAKUBA_STAFF_TOKENS")),
            admin_token=env.get("YAKUBA_ADMIN_TOKEN") or None,
            word_list=tuple(_tokens(env.get("YAKUBA_WORD_FILTER"))),
            web_root=Path(env["YAKUBA_WEB_ROOT"]) if env.get("YAKUBA_WEB_ROOT") else None,
            cors_origins=sorted(_tokens(env.get("YAKUBA_CORS_ORIGINS"))) or None,
        )
        if env.get("YAKUBA_NODE_ID"):
            cfg.node_id = env["YAKUBA_NODE_ID"]
        for k, v in overrides.items():
            if v is not None:
                setattr(cfg, k, v)
        return cfg
