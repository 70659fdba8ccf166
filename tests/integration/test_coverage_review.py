"""The coverage review: every fact of the sources is cited or reviewed, and a new one is caught."""
from __future__ import annotations

import hashlib
import subprocess
import sys

import yaml

from conftest import copy_project, env, run_stages

STAGES = ["ingest", "cite", "tables"]


def coverage_check(project) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.stages.coverage", "--check"], cwd=project, env=env(),
                          capture_output=True, text=True)


def test_every_fact_of_the_sources_has_a_decision(tmp_path):
    project = copy_project(tmp_path / "project")
    assert run_stages(project, STAGES, in_process=True).returncode == 0
    result = coverage_check(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "undecided:" not in result.stdout


def test_a_new_source_sentence_that_nothing_cites_is_caught(tmp_path):
    project = copy_project(tmp_path / "project")
    source = project / "sources" / "edm-miranshah-2005.txt"
    source.write_text(source.read_text(encoding="utf-8") + "\nIn 2019 a court in Almaty sentenced three men to 12 years.\n",
                      encoding="utf-8")
    catalog = project / "sources" / "catalog.yaml"
    entries = yaml.safe_load(catalog.read_text(encoding="utf-8"))
    old = next(e["sha256"] for e in entries if e["source_id"] == "edm-miranshah-2005")
    catalog.write_text(catalog.read_text(encoding="utf-8").replace(old, hashlib.sha256(source.read_bytes()).hexdigest()),
                       encoding="utf-8")
    assert run_stages(project, STAGES, in_process=True).returncode == 0
    result = coverage_check(project)
    assert result.returncode == 1
    assert "undecided: edm-miranshah-2005" in result.stdout
    assert "In 2019 a court in Almaty sentenced three men to 12 years." in result.stdout
    assert "Traceback" not in result.stderr and "sources/reviewed.yaml" in result.stderr


def resave_with_bom_and_crlf(project) -> None:
    """Every source re-saved as a Windows editor would ("UTF-8 with BOM", CRLF line ends), catalog hashes updated."""
    catalog = project / "sources" / "catalog.yaml"
    text = catalog.read_text(encoding="utf-8")
    for entry in yaml.safe_load(text):
        source = project / "sources" / entry["file"]
        source.write_bytes(b"\xef\xbb\xbf" + source.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        text = text.replace(entry["sha256"], hashlib.sha256(source.read_bytes()).hexdigest())
    catalog.write_text(text, encoding="utf-8")


def test_sources_saved_with_a_byte_order_mark_and_crlf_give_the_same_offsets(tmp_path):
    project = copy_project(tmp_path / "project")
    resave_with_bom_and_crlf(project)
    assert (project / "sources" / "cabar-trofimov.txt").read_bytes().startswith(b"\xef\xbb\xbf")
    assert run_stages(project, STAGES, in_process=True).returncode == 0
    built = project / "build" / "tables" / "citations.csv"
    assert built.read_bytes() == (project / "data" / "citations.csv").read_bytes()  # every offset as before
    result = coverage_check(project)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_review_entry_whose_sentence_changed_is_refused(tmp_path):
    project = copy_project(tmp_path / "project")
    review = project / "sources" / "reviewed.yaml"
    entries = yaml.safe_load(review.read_text(encoding="utf-8"))
    assert entries, "the review file is empty"
    entries[0]["begins"] = "Words the source does not have"
    review.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert run_stages(project, STAGES, in_process=True).returncode == 0
    result = coverage_check(project)
    assert result.returncode == 1
    assert "sources/reviewed.yaml:" in result.stderr and "field 'begins'" in result.stderr
    assert "review the sentence again" in result.stderr
