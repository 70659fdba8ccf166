"""The documents name only paths that exist: the README, docs/, the record files' headers, dvc.yaml, params.yaml and
the Makefile, wherever they point into the repository's committed folders."""
from __future__ import annotations

import re
import subprocess

import pytest
from conftest import ROOT

DOCUMENTS = ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")),
             *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "records").glob("*.yaml")),
             "dvc.yaml", "params.yaml", "Makefile", "pyproject.toml"]
# A path into a committed folder; one with a placeholder (<table>, *, {x}, ${…}) names a pattern, not a file.
PATH = re.compile(r"(?<![\w./-])((?:pipelines|schemas|docs|records|sources|tests|portal|bench)/[\w./-]*[\w/])")


def without_printed_output(text: str) -> str:
    """The text less its fenced blocks with no language: what a command printed in a worked example (a source added
    for the example), whose paths are the example's, not the repository's."""
    kept, fence = [], None  # fence: None outside a block, else the block's language ("" for printed output)
    for line in text.splitlines():
        if line.startswith("```"):
            fence = line[3:].strip() if fence is None else None
            continue
        if fence != "":
            kept.append(line)
    return "\n".join(kept)


def generated(path: str) -> bool:
    """Whether git ignores the path: something a target makes (an environment, installed packages), which a fresh
    clone does not have until that target runs."""
    # as a file or as a folder: a pattern such as `node_modules/` matches only a folder, and a missing path is neither
    return any(subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT).returncode == 0
               for name in (path, path.rstrip("/") + "/"))


def named_paths(text: str) -> set[str]:
    text = without_printed_output(text)
    return {m.group(1) for m in PATH.finditer(text) if not re.search(r"[<*{$]", text[m.end(1):m.end(1) + 1])}


def test_the_path_finder_sees_paths_and_skips_patterns_and_printed_output():
    assert named_paths("see `pipelines/core/rules.py`, and schemas/<table>.schema.json.") == {"pipelines/core/rules.py"}
    assert named_paths("```sh\ncat sources/a.txt\n```\n```\nwrote sources/b.txt\n```\n") == {"sources/a.txt"}


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_path_a_document_names_exists(document):
    text = (ROOT / document).read_text(encoding="utf-8")
    missing = sorted(path for path in named_paths(text) if not (ROOT / path).exists() and not generated(path))
    assert not missing, f"{document} names paths that do not exist: {missing}"


def decision_table() -> list[list[str]]:
    text = (ROOT / "docs" / "curating.md").read_text(encoding="utf-8")
    table = text[text.index("<!-- decision-table"):].split("\n\n", 1)[0]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()[3:]]


def test_the_decision_table_names_real_tables_columns_values_and_records():
    """docs/curating.md's table of which table a fact belongs in stays true: each table it names is curated, each
    column (or category value) in backticks is one of that table's columns or codebook values, each example a record."""
    from pipelines.core.config import load_config
    from pipelines.core.schemas import codebooks, load_schema

    config = load_config(ROOT)
    rows = decision_table()
    assert len(rows) >= 10
    for stated, tables, fields, example in rows:
        named = re.findall(r"`([^`]+)`", tables)
        assert set(named) <= set(config.curated_tables), (stated, named)
        schemas = [load_schema(config.path("schemas_dir"), t) for t in named]
        known = {f["name"] for s in schemas for f in s["fields"]}
        known |= {value for s in schemas for book in codebooks(s).values() for value in book}
        assert set(re.findall(r"`([^`]+)`", fields)) <= known, (stated, fields)
        ids = re.findall(r"`([^`]+)`", example)
        for record_id in ids:
            assert any(record_id in (config.path("data_dir") / f"{t}.csv").read_text(encoding="utf-8").split(",")
                       or f"\n{record_id}," in (config.path("data_dir") / f"{t}.csv").read_text(encoding="utf-8")
                       for t in named), (stated, record_id)
    assert any(tables == "none" for _, tables, _, _ in rows)  # a fact no table holds is reviewed, and says so
