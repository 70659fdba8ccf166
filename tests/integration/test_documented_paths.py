"""The documents name only paths that exist: the README, docs/, the record files' headers, dvc.yaml, params.yaml and
the Makefile, wherever they point into the repository's committed folders."""
from __future__ import annotations

import re

import pytest
from conftest import ROOT

DOCUMENTS = ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")),
             *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "records").glob("*.yaml")),
             "dvc.yaml", "params.yaml", "Makefile", "pyproject.toml"]
# A path into a committed folder; one with a placeholder (<table>, *, {x}, ${…}) names a pattern, not a file.
PATH = re.compile(r"(?<![\w./-])((?:pipelines|schemas|docs|records|sources|tests|portal|bench)/[\w./-]*[\w/])")


def named_paths(text: str) -> set[str]:
    return {m.group(1) for m in PATH.finditer(text) if not re.search(r"[<*{$]", text[m.end(1):m.end(1) + 1])}


def test_the_path_finder_sees_paths_and_skips_patterns():
    assert named_paths("see `pipelines/core/rules.py`, and schemas/<table>.schema.json.") == {"pipelines/core/rules.py"}


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_path_a_document_names_exists(document):
    text = (ROOT / document).read_text(encoding="utf-8")
    missing = sorted(path for path in named_paths(text) if not (ROOT / path).exists())
    assert not missing, f"{document} names paths that do not exist: {missing}"
