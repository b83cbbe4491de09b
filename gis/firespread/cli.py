"""`yakuba simulate` and `yakuba clusters` — owned by the fire-spread module.

The only place in gis/firespread that touches files: reads DATA/datasets/<id>/buildings.npz and
a scenario file, writes the result JSON. User errors print one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from . import FireSpreadError

_DATASET_ID = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class CliError(FireSpreadError):
    pass


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="fire-spread (延焼) simulation over a dataset's buildings")
    p.add_argument("dataset", help="dataset id (DATA/datasets/<id>/buildings.npz)")
    p.add_argument("--data", default="var", help="data directory (default: var)")
    p.add_argument("--scenario", help="policy scenario file (JSON or YAML)")
    p.add_argument("--weather", help="weather preset: 最悪/最頻/静穏 (worst/frequent/calm)")
    p.add_argument("--wind-speed", type=float, help="wind speed, m/s")
    p.add_argument("--wind-dir", type=float, help="where the wind blows FROM, degrees clockwise from north")
    p.add_argument("--humidity", type=float, help="relative humidity, %%")
    p.add_argument("--ignite", action="append", default=[], metavar="GML_ID", help="building alight at t = 0 (repeatable)")
    p.add_argument("--hours", type=float, help="simulated time (default 6, or the scenario's)")
    p.add_argument("--seed", type=int, help="random seed (spotting)")
    p.add_argument("--spotting", action="store_true", help="enable firebrand spotting (飛び火)")
    p.add_argument("--model", choices=("hamada", "physics"), help="spread model: hamada (fast, empirical; the default) "
                   "or physics (building to building: radiation, leaning flames, firebrands)")
    p.add_argument("--suppression", metavar="DELAY_MIN,BRIGADES,FRONT_M[,INTERVAL_MIN]",
                   help="fire brigades as a planning assumption: the first arrives after DELAY_MIN, each holds FRONT_M "
                   "metres of front (e.g. 10,5,40,5); off by default")
    p.add_argument("--compare", metavar="FILE", help="a second scenario (B) run under A's weather, ignition and model; "
                   "the output gains `comparison` (buildings and floor area saved by B)")
    p.add_argument("--out", required=True, help="output JSON file")
    p.set_defaults(func=_simulate)

    c = sub.add_parser("clusters", help="延焼クラスター of a dataset's buildings")
    c.add_argument("dataset")
    c.add_argument("--data", default="var")
    c.add_argument("--scenario", help="apply a scenario's measures first")
    c.add_argument("--p-outbreak", type=float, default=0.00075, help="fire outbreak probability per building")
    c.add_argument("--out", required=True)
    c.set_defaults(func=_clusters)


def load_table(data_dir: str | Path, dataset: str):
    from yakuba.gis.buildings import BuildingTable

    if not _DATASET_ID.match(dataset):
        raise CliError(f"invalid dataset id {dataset!r}")
    path = Path(data_dir) / "datasets" / dataset / "buildings.npz"
    if not path.is_file():
        raise CliError(f"unknown dataset {dataset!r}: no {path}")
    try:
        return BuildingTable.load(path)
    except Exception as e:  # a corrupt file is a user-facing condition, not a crash
        raise CliError(f"cannot read {path}: {e}") from None


def _scenario(args: argparse.Namespace):
    from .scenarios import Scenario, load_scenario_text

    if not args.scenario:
        return Scenario(name="CLI")
    try:
        text = Path(args.scenario).read_text(encoding="utf-8")
    except OSError as e:
        raise CliError(f"cannot read scenario {args.scenario}: {e.strerror}") from None
    return load_scenario_text(text)


def _write(path: str, doc: dict) -> None:
    try:
        Path(path).write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    except OSError as e:
        raise CliError(f"cannot write {path}: {e.strerror}") from None


def _simulate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .run import run_scenario
    from .scenarios import MAX_IGNITIONS, ScenarioError, compare, parse_scenario
    from .weather import weather_from_dict

    def with_overrides(s):
        """The command line's weather, ignition, hours and seed override the scenario file's."""
        wd: dict = {}
        if args.weather:
            wd["preset"] = args.weather
        if args.wind_speed is not None:
            wd["speed"] = args.wind_speed
        if args.wind_dir is not None:
            wd["direction"] = args.wind_dir
        if args.humidity is not None:
            wd["humidity"] = args.humidity
        if wd:
            if s.weather is not None and "preset" not in wd:
                wd = {"speed": s.weather.speed_ms, "direction": s.weather.direction_deg, "humidity": s.weather.humidity_pct, **wd}
            s.weather = weather_from_dict(wd)
        if args.ignite:
            if len(args.ignite) > MAX_IGNITIONS:
                raise ScenarioError(f"more than {MAX_IGNITIONS} ignition points", "--ignite")
            s.ignition = list(args.ignite)
        if args.hours is not None:
            parse_scenario({"hours": args.hours})  # same validation as a file
            s.hours = args.hours
        if args.seed is not None:
            s.seed = args.seed
        if args.spotting:
            s.spotting = True
        if args.model:
            s.model = args.model
        if args.suppression:
            parts = args.suppression.split(",")
            keys = ("delay_min", "brigades", "front_m", "interval_min")
            try:
                vals = [float(x) for x in parts]
            except ValueError:
                raise ScenarioError("must be numbers: DELAY_MIN,BRIGADES,FRONT_M[,INTERVAL_MIN]", "--suppression") from None
            if not 3 <= len(vals) <= 4:
                raise ScenarioError("takes 3 or 4 numbers: DELAY_MIN,BRIGADES,FRONT_M[,INTERVAL_MIN]", "--suppression")
            s.suppression = parse_scenario({"suppression": dict(zip(keys, vals))}).suppression
        return s

    def run_with_bar(s, label: str):
        with tqdm(total=100, desc=label, unit="%", file=sys.stderr, leave=False) as bar:
            def progress(f: float, stage: str) -> None:
                bar.set_postfix_str(stage)
                bar.update(max(0, int(f * 100) - bar.n))

            return run_scenario(table, s, progress=progress)

    try:
        table = load_table(args.data, args.dataset)
        s = with_overrides(_scenario(args))
        run = run_with_bar(s, "延焼 A" if args.compare else "延焼")
        comparison = None
        if args.compare:
            b = with_overrides(_scenario(argparse.Namespace(scenario=args.compare)))
            # A comparison of policies holds everything else equal: A's weather, ignition, model,
            # horizon, seed and brigades (a B file's own weather would compare weathers).
            b.weather, b.model, b.hours, b.seed, b.spotting, b.suppression = run.weather, s.model, s.hours, s.seed, s.spotting, s.suppression
            b.ignition = [table.gml_id[i] for i in run.ignition.tolist()]
            run_b = run_with_bar(b, "延焼 B")
            comparison = {"a": s.name, "b": b.name, "b_weather": run_b.weather.to_dict(), "b_model": run_b.model.name,
                          "b_ignition": [table.gml_id[i] for i in run_b.ignition.tolist()], **compare(run.applied.district, run.result.ignition_s, run_b.applied.district, run_b.result.ignition_s)}
        compact = run.to_compact()
        t = run.result.ignition_s
        doc = {
            "dataset": args.dataset,
            "scenario": s.name,
            "weather": compact["weather"],
            "hours": s.hours,
            "seed": s.seed,
            "model": compact["model"],
            "suppression": compact["suppression"],
            "contained_s": compact["contained_s"],
            "notes": compact["notes"],
            "ignition": [table.gml_id[i] for i in run.ignition.tolist()],
            "ignition_s": {g: (round(float(x), 1) if x != float("inf") else None) for g, x in zip(table.gml_id, t.tolist())},
            "summary": compact["summary"],
            "burnt_area_series": compact["series"],
            "measures": compact["measures"],
        }
        if comparison is not None:
            doc["comparison"] = comparison
        _write(args.out, doc)
    except FireSpreadError as e:
        print(f"yakuba simulate: {e}", file=sys.stderr)
        return 2
    sm = doc["summary"]
    print(f"{sm['buildings_burnt']} buildings burnt, {sm['floor_area_burnt_m2']} m2 floor area -> {args.out}", file=sys.stderr)
    return 0


def _clusters(args: argparse.Namespace) -> int:
    from .run import clusters_of

    try:
        table = load_table(args.data, args.dataset)
        s = _scenario(args)
        if not 0 <= args.p_outbreak <= 1:
            raise CliError("--p-outbreak must be within 0..1")
        doc = {"dataset": args.dataset, "gml_id": table.gml_id, **clusters_of(table, s, p_outbreak=args.p_outbreak)}
        _write(args.out, doc)
    except FireSpreadError as e:
        print(f"yakuba clusters: {e}", file=sys.stderr)
        return 2
    c = doc["clusters"]
    print(f"{c['n_clusters']} clusters, largest {c['sizes'][0] if c['sizes'] else 0} buildings -> {args.out}", file=sys.stderr)
    return 0
