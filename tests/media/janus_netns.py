"""A real Janus (Debian ``janus``) in a throwaway network namespace, for tests and the bench.

Janus skips loopback interfaces when it gathers ICE candidates, so it cannot be tested on
127.0.0.1. Instead: a network namespace with a veth pair (root side 10.77.N.1/24, namespace side
10.77.N.2/24), Janus started inside the namespace with a config written to a temp dir (token
auth, Admin API with a secret, HTTP transport on the namespace address, the VideoRoom plugin,
no STUN, a small RTP port range). Test peers (aiortc) stay in the root namespace: their host
candidate on the veth is not loopback, so they reach Janus without patching; give them an empty
ICE server list so that aiortc does not contact a public STUN server.

``janus_in_netns()`` is a plain context manager (the bench uses it); ``janus_server`` is the
pytest fixture (skips when not root or when ``ip netns`` is refused). Everything it creates is
removed on exit: Janus is killed, then the veth and the namespace are deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

JANUS = shutil.which("janus") or "/usr/bin/janus"
LIB = Path("/usr/lib/x86_64-linux-gnu/janus")
TICKS = os.sysconf("SC_CLK_TCK")
# Taken while picking a free 10.77.N subnet and creating the links, so that two test processes
# (pytest-xdist, a bench next to a test run) do not pick the same N.
LOCK = Path(tempfile.gettempdir()) / "yakuba-janus-netns.lock"
KEEP = {"plugins": {"libjanus_videoroom.so"}, "transports": {"libjanus_http.so"}}


class JanusUnavailable(RuntimeError):
    """Janus cannot run here (not root, no ``ip netns``, no janus binary): tests skip."""


@dataclass
class JanusInstance:
    netns: str
    host_veth: str
    ns_veth: str
    host_ip: str  # the root-namespace side: where test peers' host candidates are
    ns_ip: str  # Janus's address
    api_url: str  # http://10.77.N.2:8088/janus
    admin_url: str  # http://10.77.N.2:7088/admin
    admin_secret: str
    config_dir: Path
    log_path: Path
    proc: subprocess.Popen

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu_seconds(self) -> float:
        """Janus's user + system CPU time so far (all threads), from /proc/<pid>/stat."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=30, check=check)


def check_available() -> None:
    """Raise JanusUnavailable with the reason when this machine cannot run the harness."""
    if os.geteuid() != 0:
        raise JanusUnavailable("needs root (ip netns, veth)")
    if not Path(JANUS).exists():
        raise JanusUnavailable("janus not installed (scripts/install-system-deps.sh installs it)")
    if shutil.which("ip") is None:
        raise JanusUnavailable("iproute2 (ip) not installed")
    r = _run("ip", "netns", "list", check=False)
    if r.returncode != 0:
        raise JanusUnavailable(f"ip netns refused: {r.stderr.strip()}")


def _used_subnets() -> set[int]:
    out = _run("ip", "-o", "-4", "addr", "show").stdout
    return {int(m) for m in re.findall(r"inet 10\.77\.(\d+)\.", out)}


def _jcfg(sections: dict[str, dict]) -> str:
    """libconfig text for {section: {key: value}} (str, bool, int)."""

    def value(v) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    parts = []
    for name, body in sections.items():
        lines = "".join(f"\t{k} = {value(v)}\n" for k, v in body.items())
        parts.append(f"{name}: {{\n{lines}}}\n")
    return "".join(parts)


def _disabled(kind: str) -> str:
    """Every library of a kind except the ones kept: Janus loads all it finds otherwise."""
    folder = LIB / kind
    names = sorted(p.name for p in folder.glob("*.so")) if folder.exists() else []
    return ",".join(n for n in names if n not in KEEP.get(kind, set()))


def write_config(cfg: Path, *, ns_ip: str, ns_veth: str, admin_secret: str, rtp_ports: tuple[int, int],
                 session_timeout: int, debug_level: int) -> None:
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "janus.jcfg").write_text(_jcfg({
        "general": {
            "configs_folder": str(cfg),
            "plugins_folder": str(LIB / "plugins"),
            "transports_folder": str(LIB / "transports"),
            "events_folder": str(LIB / "events"),
            "loggers_folder": str(LIB / "loggers"),
            "debug_level": debug_level,
            "debug_timestamps": True,
            "debug_colors": False,
            "token_auth": True,  # every Janus API request needs a token added through the Admin API
            "admin_secret": admin_secret,
            "interface": ns_ip,  # the address Janus writes in its SDP (c= and o= lines)
            "session_timeout": session_timeout,
            "server_name": f"yakuba-test-{ns_veth}",
        },
        "media": {"rtp_port_range": f"{rtp_ports[0]}-{rtp_ports[1]}"},
        # No STUN, no 1:1 NAT: the host candidate on the veth is all there is. ice_ignore_list
        # keeps Janus's default ("vmnet"), which does not match the veth.
        "nat": {"nice_debug": False, "ice_enforce_list": ns_veth, "ice_ignore_list": "vmnet",
                "full_trickle": False, "ice_lite": False},
        "plugins": {"disable": _disabled("plugins")},
        "transports": {"disable": _disabled("transports")},
        "loggers": {"disable": _disabled("loggers")},
        "events": {"broadcast": False},
    }))
    (cfg / "janus.transport.http.jcfg").write_text(_jcfg({
        "general": {"json": "plain", "base_path": "/janus", "http": True, "port": 8088, "ip": ns_ip,
                    "https": False},
        "admin": {"admin_base_path": "/admin", "admin_http": True, "admin_port": 7088, "admin_ip": ns_ip,
                  "admin_https": False},
        "cors": {},
    }))
    # No static rooms: yakuba creates its rooms (private, with a secret) on demand.
    (cfg / "janus.plugin.videoroom.jcfg").write_text(_jcfg({"general": {}}))


def _wait_http(inst: JanusInstance, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if inst.proc.poll() is not None:
            raise RuntimeError(f"janus exited with {inst.proc.returncode}:\n{inst.log_tail()}")
        try:
            with urllib.request.urlopen(inst.api_url + "/info", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError as e:
            last = str(e)
        time.sleep(0.1)
    raise RuntimeError(f"janus did not answer on {inst.api_url} ({last}):\n{inst.log_tail()}")


def _cleanup_links(netns: str, host_veth: str) -> None:
    _run("ip", "link", "del", host_veth, check=False)  # deletes its peer too
    _run("ip", "netns", "del", netns, check=False)


@contextlib.contextmanager
def janus_in_netns(*, admin_secret: str | None = None, rtp_ports: tuple[int, int] = (20000, 20199),
                   session_timeout: int = 60, debug_level: int = 4, start_timeout: float = 30.0
                   ) -> Iterator[JanusInstance]:
    check_available()
    tmp = Path(tempfile.mkdtemp(prefix="yakuba-janus-"))
    admin_secret = admin_secret or secrets.token_urlsafe(16)
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            used = _used_subnets()
            n = next((i for i in range(1, 255) if i not in used), None)
            if n is None:
                raise JanusUnavailable("no free 10.77.N.0/24 subnet for the veth")
            tag = f"{os.getpid() % 100000}x{n}"
            netns, host_veth, ns_veth = f"yk-janus-{tag}", f"ykj{n}h", f"ykj{n}n"
            host_ip, ns_ip = f"10.77.{n}.1", f"10.77.{n}.2"
            try:
                _run("ip", "netns", "add", netns)
                _run("ip", "link", "add", host_veth, "type", "veth", "peer", "name", ns_veth)
                _run("ip", "link", "set", ns_veth, "netns", netns)
                _run("ip", "addr", "add", f"{host_ip}/24", "dev", host_veth)
                _run("ip", "link", "set", host_veth, "up")
                for cmd in (("ip", "addr", "add", f"{ns_ip}/24", "dev", ns_veth), ("ip", "link", "set", ns_veth, "up"),
                            ("ip", "link", "set", "lo", "up"),
                            # Replies to any root-namespace address (aiortc offers every host
                            # address it has) go back through the veth.
                            ("ip", "route", "add", "default", "via", host_ip)):
                    _run("ip", "netns", "exec", netns, *cmd)
            except subprocess.CalledProcessError as e:
                _cleanup_links(netns, host_veth)
                shutil.rmtree(tmp, ignore_errors=True)
                raise JanusUnavailable(f"{' '.join(e.cmd)}: {e.stderr.strip()}") from e
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    cfg, log_path = tmp / "conf", tmp / "janus.log"
    proc = None
    try:
        write_config(cfg, ns_ip=ns_ip, ns_veth=ns_veth, admin_secret=admin_secret, rtp_ports=rtp_ports,
                     session_timeout=session_timeout, debug_level=debug_level)
        with open(log_path, "wb") as log:
            # `ip netns exec` execs janus in place: proc.pid is Janus's own pid (CPU is read there).
            proc = subprocess.Popen(["ip", "netns", "exec", netns, JANUS, "-C", str(cfg / "janus.jcfg"),
                                     "-F", str(cfg), "-o"], stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        inst = JanusInstance(netns=netns, host_veth=host_veth, ns_veth=ns_veth, host_ip=host_ip, ns_ip=ns_ip,
                             api_url=f"http://{ns_ip}:8088/janus", admin_url=f"http://{ns_ip}:7088/admin",
                             admin_secret=admin_secret, config_dir=cfg, log_path=log_path, proc=proc)
        _wait_http(inst, start_timeout)
        yield inst
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        _cleanup_links(netns, host_veth)
        if os.environ.get("YAKUBA_KEEP_JANUS_LOG"):
            print(f"janus log kept in {log_path}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


try:  # the fixture, for tests; the bench imports this module without pytest
    import pytest
except ImportError:  # pragma: no cover
    pytest = None

if pytest is not None:

    @pytest.fixture(scope="module")
    def janus_server() -> Iterator[JanusInstance]:
        """One Janus in its own network namespace for a test module; skips where it cannot run."""
        try:
            check_available()
        except JanusUnavailable as e:
            pytest.skip(f"Janus in a network namespace: {e}")
        try:
            with janus_in_netns() as inst:
                yield inst
        except JanusUnavailable as e:
            pytest.skip(f"Janus in a network namespace: {e}")


__all__ = ["JanusInstance", "JanusUnavailable", "check_available", "janus_in_netns", "write_config"]
