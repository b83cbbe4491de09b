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
    m = re.search(r"client_max_body_size\s+(\d+)([km]?);", (REPO / "deploy" / "nginx.conf").read_text())
    nginx = int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[m.group(2)]
    assert nginx == upload, (nginx, upload)
    assert "secrets" not in load(), "no file secrets left (staff tokens are gone)"
