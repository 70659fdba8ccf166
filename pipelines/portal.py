"""Stage portal: export the published package to SQLite (keys, foreign keys, full-text search) for Datasette."""
from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

from .config import Config, load_config
from .errors import Problems, run_stage
from .fileio import write_json_atomic
from .schemas import load_schema, primary_key, read_table

SQL_TYPES = {"string": str, "date": str, "integer": int, "year": int, "number": float, "boolean": int}


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
    import sqlite_utils

    db = sqlite_utils.Database(path, recreate=True)
    for table in config.all_tables:
        schema = schemas[table]
        frame, _ = read_table(config.path("data_dir") / f"{table}.csv", schema)
        columns = {f["name"]: SQL_TYPES[f["type"]] for f in schema["fields"]}
        foreign_keys = [(fk["fields"][0], fk["reference"]["resource"] or table, fk["reference"]["fields"][0])
                        for fk in schema.get("foreignKeys", [])]
        key = primary_key(schema)
        db[table].create(columns, pk=key[0] if len(key) == 1 else tuple(key), foreign_keys=foreign_keys,
                         not_null=[f["name"] for f in schema["fields"] if f.get("constraints", {}).get("required")])
        db[table].insert_all(_rows(frame, schema))
        if table in full_text:
            db[table].enable_fts(full_text[table], create_triggers=True)
    problems = Problems()
    with sqlite3.connect(path) as connection:
        for table, rowid, parent, _ in connection.execute("PRAGMA foreign_key_check"):
            problems.add(table, str(rowid), None, f"dangling foreign key into {parent}")
    db.close()
    return problems


def _rows(frame, schema):
    """Rows of a typed polars frame as SQLite values: dates as ISO text, booleans as 0/1, empty cells as NULL."""
    kinds = {f["name"]: f["type"] for f in schema["fields"]}
    for record in frame.iter_rows(named=True):
        yield {name: _sql_value(kinds[name], value) for name, value in record.items()}


def _sql_value(kind: str, value):
    if value is None or value != value:
        return None
    if kind == "date":
        return value.isoformat()
    if kind in ("integer", "year", "boolean"):
        return int(value)
    if kind == "number":
        return float(value)
    return str(value)


def datasette_metadata(package: dict, schemas: dict, knobs: dict, database: str) -> dict:
    """Datasette's metadata.json, from datapackage.json and the Table Schemas."""
    sources = "; ".join(s["title"] for s in package.get("sources", []))
    tables = {}
    for table, schema in schemas.items():
        entry = {"title": schema.get("title", table), "description": schema.get("description", ""),
                 "columns": {f["name"]: f.get("description", "") for f in schema["fields"]}}
        if table in knobs["label_columns"]:
            entry["label_column"] = knobs["label_columns"][table]
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


def main() -> None:
    if "--serve" in sys.argv:
        serve(load_config(), int(os.environ.get("PORT", "8001")))
    run_stage("portal", lambda: run(load_config()))


if __name__ == "__main__":
    main()
