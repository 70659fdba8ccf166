"""`python -m pipelines add-source`: a new text and its complete catalog entry, or a refusal that writes nothing."""
from __future__ import annotations

import argparse
import hashlib

import pytest
import yaml
from conftest import command, copy_project, run_stages, tree

from pipelines.commands.add_source import add_source
from pipelines.core.config import load_config
from pipelines.core.errors import BuildError

TEXT = ("In June 2016 gunmen attacked two gun shops and a military unit in Aktobe; 7 people were killed.\n"
        "The weather was fine.\n")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return copy_project(tmp_path_factory.mktemp("add-source") / "project")


def arguments(file, **given) -> argparse.Namespace:
    values = {"file": file, "id": "news-aktobe-2016", "title": "Attack in Aktobe", "published": "2016-06-06",
              "author": None, "publisher": None, "url": None, "language": "en", "note": None}
    return argparse.Namespace(**{**values, **given})


def test_a_new_source_gets_its_text_and_a_complete_catalog_entry_that_ingest_accepts(tmp_path):
    project = copy_project(tmp_path / "project")
    document = tmp_path / "downloaded.txt"
    document.write_text(TEXT, encoding="utf-8")
    result = command(project, "add-source", str(document), "--id", "news-aktobe-2016", "--title", "Attack in Aktobe",
                     "--published", "2016-06", "--publisher", "A news site")
    assert result.returncode == 0, result.stderr
    assert (project / "sources" / "news-aktobe-2016.txt").read_bytes() == document.read_bytes()
    entry = yaml.safe_load((project / "sources" / "catalog.yaml").read_text(encoding="utf-8"))[-1]
    assert entry == {"source_id": "news-aktobe-2016", "file": "news-aktobe-2016.txt", "received_as": "downloaded.txt",
                     "title": "Attack in Aktobe", "author": None, "publisher": "A news site", "published": "2016-06",
                     "url": None, "language": "en", "sha256": hashlib.sha256(document.read_bytes()).hexdigest(),
                     "note": None}
    assert "wrote sources/news-aktobe-2016.txt" in result.stdout
    # the facts it states, listed at once: the attack's clause and the count, not the weather
    assert "2 fact(s) of news-aktobe-2016 to decide" in result.stdout and "@0: In June 2016 gunmen" in result.stdout
    assert "The weather" not in result.stdout
    assert run_stages(project, ["ingest"]).returncode == 0


@pytest.mark.parametrize("given, field, message", [
    ({"id": "caravanserai-bogatik-2017"}, "source_id", "a source with this id exists already"),
    ({"id": "News_Aktobe"}, "source_id", "expected a slug"),
    ({"published": "June 2016"}, "published", "expected a date YYYY, YYYY-MM or YYYY-MM-DD"),
    ({"published": "2016-02-30"}, "published", "no such day"),
    ({"language": "english"}, "language", "ISO 639-1"),
], ids=["id exists", "id not a slug", "date in words", "no such day", "language"])
def test_a_bad_argument_is_refused_and_nothing_is_written(project, tmp_path, given, field, message):
    document = tmp_path / "new.txt"
    document.write_text(TEXT, encoding="utf-8")
    before = tree(project)
    with pytest.raises(BuildError) as refused:
        add_source(load_config(project), arguments(document, **given))
    assert [(p.field, message in p.message) for p in refused.value.problems] == [(field, True)]
    assert tree(project) == before


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"), (b"  \n\t\n", "is empty"), (b"\xff\xfeK\x00a\x00", "not UTF-8 text"),
    (b"text\x00with NUL", "NUL bytes"), (None, "cannot read the file"),
], ids=["empty", "white space only", "UTF-16", "binary", "missing"])
def test_a_file_that_is_not_a_text_is_refused_and_nothing_is_written(project, tmp_path, content, message):
    document = tmp_path / "new.txt"
    if content is not None:
        document.write_bytes(content)
    before = tree(project)
    with pytest.raises(BuildError) as refused:
        add_source(load_config(project), arguments(document))
    assert [(p.field, message in p.message) for p in refused.value.problems] == [("file", True)]
    assert tree(project) == before


def test_a_text_that_is_already_a_source_is_refused_even_with_other_line_ends(project, tmp_path):
    existing = (project / "sources" / "edm-miranshah-2005.txt").read_text(encoding="utf-8")
    document = tmp_path / "copy.txt"
    document.write_bytes(existing.replace("\n", "\r\n").encode("utf-8"))
    before = tree(project)
    with pytest.raises(BuildError) as refused:
        add_source(load_config(project), arguments(document))
    assert "the text is already the source 'edm-miranshah-2005'" in refused.value.problems[0].message
    assert tree(project) == before


def test_every_refusal_is_reported_at_once_with_exit_1(project, tmp_path):
    document = tmp_path / "new.txt"
    document.write_bytes(b"")
    before = tree(project)
    result = command(project, "add-source", str(document), "--id", "Bad Id", "--title", "T", "--published", "2016-13")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "add-source failed with 3 problem(s)" in result.stderr
    assert tree(project) == before
