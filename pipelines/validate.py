"""Stage validate: check the built tables with Frictionless, pandera (derived from schemas/) and the rules."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from .config import Config, load_config
from .descriptor import package as package_descriptor
from .errors import Problems, run_stage
from .fileio import LOCATIONS, sha256_file, write_json_atomic
from .rules import RULES, Tables
from .schemas import fields_by_name, load_schema, pandera_schema, primary_key, read_table


def run(config: Config, today: dt.date | None = None) -> None:
    # Load
    tables_dir = config.path("tables_dir")
    schemas = {t: load_schema(config.path("schemas_dir"), t) for t in config.all_tables}
    sources = json.loads((config.path("ingested_dir") / "sources.json").read_text(encoding="utf-8"))
    texts = {s["source_id"]: (config.path("ingested_dir") / f"{s['source_id']}.txt").read_text(encoding="utf-8")
             for s in sources}
    locations_file = tables_dir / LOCATIONS
    locations = json.loads(locations_file.read_text(encoding="utf-8")) if locations_file.exists() else {}
    frames, problems = {}, LocatedProblems(locations)
    for table in config.all_tables:
        frames[table], bad_cells = read_table(tables_dir / f"{table}.csv", schemas[table])
        for row, name, cell in bad_cells:
            problems.add(table, _record_id(frames[table], schemas[table], row), name,
                         f"expected {fields_by_name(schemas[table])[name]['type']}, found {cell!r}")

    # Process
    summary = {
        "frictionless": frictionless_problems(config, tables_dir, sources, frames, schemas, problems),
        "pandera": pandera_problems(frames, schemas, problems),
        "rules": rule_problems(Tables(frames, schemas, config.curated_tables, texts,
                                      config.params["validate"], today or dt.date.today()), problems),
        "rows": {t: len(frames[t]) for t in config.all_tables},
        "sha256": {t: sha256_file(tables_dir / f"{t}.csv") for t in config.all_tables},
    }
    problems.raise_if_any("validate")

    # Save
    write_json_atomic(config.path("validation"), summary)


class LocatedProblems(Problems):
    """Problems found in a built table, placed at the line of records/<table>.yaml the curator edits, where known."""

    def __init__(self, locations: dict[str, dict[str, str]]):
        super().__init__()
        self.locations = locations

    def add(self, where, record, field, message) -> None:
        place = self.locations.get(str(where), {}).get(record)
        if place is not None:
            where = place if f"/{where}.yaml:" in place else f"{place} ({where})"
        super().add(where, record, field, message)


def frictionless_problems(config, tables_dir: Path, sources, frames, schemas, problems: Problems) -> dict:
    """Types, constraints, primary and foreign keys, as frictionless itself checks them."""
    import frictionless

    descriptor = package_descriptor(config, tables_dir, sources, integrity=False)
    try:
        report = frictionless.Package(descriptor, basepath=str(config.root)).validate()
    except frictionless.FrictionlessException as error:
        problems.add("datapackage", None, None, f"frictionless: {error}")
        return {"valid": False, "errors": 1, "version": frictionless.__version__}
    count = 0
    for task in report.tasks:
        for error in task.errors:
            row = getattr(error, "row_number", None)
            name = getattr(error, "field_name", None) or ",".join(getattr(error, "field_names", None) or []) or None
            record = _record_id(frames[task.name], schemas[task.name], row - 2) if row else None
            problems.add(task.name, record, name, f"frictionless {error.type}: {error.message}")
            count += 1
    return {"valid": report.valid, "errors": count, "version": frictionless.__version__}


def pandera_problems(frames, schemas, problems: Problems) -> dict:
    import pandera
    import pandera.pandas as pa

    count = 0
    for table, frame in frames.items():
        try:
            pandera_schema(table, schemas[table]).validate(frame, lazy=True)
        except pa.errors.SchemaErrors as errors:
            for case in errors.failure_cases.itertuples():
                row = case.index if isinstance(case.index, int) else None
                problems.add(table, _record_id(frame, schemas[table], row), case.column,
                             f"pandera {case.check}: found {case.failure_case!r}")
                count += 1
    return {"valid": count == 0, "errors": count, "version": pandera.__version__}


def rule_problems(tables: Tables, problems: Problems) -> dict:
    counts = {}
    for rule in RULES:
        findings = list(rule(tables))
        for table, record, name, message in findings:
            problems.add(table, record, name, f"{rule.__name__}: {message}")
        counts[rule.__name__] = len(findings)
    return {"valid": not any(counts.values()), "errors": sum(counts.values()), "checks": counts}


def _record_id(frame, schema: dict, row) -> str | None:
    if row is None or not 0 <= row < len(frame):
        return None
    return "/".join(str(frame.iloc[row][k]) for k in primary_key(schema))


def main() -> None:
    run_stage("validate", lambda: run(load_config()))


if __name__ == "__main__":
    main()
