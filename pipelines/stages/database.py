"""Stage database: export the published package to SQLite (keys, foreign keys, full-text search) for Datasette,
with the normalized source texts and their sentences beside it (`python -m pipelines portal` serves it).

The portal's templates, plugin and style sheets (params.yaml paths.portal_templates, portal_plugins, portal_static) show
every record with the quotes that back it and every source with its citations marked: see docs/portal.md.
"""
from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from contextlib import closing

from ..core import description
from ..core.config import Config, load_config
from ..core.errors import Problems, run_stage, stage_arguments
from ..core.fileio import read_texts, write_json_atomic
from ..core.schemas import described, engine_types, foreign_keys, is_required, load_schema, primary_key, read_table
from ..core.sentences import read_review, reviewed_spans, split_sentences, whole_sentence

# Where Datasette serves params.yaml portal.static (the style sheet the metadata names).
STATIC_MOUNT = "assets"

_SOURCE_KEY = [{"fields": ["source_id"], "reference": {"resource": "sources", "fields": ["source_id"]}}]


def _span_table(title: str, description: str, unit: str, *fields: dict) -> dict:
    """A portal table of spans of the normalized source texts (a source, a start and an end), and `fields`."""
    return {
        "title": title, "description": description,
        "fields": [
            {"name": "source_id", "type": "string", "description": "The source (sources.source_id).",
             "constraints": {"required": True}},
            {"name": "start", "type": "integer", "description": f"Offset of the {unit}'s first character in the "
             "normalized text.", "constraints": {"required": True}},
            {"name": "end", "type": "integer", "description": "Offset just past its last character.",
             "constraints": {"required": True}},
            *fields,
        ],
        "primaryKey": ["source_id", "start"], "foreignKeys": _SOURCE_KEY,
    }


# Tables of the portal only, in the form of a Table Schema so that they are created like the published ones.
# The package does not publish them: the texts are in sources/ and their offsets in citations.
PORTAL_TABLES = {
    "source_texts": {
        "title": "Source texts",
        "description": "The normalized text of each source: the text whose character offsets citations and "
                       "source_sentences count in. Read it with its citations marked on the source's page.",
        "fields": [
            {"name": "source_id", "type": "string", "description": "The source (sources.source_id).",
             "constraints": {"required": True}},
            {"name": "text", "type": "string", "description": "The normalized text.",
             "constraints": {"required": True}},
        ],
        "primaryKey": ["source_id"], "foreignKeys": _SOURCE_KEY,
    },
    "source_sentences": _span_table(
        "Source sentences", "Every sentence of every source, as the coverage review splits them, with the reviewer's "
        "reason where the review decided that the whole sentence holds no fact for any table.", "sentence",
        {"name": "sentence", "type": "string", "description": "The sentence.", "constraints": {"required": True}},
        {"name": "review", "type": "string", "description": "Why the coverage review (sources/reviewed.yaml) "
         "decided that the sentence holds no table fact; empty for sentences it did not review whole."}),
    "source_reviews": _span_table(
        "Reviewed passages", "Every sentence or clause of a source that the coverage review (sources/reviewed.yaml) "
        "decided holds no fact for any table, with the reviewer's reason: marked on the source pages.", "passage",
        {"name": "reason", "type": "string", "description": "Why it holds no table fact.",
         "constraints": {"required": True}}),
}


def run(config: Config) -> None:
    # Load
    package = json.loads(config.path("datapackage").read_text(encoding="utf-8"))
    schemas = {t: load_schema(config.path("schemas_dir"), t) for t in config.all_tables}
    knobs = config.params["portal"]
    out_dir = config.path("portal_dir")
    out_dir.mkdir(parents=True, exist_ok=True)
    database = out_dir / knobs["database"]
    texts = read_texts(config.path("ingested_dir"))
    problems = Problems()
    reviewed = read_review(config, texts, problems)
    problems.raise_if_any("database")

    # Process: the portal's metadata first (the dataset's description fails the stage if it lacks a property), then
    # the database beside its final place, its foreign keys checked, then moved in
    metadata = datasette_metadata(package, schemas, knobs, database.stem)
    base = description.base_url(config)
    metadata["plugins"] = {"provenance": {
        "dataset_jsonld": description.script(description.dataset(
            config, package, description.package_files(config, package, base), base), "database"),
        "cite_as": description.cite_as(description.citation_file(config))}}
    portal_rows = {"source_texts": sorted(texts.items()), "source_sentences": sentence_rows(texts, reviewed),
                   "source_reviews": [(source_id, *span) for source_id, text in sorted(texts.items())
                                      for span in reviewed_spans(text, source_id, reviewed)]}
    handle, temp = tempfile.mkstemp(dir=out_dir, prefix=".", suffix=".db")
    os.close(handle)
    try:
        problems = write_database(temp, config, schemas, knobs["full_text"], portal_rows)
        problems.raise_if_any("database")
        os.chmod(temp, 0o644)
        os.replace(temp, database)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)

    # Save
    write_json_atomic(out_dir / "metadata.json", metadata)


def sentence_rows(texts: dict[str, str], reviewed: dict[tuple[str, int], dict]) -> list[tuple]:
    """(source_id, start, end, sentence, review reason or None) of every sentence of every source: the reason of an
    entry that decides the whole sentence (source_reviews holds every reviewed passage). A review entry whose
    sentence is gone is the coverage stage's to report; here it marks nothing."""
    def reason(source_id: str, start: int) -> str | None:
        entry = reviewed.get((source_id, start))
        return entry["reason"] if entry is not None and whole_sentence(entry) else None

    return [(source_id, start, end, text[start:end], reason(source_id, start))
            for source_id, text in sorted(texts.items()) for start, end in split_sentences(text)]


def write_database(path: str, config: Config, schemas: dict, full_text: dict, portal_rows: dict[str, list]) -> Problems:
    """Every published table in SQLite, with its keys and foreign keys as the schema declares them, an index on
    each foreign key (the row pages count and list what refers to a record), and FTS5 full-text search on the
    columns params.yaml names (the layout Datasette looks for: <table>_fts, content=<table>); then the portal's
    own tables (PORTAL_TABLES) with the rows given."""
    import polars as pl

    with closing(sqlite3.connect(path)) as connection, connection:
        for table in config.all_tables:
            schema = schemas[table]
            frame, _ = read_table(config.path("data_dir") / f"{table}.csv", schema)
            cells = frame.select([_sql_column(pl.col(f["name"]), f) for f in schema["fields"]])
            _fill(connection, table, schema, cells.iter_rows(), full_text.get(table))
        for table, rows in portal_rows.items():
            _fill(connection, table, PORTAL_TABLES[table], rows, full_text.get(table))
        # A record's page looks up the citations of the record; a source's page reads every citation of the source
        # in text order, from this index alone (it holds every column the page asks for).
        connection.execute('CREATE INDEX "citations_by_record" ON "citations" ("resource", "record_id")')
        # and its history, in the table's order (versions oldest first)
        connection.execute('CREATE INDEX "changes_by_record" ON "changes" ("about_resource", "about_record_id")')
        connection.execute('CREATE INDEX "citations_by_source" ON "citations" ("source_id", "char_start", '
                           '"char_end" DESC, "citation_id", "resource", "record_id", "field")')
        problems = Problems()
        for table, rowid, parent, _ in connection.execute("PRAGMA foreign_key_check"):
            problems.add(table, str(rowid), None, f"dangling foreign key into {parent}")
    return problems


def _fill(connection, table: str, schema: dict, rows, searched: list[str] | None) -> None:
    connection.execute(create_table(table, schema))
    connection.executemany(f"INSERT INTO {_quoted(table)} VALUES ({', '.join('?' * len(schema['fields']))})", rows)
    for (column,), _, _ in foreign_keys(table, schema):
        connection.execute(f"CREATE INDEX {_quoted(f'{table}_{column}')} ON {_quoted(table)} ({_quoted(column)})")
    if searched:
        columns = ", ".join(map(_quoted, searched))
        connection.execute(f"CREATE VIRTUAL TABLE {_quoted(table + '_fts')} USING FTS5 ({columns}, "
                           f"content={_quoted(table)})")
        connection.execute(f"INSERT INTO {_quoted(table + '_fts')} (rowid, {columns}) "
                           f"SELECT rowid, {columns} FROM {_quoted(table)}")


def create_table(table: str, schema: dict) -> str:
    """CREATE TABLE for a Table Schema: column types, NOT NULL where required, the primary key, foreign keys."""
    key = primary_key(schema)
    references = {column: (target, parent) for (column,), target, (parent,) in foreign_keys(table, schema)}
    columns = []
    for field in schema["fields"]:
        name = field["name"]
        column = [_quoted(name), engine_types(field).sqlite]
        if key == [name]:
            column.append("PRIMARY KEY")
        if is_required(field):
            column.append("NOT NULL")
        if name in references:
            target, target_column = references[name]
            column.append(f"REFERENCES {_quoted(target)}({_quoted(target_column)})")
        columns.append(" ".join(column))
    if len(key) > 1:
        columns.append(f"PRIMARY KEY ({', '.join(map(_quoted, key))})")
    return f"CREATE TABLE {_quoted(table)} (\n   " + ",\n   ".join(columns) + "\n)"


def _sql_column(column, field: dict):
    """A typed column as SQLite stores it: dates as ISO text, booleans as 0/1, empty cells as NULL."""
    import polars as pl

    if field["type"] == "date":
        return column.dt.strftime("%Y-%m-%d")
    if field["type"] == "boolean":
        return column.cast(pl.Int64)
    return column


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def datasette_metadata(package: dict, schemas: dict, knobs: dict, database: str) -> dict:
    """Datasette's metadata.json, from datapackage.json and the Table Schemas: titles, descriptions, the label
    column, newest first where a table has a date, and for the portal's plugin (portal/plugins/provenance.py)
    the field titles and the list columns that refer to another table (x-list-reference)."""
    sources = "; ".join(s["title"] for s in package.get("sources", []))
    tables = {}
    for table, schema in {**schemas, **PORTAL_TABLES}.items():
        entry = {"title": schema.get("title", table), "description": schema.get("description", ""),
                 "columns": {f["name"]: described(f) for f in schema["fields"]}}
        if table in knobs["label_columns"]:
            entry["label_column"] = knobs["label_columns"][table]
        dates = [f["name"] for f in schema["fields"] if f["type"] == "date"]
        if dates:
            entry["sort_desc"] = dates[0]
        if table in ("source_texts", "source_reviews"):
            entry["hidden"] = True  # read on the source pages, not as tables of their own
        plugins = {"provenance": {
            "titles": {f["name"]: f.get("title", f["name"]) for f in schema["fields"]},
            "list_references": {f["name"]: {"table": f["x-list-reference"]["resource"],
                                            "separator": f["x-list-separator"]}
                                for f in schema["fields"] if "x-list-reference" in f}}}
        if {"latitude", "longitude"} <= {f["name"] for f in schema["fields"]}:
            plugins["datasette-cluster-map"] = {"latitude_column": "latitude", "longitude_column": "longitude",
                                                **knobs["map"]}
        entry["plugins"] = plugins
        tables[table] = entry
    return {
        "title": package["title"], "description": package["description"],
        "license": package["licenses"][0]["name"], "license_url": package["licenses"][0]["path"],
        "source": f"Curated from: {sources}", "about": f"Data package version {package['version']}",
        "extra_css_urls": [f"/{STATIC_MOUNT}/passages.css", f"/{STATIC_MOUNT}/portal.css"],
        "databases": {database: {"title": package["title"], "tables": tables}},
    }


def main(argv: list[str] | None = None) -> None:
    stage_arguments("database", __doc__).parse_args(argv)
    run_stage("database", lambda: run(load_config()))


if __name__ == "__main__":
    main()
