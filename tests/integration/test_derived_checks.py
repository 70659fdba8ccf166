"""Equivalence: on corrupted tables, the checks derived from schemas/ find every error `frictionless validate` finds.

The corpus breaks built tables the ways a Table Schema forbids (wrong type, missing required value, value
outside its enum, pattern, minimum, maxLength, a duplicate primary key, a dangling foreign key, a bad date).
frictionless-py reads the corrupted tables row by row; the validate stage must report each of its errors for
the same table, record and field.
"""
from __future__ import annotations

import csv
import io
import re
import subprocess
import sys

import frictionless
import pytest
from conftest import env

from pipelines.core.config import load_config
from pipelines.core.descriptor import package as package_descriptor
from pipelines.core.schemas import load_schema, primary_key

# (table, row index in the CSV, column, corrupted cell)
CORRUPTIONS = [
    ("attacks", 0, "killed", "eight"),                   # type: integer
    ("attacks", 0, "attack_type", "explosion"),          # enum
    ("attacks", 0, "country", "kz"),                     # pattern
    ("attacks", 0, "injured", "-3"),                     # minimum
    ("attacks", 0, "city", "x" * 101),                   # maxLength
    ("attacks", 0, "date", "2016-13-45"),                # type: date
    ("laws", 0, "act_type", ""),                         # required
    ("court_bans", 0, "org_id", "no-such-org"),          # foreign key
    ("laws", 1, "amends_law_id", "law-no-such-act"),     # foreign key to the same table
    ("citations", 1, "char_start", "1.5"),               # type: integer
    ("statistics", 0, "qualifier", "roughly"),           # enum
    ("legal_provisions", 0, "successor_provision_id", "prov-nowhere"),  # self foreign key
]


def corrupt(tables_dir) -> None:
    by_table = {}
    for table, row, column, cell in CORRUPTIONS:
        by_table.setdefault(table, []).append((row, column, cell))
    for table, changes in by_table.items():
        path = tables_dir / f"{table}.csv"
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        header = list(rows[0])
        for row, column, cell in changes:
            rows[row][column] = cell
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        path.write_text(buffer.getvalue(), encoding="utf-8")
    path = tables_dir / "organizations.csv"  # a duplicate primary key: the second row takes the first one's id
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first_id, second_id = lines[1].split(",", 1)[0], lines[2].split(",", 1)[0]
    lines[2] = first_id + lines[2][len(second_id):]
    path.write_text("".join(lines), encoding="utf-8")


def frictionless_findings(project) -> tuple[set[tuple[str, str, str]], set[str]]:
    """(table, record id, field) of every error frictionless-py finds in the built tables, and the error types."""
    config = load_config(project)
    tables_dir = config.path("tables_dir")
    sources = [{"title": "s"}]
    descriptor = package_descriptor(config, tables_dir, sources, integrity=False, with_files=False)
    report = frictionless.Package(descriptor, basepath=str(project)).validate()
    found, kinds = set(), set()
    for task in report.tasks:
        with open(tables_dir / f"{task.name}.csv", encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        key = primary_key(load_schema(config.path("schemas_dir"), task.name))
        for error in task.errors:
            row = getattr(error, "row_number", None)
            field = getattr(error, "field_name", None) or ",".join(getattr(error, "field_names", None) or [])
            if error.type == "primary-key":  # frictionless names no field: the key's fields are the ones at fault
                field = ",".join(key)
            assert row, f"frictionless found a table-level error: {error.message}"
            found.add((task.name, "/".join(rows[row - 2][k] for k in key), field))
            kinds.add(error.type)
    return found, kinds


def derived_findings(project) -> tuple[set[tuple[str, str, str]], str]:
    """(table, record id, field) of every problem the validate stage reports, from its messages."""
    result = subprocess.run([sys.executable, "-m", "pipelines.stages.validate"], cwd=project, env=env(),
                            capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    found = set()
    for line in result.stderr.splitlines():
        match = re.match(r"\s+- (?P<where>.*?), record '(?P<record>[^']*)', field '(?P<field>[^']*)': "
                         r"(?P<what>.*)", line)
        if match and not match["what"].startswith("frictionless "):
            table = (re.search(r"\((\w+)\)$", match["where"])
                     or re.search(r"records/(\w+)\.yaml|^(\w+)$", match["where"]))
            found.add((next(g for g in table.groups() if g), match["record"], match["field"]))
    return found, result.stderr


@pytest.fixture
def corrupted(mini):
    corrupt(load_config(mini).path("tables_dir"))
    return mini


def test_the_derived_checks_find_every_error_frictionless_finds(corrupted):
    expected, kinds = frictionless_findings(corrupted)
    assert {"type-error", "constraint-error", "foreign-key", "primary-key"} <= kinds, kinds
    assert len(expected) >= len(CORRUPTIONS), expected  # every corruption is an error frictionless finds
    found, stderr = derived_findings(corrupted)
    missed = expected - found
    assert not missed, f"frictionless finds {sorted(missed)} that the derived checks do not report:\n{stderr}"
