"""docker-compose.yml validates against the Compose specification and wires what the app needs.
No Docker engine runs here, so this is the check we can make."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import yaml

REPO = Path(__file__).resolve().parents[1]


def load():
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_file_validates_against_the_spec_schema():
    schema = json.loads((REPO / "deploy" / "schemas" / "compose-spec.json").read_text())
    jsonschema.validate(load(), schema)
    # The validator must be able to fail: a wrong type is caught.
    bad = load()
    bad["services"]["redis"]["ports"] = 6379
    try:
        jsonschema.validate(bad, schema)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("schema accepted ports: 6379")


def test_every_service_the_app_expects_is_wired():
    c = load()
    s = c["services"]
    yakubas = [n for n, v in s.items() if "yakuba serve" in " ".join(v.get("command", []))]
    assert len(yakubas) >= 2, "at least two replicas"
    for n in yakubas:
        env = s[n]["environment"]
        assert env["YAKUBA_REDIS_URL"].startswith("redis://redis:"), n
        assert "@postgres:5432/" in env["YAKUBA_DATABASE_URL"], n
        assert s[n]["depends_on"]["redis"]["condition"] == "service_healthy"
        assert "/healthz" in " ".join(s[n]["healthcheck"]["test"])
        assert "8080" in [str(p) for p in s[n]["expose"]]
    node_ids = {s[n]["environment"]["YAKUBA_NODE_ID"] for n in yakubas}
    assert len(node_ids) == len(yakubas), "each replica needs its own node id"
    for needed in ("proxy", "redis", "postgres", "coturn"):
        assert needed in s and "healthcheck" in s[needed], needed
    assert any(str(p).startswith("80:") for p in s["proxy"]["ports"])
    assert any("3478" in str(p) and "udp" in str(p) for p in s["coturn"]["ports"])
    # The proxy routes to every replica with sticky sessions and WebSocket upgrade.
    nginx = (REPO / "deploy" / "nginx.conf").read_text()
    assert "ip_hash" in nginx and "Upgrade $http_upgrade" in nginx
    upstreams = set(re.findall(r"server\s+([\w-]+):8080", nginx))
    assert upstreams == set(yakubas)


def test_no_secrets_inline():
    text = (REPO / "docker-compose.yml").read_text()
    for key in ("POSTGRES_PASSWORD", "YAKUBA_API_TOKEN", "TURN_SECRET"):
        for m in re.finditer(rf"^\s*{key}:\s*(\S+)", text, re.M):
            assert m.group(1).startswith("${"), f"{key} must come from the environment"


def test_compose_sets_only_what_the_app_reads_and_limits_agree():
    """Every YAKUBA_* variable in compose is a field of Settings (nothing set that nothing uses),
    and nginx's body limit equals the app's upload limit."""
    from yakuba.server.settings import Settings

    names = set()
    for f, info in Settings.model_fields.items():
        names.add("YAKUBA_" + f.upper())
        alias = info.validation_alias
        for a in getattr(alias, "choices", [alias] if alias else []):
            if isinstance(a, str) and a.startswith("YAKUBA_"):
                names.add(a)
    s = load()["services"]
    for n, svc in s.items():
        for key, value in (svc.get("environment") or {}).items():
            if key.startswith("YAKUBA_"):
                assert key in names, f"{n}: {key} is read by nothing"
    env = s["yakuba-1"]["environment"]
    upload = int(env["YAKUBA_MAX_UPLOAD_BYTES"])
    nginx = _size(_block(_nginx(), "location = /api/datasets"))  # the upload route only
    assert nginx == upload, (nginx, upload)
    assert "secrets" not in load(), "no file secrets left (staff tokens are gone)"


def _nginx() -> str:
    return (REPO / "deploy" / "nginx.conf").read_text()


def _block(text: str, header: str) -> str:
    """The body of the first ``header { ... }`` block (braces balanced)."""
    start = text.index(header)
    i, depth = text.index("{", start), 0
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i + 1:j]
    raise AssertionError(f"unbalanced block {header}")


def _size(text: str) -> int:
    m = re.search(r"client_max_body_size\s+(\d+)([km]?);", text)
    assert m, text[:200]
    return int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[m.group(2)]


def test_nginx_terminates_tls_and_limits_slow_or_greedy_clients():
    """TLS with HSTS and a redirect from port 80; slow-client timeouts; per-address request and
    connection limits (login stricter than the API); the client address forwarded; body limits
    equal to the app's (JSON everywhere, the upload limit only on the upload route)."""
    from yakuba.server.settings import Settings

    nginx = _nginx()
    servers = re.split(r"\n  server \{", _block(nginx, "http {"))[1:]
    plain = next(s for s in servers if "listen 80;" in s)
    tls = next(s for s in servers if re.search(r"listen 443 ssl http2;", s))
    assert "return 301 https://$host$request_uri;" in plain and "proxy_pass" not in plain.replace(
        _block(plain, "location = /healthz"), ""), "port 80 only redirects (and the local health check)"
    assert re.search(r"ssl_certificate\s+/etc/nginx/tls/fullchain\.pem;", tls)
    assert re.search(r"ssl_certificate_key\s+/etc/nginx/tls/privkey\.pem;", tls)
    assert re.search(r"ssl_protocols\s+TLSv1\.2 TLSv1\.3;", tls)
    assert re.search(r'add_header Strict-Transport-Security "max-age=(\d+)[^"]*" always;', tls)
    assert int(re.search(r"max-age=(\d+)", tls).group(1)) >= 180 * 86400
    assert "add_header" not in "".join(_block(tls, f"location {loc}") for loc in re.findall(r"location ([^{]+?) \{", tls))
    for directive in ("client_header_timeout", "client_body_timeout", "send_timeout"):
        assert re.search(rf"^\s*{directive}\s+\d+s;", nginx, re.M), directive
    ws = _block(tls, "location /socket.io/")
    assert "Upgrade $http_upgrade" in ws and int(re.search(r"proxy_read_timeout\s+(\d+)s;", ws).group(1)) >= 30
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in tls
    zones = dict(re.findall(r"limit_req_zone \$binary_remote_addr zone=(\w+):\d+m rate=(\d+r/[sm]);", nginx))
    per_s = {z: int(r[:-3]) / (60 if r.endswith("m") else 1) for z, r in zones.items()}
    assert {"api", "login"} <= set(zones) and per_s["login"] < per_s["api"]
    assert re.search(r"limit_req zone=api burst=\d+", _block(tls, "location /api/"))
    assert re.search(r"limit_req zone=login burst=\d+", _block(tls, "location = /api/auth/login"))
    assert re.search(r"limit_conn_zone \$binary_remote_addr zone=peraddr:", nginx)
    assert int(re.search(r"limit_conn peraddr (\d+);", tls).group(1)) == Settings().max_connections_per_address
    assert _size(tls) == Settings().max_json_bytes, "JSON bodies: the app's limit"
    assert "return 404" in _block(tls, "location = /metrics"), "metrics are never public"
    # The replicas believe X-Forwarded-For from the proxy's fixed address, and from nothing else.
    c = load()
    proxy_ip = c["services"]["proxy"]["networks"]["default"]["ipv4_address"]
    assert c["services"]["yakuba-1"]["environment"]["YAKUBA_TRUSTED_PROXIES"] == proxy_ip
    assert any(str(p).startswith("443:") for p in c["services"]["proxy"]["ports"])
    assert any("/etc/nginx/tls" in v for v in c["services"]["proxy"]["volumes"])


def test_nginx_accepts_the_config(tmp_path):
    """`nginx -t` on deploy/nginx.conf with a throwaway self-signed certificate; the upstream
    names (compose services) point at loopback so that no DNS is needed."""
    import shutil
    import subprocess

    import pytest

    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None or shutil.which("openssl") is None:
        pytest.skip("nginx or openssl not installed (scripts/install-system-deps.sh installs nginx)")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(tmp_path / "privkey.pem"), "-out", str(tmp_path / "fullchain.pem")],
                   check=True, capture_output=True, timeout=60)
    (tmp_path / "logs").mkdir()
    conf = (_nginx().replace("/etc/nginx/tls/", f"{tmp_path}/").replace("/var/www/acme", str(tmp_path))
            .replace("yakuba-1:8080", "127.0.0.1:1").replace("yakuba-2:8080", "127.0.0.2:1"))
    (tmp_path / "nginx.conf").write_text(conf)
    r = subprocess.run([nginx, "-t", "-q", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                        "-g", f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/logs/error.log;"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    # The check can fail: a broken directive is refused.
    (tmp_path / "nginx.conf").write_text(conf.replace("limit_conn peraddr 200;", "limit_conn nowhere 200;"))
    r = subprocess.run([nginx, "-t", "-q", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                        "-g", f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/logs/error.log;"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "nowhere" in r.stderr
