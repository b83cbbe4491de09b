"""Background job load for bench/presence.py: keeps one dataset import and one fire-spread
simulation running on a server for as long as asked, through the public HTTP API, as an
administrator (the bench server gets YAKUBA_API_TOKEN).

Counts finished jobs so the JSON line shows that the jobs really ran during the measurement."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path


def _call(method: str, url: str, token: str, body: bytes | None = None, ctype: str = "application/json") -> dict:
    req = urllib.request.Request(url, data=body, method=method, headers={"Authorization": f"Bearer {token}", "Content-Type": ctype})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"{}")


def synthetic_gml(tmp: Path, buildings: int) -> Path:
    from yakuba.gis.synthetic import synthetic_district

    return synthetic_district(tmp / "synthetic", buildings, seed=7)


class JobLoad:
    """Two loops in threads: import (upload -> import job) and simulation (a Monte Carlo run on
    the first dataset the import made), each starting its next job when the last one ends."""

    def __init__(self, url: str, token: str, gml: Path, dataset: str, runs: int = 200) -> None:
        self.url, self.token, self.gml, self.dataset, self.runs = url, token, gml, dataset, runs
        self.imported = threading.Event()  # simulations run on the first imported dataset
        self.stop = threading.Event()
        self.done = {"import": 0, "simulation": 0}
        self.failed = {"import": 0, "simulation": 0}
        self.threads = [threading.Thread(target=self._loop, args=(k,), daemon=True) for k in self.done]

    def start(self) -> "JobLoad":
        for t in self.threads:
            t.start()
        return self

    def close(self) -> dict:
        self.stop.set()
        for t in self.threads:
            t.join(60)
        return {"jobs_done": dict(self.done), "jobs_failed": dict(self.failed)}

    def _submit(self, kind: str) -> str:
        if kind == "import":
            body = self.gml.read_bytes()
            doc = _call("POST", f"{self.url}/api/datasets?name=bench-{int(time.time() * 1000)}", self.token, body, "application/xml")
            return doc.get("job", doc).get("id")
        self.imported.wait(120)
        doc = _call("POST", f"{self.url}/api/datasets/{self.dataset}/simulations", self.token,
                    json.dumps({"hours": 2, "montecarlo": {"runs": self.runs}}).encode())
        return doc["id"]

    def _loop(self, kind: str) -> None:
        while not self.stop.is_set():
            try:
                jid = self._submit(kind)
                while not self.stop.is_set():
                    doc = _call("GET", f"{self.url}/api/jobs/{jid}", self.token)
                    if doc.get("state") in ("done", "failed", "cancelled"):
                        (self.done if doc["state"] == "done" else self.failed)[kind] += 1
                        if kind == "import" and doc["state"] == "done" and not self.imported.is_set():
                            self.dataset = doc.get("dataset") or self.dataset
                            self.imported.set()
                        break
                    time.sleep(1.0)  # as the browser polls
                else:
                    try:
                        _call("DELETE", f"{self.url}/api/jobs/{jid}", self.token)
                    except Exception:
                        pass
            except Exception:
                self.failed[kind] += 1
                time.sleep(1)
