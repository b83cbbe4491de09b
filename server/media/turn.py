"""Time-limited TURN credentials (the TURN REST API scheme, as coturn's --use-auth-secret reads it).

username = "<expiry unix time>:<opaque id>", password = base64(HMAC-SHA1(secret, username)).
coturn recomputes the password from its copy of the secret and refuses an expired username, so
credentials need no database and a leaked one dies by itself. The opaque id is a hash of the
session (never a name), so coturn's logs carry no personal data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


def turn_credentials(secret: str, session: str, ttl_s: int, now: float | None = None) -> tuple[str, str, int]:
    """(username, credential, expiry) for one session."""
    expiry = int((time.time() if now is None else now) + ttl_s)
    opaque = hashlib.sha256(session.encode()).hexdigest()[:16]
    username = f"{expiry}:{opaque}"
    credential = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    return username, credential, expiry


def ice_servers(turn_urls: tuple[str, ...], stun_urls: tuple[str, ...], secret: str | None, session: str,
                ttl_s: int, now: float | None = None) -> list[dict]:
    """The RTCIceServer list a browser (or the embedded relay) uses: STUN as configured, TURN
    with this session's credentials. Empty when nothing is configured (host candidates only:
    enough on one LAN, and no third party learns who talks to whom)."""
    out: list[dict] = []
    if stun_urls:
        out.append({"urls": list(stun_urls)})
    if turn_urls and secret:
        user, cred, _ = turn_credentials(secret, session, ttl_s, now)
        out.append({"urls": list(turn_urls), "username": user, "credential": cred})
    return out


__all__ = ["ice_servers", "turn_credentials"]
