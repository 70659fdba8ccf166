"""Stage portal: export the published package to SQLite (keys, foreign keys, full-text search) for Datasette."""
from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
from contextlib import closing
from pathlib import Path

from .config import Config, load_config
from .errors import Problems, run_stage, stage_arguments
from .fileio import write_json_atomic
from .schemas import foreign_keys, is_required, load_schema, primary_key, read_table

SQL_TYPES = {"string": "TEXT", "date": "TEXT", "integer": "INTEGER", "year": "INTEGER", "number": "REAL", "boolean": "INTEGER"}


def run(config: Config) -> None:
    # Load
    package = json.loads(config.path("datapackage").read_text(encoding="utf-8"))
    schemas = {t: load_schema(config.path("schemas_dir"), t) for t in config.all_tables}
    knobs = config.params["portal"]
    out_dir = config.path("portal_dir")
    out_dir.mkdir(parents=True, exist_ok=True)
    database = out_dir / knobs["database"]

    # Process: write the database beside its final place, check its foreign keys, then move it in
    handle, temp = tempfile.mkstemp(dir=out_dir, prefix=".", suffix=".db")
    os.close(handle)
    try:
        problems = write_database(temp, config, schemas, knobs["full_text"])
        problems.raise_if_any("portal")
        os.chmod(temp, 0o644)
        os.replace(temp, database)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)

    # Save
    write_json_atomic(out_dir / "metadata.json", datasette_metadata(package, schemas, knobs, database.stem))


def write_database(path: str, config: Config, schemas: dict, full_text: dict) -> Problems:
    """Every published table in SQLite, with its keys and foreign keys as the schema declares them, and FTS5
    full-text search on the columns params.yaml names (the layout Datasette looks for: <table>_fts, content=<table>)."""
    import polars as pl

    with closing(sqlite3.connect(path)) as connection, connection:
        for table in config.all_tables:
            schema = schemas[table]
            frame, _ = read_table(config.path("data_dir") / f"{table}.csv", schema)
            connection.execute(create_table(table, schema))
            cells = frame.select([_sql_column(pl.col(f["name"]), f) for f in schema["fields"]])
            connection.executemany(f"INSERT INTO {_quoted(table)} VALUES ({', '.join('?' * cells.width)})",
                                   cells.iter_rows())
            if table in full_text:
                columns = ", ".join(map(_quoted, full_text[table]))
                connection.execute(f"CREATE VIRTUAL TABLE {_quoted(table + '_fts')} USING FTS5 ({columns}, "
                                   f"content={_quoted(table)})")
                connection.execute(f"INSERT INTO {_quoted(table + '_fts')} (rowid, {columns}) "
                                   f"SELECT rowid, {columns} FROM {_quoted(table)}")
        problems = Problems()
        for table, rowid, parent, _ in connection.execute("PRAGMA foreign_key_check"):
            problems.add(table, str(rowid), None, f"dangling foreign key into {parent}")
    return problems


def create_table(table: str, schema: dict) -> str:
    """CREATE TABLE for a Table Schema: column types, NOT NULL where required, the primary key, foreign keys."""
    key = primary_key(schema)
    references = {column: (target, parent) for (column,), target, (parent,) in foreign_keys(table, schema)}
    columns = []
    for field in schema["fields"]:
        name = field["name"]
        column = [_quoted(name), SQL_TYPES[field["type"]]]
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
    """Datasette's metadata.json, from datapackage.json and the Table Schemas."""
    sources = "; ".join(s["title"] for s in package.get("sources", []))
    tables = {}
    for table, schema in schemas.items():
        entry = {"title": schema.get("title", table), "description": schema.get("description", ""),
                 "columns": {f["name"]: f.get("description", "") for f in schema["fields"]}}
        if table in knobs["label_columns"]:
            entry["label_column"] = knobs["label_columns"][table]
        if {"latitude", "longitude"} <= {f["name"] for f in schema["fields"]}:
            entry["plugins"] = {"datasette-cluster-map": {"latitude_column": "latitude", "longitude_column": "longitude",
                                                          **knobs["map"]}}
        tables[table] = entry
    return {
        "title": package["title"], "description": package["description"],
        "license": package["licenses"][0]["name"], "license_url": package["licenses"][0]["path"],
        "source": f"Curated from: {sources}", "about": f"Data package version {package['version']}",
        "databases": {database: {"title": package["title"], "tables": tables}},
    }


def serve(config: Config, port: int) -> None:
    """Serve the exported database with Datasette on 127.0.0.1 (the paths come from params.yaml)."""
    out_dir = config.path("portal_dir")
    datasette = Path(sys.executable).parent / "datasette"
    os.execv(datasette, [str(datasette), "serve", str(out_dir / config.params["portal"]["database"]),
                         "--metadata", str(out_dir / "metadata.json"), "--host", "127.0.0.1", "--port", str(port)])


def main(argv: list[str] | None = None) -> None:
    parser = stage_arguments("portal", __doc__)
    parser.add_argument("--serve", action="store_true",
                        help="serve the exported database with Datasette on 127.0.0.1, port $PORT (8001 unless set)")
    if parser.parse_args(argv).serve:
        serve(load_config(), int(os.environ.get("PORT", "8001")))
    run_stage("portal", lambda: run(load_config()))


if __name__ == "__main__":
    main()
