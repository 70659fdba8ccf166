"""Commands build and check: the pipeline run by DVC, ending with a summary, and changing nothing when it fails.

    python -m pipelines build    # `dvc repro`: sources/ + records/ → data/, datapackage.json, reports/
    python -m pipelines check    # `dvc repro validate coverage`: locate the quotes, build and validate, count the
                                 # facts still to decide; nothing published, nothing refused for an undecided fact

DVC's lines naming each stage it runs, and every error, are shown as they come; its advice to `git add dvc.lock`
and to `dvc push` is not (this project has no DVC remote: data/ and the reports are committed to git). The run
ends with one summary: the tables and their rows, the records added, changed and removed per table since the
last build (pipelines/commands/diff.py), and where to look next.

A failed run puts dvc.lock and every committed output of the pipeline back byte for byte as they were: DVC
records in dvc.lock each stage that succeeded before the one that failed, and a stage may have replaced a
committed file before a later one failed. They are copied aside before DVC starts and moved back on failure.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import yaml

from ..core.config import Config, load_config
from ..core.errors import command_arguments
from ..core.history import TableDiff, Version, VersionError, compare
from ..stages.tables import NO_REASON

LOCK = "dvc.lock"
# DVC's closing advice and its note on each lock update, one pattern per line; a blank line next to one goes with it.
ADVICE = re.compile(r"Updating lock file |To track the changes with git, run:|\tgit add |To enable auto staging, run:|"
                    r"\tdvc config core\.autostage|Use `dvc push` to send your updates")


def build(argv: list[str] | None = None) -> int:
    """rebuild the data package (data/, datapackage.json, reports/) from sources/ and records/: `dvc repro`"""
    command_arguments("python -m pipelines build", __doc__).parse_args(argv)
    return reproduce(load_config(), "build", [])


def check(argv: list[str] | None = None) -> int:
    """between edits: locate the quotes, build and validate the tables, count the facts to decide; publish nothing

    `dvc repro validate coverage`: it never refuses for an undecided fact, it counts them."""
    command_arguments("python -m pipelines check", __doc__).parse_args(argv)
    return reproduce(load_config(), "check", ["validate", "coverage"])


def reproduce(config: Config, command: str, targets: list[str]) -> int:
    started = time.monotonic()
    kept_paths = committed_outputs(config.root)
    scratch_parent = config.root / ".dvc" / "tmp"  # git-ignored, on the same file system: moving back is a rename
    scratch_parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch_parent, prefix="before-run-") as scratch:
        kept = Path(scratch)
        copy_aside(config.root, kept_paths, kept)
        # The descriptor names its schemas by path: copied along so that the copy reads as the last build's package.
        shutil.copytree(config.path("schemas_dir"), kept / config.params["paths"]["schemas_dir"])
        try:
            status = run_dvc(config.root, ["repro", *targets])
        except BaseException:
            put_back(config.root, kept_paths, kept)
            raise
        if status != 0:
            put_back(config.root, kept_paths, kept)
            print(f"\n{command} failed: dvc.lock and the committed outputs are as they were before it. "
                  f"Fix what is named above and run `make {command}` again.", file=sys.stderr)
            return 1
        print("\n" + summary(config, command, kept, time.monotonic() - started))
    return 0


class _DvcTemplate(string.Template):
    """dvc.yaml's `${paths.data_dir}`: a dotted name looked up in params.yaml."""
    idpattern = r"[a-z_][a-z0-9_.]*"


def _flat(params: dict, prefix: str = "") -> dict[str, object]:
    flat = {}
    for key, value in params.items():
        flat[f"{prefix}{key}"] = value
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
    return flat


def committed_outputs(root: Path) -> list[str]:
    """dvc.lock and every output dvc.yaml keeps out of DVC's cache (`cache: false`): the files committed to git."""
    stages = yaml.load((root / "dvc.yaml").read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)["stages"]
    params = _flat(load_config(root).params)
    paths = [LOCK]
    for stage in stages.values():
        for out in stage.get("outs", []):
            if isinstance(out, dict):
                (path, options), = out.items()
                if options.get("cache") is False:
                    paths.append(_DvcTemplate(path).substitute(params))
    return paths


def copy_aside(root: Path, paths: list[str], kept: Path) -> None:
    for path in paths:
        source, copy = root / path, kept / path
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, copy, symlinks=True)
        elif source.exists():
            shutil.copy2(source, copy)


def put_back(root: Path, paths: list[str], kept: Path) -> None:
    """Each path as it was when copied aside: the copy renamed into its place, or the path removed if there was none."""
    for path in paths:
        target, copy = root / path, kept / path
        retired = kept / ".retired" / path
        retired.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() or target.is_symlink():
            os.replace(target, retired)
        if copy.exists() or copy.is_symlink():
            os.replace(copy, target)


def run_dvc(root: Path, args: list[str]) -> int:
    """Run DVC with its output passed through line by line, without its closing advice; return its exit status."""
    bin_dir = str(Path(sys.executable).parent)  # the stages' `python` is this environment's
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "DVC_NO_ANALYTICS": "1",
           "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "dvc", *args], cwd=root, env=env, stdout=subprocess.PIPE,
                               text=True, bufsize=1)
    try:
        for line in without_advice(process.stdout):
            print(line, end="", flush=True)
    except BaseException:  # interrupted: DVC is stopped before the files it may be writing are put back
        process.terminate()
        process.wait()
        raise
    return process.wait()


def without_advice(lines: Iterable[str]) -> Iterator[str]:
    """DVC's output lines but its advice; a run of blank lines is kept, as one, only before a line that is kept."""
    blank = False
    for line in lines:
        if ADVICE.match(line):
            blank = False
        elif not line.strip():
            blank = True
        else:
            yield ("\n" if blank else "") + line
            blank = False


def summary(config: Config, command: str, kept: Path, seconds: float) -> str:
    """Tables and rows, the records changed since the last build, and where to look next."""
    if command == "build":
        old, new = Version("the last build", folder=kept), Version("this build", folder=config.root)
    else:
        old = Version("the last build", folder=config.root)
        new = Version("this check", folder=config.root, tables_dir=config.params["paths"]["tables_dir"])
    try:
        result = compare(old, new)
    except (VersionError, OSError, ValueError, KeyError) as error:
        return f"{command} done in {seconds:.1f} s; no earlier build to compare with ({error})."
    rows = result["rows"]
    tables = config.path("data_dir") if command == "build" else config.path("tables_dir")
    if (tables / "changes.csv").is_file():  # not compared (it is the comparison of versions), but counted
        with open(tables / "changes.csv", encoding="utf-8", newline="") as handle:
            rows = {**rows, "changes": sum(1 for _ in csv.reader(handle)) - 1}
    where = (f"published in {config.params['paths']['data_dir']}/ and {config.params['paths']['datapackage']}"
             if command == "build" else f"built in {config.params['paths']['tables_dir']}/, nothing published")
    lines = [f"{command} done in {seconds:.1f} s: {len(rows)} tables, {sum(rows.values()):,} rows, {where}.",
             "Changes since the last build:" if command == "build" else "Differences from the last build:"]
    lines += [f"  new table {name}: {rows[name]:,} rows" for name in result["tables_added"]]
    lines += [f"  table {name} removed" for name in result["tables_removed"]]
    for name, diff in result["tables"].items():
        if not TableDiff(**diff).empty():
            changed = len({cell["id"] for cell in diff["changed"]})
            columns = [f"column {c} added" for c in diff["columns_added"]]
            columns += [f"column {c} removed" for c in diff["columns_removed"]]
            lines.append(f"  {name}: {len(diff['added'])} added, {changed} changed, {len(diff['removed'])} removed"
                         + "".join(f", {c}" for c in columns))
    if len(lines) == 2:
        lines.append("  none")
    lines += without_reasons(tables / "conflicts.csv")
    if command == "build":
        lines.append(f"Next: read {config.params['paths']['reports_dir']}/index.html (the quality report), browse the "
                     f"tables with `make portal`, review with `git diff {config.params['paths']['data_dir']}/`.")
    else:
        lines += still_to_decide(config)
    return "\n".join(lines)


def without_reasons(conflicts: Path) -> list[str]:
    """The disagreements published with no reason yet for the value their record keeps (conflict_reasons)."""
    with open(conflicts, encoding="utf-8", newline="") as handle:
        bare = sorted({f"{row['resource']} {row['record_id']} {row['field']}" for row in csv.DictReader(handle)
                       if row["reason"] == NO_REASON})
    if not bare:
        return []
    return [f"Sources disagree with no reason given yet for the published value (write it in the record's "
            f"conflict_reasons): {', '.join(bare)}"]


def still_to_decide(config: Config) -> list[str]:
    """The facts of each source that the coverage review leaves undecided, and the review entries a citation
    contradicts: while there is any, a build refuses to publish (the package stage)."""
    coverage = json.loads(config.path("coverage").read_text(encoding="utf-8"))
    counts = {source: len(c["undecided"]) for source, c in coverage["sources"].items() if c["undecided"]}
    stale = sum(1 for entry in coverage["stale_reviews"] if entry.get("cited_by"))
    if not counts and not stale:
        return ["Every fact of every source is cited or reviewed.",
                "Next: `make build` publishes them; then read the report or browse them with `make portal`."]
    lines = ["Still to decide (build will refuse until each is cited or reviewed; `python -m pipelines coverage` "
             "lists them):"]
    lines += [f"  {source}: {n} undecided fact(s)" for source, n in counts.items()]
    if stale:
        lines.append(f"  {config.params['paths']['coverage_review']}: {stale} entry(ies) contradicted by a citation")
    return lines
