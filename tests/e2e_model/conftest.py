"""Fixtures for the city model view e2e tests: a tmp data dir with the shipped Osaka sample and a
synthetic dense wooden district (imported with the real CLI), a `yakuba serve` process on a free
port, and headless Debian Chromium through Playwright (never `playwright install`).

Screenshots go to artifacts/screenshots/ (gitignored).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from yakuba_testing import ServeProcess

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "artifacts" / "screenshots"
YAKUBA = str(Path(sys.executable).parent / "yakuba")
SYNTH_ID = "synth-mokumitsu"
SYNTH_N = 1500


@pytest.fixture(scope="session")
def built_web() -> None:
    # incremental: scripts/build-web.sh skips npm ci / vite build when nothing changed
    # one retry: another build of the shared dist/ running at the same moment (emptyOutDir) can
    # remove files under this one's feet
    for attempt in range(2):
        r = subprocess.run(["bash", str(REPO / "scripts" / "build-web.sh")], cwd=REPO, capture_output=True, text=True)
        if r.returncode == 0:
            break
        if attempt:
            pytest.fail("web build failed:\n" + r.stdout[-2000:] + r.stderr[-2000:])
    if not (REPO / "clients" / "web" / "dist" / "model.html").is_file():
        pytest.fail("clients/web/dist/model.html was not built (vite.config.js input)")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("model-data")
    subprocess.run([YAKUBA, "import-defaults", "--data", str(data)], check=True, cwd=REPO, capture_output=True)
    from yakuba.gis.synthetic import synthetic_district

    gml = synthetic_district(data / "src", SYNTH_N, seed=3)
    subprocess.run([YAKUBA, "import", str(gml), "--name", "密集市街地（合成）", "--id", SYNTH_ID, "--data", str(data)],
                   check=True, cwd=REPO, capture_output=True)
    return data


@pytest.fixture(scope="session")
def server(data_dir, built_web):
    proc = ServeProcess(data_dir).start()
    yield proc.url
    proc.stop()




@pytest.fixture()
def page(browser):
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, device_scale_factor=1, locale="ja-JP")
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.errors = errors
    yield pg
    ctx.close()


