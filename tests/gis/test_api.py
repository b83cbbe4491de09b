from __future__ import annotations

import asyncio
import gzip
import io
import zipfile
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from yakuba.gis.pipeline import import_dataset
from yakuba.server.app import create_app
from yakuba.server.settings import Settings

from .conftest import SAMPLES, fine_tiles

TOKEN = "s3cret-admin"
OSAKA = SAMPLES / "udx" / "bldg" / "51357309_bldg_6697_op.gml"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("data")
    import_dataset([OSAKA], "Osaka", d, dataset_id="osaka", workers=1)
    return d


async def make_client(data_dir: Path, token: str | None = TOKEN, max_upload: int | None = None,
                      max_uncompressed: int | None = None, cors_origins: str | None = None) -> TestClient:
    """The whole app (auth middleware, policy, jobs), as `yakuba serve` builds it."""
    settings = Settings.load(data_dir=data_dir, api_token=token, max_upload_bytes=max_upload,
                             max_uncompressed_bytes=max_uncompressed, argon2_profile="test", cors_origins=cors_origins)
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    return client


async def error_of(resp) -> str:
    body = await resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return body["error"]["code"]


async def test_list_and_detail(data_dir: Path) -> None:
    c = await make_client(data_dir)
    try:
        r = await c.get("/api/datasets")
        assert r.status == 200
        ds = (await r.json())["datasets"]
        assert [d["id"] for d in ds] == ["osaka"] and ds[0]["counts"]["buildings"] == 63
        r = await c.get("/api/datasets/osaka")
        m = await r.json()
        assert m["counts"]["buildings"] == 63 and m["coverage"]["structure_code"] == 63
        assert 135.49 < m["extent"]["lon_min"] < m["extent"]["lon_max"] < 135.51
        assert m["tileset"] == "/datasets/osaka/tileset.json"
        r = await c.get("/api/datasets/nope")
        assert r.status == 404 and await error_of(r) == "not_found"
        r = await c.get("/api/datasets/Bad..Id")
        assert r.status == 400 and await error_of(r) == "invalid_id"
    finally:
        await c.close()


async def test_tiles_etag_and_gzip(data_dir: Path) -> None:
    c = await make_client(data_dir)
    try:
        r = await c.get("/datasets/osaka/tileset.json", headers={"Accept-Encoding": "gzip"})
        assert r.status == 200 and r.headers["Content-Encoding"] == "gzip"
        ts = await r.json(content_type=None)  # client decompresses
        etag = r.headers["ETag"]
        r = await c.get("/datasets/osaka/tileset.json", headers={"If-None-Match": etag})
        assert r.status == 304
        uri = fine_tiles(ts)[0]["content"]["uri"]
        r = await c.get(f"/datasets/osaka/{uri}", headers={"Accept-Encoding": "identity"})
        raw = await r.read()
        assert r.status == 200 and raw[:4] == b"glTF" and "Content-Encoding" not in r.headers
        assert r.headers["Content-Type"] == "model/gltf-binary"
        r = await c.get(f"/datasets/osaka/{uri}", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
        assert gzip.decompress(await r.read()) == raw
        for bad in ("/datasets/osaka/buildings.npz", "/datasets/osaka/tiles/..%2Fdataset.json", "/datasets/..%2F..%2Fetc/passwd",
                    "/datasets/osaka/tiles/../dataset.json"):
            r = await c.get(bad)
            assert r.status in (400, 404), bad
    finally:
        await c.close()


async def test_building_lookup(data_dir: Path) -> None:
    c = await make_client(data_dir)
    try:
        r = await c.get("/api/datasets/osaka/buildings/bldg_5ca924bd-e2cb-4a01-a58c-a99c6667db0f")
        b = await r.json()
        assert r.status == 200
        assert b["height"] == 7.0 and b["storeys_above"] == 2 and b["year"] is None
        assert b["codes"]["structure_code"] == {"code": "601", "ja": "木造・土蔵造", "en": "wooden"}
        assert b["codes"]["usage_code"]["ja"] == "住宅"
        assert b["attributes"]["building_id"] and b["feature_id"] >= 0
        r = await c.get("/api/datasets/osaka/buildings/nope")
        assert r.status == 404 and await error_of(r) == "not_found"
    finally:
        await c.close()


async def wait_job(c: TestClient, url: str) -> dict:
    # Jobs are private to whoever started them (here the API token's administrator), and the
    # import runs in a worker process that first has to start: bounded at ~30 s.
    for _ in range(600):
        j = await (await c.get(url, headers={"Authorization": f"Bearer {TOKEN}"})).json()
        if j["state"] in ("done", "failed"):
            return j
        await asyncio.sleep(0.05)
    raise AssertionError("job did not finish")


async def test_upload_requires_token(tmp_path: Path) -> None:
    c = await make_client(tmp_path)
    try:
        r = await c.post("/api/datasets?name=x", data=b"<x/>")
        assert r.status == 403 and await error_of(r) == "forbidden"
        r = await c.post("/api/datasets?name=x", data=b"<x/>", headers={"Authorization": "Bearer wrong"})
        assert r.status == 403
    finally:
        await c.close()
    c = await make_client(tmp_path, token=None)
    try:
        # no API token configured: a bearer token is no credential at all
        r = await c.post("/api/datasets?name=x", data=b"<x/>", headers={"Authorization": "Bearer anything"})
        assert r.status == 403 and await error_of(r) == "forbidden"
    finally:
        await c.close()


async def test_upload_gml_and_zip_jobs(tmp_path: Path) -> None:
    c = await make_client(tmp_path)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        r = await c.post("/api/datasets?name=Osaka%20Up&id=osaka-up", data=OSAKA.read_bytes(), headers=auth)
        assert r.status == 202
        j = await wait_job(c, (await r.json())["url"])
        assert j["state"] == "done" and j["result"]["buildings"] == 63 and j["progress"] == 1.0
        # A zip laid out like a PLATEAU download: codelists resolve inside the archive.
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.write(SAMPLES / "udx" / "bldg" / "54377084_bldg_6697_op.gml", "city/udx/bldg/54377084_bldg_6697_op.gml")
            for f in (SAMPLES / "codelists").glob("*.xml"):
                z.write(f, f"city/codelists/{f.name}")
        r = await c.post("/api/datasets?name=Imizu", data=buf.getvalue(), headers=auth)
        j = await wait_job(c, (await r.json())["url"])
        assert j["state"] == "done" and j["result"]["buildings"] == 48
        assert "codelist_missing" not in j["result"]["warnings"]
        r = await c.get("/api/datasets")
        assert {d["id"] for d in (await r.json())["datasets"]} == {"osaka-up", "imizu"}
        # ...and both are durable records, with who imported them (an id, never a name)
        from yakuba.server.app import DB_KEY
        from yakuba.server.db.datasets import list_datasets

        async with c.server.app[DB_KEY].session() as s:
            rows = {d.id: d for d in await list_datasets(s)}
        assert set(rows) == {"osaka-up", "imizu"}
        assert rows["osaka-up"].buildings == 63 and rows["imizu"].buildings == 48
        assert rows["osaka-up"].path == "datasets/osaka-up" and rows["osaka-up"].created_by == "admin:api-token"
        # Broken GML: the job fails with a clear reason, the server stays up.
        r = await c.post("/api/datasets?name=broken", data=OSAKA.read_bytes()[:5000], headers=auth)
        j = await wait_job(c, (await r.json())["url"])
        assert j["state"] == "failed" and j["error"]["code"] == "invalid_input" and j["error"]["line"]
        r = await c.get("/api/jobs/nope")
        assert r.status == 404
    finally:
        await c.close()


async def test_zip_bomb_and_oversize_rejected(tmp_path: Path) -> None:
    c = await make_client(tmp_path, max_upload=2_000_000, max_uncompressed=50_000_000)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("bomb.gml", b"\0" * 30_000_000)  # ~30 kB compressed, ratio ~1000:1
        assert len(buf.getvalue()) < 2_000_000
        r = await c.post("/api/datasets?name=bomb", data=buf.getvalue(), headers=auth)
        assert r.status == 413 and await error_of(r) == "zip_bomb"
        r = await c.post("/api/datasets?name=big", data=b"x" * 2_100_000, headers=auth)
        assert r.status == 413 and await error_of(r) == "too_large"
        # Chunked upload without Content-Length is cut off at the limit too.
        async def gen():
            for _ in range(40):
                yield b"y" * 65536

        r = await c.post("/api/datasets?name=big", data=gen(), headers=auth)
        assert r.status == 413
        r = await c.post("/api/datasets?name=empty", data=b"", headers=auth)
        assert r.status == 400 and await error_of(r) == "empty"
        bad = io.BytesIO()
        with zipfile.ZipFile(bad, "w") as z:
            z.writestr("../evil.gml", b"<x/>")
        r = await c.post("/api/datasets?name=evil", data=bad.getvalue(), headers=auth)
        assert r.status == 400 and await error_of(r) == "bad_zip"
        assert not (tmp_path / "evil.gml").exists()
        # an encrypted member (flag bit 0 set in both headers) and a corrupt one: clear 400s, not 500
        enc = io.BytesIO()
        with zipfile.ZipFile(enc, "w") as z:
            z.writestr("secret.gml", b"<x/>")
        raw = bytearray(enc.getvalue())
        for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            i = raw.find(sig)
            raw[i + off] |= 0x1
        r = await c.post("/api/datasets?name=enc", data=bytes(raw), headers=auth)
        assert r.status == 400 and await error_of(r) == "bad_zip"
        cor = io.BytesIO()
        with zipfile.ZipFile(cor, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("c.gml", b"<core:CityModel/>" * 200)
        raw = bytearray(cor.getvalue())
        raw[raw.find(b"c.gml") + 5 + 10] ^= 0xFF  # flip a byte of the compressed data
        r = await c.post("/api/datasets?name=cor", data=bytes(raw), headers=auth)
        assert r.status == 400 and await error_of(r) == "bad_zip"
    finally:
        await c.close()


async def test_only_regular_files_inside_the_dataset_are_served(tmp_path: Path, data_dir: Path) -> None:
    """A symlink planted in tiles/ is not followed; '..' is no dataset id on any route."""
    import shutil

    shutil.copytree(data_dir / "datasets", tmp_path / "datasets")
    tiles = tmp_path / "datasets" / "osaka" / "tiles"
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the web")
    (tiles / "evil.glb").symlink_to(secret)
    (tmp_path / "datasets" / "osaka" / "buildings.npz").rename(tmp_path / "buildings.npz")
    (tmp_path / "datasets" / "osaka" / "buildings.npz").symlink_to(tmp_path / "buildings.npz")
    c = await make_client(tmp_path)
    refused = 0
    try:
        r = await c.get("/datasets/osaka/tiles/evil.glb")
        assert r.status == 404 and "not for the web" not in await r.text()
        refused += 1
        real = next(p.name for p in tiles.iterdir() if not p.is_symlink())
        assert (await c.get(f"/datasets/osaka/tiles/{real}")).status == 200  # the real tiles still are
        for path in ("/api/datasets/%2E%2E/clusters", "/api/datasets/%2E%2E/simulations", "/api/datasets/%2E%2E",
                     "/api/datasets/..%2Fdatasets%2Fosaka/clusters"):
            r = await (c.post(path, json={"hours": 1}) if path.endswith("simulations") else c.get(path))
            assert r.status in (400, 404, 405), (path, r.status)  # 405: the URL normalised away from the route
            refused += 1
        # and the simulation routes' own check, whatever URL normalisation a proxy does
        from yakuba.server.http_errors import ApiError
        from yakuba.server.simulation_api import SIMULATION_API

        for bad in ("..", ".", "a/../b", "Osaka"):
            with pytest.raises(ApiError):
                c.server.app[SIMULATION_API]._table(bad)
            refused += 1
    finally:
        await c.close()
    assert refused == 9


async def test_cors_only_for_the_configured_origins(data_dir: Path) -> None:
    viewer = "https://viewer.example.org"
    c = await make_client(data_dir)  # default: no origin beyond the app's own
    try:
        r = await c.get("/datasets/osaka/tileset.json", headers={"Origin": viewer})
        assert r.status == 200 and "Access-Control-Allow-Origin" not in r.headers
        r = await c.options("/datasets/osaka/tileset.json", headers={"Origin": viewer, "Access-Control-Request-Method": "GET"})
        assert r.status == 403 and "Access-Control-Allow-Origin" not in r.headers
    finally:
        await c.close()
    c = await make_client(data_dir, cors_origins=viewer)
    try:
        ts = await (await c.get("/datasets/osaka/tileset.json")).json(content_type=None)
        for path in ("/api/datasets", "/api/datasets/osaka", "/datasets/osaka/tileset.json", f"/datasets/osaka/{fine_tiles(ts)[0]['content']['uri']}"):
            r = await c.get(path, headers={"Origin": viewer, "Accept-Encoding": "gzip"})
            assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == viewer, path
            assert "Origin" in r.headers["Vary"] and "Access-Control-Allow-Credentials" not in r.headers
        r = await c.get("/datasets/osaka/tiles/nope.glb", headers={"Origin": viewer})
        assert r.status == 404 and r.headers["Access-Control-Allow-Origin"] == viewer  # the viewer sees why
        r = await c.get("/datasets/osaka/tileset.json", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in r.headers
        r = await c.options("/datasets/osaka/tiles/x.glb", headers={"Origin": viewer, "Access-Control-Request-Method": "GET"})
        assert r.status == 204 and "GET" in r.headers["Access-Control-Allow-Methods"]
        assert "POST" not in r.headers["Access-Control-Allow-Methods"]  # uploads stay same-origin
    finally:
        await c.close()
