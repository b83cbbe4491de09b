"""Two real OpenID providers (npm oidc-provider under node, tests/salon/oidc/provider.mjs), one per
municipality, on free loopback ports; and a small relying party of the tests' own, to get real
tokens from them outside our server (a token of B to present to A, one for another client)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import aiohttp
import pytest

from yakuba_testing import REPO, free_port, wait_http

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
A_CODE, B_CODE = "271403", "131016"  # 堺市, 千代田区 (valid 全国地方公共団体コード)
A_SECRET = "a-test-only-secret"  # A's client is confidential; B's is public (PKCE only)
ACCOUNTS = {
    "A": {
        "hanako": {"name": "堺 花子", "department": "危機管理課", "email": "hanako@city.sakai.lg.jp", "email_verified": True},
        "taro": {"name": "堺 太郎", "department": "DX推進課", "email": "taro@example.com", "email_verified": True},
        "mallory": {"name": "M", "email": "mallory@city.sakai.lg.jp", "email_verified": False},
    },
    "B": {"jiro": {"name": "千代田 次郎", "department": "子育て支援課", "email": "jiro@city.chiyoda.lg.jp", "email_verified": True}},
}


@dataclass
class Provider:
    name: str
    port: int
    secret: str
    proc: subprocess.Popen | None = None
    log: list = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _npm_ready() -> None:
    if shutil.which("node") is None:
        pytest.skip("node not installed (make test installs it)")
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        # what `make test` does (scripts/install-test-npm.sh): npm ci from the lock file
        subprocess.run(["bash", str(REPO / "scripts" / "install-test-npm.sh")], check=True, timeout=300)


@pytest.fixture(scope="session")
def providers(tmp_path_factory) -> Iterator[dict[str, Provider]]:
    _npm_ready()
    out: dict[str, Provider] = {}
    logdir = tmp_path_factory.mktemp("oidc")
    try:
        for name, secret in (("A", A_SECRET), ("B", "")):
            p = Provider(name, free_port(), secret)
            env = {**os.environ, "ISSUER": p.issuer, "PORT": str(p.port), "CLIENT_SECRET": secret,
                   "ACCOUNTS": json.dumps(ACCOUNTS[name])}
            p.proc = subprocess.Popen(["node", str(OIDC_DIR / "provider.mjs")], env=env, cwd=OIDC_DIR,
                                      stdout=open(logdir / f"{name}.log", "ab"), stderr=subprocess.STDOUT)
            out[name] = p
        for p in out.values():
            wait_http(p.issuer + "/.well-known/openid-configuration", 20)
        yield out
    finally:
        for p in out.values():
            if p.proc is not None and p.proc.poll() is None:
                p.proc.terminate()
                p.proc.wait(5)


def register_body(p: Provider, code: str, name: str, issuer: str | None = None, domains=()) -> dict:
    return {"code": code, "name": name, "oidc_issuer": issuer or p.issuer, "oidc_client_id": "yakuba",
            "email_domains": list(domains)}


async def walk_to_callback(http: aiohttp.ClientSession, url: str, stop: str) -> str:
    """Follow redirects by hand (app -> provider -> its interactions -> back) and return the
    first Location that starts with ``stop`` (our callback) without visiting it."""
    for _ in range(15):
        async with http.get(url, allow_redirects=False) as r:
            if r.status not in (302, 303):
                raise AssertionError(f"{url} answered {r.status}: {(await r.text())[:300]}")
            url = urljoin(url, r.headers["Location"])
        if url.startswith(stop):
            return url
    raise AssertionError("too many redirects")


async def raw_tokens(p: Provider, login_hint: str, client_id: str = "yakuba", secret: str | None = None) -> dict:
    """A real token response from provider ``p``, asked for by the test itself (not our server)."""
    redirect = "http://127.0.0.1:9/auth/oidc/callback"  # never visited: the code is read from the Location
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    q = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect, "scope": "openid profile email",
         "state": secrets.token_urlsafe(16), "nonce": "test-nonce", "code_challenge": challenge,
         "code_challenge_method": "S256", "login_hint": login_hint}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        cb = await walk_to_callback(http, f"{p.issuer}/auth?{urlencode(q)}", redirect)
        code = parse_qs(urlsplit(cb).query)["code"][0]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "code_verifier": verifier,
                "client_id": client_id}
        headers = {"Authorization": aiohttp.encode_basic_auth(client_id, secret)} if secret else {}
        async with http.post(f"{p.issuer}/token", data=form, headers=headers) as r:
            body = await r.json()
            assert r.status == 200, body
            return body
