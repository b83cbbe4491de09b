"""HTTP routes for PLATEAU datasets: list/describe, 3D Tiles static files, building lookup,
admin upload that queues an import job (server/jobs: it runs in a worker process).

Thin adapter: validation and I/O here, the work in yakuba.gis.pipeline. Every error is JSON
``{"error": {"code", "message"}}`` with a status code and one log line carrying ids only.

Call ``setup_gis_routes(app, settings)`` from the app factory (after
``setup_jobs``; a bare app gets its own job service). Job status is ``/api/jobs/{id}``.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import logging
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections import OrderedDict
from pathlib import Path, PurePosixPath
from typing import Any

from aiohttp import web

from yakuba.gis.buildings import BuildingTable
from yakuba.server.http_errors import ApiError, json_errors
from yakuba.gis.errors import UploadError
from yakuba.gis.pipeline import DATASET_ID_RE
from yakuba.server.auth.policy import Action
from yakuba.server.http.authorize import authorize
from yakuba.server.http.cors import Cors
from yakuba.server.jobs.routes import JOBS_KEY, job_out, limit_error, setup_jobs
from yakuba.server.settings import Settings
from yakuba.server.jobs.runner import JobLimit
from yakuba.server.protocol.http import UploadParams

log = logging.getLogger("yakuba.server.gis_api")

MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # compressed body
MAX_UNCOMPRESSED_BYTES = 2 * 1024 * 1024 * 1024  # sum of extracted members
MAX_RATIO = 100.0  # per member: a GML compresses ~10-20x, a bomb ~1000x
MAX_MEMBERS = 2000
TILE_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_-.")
_CACHE_ENTRIES = 256



_json_errors = json_errors(log, "gis api", {UploadError: lambda e: (e.status, e.code)})


class GisApi:
    def __init__(self, data_dir: Path, max_upload: int = MAX_UPLOAD_BYTES,
                 max_uncompressed: int = MAX_UNCOMPRESSED_BYTES) -> None:
        self.data_dir = Path(data_dir)
        self.max_upload = max_upload
        self.max_uncompressed = max_uncompressed
        # (path, mtime_ns, size) -> (etag, raw bytes, gzip bytes | None)
        self._files: OrderedDict[tuple, tuple[str, bytes, bytes | None]] = OrderedDict()
        self._index: dict[str, tuple[int, dict[str, int]]] = {}  # dataset -> (mtime_ns, gml_id -> byte offset)
        self._tables: dict[str, tuple[int, BuildingTable]] = {}

    # ------------------------------------------------------------------ helpers
    @property
    def datasets_dir(self) -> Path:
        return self.data_dir / "datasets"

    def _dataset_dir(self, ds: str) -> Path:
        if not DATASET_ID_RE.match(ds):
            raise ApiError(400, "invalid_id", "dataset id must match " + DATASET_ID_RE.pattern)
        d = self.datasets_dir / ds
        if not (d / "dataset.json").is_file():
            raise ApiError(404, "not_found", f"dataset {ds} not found")
        return d

    def _meta(self, d: Path) -> dict:
        return json.loads((d / "dataset.json").read_text(encoding="utf-8"))

    # ------------------------------------------------------------------ read routes
    async def list_datasets(self, request: web.Request) -> web.Response:
        await authorize(request, Action.VIEW_DATASET)  # public today; the policy says so, not this route
        out = []
        if self.datasets_dir.is_dir():
            for d in sorted(self.datasets_dir.iterdir()):
                if d.name.startswith(".") or not (d / "dataset.json").is_file():
                    continue
                m = self._meta(d)
                out.append({"id": m["id"], "name": m["name"], "counts": m["counts"], "extent": m["extent"],
                            "tileset": f"/datasets/{m['id']}/tileset.json"})
        return web.json_response({"datasets": out})

    async def get_dataset(self, request: web.Request) -> web.Response:
        await authorize(request, Action.VIEW_DATASET)  # public today; the policy says so, not this route
        d = self._dataset_dir(request.match_info["id"])
        m = self._meta(d)
        m["tileset"] = f"/datasets/{m['id']}/tileset.json"
        return web.json_response(m)

    async def static(self, request: web.Request) -> web.StreamResponse:
        await authorize(request, Action.VIEW_DATASET)  # public today; the policy says so, not this route
        ds = request.match_info["id"]
        d = self._dataset_dir(ds)
        rel = request.match_info["path"]
        parts = rel.split("/")
        ok = rel == "tileset.json" or (
            len(parts) == 2 and parts[0] == "tiles" and parts[1].endswith(".glb") and set(parts[1]) <= TILE_NAME_CHARS
        )
        if not ok:
            raise ApiError(404, "not_found", "no such dataset file")
        path = d / rel
        try:
            # Only a regular file that is really inside the dataset: a symlink planted in tiles/
            # (or a dataset directory that is one) must not serve what it points at.
            st = path.lstat()
            inside = path.resolve().is_relative_to(d.resolve()) and not d.is_symlink()
        except (OSError, RuntimeError):
            raise ApiError(404, "not_found", "no such dataset file") from None
        if not stat.S_ISREG(st.st_mode) or not inside:
            log.warning("gis api refused a non-regular or outside file dataset=%s", ds)
            raise ApiError(404, "not_found", "no such dataset file")
        key = (str(path), st.st_mtime_ns, st.st_size)
        hit = self._files.get(key)
        if hit is None:
            raw = await asyncio.to_thread(path.read_bytes)
            etag = '"' + hashlib.sha1(raw).hexdigest()[:20] + '"'
            hit = (etag, raw, None)
            self._files[key] = hit
            while len(self._files) > _CACHE_ENTRIES:
                self._files.popitem(last=False)
        etag, raw, gz = hit
        ctype = "application/json" if rel.endswith(".json") else "model/gltf-binary"
        headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding", "Content-Type": ctype}
        inm = request.headers.get("If-None-Match", "")
        if etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*":
            return web.Response(status=304, headers={"ETag": etag})
        if "gzip" in request.headers.get("Accept-Encoding", "").lower():
            if gz is None:
                gz = await asyncio.to_thread(gzip.compress, raw, 6)
                self._files[key] = (etag, raw, gz)
            headers["Content-Encoding"] = "gzip"
            return web.Response(body=gz, headers=headers)
        return web.Response(body=raw, headers=headers)

    def _building_index(self, ds: str, d: Path) -> dict[str, int]:
        p = d / "attributes.jsonl"
        mt = p.stat().st_mtime_ns
        cached = self._index.get(ds)
        if cached and cached[0] == mt:
            return cached[1]
        idx: dict[str, int] = {}
        with open(p, "rb") as f:
            off = 0
            for line in f:
                gid = json.loads(line)["gml_id"]
                idx[gid] = off
                off += len(line)
        self._index[ds] = (mt, idx)
        return idx

    def _table(self, ds: str, d: Path) -> BuildingTable:
        p = d / "buildings.npz"
        mt = p.stat().st_mtime_ns
        cached = self._tables.get(ds)
        if cached and cached[0] == mt:
            return cached[1]
        t = BuildingTable.load(p)
        self._tables[ds] = (mt, t)
        return t

    async def get_building(self, request: web.Request) -> web.Response:
        await authorize(request, Action.VIEW_DATASET)  # public today; the policy says so, not this route
        ds = request.match_info["id"]
        d = self._dataset_dir(ds)
        gid = request.match_info["gml_id"]
        idx = await asyncio.to_thread(self._building_index, ds, d)
        off = idx.get(gid)
        if off is None:
            raise ApiError(404, "not_found", "no building with that gml:id in this dataset")
        with open(d / "attributes.jsonl", "rb") as f:
            f.seek(off)
            attrs = json.loads(f.readline())
        table = await asyncio.to_thread(self._table, ds, d)
        meta = self._meta(d)
        row = table.index_of()[gid]
        labels, labels_en = meta.get("code_labels", {}), meta.get("code_labels_en", {})

        def num(v: float) -> float | None:
            return None if v != v else float(v)

        def intval(v: int) -> int | None:
            return None if v < 0 else int(v)

        codes = {}
        for col in ("structure_code", "fireproof_code", "usage_code", "class_code"):
            c = getattr(table, col)[row]
            codes[col] = {"code": c or None, "ja": labels.get(col, {}).get(c) if c else None,
                          "en": labels_en.get(col, {}).get(c) if c else None}
        return web.json_response({
            "dataset": ds,
            "gml_id": gid,
            "feature_id": row,
            "height": num(table.height[row]),
            "storeys_above": intval(table.storeys_above[row]),
            "storeys_below": intval(table.storeys_below[row]),
            "year": intval(table.year[row]),
            "total_floor_area": num(table.total_floor_area[row]),
            "footprint_area": num(table.footprint_area[row]),
            "codes": codes,
            "attributes": attrs,
        })

    # ------------------------------------------------------------------ upload
    async def _authorize(self, request: web.Request):
        return await authorize(request, Action.UPLOAD_DATASET,
                               message="dataset uploads are for administrators: log in as one, or send the API token")

    async def upload(self, request: web.Request) -> web.Response:
        principal = await self._authorize(request)
        q = UploadParams.from_query(request.query)  # the one schema, same messages as before
        name, ds, lod = q.name, q.id, q.lod
        if request.content_length is not None and request.content_length > self.max_upload:
            raise UploadError("too_large", f"upload exceeds {self.max_upload} bytes", 413)
        work = Path(tempfile.mkdtemp(prefix="upload-", dir=self._upload_root()))
        try:
            body = work / "body"
            n = 0
            with open(body, "wb") as f:
                async for chunk in request.content.iter_chunked(1 << 16):
                    n += len(chunk)
                    if n > self.max_upload:  # Content-Length can be absent or lie
                        raise UploadError("too_large", f"upload exceeds {self.max_upload} bytes", 413)
                    f.write(chunk)
            if n == 0:
                raise UploadError("empty", "empty upload")
            with open(body, "rb") as f:
                magic = f.read(4)
            if magic.startswith(b"PK"):
                gmls = await asyncio.to_thread(self._extract_zip, body, work / "x")
            else:
                gmls = [body.rename(work / "upload.gml")]
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        params = {"work": work.relative_to(self.data_dir).as_posix(), "files": [g.relative_to(work).as_posix() for g in gmls],
                  "name": name, "dataset": ds, "lod": lod}
        try:
            row = await request.app[JOBS_KEY].submit(principal.key, "import", ds, params)
        except JobLimit as e:
            shutil.rmtree(work, ignore_errors=True)
            raise limit_error(e) from None
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        log.info("gis upload accepted job=%s dataset=%s files=%d bytes=%d", row["id"], ds, len(gmls), n)
        return web.json_response({"job": job_out(row), "url": f"/api/jobs/{row['id']}"}, status=202)

    def _upload_root(self) -> Path:
        p = self.data_dir / "uploads"
        p.mkdir(parents=True, exist_ok=True)
        return p

    def _extract_zip(self, path: Path, dest: Path) -> list[Path]:
        """Extract *.gml and codelists/*.xml, refusing bombs: declared sizes, ratios and the
        bytes actually written are all checked (headers can lie)."""
        try:
            zf = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            raise UploadError("bad_zip", "not a readable zip archive") from None
        with zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise UploadError("too_many_files", f"zip has more than {MAX_MEMBERS} members", 413)
            total = sum(i.file_size for i in infos)
            if total > self.max_uncompressed:
                raise UploadError("zip_bomb", "zip expands beyond the uncompressed size limit", 413)
            wanted = []
            for i in infos:
                if i.is_dir():
                    continue
                if i.compress_size and i.file_size / i.compress_size > MAX_RATIO and i.file_size > 1 << 20:
                    raise UploadError("zip_bomb", f"member compression ratio exceeds {MAX_RATIO:.0f}:1", 413)
                pp = PurePosixPath(i.filename)
                if pp.is_absolute() or ".." in pp.parts or "\\" in i.filename:
                    raise UploadError("bad_zip", "zip member path escapes the archive")
                if i.flag_bits & 0x1:
                    raise UploadError("bad_zip", "encrypted zip members are not supported: upload the files without a password")
                low = i.filename.lower()
                if low.endswith(".gml") or (low.endswith(".xml") and "codelists" in pp.parts):
                    wanted.append(i)
            if not any(i.filename.lower().endswith(".gml") for i in wanted):
                raise UploadError("no_gml", "zip contains no .gml file")
            written = 0
            out = []
            for i in wanted:
                target = dest.joinpath(*PurePosixPath(i.filename).parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with zf.open(i) as src, open(target, "wb") as dst:
                        while True:
                            b = src.read(1 << 16)
                            if not b:
                                break
                            written += len(b)
                            if written > self.max_uncompressed:
                                raise UploadError("zip_bomb", "zip expands beyond the uncompressed size limit", 413)
                            dst.write(b)
                except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError) as e:
                    # a corrupt member, an unknown compression method: the uploader's file, a 400
                    raise UploadError("bad_zip", f"zip member cannot be read ({type(e).__name__})") from None
                if target.suffix.lower() == ".gml":
                    out.append(target)
            return sorted(out)


GIS_API_KEY: web.AppKey["GisApi"] = web.AppKey("gis_api", GisApi)


def setup_gis_routes(app: web.Application, settings: Settings) -> GisApi:
    """Register the dataset routes; returns the GisApi (tests use it to read limits)."""
    setup_jobs(app, settings)  # no-op when the app has one
    api = GisApi(settings.data_dir, max_upload=settings.max_upload_bytes, max_uncompressed=settings.max_uncompressed_bytes)
    app[GIS_API_KEY] = api
    r = app.router
    cors = Cors(settings.cors_origins)  # the read-only dataset routes, for viewers on other sites
    r.add_get("/api/datasets", cors.wrap(_json_errors(api.list_datasets)))
    r.add_post("/api/datasets", _json_errors(api.upload))
    r.add_get("/api/datasets/{id}", cors.wrap(_json_errors(api.get_dataset)))
    r.add_get("/api/datasets/{id}/buildings/{gml_id}", cors.wrap(_json_errors(api.get_building)))
    r.add_get("/datasets/{id}/{path:.+}", cors.wrap(_json_errors(api.static)))
    for path in ("/api/datasets", "/api/datasets/{id}", "/api/datasets/{id}/buildings/{gml_id}", "/datasets/{id}/{path:.+}"):
        r.add_route("OPTIONS", path, cors.preflight)
    return api
