"""Benchmark: the everyday loop, every stage at growing sizes, and validation against the tools it must outrun.

Prints four tables, all measured in one run on this machine:

1. everyday — on a clone of this repository (its committed state, with the history of versions): `dvc repro` cold
   (build/ removed), with nothing changed, and after one word of one record changes,
   against the targets (10 s, 1 s, 5 s), with the stages each run executed; then another word changed and
   `dvc repro validate`, the checks a curator runs between edits (everything up to validate, nothing published),
   and once more as `make check` runs them (`python -m pipelines check`: the same, plus copying the committed
   outputs aside and the closing summary).
   The first edit after a fresh clone validates every table with Great Expectations; later edits reuse the
   stored results of unchanged tables (build/quality-cache.json), so both are timed;
2. stages — wall time and peak memory of every stage on the real records and on the records scaled to about
   10k and 100k published rows (--rows to choose), with the growth ratio per tenfold rows (target ≤ 11×);
3. validation — at each size, the validate stage against `frictionless validate` of the same tables and against
   reading the same CSV files with `polars.read_csv`, as ratios;
4. portal pages — at each size, Datasette serving the database stage's output: the time to the last byte of record
   pages (records drawn at random among the cited ones) and of source pages (the whole text with every citation
   marked; a source's first request apart from the next ones: the plugin marks every source at start-up, so the
   first costs what the next do), p50 and p95 against the
   300 ms target.

Usage: python bench/pipeline.py [--rows 10000 100000] [--skip-everyday]
"""
from __future__ import annotations

import argparse
import csv
import math
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from conftest import command, copy_project, dvc, env  # noqa: E402

from pipelines.commands.portal import running_server  # noqa: E402
from pipelines.core.browser import free_port  # noqa: E402
from pipelines.core.config import load_config  # noqa: E402

PAGE_REQUESTS = 40  # timed requests per kind of page and size, after one warm-up request each

# Every stage of the pipeline, in dvc.yaml's order.
STAGES = list(yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"])

# Each measured command prints its own peak resident memory (VmHWM, in KiB) last: unlike ru_maxrss, VmHWM
# starts afresh at exec, so a large benchmark process does not lend its size to the children it starts.
_PEAK = "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0], file=sys.stderr)\n"
# The module is run with no arguments of its own, as DVC runs it.
_MEASURED = ("import runpy, sys\nmodule = sys.argv[1]\nsys.argv = [module]\n"
             "try:\n    runpy.run_module(module, run_name='__main__')\n"
             "finally:\n    " + _PEAK)
_FRICTIONLESS = "import sys, frictionless\nreport = frictionless.Package(sys.argv[1]).validate()\n" + _PEAK
_POLARS = "import sys, polars\nfor path in sys.argv[1:]:\n    polars.read_csv(path, infer_schema_length=0)\n" + _PEAK


def measured(project: Path, code: str, *args: str) -> tuple[float, float]:
    """Wall seconds and the process's own peak resident memory in MiB of `python -c code args`."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=project, env=env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{args[0] if args else code[:40]} failed:\n{result.stderr[-3000:]}")
    return seconds, int(result.stderr.strip().splitlines()[-1]) / 1024


REFERENCES = ("org_id", "court_org_id", "perpetrator_org_id", "reported_by_org_id", "programme_id", "amends_law_id",
              "law_id", "successor_provision_id", "attack_id")
LIST_REFERENCES = ("provision_ids", "distinct_from")  # lists of ids (x-list-reference)
RENAMED = ("name", "title", "city", "measure", "charges", "article", "defendants", "aliases")


class _NoAliases(yaml.CSafeDumper):
    """Writes shared values out in full: record files refuse YAML aliases."""

    def ignore_aliases(self, data):
        return True


def scale_records(project: Path, factor: int) -> int:
    """Repeat every curated record `factor` times as distinct things: new ids, names and references."""
    total = 0
    for path in (project / "records").glob("*.yaml"):
        records = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader) or []
        grown = list(records)
        for copy in range(1, factor):
            for record in records:
                clone = {k: (f"{v}-x{copy}" if k in REFERENCES and v else v) for k, v in record.items()}
                clone.update({k: [f"{i}-x{copy}" for i in record[k]] for k in LIST_REFERENCES if record.get(k)})
                key = next(iter(record))
                clone[key] = f"{record[key]}-x{copy}"
                clone.update({k: f"{record[k]} ({copy})" for k in RENAMED if record.get(k)})
                if record.get("article"):
                    clone["article"] = (f"{record['article']}-{copy}" if "-" not in str(record["article"])
                                        else f"{record['article']}{copy}")
                if record.get("aliases"):
                    clone["aliases"] = [f"{a} ({copy})" for a in record["aliases"]]
                if record.get("defendants"):
                    clone["defendants"] = [f"{d} ({copy})" for d in record["defendants"]]
                clone["citations"] = [{k: v for k, v in c.items()
                                       if not (k == "stated_value" and c.get("field") in RENAMED)}
                                      for c in record["citations"]]
                grown.append(clone)
        total += len(grown)
        path.write_text(yaml.dump(grown, Dumper=_NoAliases, allow_unicode=True, sort_keys=False), encoding="utf-8")
    params = project / "params.yaml"
    text = params.read_text(encoding="utf-8").replace("max_file_bytes: 5000000", "max_file_bytes: 5000000000")
    params.write_text(text, encoding="utf-8")
    return total


def published_rows(project: Path) -> int:
    return sum(sum(1 for _ in csv.reader(p.open(encoding="utf-8"))) - 1
               for p in (project / "build" / "tables").glob("*.csv"))


def progress(message: str) -> None:
    """What the benchmark is doing now, on stderr: the figures on stdout come at the end of each part."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def stage_times(project: Path, label: str) -> dict[str, tuple[float, float]]:
    times = {}
    for number, stage in enumerate(STAGES, 1):
        progress(f"{label}: stage {number}/{len(STAGES)} {stage}")
        times[stage] = measured(project, _MEASURED, f"pipelines.stages.{stage}")
    return times


def everyday() -> None:
    print("\n1. everyday loop: dvc repro on a copy of this repository")
    with tempfile.TemporaryDirectory() as temp:
        # a clone, as a curator has it: with the history the changes table is derived from (the committed state)
        project = Path(temp) / "project"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(project)], check=True)
        rows = []
        progress("everyday: dvc repro, cold")
        start = time.perf_counter()
        result = dvc(project, "repro")
        rows.append(("cold (no build/)", time.perf_counter() - start, 10.0, result))
        progress("everyday: dvc repro, nothing changed")
        start = time.perf_counter()
        result = dvc(project, "repro")
        rows.append(("nothing changed", time.perf_counter() - start, 1.0, result))
        path = project / "records" / "attacks.yaml"
        # the first edit finds no stored GX results yet
        for label, word, target in (("one summary edited, first time", "explosions", "repro"),
                                    ("one summary edited, next time", "blasts", "repro"),
                                    ("... checks only", "strikes", "validate"),
                                    ("... checks only", "assaults", "check")):  # as `make check` runs them
            path.write_text(re.sub(r"(summary: A series of terrorist )\w+", rf"\g<1>{word}",
                                   path.read_text(encoding="utf-8"), count=1), encoding="utf-8")
            progress(f"everyday: {label}")
            start = time.perf_counter()
            result = (command(project, "check") if target == "check" else
                      dvc(project, "repro", *([] if target == "repro" else [target])))
            how = "python -m pipelines check" if target == "check" else f"dvc repro {target}"
            rows.append((label if target == "repro" else f"{label} ({how})", time.perf_counter() - start, 5.0, result))
        print(f"{'run':<58} {'seconds':>8} {'target':>7} {'ratio':>6}  stages run")
        for label, seconds, target, result in rows:
            if result.returncode != 0:
                sys.exit(f"dvc repro failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
            ran = [line.split("'")[1] for line in result.stdout.splitlines() if line.startswith("Running stage")]
            print(f"{label:<58} {seconds:8.2f} {target:7.1f} {seconds / target:6.2f}  {', '.join(ran) or '-'}")


def scaled(temp: Path, rows_wanted: int, rows_real: int) -> tuple[Path, int]:
    factor = max(1, math.ceil(rows_wanted / rows_real))
    progress(f"copying the records {factor} times (about {rows_wanted:,} rows)")
    project = copy_project(temp / f"x{factor}")
    count = scale_records(project, factor)
    return project, count


def page_times(project: Path) -> dict[str, list[float]]:
    """Seconds to the last byte of record pages and source pages of the portal built in `project`. A source's
    first request marks its text (the server keeps it: the database is immutable), so it is timed apart."""
    config = load_config(project)
    database = config.path("portal_dir") / config.params["portal"]["database"]
    with sqlite3.connect(database) as db:
        records = db.execute("SELECT DISTINCT resource, record_id FROM citations").fetchall()
        sources = [s for (s,) in db.execute("SELECT source_id FROM sources")]
    chosen = random.Random(0).sample(records, min(PAGE_REQUESTS, len(records)))
    pages = {"record page": [f"{t}/{urllib.parse.quote(r)}" for t, r in chosen],
             "source page, first": [f"sources/{s}" for s in sources],
             "source page, next": [f"sources/{sources[i % len(sources)]}" for i in range(PAGE_REQUESTS)]}
    times = {}
    with running_server(config, free_port(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as base:
        root = f"{base}/{database.stem}"
        urllib.request.urlopen(f"{root}/attacks", timeout=60).read()  # warm-up: Datasette's first queries
        for kind, paths in pages.items():
            times[kind] = []
            for path in paths:
                start = time.perf_counter()
                with urllib.request.urlopen(f"{root}/{path}", timeout=60) as response:
                    response.read()
                times[kind].append(time.perf_counter() - start)
    return times


def _percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipelines bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="*", default=[10_000, 100_000],
                        help="published-row sizes to scale the records to (default: 10000 100000)")
    parser.add_argument("--skip-everyday", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_everyday:
        everyday()
    with tempfile.TemporaryDirectory() as temp:
        temp = Path(temp)
        real = copy_project(temp / "real")
        sizes = [("real", real, None)]
        times = {"real": stage_times(real, "real")}
        rows = {"real": published_rows(real)}
        for wanted in args.rows:
            project, count = scaled(temp, wanted, rows["real"])
            label = f"{wanted // 1000}k"
            times[label] = stage_times(project, label)
            rows[label] = published_rows(project)
            sizes.append((label, project, count))

        print("\n2. stages: seconds / peak MiB per size (rows = published rows of all tables)")
        print(f"{'stage':<12}" + "".join(f"{f'{label} ({rows[label]:,} rows)':>26}" for label, _, _ in sizes)
              + "   growth per 10x rows (target <= 11x)")
        for stage in STAGES:
            cells = "".join(f"{times[label][stage][0]:>16.2f} s {times[label][stage][1]:>5.0f} MiB"
                            for label, _, _ in sizes)
            growth = []
            # each size with the next, past the first: the second list is one shorter on purpose
            for (a, _, _), (b, _, _) in zip(sizes[1:], sizes[2:], strict=False):
                per_tenfold = (times[b][stage][0] / times[a][stage][0]) ** (1 / math.log10(rows[b] / rows[a]))
                growth.append(f"{a}->{b}: {per_tenfold:.1f}x")
            print(f"{stage:<12}{cells}   {', '.join(growth)}")
        largest = sizes[-1][0]
        peak_stage = max(STAGES, key=lambda stage: times[largest][stage][1])
        peak = times[largest][peak_stage][1]
        print(f"largest peak at {largest}: {peak:,.0f} MiB ({peak_stage}); target <= 2,048 MiB: "
              f"{'met' if peak <= 2048 else 'NOT met'}")

        print("\n3. validation of the same tables: the validate stage against frictionless validate and "
              "polars.read_csv")
        print(f"{'size':<8} {'rows':>9} {'validate':>10} {'frictionless':>13} {'polars read':>12} "
              f"{'vs frictionless':>16} "
              f"{'vs polars':>10} {'validate MiB':>13}   (targets at 1M rows: >= 20x faster than frictionless, "
              "<= 3x the polars read, <= 2,048 MiB)")
        for label, project, _ in sizes:
            progress(f"{label}: frictionless validate and polars.read_csv")
            tables = sorted(str(p) for p in (project / "build" / "tables").glob("*.csv"))
            validate_s, validate_mib = times[label]["validate"]
            frictionless_s, _ = measured(project, _FRICTIONLESS, "datapackage.json")
            polars_s, _ = measured(project, _POLARS, *tables)
            print(f"{label:<8} {rows[label]:>9,} {validate_s:>9.2f}s {frictionless_s:>12.2f}s {polars_s:>11.2f}s "
                  f"{frictionless_s / validate_s:>15.1f}x {validate_s / polars_s:>9.1f}x {validate_mib:>12.0f}")

        print(f"\n4. portal pages: ms to the last byte; {PAGE_REQUESTS} record pages at random, each source's first "
              f"request, then {PAGE_REQUESTS} source pages (target: p95 < 300 ms)")
        print(f"{'size':<8} {'rows':>9} {'page':<20} {'requests':>8} {'p50':>7} {'p95':>7} {'max':>7}  target")
        for label, project, _ in sizes:
            for kind, values in page_times(project).items():
                p95 = _percentile(values, 0.95)
                print(f"{label:<8} {rows[label]:>9,} {kind:<20} {len(values):>8} "
                      f"{_percentile(values, 0.5) * 1000:>7.0f} "
                      f"{p95 * 1000:>7.0f} {max(values) * 1000:>7.0f}  {'met' if p95 < 0.3 else 'NOT met'}")
        shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    main()
