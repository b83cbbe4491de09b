"""A real coturn (Debian `coturn`) for the TURN tests: TURN REST API secret, loopback only.

``--allow-loopback-peers`` lets it relay to peers on 127.0.0.1 (everything here is on one
machine); a deployment never sets it (deploy/coturn/turnserver.conf)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from yakuba_testing import free_port

TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"


def _udp_free() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def coturn(secret: str | None = None):
    """Yields (port, secret, log path); stops the server after."""
    if not os.path.exists(TURNSERVER):
        raise RuntimeError("coturn is not installed (scripts/install-system-deps.sh installs it)")
    secret = secret or secrets.token_hex(16)
    port = free_port()
    base = 40000 + (port % 2000) * 10
    d = Path(tempfile.mkdtemp(prefix="yakuba-coturn-"))
    log = d / "turn.log"
    proc = subprocess.Popen([
        TURNSERVER, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={port}",
        f"--min-port={base}", f"--max-port={base + 9}", "--use-auth-secret", f"--static-auth-secret={secret}",
        "--realm=yakuba.test", "--allow-loopback-peers", "--no-tls", "--no-dtls", "--no-cli", "--no-multicast-peers",
        f"--log-file={log}", "--simple-log", "--pidfile", str(d / "turn.pid"), "--no-stun-backward-compatibility",
    ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while time.time() < deadline:  # listening when a UDP STUN-less probe finds the TCP port open
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None:
                raise RuntimeError(f"turnserver exited: {log.read_text(errors='replace')[-2000:] if log.exists() else ''}")
            time.sleep(0.05)
        yield port, secret, log
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(d, ignore_errors=True)
