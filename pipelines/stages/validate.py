"""Stage validate: check the built tables with checks derived from schemas/ and the rules, before anything is published.

Tables are read with polars. Types (every cell parses as its field's type), constraints, unique and primary keys
come from the pandera (polars) schema derived from each Table Schema; foreign keys and the cross-field and
cross-table rules are set operations in rules.py. frictionless-py reads the published package afterwards, in the
conformance stage.
"""
from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from ..core.config import Config, load_config
from ..core.errors import Problems, run_stage, shown, stage_arguments
from ..core.fileio import LOCATIONS, read_texts, sha256_file, write_json_atomic
from ..core.rules import RULES, Tables
from ..core.schemas import fields_by_name, load_schema, pandera_schema, read_table, record_id_at


def run(config: Config, today: dt.date | None = None) -> None:
    # Load
    tables_dir = config.path("tables_dir")
    schemas = {t: load_schema(config.path("schemas_dir"), t) for t in config.all_tables}
    texts = read_texts(config.path("ingested_dir"))

    # Process: the checks, with the tables hashed beside them (hashlib releases the GIL)
    with ThreadPoolExecutor(max_workers=2) as pool:
        digests = {t: pool.submit(sha256_file, tables_dir / f"{t}.csv") for t in config.all_tables}
        summary = check(config, schemas, texts, tables_dir, today, pool)
        summary["sha256"] = {t: digest.result() for t, digest in digests.items()}

    # Save
    write_json_atomic(config.path("validation"), summary)


def check(config: Config, schemas: dict, texts: dict, tables_dir: Path, today: dt.date | None, pool) -> dict:
    """Every check on the built tables; raises BuildError with all problems found, or returns the summary.

    The pandera schemas run in a worker thread while the rules run in this one: both spend most of their time
    in polars, which releases the GIL, so the two share the machine's cores."""
    frames, problems, bad_types, unreadable = {}, LocatedProblems(tables_dir / LOCATIONS), 0, []
    for table in config.all_tables:
        try:
            frames[table], bad_cells = read_table(tables_dir / f"{table}.csv", schemas[table])
        except ValueError as error:
            problems.add(table, None, None, str(error))
            unreadable.append(table)
            continue
        for row, name, cell in bad_cells:
            problems.add(table, record_id_at(frames[table], schemas[table], row), name,
                         f"expected {fields_by_name(schemas[table])[name]['type']}, found {shown(cell)}")
        bad_types += len(bad_cells)

    if unreadable:  # the other checks need every table
        problems.raise_if_any("validate")
    schema_problems, rule_findings = Problems(), Problems()
    schema_checks = pool.submit(pandera_problems, frames, schemas, schema_problems)
    rules, failures = rule_problems(Tables(frames, schemas, config.curated_tables, texts, config.params["validate"],
                                           today or dt.date.today()), rule_findings)
    summary = {
        "types": {"valid": bad_types == 0, "errors": bad_types},
        "pandera": schema_checks.result(),
        "rules": rules,
        "rows": {t: len(frames[t]) for t in config.all_tables},
    }
    for found in (schema_problems, rule_findings):  # reported in a fixed order: types, schema, rules
        for problem in found:
            problems.add(problem.where, problem.record, problem.field, problem.message)
    if failures and len(problems) == len(failures):  # on tables that pass every other check, a failing rule is a bug
        raise failures[0]
    problems.raise_if_any("validate")
    return summary


class LocatedProblems(Problems):
    """Problems found in a built table, placed at the line of records/<table>.yaml the curator edits, where known.

    The locations file (written by build beside the tables) is read only once a problem is found."""

    def __init__(self, locations_file: Path):
        super().__init__()
        self.locations_file = locations_file
        self._locations = None

    @property
    def locations(self) -> dict[str, dict[str, str]]:
        if self._locations is None:
            self._locations = (json.loads(self.locations_file.read_text(encoding="utf-8"))
                               if self.locations_file.exists() else {})
        return self._locations

    def add(self, where, record, field, message) -> None:
        place = self.locations.get(str(where), {}).get(record)
        if place is not None:
            where = place if f"/{where}.yaml:" in place else f"{place} ({where})"
        super().add(where, record, field, message)


COLUMN_CHECKS = {"column_in_dataframe": "the table has no such column",
                 "column_in_schema": "the schema has no such field",
                 "column_ordered": "the column is out of order"}


def pandera_problems(frames, schemas, problems: Problems) -> dict:
    import pandera
    import pandera.polars as pa

    count = 0
    for table, frame in frames.items():
        try:
            pandera_schema(table, schemas[table]).validate(frame, lazy=True)
        except pa.errors.SchemaErrors as errors:
            for case in errors.failure_cases.iter_rows(named=True):
                if case["check"] in COLUMN_CHECKS:  # the failure case is a column name
                    problems.add(table, None, case["failure_case"], f"pandera {case['check']}: "
                                 f"{COLUMN_CHECKS[case['check']]} (the header must be the schema's fields, in order)")
                else:
                    problems.add(table, record_id_at(frame, schemas[table], case["index"]), case["column"],
                                 f"pandera {case['check']}: found {case['failure_case']!r}")
                count += 1
    return {"valid": count == 0, "errors": count, "version": pandera.__version__}


def rule_problems(tables: Tables, problems: Problems) -> tuple[dict, list[Exception]]:
    """Run every rule; a rule that fails on malformed tables is reported as such, and its error returned."""
    counts, failures = {}, []
    for rule in RULES:
        try:
            findings = list(rule(tables))
        except (TypeError, ValueError, KeyError, pl.exceptions.PolarsError) as error:
            failures.append(error)
            problems.add("validate", None, None, f"{rule.__name__} could not run on tables with the problems above "
                         f"({type(error).__name__}: {error}); fix those first")
            counts[rule.__name__] = 1
            continue
        for table, record, name, message in findings:
            problems.add(table, record, name, f"{rule.__name__}: {message}")
        counts[rule.__name__] = len(findings)
    return {"valid": not any(counts.values()), "errors": sum(counts.values()), "checks": counts}, failures


def main(argv: list[str] | None = None) -> None:
    stage_arguments("validate", __doc__).parse_args(argv)
    run_stage("validate", lambda: run(load_config()))


if __name__ == "__main__":
    main()
