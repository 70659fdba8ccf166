"""Stage tables: turn records, located citations and the source catalog into every table (not yet published).

Columns a schema marks "x-derived" are not curated: their cells are derived here (the coordinates of places, by
pipelines/core/geocode.py from the gazetteer) and joined by record id; what was derived, and the warnings, are kept \
beside
the tables (places.json) for the package stage to name the gazetteer.

The changes table compares the tables with each published version before this one (pipelines/core/history.py: the
repository's history and CHANGELOG.md). DVC reruns this stage when CHANGELOG.md or the version changes, not when
commits land: the published states of past versions do not move once a later version carries the package."""
from __future__ import annotations

import shutil
import sys
from collections import defaultdict

from ..core import geocode, history
from ..core.config import Config, load_config
from ..core.errors import Problems, run_stage, stage_arguments
from ..core.fileio import (
    LOCATIONS,
    PLACES,
    bulk_objects,
    read_batches,
    read_source_rows,
    replace_dir_atomic,
    write_csv,
    write_json_atomic,
)
from ..core.records import REASONS, Record, read_loaded
from ..core.schemas import (
    canonical,
    canonical_cell,
    cell_value,
    compatible,
    fields_by_name,
    list_separator,
    load_schema,
    parse_partial_date,
    precision_of,
    primary_key,
)


def run(config: Config) -> None:
    # Load
    schemas = {t: load_schema(config.path("schemas_dir"), t) for t in config.all_tables}
    sources = read_source_rows(config.path("ingested_dir"))
    with bulk_objects():
        citations = list(read_batches(config.path("citations")))
    # citations.jsonl has them
    records, problems = read_loaded(config.path("loaded_records"), with_citations=False), Problems()

    # Process
    locations = {"citations": {c["citation_id"]: c.pop("where") for c in citations}}
    locations.update({table: {r.record_id: r.where for r in rs} for table, rs in records.items()})
    tables = {"sources": sources, "citations": citations}
    for table, table_records in records.items():
        fields, precisions = fields_by_name(schemas[table]), precision_of(schemas[table])
        tables[table] = [record_row(record, fields, precisions, problems) for record in table_records]
    places = geocode.derive(config, records)
    join_derived(tables, schemas, places["cells"])
    problems.raise_if_any("tables")
    tables["conflicts"] = conflict_rows(tables, schemas, records)
    disputed = defaultdict(set)  # (table, record id) → the fields its sources disagree on
    for conflict in tables["conflicts"]:
        disputed[conflict["resource"], conflict["record_id"]].add(conflict["field"])
    for record in (r for rs in records.values() for r in rs if r.reasons):
        for name in sorted(set(record.reasons) - disputed[record.table, record.record_id]):
            problems.add(record.where, record.record_id, f"{REASONS}.{name}", "the sources do not disagree on this "
                         "field: a reason is for a value chosen among values the sources state; delete it")
    problems.raise_if_any("tables")

    # Save
    with replace_dir_atomic(config.path("tables_dir")) as staging:
        for table in [t for t in config.all_tables if t != history.CHANGES]:
            header = [f["name"] for f in schemas[table]["fields"]]
            key = primary_key(schemas[table])
            rows = sorted(tables[table], key=lambda r: [str(r[k]) for k in key])
            write_csv(staging / f"{table}.csv", header, rows)
        write_changes(config, staging, schemas)
        write_json_atomic(staging / LOCATIONS, locations, compact=True)
        write_json_atomic(staging / PLACES, places)


def write_changes(config: Config, staging, schemas: dict) -> None:
    """The changes table into `staging`, beside the tables written there: from the history of published versions
    to these tables. Where the history is not available the published table is kept, and the stage says so."""
    problems, warnings = Problems(), Problems()
    current = history.Version(config.params["package"]["version"], folder=config.root, resources=[
        (t, str((config.path("schemas_dir") / f"{t}.schema.json").relative_to(config.root)),
         str((staging / f"{t}.csv").relative_to(config.root))) for t in config.all_tables if t != history.CHANGES])
    try:
        rows, compared = history.change_table(config.root, config.path("changelog"), current.label, current,
                                              problems, warnings)
    except history.VersionError as error:
        problems.add(config.params["paths"]["changelog"], None, None, str(error))
        rows = None
    problems.raise_if_any("tables")
    for warning in warnings:
        print(f"tables: warning: {warning}", file=sys.stderr)
    target = staging / f"{history.CHANGES}.csv"
    if rows is None:
        published = config.path("data_dir") / f"{history.CHANGES}.csv"
        if published.exists():
            shutil.copyfile(published, target)
            kept = f"{published.relative_to(config.root)} is kept as published"
        else:
            write_csv(target, [f["name"] for f in schemas[history.CHANGES]["fields"]], [])
            kept = f"there is no published {published.relative_to(config.root)} to keep: the table is empty"
        print(f"tables: the history of published versions is not available ({compared}): {kept}", file=sys.stderr)
        return
    header = [f["name"] for f in schemas[history.CHANGES]["fields"]]
    write_csv(target, header, sorted(rows, key=lambda r: (history.version_key(r["version"]), r["change_id"])))


def record_row(record: Record, fields: dict[str, dict], precisions: dict[str, str], problems: Problems) -> dict:
    """One table row from one record: typed cells, and each date's precision derived from how it is written.
    `fields` and `precisions` are the table's fields_by_name and precision_of, computed once per table."""
    row = {}
    for name, value in record.values.items():
        if value is None:
            continue
        try:
            row[name] = cell_value(fields[name], value)
        except ValueError as error:
            problems.add(record.where, record.record_id, name, str(error))
            continue
        if name in precisions:
            row[precisions[name]] = parse_partial_date(value)[1]
    return row


def join_derived(tables: dict, schemas: dict, derived: dict[str, dict[str, dict]]) -> None:
    """Add each record's derived cells ({table: {record id: {column: value}}}) to its row. geocode.derive made them
    from these records, for columns it checked the schema marks "x-derived"."""
    for table, by_record in derived.items():
        (key,) = primary_key(schemas[table])
        rows = {row.get(key): row for row in tables[table]}
        for record_id, cells in by_record.items():
            rows[record_id].update(cells)


# The reason of a disagreement whose record gives none yet: it is published all the same (a fact of the sources).
NO_REASON = "No reason is given yet for the published value."


def conflict_rows(tables: dict, schemas: dict, records: dict[str, list[Record]]) -> list[dict]:
    """Every (resource, record, field) whose citations state incompatible values: one row per value, with the
    record's reason for the value it publishes (its `conflict_reasons`)."""
    stated = defaultdict(lambda: defaultdict(list))  # (resource, record, field) → canonical value → citations
    fields_of = {table: fields_by_name(schema) for table, schema in schemas.items()}
    for citation in tables["citations"]:
        if citation["field"] and citation["stated_value"] is not None:
            field = fields_of[citation["resource"]][citation["field"]]
            key = (citation["resource"], citation["record_id"], citation["field"])
            stated[key][canonical(field, citation["stated_value"])].append(citation)
    reasons = {(r.table, r.record_id): r.reasons for rs in records.values() for r in rs}
    notes = {(r.table, r.record_id): r.values.get("note") for rs in records.values() for r in rs}
    separators = {name: list_separator(schemas["conflicts"], name) for name in ("source_ids", "citation_ids")}
    rows, by_id = [], {}  # rows of a table by record id, indexed once a conflict needs that table
    for (resource, record_id, name), by_value in stated.items():
        field = fields_of[resource][name]
        values = list(by_value)
        if all(compatible(field, a, b) for a in values for b in values):
            continue
        if resource not in by_id:
            (key,) = primary_key(schemas[resource])
            by_id[resource] = {row.get(key): row for row in tables[resource]}
        record = by_id[resource].get(record_id, {})
        published = _published_value(field, record, schemas[resource])
        for value, cited in by_value.items():
            rows.append({
                "resource": resource, "record_id": record_id, "field": name, "stated_value": value,
                "is_published_value": published is not None and compatible(field, value, published),
                "published_value": "" if published is None else published,
                "source_ids": separators["source_ids"].join(sorted({c["source_id"] for c in cited})),
                "citation_ids": separators["citation_ids"].join(c["citation_id"] for c in cited),
                "note": notes.get((resource, record_id)),
                "reason": reasons.get((resource, record_id), {}).get(name, NO_REASON),
            })
    return rows


def _published_value(field: dict, row: dict, schema: dict) -> str | None:
    value = row.get(field["name"])
    if value is None:
        return None
    return canonical_cell(field, value, row.get(precision_of(schema).get(field["name"], "")))


def main(argv: list[str] | None = None) -> None:
    stage_arguments("tables", __doc__).parse_args(argv)
    run_stage("tables", lambda: run(load_config()))


if __name__ == "__main__":
    main()
