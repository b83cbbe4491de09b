"""`yakuba import` and `yakuba import-defaults` — owned by the GIS importer."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from .errors import GisError, InputError

log = logging.getLogger("yakuba.gis.cli")

DEFAULT_DATASET_ID = "osaka-sumiyoshi"
DEFAULT_DATASET_NAME = "大阪市住吉区 (PLATEAU 51357309)"
DEFAULT_SAMPLE = Path("samples") / "plateau" / "udx" / "bldg" / "51357309_bldg_6697_op.gml"


def default_sample_path() -> Path:
    import yakuba.assets

    return Path(yakuba.assets.__file__).parent / DEFAULT_SAMPLE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="import PLATEAU CityGML files as one dataset (GLB tiles + building table)")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="CityGML .gml files")
    p.add_argument("--name", required=True, help="dataset name; the id is derived from it unless --id is given")
    p.add_argument("--id", dest="dataset_id", default=None, help="dataset id ([a-z0-9][a-z0-9_-]{0,63})")
    p.add_argument("--lod", type=int, choices=(1, 2), default=1, help="mesh LOD (2 falls back to 1 per building)")
    p.add_argument("--zone", type=int, default=None, help="JGD2011 plane rectangular EPSG (6669-6687); default from location")
    p.add_argument("--data", default="var", type=Path, help="data directory (datasets/ is created inside)")
    p.add_argument("--workers", type=int, default=None, help="processes for several files (default: all cores)")
    p.add_argument("--json", action="store_true", help="print one JSON summary object on stdout")
    p.add_argument("--no-textures", action="store_true", help="leave LOD2 facade photos out of the tiles")
    p.add_argument("--no-normals", action="store_true", help="tiles without normals (smaller; viewers draw them flat white)")
    p.add_argument("--no-coarse-levels", action="store_true", help="only full-detail tiles, no coarser levels above them")
    p.set_defaults(func=cmd_import)

    d = sub.add_parser("import-defaults", help="import the shipped sample district into --data (used by make setup)")
    d.add_argument("--data", default="var", type=Path)
    d.set_defaults(func=cmd_import_defaults)


def _progress_bar(total: int, enabled: bool):  # -> (callback, close)
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is a dependency; keep working without a bar anyway
        return None, lambda: None
    # No monitor thread: with a second thread alive the pipeline does not fork its workers and
    # imports on one core. Our updates come from the pool as it parses, so a stalled bar has
    # nothing to catch up on.
    tqdm.monitor_interval = 0
    bar = tqdm(total=total, unit="B", unit_scale=True, desc="import", file=sys.stderr, disable=not enabled, leave=False)
    return bar.update, bar.close


def cmd_import(args: argparse.Namespace) -> int:
    from .pipeline import Feedback, import_dataset
    from .sink.tile_writer import TileOptions

    total = 0
    for p in args.paths:
        try:
            total += p.stat().st_size
        except OSError:
            pass
    update, close = _progress_bar(total, sys.stderr.isatty() or not args.json)
    fb = Feedback(on_progress=update)
    try:
        res = import_dataset(
            list(args.paths), args.name, args.data, dataset_id=args.dataset_id, lod=args.lod, zone=args.zone,
            feedback=fb, workers=args.workers,
            tile_options=TileOptions(normals=not args.no_normals, hierarchy=not args.no_coarse_levels, textures=not args.no_textures),
        )
    except KeyboardInterrupt:
        fb.cancel()
        close()
        print("import cancelled", file=sys.stderr)
        return 130
    except GisError as e:
        close()
        errors = getattr(e, "errors", None) or ([e.to_dict()] if isinstance(e, InputError) else [{"reason": str(e)}])
        if args.json:
            print(json.dumps({"error": {"code": type(e).__name__, "message": str(e), "files": errors}}, ensure_ascii=False))
        for err in errors:
            where = err.get("file") or "<input>"
            if err.get("line"):
                where += f":{err['line']}"
            print(f"error: {where}: {err.get('reason')}", file=sys.stderr)
        return 2
    close()
    out = res.to_json()
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        _print_summary(out)
    return 0


def _print_summary(out: dict) -> None:
    n = out["buildings"] or 1
    print(f"dataset {out['dataset']}: {out['buildings']} buildings, {out['building_parts']} parts, "
          f"{out['tiles']} tiles in {out['seconds']:.2f} s -> {out['path']}")
    print("  LODs: " + ", ".join(f"LOD{k}: {v}" for k, v in out["lods"].items()))
    print("  coverage: " + ", ".join(f"{k} {100 * v / n:.0f}%" for k, v in out["coverage"].items()))
    if out["warnings"]:
        print("  warnings: " + ", ".join(f"{k} {v}" for k, v in sorted(out["warnings"].items())))


def cmd_import_defaults(args: argparse.Namespace) -> int:
    """Idempotent: skips when the dataset exists with the same source hash."""
    from .file_task import _sha256
    from .pipeline import import_dataset, source_hash

    src = default_sample_path()
    if not src.is_file():
        print(f"error: shipped sample missing: {src}", file=sys.stderr)
        return 2
    want = source_hash([{"file": src.name, "sha256": _sha256(str(src))}])
    meta_path = Path(args.data) / "datasets" / DEFAULT_DATASET_ID / "dataset.json"
    try:
        if json.loads(meta_path.read_text(encoding="utf-8")).get("source_hash") == want:
            print(f"dataset {DEFAULT_DATASET_ID} already imported")
            return 0
    except (OSError, ValueError):
        pass
    try:
        res = import_dataset([src], DEFAULT_DATASET_NAME, Path(args.data), dataset_id=DEFAULT_DATASET_ID, lod=1, workers=1)
    except GisError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"dataset {res.dataset}: {res.buildings} buildings imported")
    return 0
