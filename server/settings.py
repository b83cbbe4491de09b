"""One settings model for every option: command-line flags > environment (``YAKUBA_*``) > defaults.

Secrets (the session secret, the API token, database passwords inside the URL) come from the
environment or from files named by ``*_FILE`` variables, never from the repository.
"""

from __future__ import annotations

import socket
import uuid
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated


def _split(value: Any) -> Any:
    """A comma/newline separated list, or a file holding one item per line."""
    if value is None or isinstance(value, (list, tuple, frozenset, set)):
        return value
    text = str(value)
    if not text:
        return ()
    p = Path(text)
    if "\n" not in text and "," not in text and p.is_file():
        text = p.read_text(encoding="utf-8")
    return tuple(t.strip() for t in text.replace(",", "\n").splitlines() if t.strip())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YAKUBA_", extra="ignore", validate_assignment=True)

    # --- serving
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Field(Path("var"), validation_alias=AliasChoices("YAKUBA_DATA", "data_dir"))
    web_root: Path | None = None
    node_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}")
    # None = same origin only (engine.io's default). Never [], which turns origin checks off.
    cors_origins: Annotated[tuple[str, ...] | None, NoDecode] = None
    # Behind a TLS-terminating proxy: cookies get Secure. None = decide from X-Forwarded-Proto.
    behind_tls: bool | None = None
    public_origin: str | None = None  # e.g. https://cityhall.example.jp, for the CSRF origin check

    # Who may read /metrics (Prometheus): client addresses or networks. Loopback by default, so
    # a scraper on the host works and the public, through the proxy, does not.
    metrics_allow: Annotated[tuple[str, ...], NoDecode] = ("127.0.0.1/32", "::1/128")

    # --- stores
    redis_url: str | None = None
    database_url: str | None = None  # None: sqlite file under data_dir (see effective_database_url)

    # --- realtime
    tick_hz: float = Field(10.0, gt=0, le=60)
    view_limit: int = Field(50, ge=1)
    grace_s: float = Field(30.0, ge=0)
    word_filter: Annotated[tuple[str, ...], NoDecode] = ()
    join_timeout_s: float = Field(30.0, gt=0)  # a socket that has not joined by then is closed
    max_connections: int = Field(5000, ge=1)  # sockets per node
    max_connections_per_address: int = Field(200, ge=1)  # a hall's shared Wi-Fi is one address
    # --- realtime abuse limits (issue #15; server/realtime/server.py, gateway.py)
    # No client event carries binary: a socket.io packet announcing more attachments is refused
    # before anything is buffered, and one packet's attachments are bounded in total.
    max_attachments: int = Field(2, ge=0)
    max_attachment_bytes: int = Field(16 * 1024, ge=0)
    # New avatars per client address: a token bucket. A hall's shared Wi-Fi (~200 people, one
    # address) all arriving at once join within ~70 s (60 at once, then 2/s); a script's
    # connect-join-drop loop gets rate_limited. Resumes of a live avatar are not counted.
    join_burst: int = Field(60, ge=1)
    join_rate: float = Field(2.0, gt=0)
    # Avatars in their grace period (disconnected, awaiting resume) per address; beyond it the
    # oldest leaves at once (a churn of short visits cannot fill a newcomer's view with ghosts).
    max_away_per_address: int = Field(40, ge=0)
    new_avatars_per_s: float = Field(20.0, gt=0)  # per node (burst: 5 s worth)
    # --- faults and restarts (issue #15): resume records of moved avatars are saved this often,
    # so a crashed node's residents resume elsewhere at most this far from where they were.
    session_save_s: float = Field(2.0, gt=0)
    # A booth's lock outlives the node that held its staff member by this lease plus grace_s.
    consult_lease_s: float = Field(15.0, gt=0)

    # --- media (issue #17; server/media): voice, screen and documents in booths, the hall, salons
    media_backend: Literal["embedded", "janus", "off"] = "embedded"  # embedded: the in-process relay
    # Tests and single-machine demos only: the embedded relay offers 127.0.0.1 as a candidate
    # (aioice skips loopback on purpose; a browser on the same host needs it).
    media_loopback: bool = False
    media_max_video_kbps: int = Field(1500, ge=50)  # a publisher's video cap (screen text stays legible)
    media_max_audio_kbps: int = Field(48, ge=8)
    media_max_streams_per_room: int = Field(8, ge=1)
    media_max_subscriptions: int = Field(12, ge=1)  # per client
    media_max_doc_bytes: int = Field(20 * 1024 * 1024, ge=1024)  # a shared PDF or image
    media_doc_url_s: int = Field(60, ge=5)  # a member's signed document address lives this long
    janus_url: str | None = None  # e.g. http://janus:8088/janus (media_backend=janus)
    janus_admin_url: str | None = None  # e.g. http://janus:7088/admin (per-participant tokens)
    janus_admin_secret: SecretStr | None = None  # YAKUBA_JANUS_ADMIN_SECRET, environment only
    # TURN (coturn, --use-auth-secret): the shared secret signs time-limited credentials (TURN
    # REST API scheme). turn_urls e.g. "turn:turn.city.example.jp:3478?transport=udp,
    # turns:turn.city.example.jp:443?transport=tcp" (turns: on 443 passes city firewalls that block UDP).
    turn_urls: Annotated[tuple[str, ...], NoDecode] = ()
    turn_secret: SecretStr | None = None  # YAKUBA_TURN_SECRET, environment only
    turn_ttl_s: int = Field(3600, ge=60)
    stun_urls: Annotated[tuple[str, ...], NoDecode] = ()  # none by default: no third party learns who talks

    # --- identity
    session_ttl_s: float = Field(8 * 3600, gt=0)  # a staff shift
    api_token: SecretStr | None = Field(None, validation_alias=AliasChoices("YAKUBA_API_TOKEN", "YAKUBA_ADMIN_TOKEN", "api_token"))
    login_max_failures: int = 5  # per username and per client address, in login_window_s
    login_window_s: float = 300.0
    argon2_profile: Literal["default", "test"] = "default"  # "test": cheap hashes for the test suite only
    # --- municipalities' identity providers (issue #20; server/auth/oidc.py). The issuer and
    # client id are registered per municipality (POST /api/salon/municipalities); client secrets
    # only here: "271209=secret,131016=other" or a file with one "code=secret" per line. A
    # municipality without one is a public client (PKCE only).
    oidc_client_secrets: SecretStr | None = None  # YAKUBA_OIDC_CLIENT_SECRETS, environment only
    invitation_ttl_s: float = Field(7 * 24 * 3600.0, ge=60, le=30 * 24 * 3600.0)  # default life of an invitation link

    # --- limits
    max_upload_bytes: int = 200 * 1024 * 1024  # a dataset upload (zip or GML) as sent
    max_uncompressed_bytes: int = 2 * 1024 * 1024 * 1024  # what a zip may expand to
    max_json_bytes: int = 2 * 1024 * 1024

    # --- HTTP hardening (docs/security.md; server/http/timeouts.py, proxies.py)
    # A connection has header_timeout_s to send a complete request head (slowloris), which is
    # also how long an idle keep-alive connection stays open. A request body must be complete
    # within body_timeout_s, or keep arriving at body_min_rate bytes/s over each such period
    # (a large upload on a good link goes on; one byte every few seconds does not).
    header_timeout_s: float = Field(10.0, gt=0)
    body_timeout_s: float = Field(30.0, gt=0)
    body_min_rate: int = Field(16 * 1024, ge=1)
    # Proxies (addresses or networks) whose X-Forwarded-For is believed. Empty: the client address
    # is the TCP peer's and X-Forwarded-For is ignored.
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()

    # --- jobs
    job_workers: int = Field(2, ge=1)
    jobs_per_principal: int = Field(2, ge=1)
    # A running job whose heartbeat (written every 0.5 s) is older than this belonged to a dead
    # node (or to this node before a restart under a new node id) and is taken back.
    job_stale_s: float = Field(15.0, gt=0)

    # --- reservations (server/consult/reservation_service.py)
    consult_cancel_before_s: float = Field(3600.0, ge=0)  # residents cancel online until this long before
    consult_reminder_before_s: float = Field(24 * 3600.0, gt=0)  # the reminder e-mail goes this long before
    consult_retention_days: float = Field(30.0, gt=0)  # then a past booking's name and e-mail are erased

    # --- events in the hall (server/events)
    events_retention_days: float = Field(30.0, gt=0)  # then a past event's registration names and e-mails are erased

    # --- e-mail (confirmations and reminders). No smtp_host: no e-mail is sent.
    smtp_host: str | None = None
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_from: str | None = None  # e.g. "区役所 予約 <yoyaku@city.example.jp>"
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None  # YAKUBA_SMTP_PASSWORD, from the environment only

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, v: Any) -> Any:
        v = _split(v)
        return tuple(v) if v else None

    @field_validator("metrics_allow", "trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, v: Any) -> Any:
        import ipaddress

        nets = _split(v) or ()
        for n in nets:
            ipaddress.ip_network(n, strict=False)  # a typo is a settings error, not an open door
        return tuple(nets)

    @field_validator("turn_urls", "stun_urls", mode="before")
    @classmethod
    def _urls(cls, v: Any) -> Any:
        urls = _split(v) or ()
        for u in urls:
            if not u.startswith(("turn:", "turns:", "stun:", "stuns:")):
                raise ValueError(f"not a TURN/STUN url: {u[:60]!r}")
        return tuple(urls)

    @field_validator("word_filter", mode="before")
    @classmethod
    def _words(cls, v: Any) -> Any:
        return _split(v) or ()

    def oidc_secret(self, municipality: str) -> str | None:
        """The client secret registered at ``municipality``'s provider, if any."""
        if self.oidc_client_secrets is None:
            return None
        for item in _split(self.oidc_client_secrets.get_secret_value()) or ():
            code, sep, secret = item.partition("=")
            if sep and code.strip() == municipality and secret.strip():
                return secret.strip()
        return None

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'yakuba.sqlite3').resolve()}"

    @classmethod
    def load(cls, **flags: Any) -> "Settings":
        """Flags (None = not given) over the environment over defaults."""
        given = {k: v for k, v in flags.items() if v is not None}
        return cls(**given)


__all__ = ["Settings"]
