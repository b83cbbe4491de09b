"""End-to-end fixtures: a real `yakuba serve` process and headless Debian Chromium (Playwright).

Screenshots go to artifacts/screenshots/ (gitignored), see docs/client.md.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from yakuba_testing import free_port

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "clients" / "web"
DIST = WEB / "dist" / "index.html"
AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = REPO / "artifacts" / "screenshots"
YAKUBA = Path(sys.executable).parent / "yakuba"


class Server:
    """`yakuba serve` on a fixed port; can be killed and started again on the same port."""

    def __init__(self, data: Path, port: int | None = None, env: dict[str, str] | None = None) -> None:
        self.data = data
        self.env = {**os.environ, **(env or {})}
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 30) -> None:
        log = open(self.data / f"serve-{int(time.time() * 1000)}.log", "wb")
        self.proc = subprocess.Popen(
            [str(YAKUBA), "serve", "--port", str(self.port), "--data", str(self.data)],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"yakuba serve exited with {self.proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(self.url + "healthz", timeout=1) as r:
                    if r.status == 200 and json.loads(r.read()).get("status") == "ok":
                        return
            except Exception:
                time.sleep(0.2)
        raise RuntimeError("yakuba serve did not become healthy")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def _ensure_built() -> None:
    if DIST.is_file() and AXE.is_file():
        return
    if not shutil.which("npm"):
        pytest.skip("npm not available and clients/web/dist is not built")
    subprocess.run(["bash", str(REPO / "scripts" / "build-web.sh")], check=True, cwd=REPO)


@pytest.fixture(scope="session")
def built_client() -> Path:
    _ensure_built()
    return DIST




@pytest.fixture(scope="module")
def server(tmp_path_factory, built_client):
    s = Server(tmp_path_factory.mktemp("yakuba-data"))
    s.start()
    yield s
    s.stop()




def axe_serious(page) -> list[dict]:
    """Run axe-core (from node_modules) in the page; return serious/critical violations."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    res = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                        ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))")
    return [v for v in res if v["impact"] in ("serious", "critical")]


STAFF_PASSWORD = "correct horse battery"


def staffed_node(tmp_path_factory, name: str, *users: str, env: dict[str, str] | None = None):
    """A `yakuba serve` process with a municipality and staff accounts made through the CLI,
    as an operator would (tests log in with STAFF_PASSWORD). A generator for module fixtures.
    ``env``: more environment for the server (e.g. MEDIA_ENV)."""
    from yakuba_testing import VENV_BIN, ServeProcess

    _ensure_built()
    data = tmp_path_factory.mktemp(name)
    env = {**os.environ, "YAKUBA_ARGON2_PROFILE": "test", **(env or {})}
    yakuba = str(VENV_BIN / "yakuba")
    subprocess.run([yakuba, "municipality", "add", "131016", "東京都千代田区", "--data", str(data)], env=env, check=True, capture_output=True)
    for u in users:
        subprocess.run([yakuba, "staff", "add", u, "--municipality", "131016", "--data", str(data)],
                       input=STAFF_PASSWORD + "\n", text=True, env=env, check=True, capture_output=True)
    s = ServeProcess(data, env=env).start()
    yield s
    s.stop()


# --- media (issue #17): a browser with fake camera, microphone and screen, on loopback ---------
# The embedded relay offers 127.0.0.1 (YAKUBA_MEDIA_LOOPBACK=1, server/media/loopback.py); no
# STUN or TURN server, so nothing leaves the machine.
MEDIA_ENV = {"YAKUBA_MEDIA_LOOPBACK": "1", "YAKUBA_MEDIA_BACKEND": "embedded"}
# Playwright passes its own --disable-features list and Chromium keeps only the last one given:
# repeat Playwright's (1.5x) with ours added.
_PW_DISABLED = ("AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,"
                "HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,ThirdPartyStoragePartitioning,"
                "AvoidCorsURLLoaderRestartOnRedirect,OptimizationHints,NetworkTimeServiceQuerying")
MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",  # a beeping microphone and a test-pattern camera
    "--use-fake-ui-for-media-stream",  # permission prompts accepted; getDisplayMedia gives a fake screen
    "--allow-loopback-in-peer-connection",
    f"--disable-features={_PW_DISABLED},WebRtcHideLocalIpsWithMdns",  # plain 127.0.0.1 candidates, no .local names
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="module")
def media_browser():
    """Headless Chromium for the media tests (same binary and switches as ``browser``, plus MEDIA_ARGS)."""
    from yakuba_testing import CHROME_ARGS, CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROME_ARGS, *MEDIA_ARGS])
        yield b
        b.close()
