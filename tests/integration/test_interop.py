"""Every standard client reads the published package the same way: same tables, same typed values, keys intact.

frictionless-py v5 is the reference. Each other client (the v1 Python `datapackage` library, the Node
`datapackage` library, pandas, DuckDB with the declared dialect and with its own detection, SQLite through
the portal database) must give back every row of every table with the same values once each value is read
as its Table Schema type: dates as ISO dates, integers and years as integers, booleans, empty cells as null.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import ROOT, copy_project, run_stages

from pipelines.core.config import load_config
from pipelines.core.schemas import primary_key

PACKAGE = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
RESOURCES = [r for r in PACKAGE["resources"] if r.get("type") == "table"]  # the annotations file is not a table
TABLES = [r["name"] for r in RESOURCES]
SCHEMAS = {r["name"]: json.loads((ROOT / r["schema"]).read_text(encoding="utf-8")) for r in RESOURCES}
PATHS = {r["name"]: ROOT / r["path"] for r in RESOURCES}


def canonical(kind: str, value):
    """A value as its Table Schema type says it is, whatever the client handed back."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "isoformat") and not isinstance(value, str):  # date, datetime, pandas Timestamp
        value = value.isoformat()
    if kind == "date":
        return str(value)[:10]
    if kind in ("integer", "year"):
        number = float(value)
        assert number.is_integer(), f"{value!r} is not a whole number"
        return int(number)
    if kind == "number":
        return float(value) if not isinstance(value, Decimal) else float(value)
    if kind == "boolean":
        return (value if isinstance(value, bool)
                else {"true": True, "false": False, "1": True, "0": False}[str(value).lower()])
    return str(value)


def rows_by_key(table: str, rows: list[dict]) -> dict[tuple, dict]:
    fields = SCHEMAS[table]["fields"]
    key = primary_key(SCHEMAS[table])
    out = {}
    for row in rows:
        typed = {f["name"]: canonical(f["type"], row.get(f["name"])) for f in fields}
        out[tuple(typed[k] for k in key)] = typed
    return out


def assert_same_tables(client: str, got: dict[str, list[dict]], reference: dict[str, dict]) -> None:
    assert sorted(got) == sorted(TABLES), f"{client} read tables {sorted(got)}"
    differences = []
    for table in TABLES:
        rows = rows_by_key(table, got[table])
        if len(got[table]) != len(reference[table]) or rows.keys() != reference[table].keys():
            differences.append(f"{table}: {len(got[table])} rows, keys differ by "
                               f"{sorted(rows.keys() ^ reference[table].keys())[:3]}")
            continue
        for key, expected in reference[table].items():
            for name, value in expected.items():
                if rows[key][name] != value:
                    differences.append(f"{table} {key} {name}: {rows[key][name]!r} instead of {value!r}")
    assert not differences, f"{client} reads {len(differences)} value(s) differently:\n" + "\n".join(differences[:20])


@pytest.fixture(scope="module")
def reference() -> dict[str, dict]:
    from frictionless import Package

    package = Package(str(ROOT / "datapackage.json"))
    assert package.validate().valid
    return {t: rows_by_key(t, [row.to_dict() for row in package.get_resource(t).read_rows()]) for t in TABLES}


def test_frictionless_v5_types_dates_integers_booleans_and_empty_cells():
    from frictionless import Package

    attacks = [row.to_dict() for row in Package(str(ROOT / "datapackage.json")).get_resource("attacks").read_rows()]
    conflicts = [row.to_dict() for row in Package(str(ROOT / "datapackage.json")).get_resource("conflicts").read_rows()]
    assert {type(r["date"]) for r in attacks} == {dt.date, type(None)}
    assert {type(r["killed"]) for r in attacks} == {int, type(None)}
    assert {type(r["is_published_value"]) for r in conflicts} == {bool}
    assert any(r["city"] is None for r in attacks)  # an empty cell is None, not ""


def test_frictionless_v5_finds_every_foreign_key():
    from frictionless import Package

    report = Package(str(ROOT / "datapackage.json")).validate()
    assert report.valid, report.flatten(["resourceName", "rowNumber", "type", "message"])[:5]


@pytest.mark.other_clients
def test_datapackage_v1_python(reference):
    result = subprocess.run([str(ROOT / ".interop-venv" / "bin" / "python"),
                             str(ROOT / "tests" / "interop" / "read_v1.py"), str(ROOT / "datapackage.json")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["foreign_keys"] == {t: "ok" for t in TABLES}
    assert_same_tables("datapackage v1 (Python)", out["tables"], reference)


@pytest.mark.other_clients
def test_datapackage_node(reference):
    script = ROOT / "tests" / "interop" / "node" / "read.js"
    result = subprocess.run(["node", str(script), str(ROOT / "datapackage.json")], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["foreign_keys"] == {t: "ok" for t in TABLES}
    assert_same_tables("datapackage (Node)", out["tables"], reference)


def test_pandas(reference):
    import pandas as pd

    tables = {}
    for table in TABLES:
        dates = [f["name"] for f in SCHEMAS[table]["fields"] if f["type"] == "date"]
        frame = pd.read_csv(PATHS[table], keep_default_na=False, na_values=[""], parse_dates=dates)
        tables[table] = [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.to_dict("records")]
    assert_same_tables("pandas", tables, reference)


@pytest.mark.parametrize("detect", [False, True], ids=["declared-dialect", "own-detection"])
def test_duckdb(reference, detect):
    import duckdb

    dialect = next(r["dialect"] for r in PACKAGE["resources"])
    tables = {}
    with duckdb.connect() as db:
        for table in TABLES:
            options = {} if detect else {"delimiter": dialect["delimiter"], "quotechar": dialect["quoteChar"],
                                         "escapechar": dialect["quoteChar"], "header": dialect["header"]}
            relation = db.read_csv(str(PATHS[table]), **options)
            tables[table] = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
    assert_same_tables(f"DuckDB ({'own detection' if detect else 'declared dialect'})", tables, reference)


@pytest.fixture(scope="module")
def portal_database(tmp_path_factory) -> Path:
    project = copy_project(tmp_path_factory.mktemp("interop") / "project")
    result = run_stages(project, ["ingest", "database"])  # the portal reads the normalized texts ingest writes
    assert result.returncode == 0, result.stderr
    config = load_config(project)
    return config.path("portal_dir") / config.params["portal"]["database"]


def test_sqlite_portal_database(reference, portal_database):
    with sqlite3.connect(portal_database) as db:
        db.row_factory = sqlite3.Row
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        tables = {t: [dict(row) for row in db.execute(f'SELECT * FROM "{t}"')] for t in TABLES}
    assert_same_tables("SQLite (portal)", tables, reference)


def test_the_comparison_catches_a_changed_value(reference):
    """Control: a client that read one date differently would be caught."""
    changed = {t: [dict(r) for r in reference[t].values()] for t in TABLES}
    row = next(r for r in changed["attacks"] if r["date"])
    row["date"] = (dt.date.fromisoformat(row["date"]) + dt.timedelta(days=1)).isoformat()
    with pytest.raises(AssertionError, match="attacks .* date"):
        assert_same_tables("control", changed, reference)
