"""Browser client benchmark (issue 4), in headless Debian Chromium with software rendering.

Prints JSON lines:
  bytes_before_first_frame  compressed bytes on the wire (HTTP encodedDataLength incl. headers,
                            plus WebSocket frames) from navigation until the first frame drawn with
                            the city hall in it
  time_to_first_frame_ms    navigation start -> that frame (the bench presses "enter" at once)
  frame_time                median / p95 of requestAnimationFrame intervals at 1280x720 with
                            1, 50, 200 avatars in view (1 real avatar + synthetic ones drawn by the
                            client's ?bench hook, moving every frame; rendering load only)
Each line names the WebGL renderer. Usage: python bench/client.py [--url http://host:port/]
(without --url a `yakuba serve` is started on a free port with a temporary data directory).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("YAKUBA_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-gpu"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    exe = Path(sys.executable).parent / "yakuba"
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port), "--data", data], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(150):
        try:
            with urllib.request.urlopen(url + "healthz", timeout=1) as r:
                if r.status == 200:
                    return proc, url
        except Exception:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("yakuba serve did not start")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def emit(**kw) -> None:
    print(json.dumps(kw, ensure_ascii=False), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=None)
    ap.add_argument("--frames", type=int, default=150)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    proc = None
    tmp = tempfile.TemporaryDirectory(prefix="yakuba-bench-")
    url = args.url
    if not url:
        proc, url = start_server(tmp.name)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            ctx = browser.new_context(viewport={"width": 1280, "height": 720})
            page = ctx.new_page()
            cdp = ctx.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
            wire = {"http": 0, "ws": 0, "requests": 0}

            def finished(e):
                wire["http"] += e.get("encodedDataLength", 0)
                wire["requests"] += 1

            cdp.on("Network.loadingFinished", finished)
            cdp.on("Network.webSocketFrameReceived", lambda e: wire.__setitem__("ws", wire["ws"] + len(e["response"]["payloadData"])))
            cdp.on("Network.webSocketFrameSent", lambda e: wire.__setitem__("ws", wire["ws"] + len(e["response"]["payloadData"])))
            page.goto(url + "?bench")
            page.wait_for_selector("html[data-ready]", state="attached")
            page.click("#enter")
            page.wait_for_function("window.__yakuba.state.firstFrameAt", timeout=60_000)
            st = page.evaluate("window.__yakuba.state")
            bytes_ff = wire["http"] + wire["ws"]
            renderer = st["renderer"]
            emit(metric="bytes_before_first_frame", value=bytes_ff, unit="bytes", goal=1_500_000,
                 ok=bytes_ff <= 1_500_000, http_bytes=wire["http"], ws_bytes=wire["ws"], requests=wire["requests"],
                 building=st["building"], renderer=renderer)
            emit(metric="time_to_first_frame_ms", value=round(st["firstFrameAt"], 1), unit="ms", renderer=renderer)
            page.evaluate("window.__yakuba.state")  # settle
            for n in (1, 50, 200):
                page.evaluate("n => window.__yakubaBench.crowd(n)", n - 1)
                time.sleep(1.5)
                ft = page.evaluate("n => window.__yakubaBench.frameTimes(n)", args.frames)
                drawn = page.evaluate("window.__yakuba.state.avatars.length")
                med = statistics.median(ft)
                emit(metric="frame_time", avatars=n, avatars_drawn=drawn, median_ms=round(med, 2),
                     p95_ms=round(pct(ft, 95), 2), frames=len(ft), viewport="1280x720", goal_ms=33,
                     ok=(med <= 33) if n == 50 else None, renderer=renderer)
            browser.close()
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
