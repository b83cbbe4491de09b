"""OpenID Connect relying party, one registration per municipality (issue #20): discovery, the
authorization code flow with PKCE (S256), state and nonce, and ID token verification with the
provider's JWKS (joserfc). Plain aiohttp for the HTTP calls: nothing here knows the routes.

What makes an identity unforgeable here:
- the issuer is the one registered for the municipality, and its discovery document must name
  itself with that same string (a provider cannot speak for another: OIDC Discovery 4.3);
- the ID token's signature verifies with that issuer's JWKS, ``iss`` is that issuer, ``aud`` is
  our client id (``azp`` too when there are several audiences), it has not expired, and its
  ``nonce`` is the one this login sent;
- ``state`` is single-use (taken from the store atomically) and bound to the browser by a
  cookie, so a replayed or injected callback finds nothing; the provider redeems a code once
  and only with the PKCE verifier this login made.
Each refusal is ``OidcRefused(code)``; callers log and count the code (ids only).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import msgpack
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from yakuba.server.store.base import Store

log = logging.getLogger("yakuba.auth.oidc")

STATE_PREFIX = "oidc:"  # store key of a pending login, next to the sessions' "auth:"
STATE_TTL_S = 600.0  # a login left at the provider's page longer than this starts again
META_TTL_S = 3600.0  # discovery documents and JWKS are re-read this often (key rotation)
LEEWAY_S = 60  # clock skew allowed between us and the provider
ALGORITHMS = ("RS256", "PS256", "ES256")  # never "none", never HMAC with a public value
SCOPES = "openid profile email department"


class OidcRefused(Exception):
    """A login that must not succeed; ``code`` (``oidc_*``) goes to the audit log and metrics."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code, self.detail = code, detail


@dataclass(frozen=True)
class Registration:
    """What we registered for a municipality (its row; the secret from settings)."""

    municipality: str
    issuer: str
    client_id: str
    client_secret: str | None = None  # None: a public client (PKCE only)


@dataclass(frozen=True)
class ProviderMeta:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    iss_parameter: bool  # the provider puts ``iss`` in its authorization responses (RFC 9207)


@dataclass(frozen=True)
class Pending:
    """A login between our redirect and the provider's callback (in the store, single-use)."""

    municipality: str
    issuer: str
    nonce: str
    verifier: str  # PKCE code_verifier; only its S256 hash went to the provider
    redirect_uri: str
    invite: str | None  # an invitation token the person came with (checked again at the end)
    created: float

    def pack(self) -> bytes:
        return msgpack.packb(asdict(self))

    @classmethod
    def unpack(cls, raw: bytes) -> "Pending | None":
        try:
            return cls(**msgpack.unpackb(raw))
        except Exception:
            return None


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class OidcClient:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time, timeout_s: float = 10.0) -> None:
        self.store, self.clock = store, clock
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._http: aiohttp.ClientSession | None = None
        self._meta: dict[str, tuple[float, ProviderMeta]] = {}
        self._keys: dict[str, tuple[float, KeySet]] = {}

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=self.timeout)
        return self._http

    async def _get_json(self, url: str, what: str) -> dict:
        try:
            async with self._session().get(url, allow_redirects=False) as r:
                if r.status != 200:
                    raise OidcRefused("oidc_provider_error", f"{what} answered {r.status}")
                body = await r.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            raise OidcRefused("oidc_provider_error", f"{what}: {type(e).__name__}") from None
        if not isinstance(body, dict):
            raise OidcRefused("oidc_provider_error", f"{what} is not a JSON object")
        return body

    # --- provider metadata ---------------------------------------------------------------------
    async def discover(self, issuer: str) -> ProviderMeta:
        hit = self._meta.get(issuer)
        if hit is not None and hit[0] > self.clock():
            return hit[1]
        doc = await self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration", "discovery")
        if doc.get("issuer") != issuer:  # a provider speaking for an issuer that is not itself
            raise OidcRefused("oidc_wrong_issuer", "discovery document names another issuer")
        methods = doc.get("code_challenge_methods_supported")
        if isinstance(methods, list) and "S256" not in methods:
            raise OidcRefused("oidc_provider_error", "provider does not support PKCE S256")
        try:
            meta = ProviderMeta(issuer, str(doc["authorization_endpoint"]), str(doc["token_endpoint"]),
                                str(doc["jwks_uri"]), doc.get("authorization_response_iss_parameter_supported") is True)
        except KeyError as e:
            raise OidcRefused("oidc_provider_error", f"discovery lacks {e.args[0]}") from None
        self._meta[issuer] = (self.clock() + META_TTL_S, meta)
        return meta

    async def keys(self, meta: ProviderMeta, refresh: bool = False) -> KeySet:
        hit = self._keys.get(meta.issuer)
        if hit is not None and hit[0] > self.clock() and not refresh:
            return hit[1]
        doc = await self._get_json(meta.jwks_uri, "jwks")
        try:
            ks = KeySet.import_key_set(doc)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError):
            raise OidcRefused("oidc_provider_error", "unreadable JWKS") from None
        self._keys[meta.issuer] = (self.clock() + META_TTL_S, ks)
        return ks

    # --- the flow ------------------------------------------------------------------------------
    async def begin(self, reg: Registration, redirect_uri: str, login_hint: str | None = None,
                    invite: str | None = None) -> tuple[str, str]:
        """The provider URL to send the browser to, and the state (also the browser's cookie)."""
        meta = await self.discover(reg.issuer)
        state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
        pending = Pending(reg.municipality, reg.issuer, nonce, verifier, redirect_uri, invite, self.clock())
        await self.store.put_session(STATE_PREFIX + state, pending.pack(), STATE_TTL_S)
        q = {"response_type": "code", "client_id": reg.client_id, "redirect_uri": redirect_uri, "scope": SCOPES,
             "state": state, "nonce": nonce, "code_challenge": s256(verifier), "code_challenge_method": "S256"}
        if login_hint:
            q["login_hint"] = login_hint[:200]
        sep = "&" if "?" in meta.authorization_endpoint else "?"
        return meta.authorization_endpoint + sep + urlencode(q), state

    async def take(self, state: str | None) -> Pending:
        """The pending login of ``state``, removed: a second callback with it finds nothing."""
        if not isinstance(state, str) or not 20 <= len(state) <= 100:
            raise OidcRefused("oidc_state_unknown", "no or malformed state")
        raw = await self.store.take_session(STATE_PREFIX + state)
        p = Pending.unpack(raw) if raw is not None else None
        if p is None or p.created + STATE_TTL_S < self.clock():
            raise OidcRefused("oidc_state_unknown", "state unknown, used or expired")
        return p

    async def exchange(self, reg: Registration, meta: ProviderMeta, pending: Pending, code: str) -> dict:
        """Redeem the code at the token endpoint (with the PKCE verifier); the token response."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": pending.redirect_uri,
                "code_verifier": pending.verifier, "client_id": reg.client_id}
        headers = {"Authorization": aiohttp.encode_basic_auth(reg.client_id, reg.client_secret)} if reg.client_secret else {}
        try:
            async with self._session().post(meta.token_endpoint, data=form, headers=headers, allow_redirects=False) as r:
                body = await r.json(content_type=None)
                status = r.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            raise OidcRefused("oidc_provider_error", f"token endpoint: {type(e).__name__}") from None
        if status != 200 or not isinstance(body, dict):
            err = body.get("error") if isinstance(body, dict) else None
            # invalid_grant: a code used before, someone else's, or without this login's verifier
            raise OidcRefused("oidc_code_refused", f"token endpoint {status} {str(err)[:40]}")
        if not isinstance(body.get("id_token"), str):
            raise OidcRefused("oidc_bad_token", "no id_token in the token response")
        return body

    async def verify(self, id_token: str, reg: Registration, meta: ProviderMeta, nonce: str | None,
                     now: float | None = None) -> dict[str, Any]:
        """The ID token's claims if it is this issuer's, for us, current and this login's."""
        ks = await self.keys(meta)
        try:
            tok = _decode(id_token, ks)
        except _UnknownKey:
            tok = None
        if tok is None:  # a key we do not have yet: the provider may have rotated (one re-read)
            try:
                tok = _decode(id_token, await self.keys(meta, refresh=True))
            except _UnknownKey:
                raise OidcRefused("oidc_bad_signature", "signed with a key not in the issuer's JWKS") from None
        c = tok.claims
        if c.get("iss") != reg.issuer:
            raise OidcRefused("oidc_wrong_issuer", "iss is not the registered issuer")
        aud = c.get("aud")
        auds = [aud] if isinstance(aud, str) else (aud if isinstance(aud, list) else [])
        if reg.client_id not in auds or (len(auds) > 1 and c.get("azp") != reg.client_id):
            raise OidcRefused("oidc_wrong_audience", "aud is not our client id")
        now = self.clock() if now is None else now
        exp, iat = c.get("exp"), c.get("iat")
        if not isinstance(exp, (int, float)) or exp + LEEWAY_S <= now:
            raise OidcRefused("oidc_expired", "id token expired")
        if isinstance(iat, (int, float)) and iat - LEEWAY_S > now:
            raise OidcRefused("oidc_expired", "id token issued in the future")
        if nonce is not None and not (isinstance(c.get("nonce"), str) and hmac.compare_digest(c["nonce"], nonce)):
            raise OidcRefused("oidc_bad_nonce", "nonce is not this login's")
        sub = c.get("sub")
        if not isinstance(sub, str) or not 1 <= len(sub) <= 255:
            raise OidcRefused("oidc_bad_token", "no usable sub")
        return dict(c)


class _UnknownKey(Exception):
    pass


def _decode(token: str, ks: KeySet):
    """joserfc's signature check with our algorithm list; a ``kid`` we lack is ``_UnknownKey`` (the
    caller re-reads the JWKS once), any other failure a bad signature or a malformed token."""
    try:
        return jwt.decode(token, ks, algorithms=list(ALGORITHMS))
    except InvalidKeyIdError:
        raise _UnknownKey() from None
    except (JoseError, ValueError, KeyError, TypeError) as e:
        raise OidcRefused("oidc_bad_signature", type(e).__name__) from None


__all__ = ["ALGORITHMS", "OidcClient", "OidcRefused", "Pending", "ProviderMeta", "Registration", "STATE_TTL_S", "s256"]
