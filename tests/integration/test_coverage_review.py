"""The coverage review: every fact of the sources is cited or reviewed, and a new one is caught."""
from __future__ import annotations

import csv
import hashlib
import subprocess
import sys

import yaml
from conftest import command, copy_project, dvc, env, git_init, run_stages, snapshot, tree

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
    source.write_text(source.read_text(encoding="utf-8")
                      + "\nIn 2019 a court in Almaty sentenced three men to 12 years.\n", encoding="utf-8")
    catalog = project / "sources" / "catalog.yaml"
    entries = yaml.safe_load(catalog.read_text(encoding="utf-8"))
    old = next(e["sha256"] for e in entries if e["source_id"] == "edm-miranshah-2005")
    catalog.write_text(catalog.read_text(encoding="utf-8").replace(old,
                                                                   hashlib.sha256(source.read_bytes()).hexdigest()),
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


# --- the build keeps the promise: nothing is published while a fact is undecided -------------------------------

def _undecide_last_fact(project) -> dict:
    """Take back the fixture project's last review entry (appended by conftest.decide_the_rest): its fact is then
    undecided. Returns the entry."""
    git_init(project)  # DVC runs in a repository
    review = project / "sources" / "reviewed.yaml"
    entries = yaml.safe_load(review.read_text(encoding="utf-8"))
    review.write_text(yaml.safe_dump(entries[:-1], allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
    return entries[-1]


def test_a_build_with_an_undecided_fact_publishes_nothing_and_names_the_fact(mini):
    entry = _undecide_last_fact(mini)
    before = tree(mini)
    result = command(mini, "build")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"record '{entry['source_id']}@{entry['start']}'" in result.stderr
    assert f"undecided fact '{entry['begins']}" in result.stderr and "python -m pipelines coverage" in result.stderr
    assert tree(mini) == before  # every file, dvc.lock and the published ones among them, as it was


def test_dvc_repro_alone_publishes_nothing_while_a_fact_is_undecided(mini):
    _undecide_last_fact(mini)
    published = snapshot(mini)
    result = dvc(mini, "repro")
    assert result.returncode != 0 and "undecided fact" in result.stdout + result.stderr
    assert {k: v for k, v in snapshot(mini).items() if not k.startswith("reports/")} == \
        {k: v for k, v in published.items() if not k.startswith("reports/")}


def test_check_counts_the_undecided_facts_and_does_not_refuse(mini):
    entry = _undecide_last_fact(mini)
    result = command(mini, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "build will refuse" in result.stdout
    assert f"  {entry['source_id']}: 1 undecided fact(s)" in result.stdout


def test_a_build_refuses_a_review_entry_that_a_record_cites(mini):
    """An entry that says a passage holds no fact while a record cites it: the entry's line and the record named."""
    git_init(mini)
    with open(mini / "data" / "citations.csv", encoding="utf-8", newline="") as handle:
        cited = next(csv.DictReader(handle))
    text = (mini / "build" / "sources" / f"{cited['source_id']}.txt").read_text(encoding="utf-8")
    start = int(cited["char_start"])
    review = mini / "sources" / "reviewed.yaml"
    lines = review.read_text(encoding="utf-8").count("\n")
    with open(review, "a", encoding="utf-8") as handle:
        handle.write(yaml.safe_dump([{"source_id": cited["source_id"], "start": start, "scope": "clause",
                                      "begins": text[start:start + 12], "reason": "said to hold no fact"}]))
    published = snapshot(mini)
    result = command(mini, "build")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"sources/reviewed.yaml:{lines + 1}" in result.stderr
    assert f"{cited['resource']} {cited['record_id']} (records/{cited['resource']}.yaml:" in result.stderr
    assert snapshot(mini) == published
