"""Test helpers shared across test folders: free ports, a real Redis, `yakuba serve` processes.

A module of its own (not conftest.py) because several folders have a conftest.py and
`from conftest import ...` would pick whichever was imported first."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 20.0, ok_status: tuple[int, ...] = (200,)) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status in ok_status:
                    return
        except urllib.error.HTTPError as e:  # 503 counts as "up" when asked for
            if e.code in ok_status:
                return
            last = e
        except Exception as e:  # not listening yet
            last = e
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready: {last}")


class RedisServer:
    """A real redis-server on a free port, with no persistence; can be stopped and restarted."""

    def __init__(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.skip("redis-server not installed (make test installs it)")
        self.exe = exe
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="yakuba-redis-")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("redis did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None


class ServeProcess:
    """`yakuba serve` as a real subprocess, as an operator would run it."""

    def __init__(self, data: Path, redis_url: str | None = None, port: int | None = None, env: dict | None = None) -> None:
        self.port = port or free_port()
        self.data = data
        self.redis_url = redis_url
        self.env = {**os.environ, "YAKUBA_GRACE_S": "30", **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.log = data / f"serve-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> "ServeProcess":
        cmd = [str(VENV_BIN / "yakuba"), "serve", "--port", str(self.port), "--data", str(self.data)]
        if self.redis_url:
            cmd += ["--redis", self.redis_url]
        self.data.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        if wait:
            wait_http(self.url + "/healthz", 30)
        return self

    def kill(self) -> int | None:
        return self.stop("kill")

    def stop(self, sig: str = "term") -> int | None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate() if sig == "term" else self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        return rc


# Headless Debian Chromium for the browser tests (never a downloaded browser build).
CHROMIUM = os.environ.get("YAKUBA_CHROMIUM", "/usr/bin/chromium")
CHROME_ARGS = [
    "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-gpu",
]


class PostgresServer:
    """A throwaway PostgreSQL cluster (Debian's binaries) on a free loopback port.

    initdb and postgres refuse to run as root, and CI runs as root: then the cluster belongs to
    the ``postgres`` user and is started with runuser. As any other user it runs as that user.
    Trust authentication and fsync=off: it lives for one test session and holds nothing."""

    def __init__(self) -> None:
        import glob

        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
        if not bins:
            pytest.skip("PostgreSQL not installed (scripts/install-system-deps.sh installs it)")
        self.bin = Path(bins[-1]).parent
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            import pwd

            try:
                pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root and there is no `postgres` user to run the cluster as")
            if shutil.which("runuser") is None:
                pytest.skip("running as root without runuser: cannot start PostgreSQL as `postgres`")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="yakuba-pg-"))
        self.data = self.dir / "data"
        self._n = 0
        self.started = False

    def _as_owner(self, *cmd: str) -> None:
        r = subprocess.run([*self.as_user, *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
        if r.returncode != 0:  # say why (initdb's complaint, the server log), not just the exit code
            log = self.dir / "log"
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise RuntimeError(f"{Path(cmd[0]).name} failed ({r.returncode}): {r.stderr.decode(errors='replace')[-1500:]}{tail}")

    def start(self) -> "PostgresServer":
        if self.as_user:
            shutil.chown(self.dir, "postgres")
        self._as_owner(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "yakuba", "-E", "UTF8", "--locale=C.UTF-8")
        for attempt in range(3):  # free_port() can be taken by another process before postgres binds it
            opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
            try:
                self._as_owner(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-l", str(self.dir / "log"), "start", "-o", opts)
                break
            except RuntimeError:
                if attempt == 2:
                    raise
                self.port = free_port()
        self.started = True
        return self

    def url(self, name: str = "postgres") -> str:
        return f"postgresql://yakuba@127.0.0.1:{self.port}/{name}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        self._n += 1
        name = name or f"t{os.getpid()}_{self._n}"
        subprocess.run([str(self.bin / "psql"), "-q", "-v", "ON_ERROR_STOP=1", self.url(), "-c", f'CREATE DATABASE "{name}"'],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by create_database (FORCE: a test's leftover connections go too),
        so a long suite does not fill the temp directory with one database per test."""
        name = url.rsplit("/", 1)[1]
        subprocess.run([str(self.bin / "psql"), "-q", self.url(), "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def stop(self) -> None:
        if self.started:
            subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)
