"""The changes table from a repository's history: a small package committed at three versions, and this one's."""
from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest

from pipelines.commands.diff import main as diff_main
from pipelines.core.errors import Problems
from pipelines.core.history import Version, change_table, compare, parse_entry, read_changelog

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = {"fields": [{"name": "thing_id", "type": "string"}, {"name": "value", "type": "integer"},
                     {"name": "note", "type": "string"}], "primaryKey": ["thing_id"]}
CITATIONS = {"fields": [{"name": "citation_id", "type": "string"}, {"name": "resource", "type": "string"},
                        {"name": "record_id", "type": "string"}, {"name": "field", "type": "string"}],
             "primaryKey": ["citation_id"]}


def write_version(repo: Path, version: str, things: list[tuple], citations: list[tuple]) -> None:
    (repo / "data").mkdir(parents=True, exist_ok=True)
    (repo / "schemas").mkdir(exist_ok=True)
    for name, schema, rows in (("things", SCHEMA, things), ("citations", CITATIONS, citations)):
        (repo / "schemas" / f"{name}.schema.json").write_text(json.dumps(schema), encoding="utf-8")
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([f["name"] for f in schema["fields"]])
        writer.writerows(rows)
        (repo / "data" / f"{name}.csv").write_text(out.getvalue(), encoding="utf-8")
    resources = [{"name": n, "type": "table", "path": f"data/{n}.csv", "schema": f"schemas/{n}.schema.json"}
                 for n in ("things", "citations")]
    resources.append({"name": "changes", "type": "table", "path": "data/changes.csv",
                      "schema": "schemas/changes.schema.json"})  # the table of changes is never compared itself
    (repo / "data" / "changes.csv").write_text(f"version\n{version}\n", encoding="utf-8")
    (repo / "datapackage.json").write_text(json.dumps({"version": version, "resources": resources}), encoding="utf-8")


def commit(repo: Path, message: str, date: str) -> None:
    env = {"GIT_COMMITTER_DATE": f"{date}T12:00:00+00:00", "GIT_AUTHOR_DATE": f"{date}T12:00:00+00:00",
           "PATH": "/usr/bin:/bin"}
    for command in (["git", "add", "-A"], ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm",
                                           message]):
        subprocess.run(command, cwd=repo, check=True, env=env)


CHANGELOG = """# Changelog

## [0.3.0] — 2026-03-01

- thing-b → thing-bee: renamed, the id said too little
- thing-a, `value`: 2 → 3, the second source's count
- thing-gone: removed, a duplicate of thing-c
- thing-nowhere, `value`: a line about a record no version has

## [0.2.0] — 2026-02-01

- thing-c: new record
- thing-a, `note`: rewritten

## [0.1.0] — 2026-01-01

First version.
"""


@pytest.fixture
def repo(tmp_path) -> Path:
    """Three published versions, each with a later commit after its date that carries it still (work on the next
    version, which must not count as the published state), and a working tree at 0.4.0 with one more edit."""
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / "CHANGELOG.md").write_text(CHANGELOG, encoding="utf-8")
    write_version(repo, "0.1.0", [("thing-a", 1, "first"), ("thing-b", 5, ""), ("thing-gone", 9, "")],
                  [("cit-1", "things", "thing-a", "value")])
    commit(repo, "0.1.0", "2026-01-01")
    write_version(repo, "0.1.0", [("thing-a", 2, "first"), ("thing-b", 5, ""), ("thing-gone", 9, "")],
                  [("cit-1", "things", "thing-a", "value")])
    commit(repo, "work towards 0.2.0, still carrying 0.1.0", "2026-01-15")
    write_version(repo, "0.2.0", [("thing-a", 2, "second"), ("thing-b", 5, ""), ("thing-c", 7, ""),
                                  ("thing-gone", 9, "")], [("cit-1", "things", "thing-a", "value")])
    commit(repo, "0.2.0", "2026-02-01")
    write_version(repo, "0.3.0", [("thing-a", 3, "second"), ("thing-bee", 6, ""), ("thing-c", 7, "")],
                  [("cit-2", "things", "thing-a", "value")])
    commit(repo, "0.3.0", "2026-03-01")
    return repo


def table(repo: Path, current: str = "0.3.0", folder: Path | None = None):
    problems, warnings = Problems(), Problems()
    state = Version(current, folder=folder or repo, resources=[
        (n, f"schemas/{n}.schema.json", f"data/{n}.csv") for n in ("things", "citations")])
    rows, compared = change_table(repo, repo / "CHANGELOG.md", current, state, problems, warnings)
    return rows, compared, problems, warnings


def by_id(rows):
    return {r["change_id"]: r for r in rows}


def test_a_value_changed_a_record_added_removed_and_renamed_with_their_reasons(repo):
    rows, compared, problems, warnings = table(repo)
    assert not problems
    changes = by_id(rows)
    # 0.1.0 is its commit of 2026-01-01, not the later one that still carries it: value 1 → 2 belongs to 0.2.0
    assert changes["0.2.0/things/thing-a/value"] | {"reason": ""} == {
        "change_id": "0.2.0/things/thing-a/value", "version": "0.2.0", "previous_version": "0.1.0",
        "resource": "things", "record_id": "thing-a", "field": "value", "change": "changed", "old_value": "1",
        "new_value": "2", "about_resource": "things", "about_record_id": "thing-a", "about_field": "value",
        "reason": ""}
    assert changes["0.2.0/things/thing-a/note"]["reason"] == "thing-a, `note`: rewritten"
    assert changes["0.2.0/things/thing-c"]["change"] == "added"
    assert changes["0.2.0/things/thing-c"]["reason"] == "thing-c: new record"
    assert changes["0.3.0/things/thing-a/value"]["old_value"] == "2"
    assert changes["0.3.0/things/thing-a/value"]["reason"] == "thing-a, `value`: 2 → 3, the second source's count"
    assert "0.3.0/things/thing-a/note" not in changes  # a field line does not reach another field
    assert changes["0.3.0/things/thing-gone"]["change"] == "removed"
    assert changes["0.3.0/things/thing-gone"]["reason"] == "thing-gone: removed, a duplicate of thing-c"
    renamed = changes["0.3.0/things/thing-bee"]
    assert (renamed["change"], renamed["old_value"], renamed["new_value"]) == ("renamed", "thing-b", "thing-bee")
    assert renamed["reason"] == "thing-b → thing-bee: renamed, the id said too little"
    assert changes["0.3.0/things/thing-bee/value"]["old_value"] == "5"  # the renamed record's own changes
    assert "0.3.0/things/thing-b" not in changes  # one renamed row, not a removal and an addition
    # a citation's change carries the reason of the line naming its record and field
    assert changes["0.3.0/citations/cit-2"]["reason"] == changes["0.3.0/things/thing-a/value"]["reason"]
    assert changes["0.3.0/citations/cit-1"]["change"] == "removed"
    assert not any(r["resource"] == "changes" for r in rows)
    assert compared.startswith("0.1.0 (") and "0.2.0 (" in compared and compared.endswith("0.3.0 (this build)")
    # the line naming a record neither 0.2.0 nor 0.3.0 has: reported with its line, its reason attached nowhere
    assert [str(w) for w in warnings] == [
        "CHANGELOG.md:8, record 'thing-nowhere': names a record neither 0.2.0 nor 0.3.0 has; its reason is not "
        "attached to any change"]
    assert not any("a line about a record no version has" in r["reason"] for r in rows)


def test_the_diff_command_and_the_changes_table_agree(repo, capsys, monkeypatch):
    rows, *_ = table(repo)
    monkeypatch.chdir(repo)
    for old, new in (("0.1.0", "0.2.0"), ("0.2.0", "0.3.0")):
        assert diff_main([old, new, "--format", "json"]) == 0
        result = json.loads(capsys.readouterr().out)
        from_diff = set()
        for name, diff in result["tables"].items():
            from_diff |= {(name, i, "", "added") for i in diff["added"]}
            from_diff |= {(name, i, "", "removed") for i in diff["removed"]}
            from_diff |= {(name, c["id"], c["column"], "changed") for c in diff["changed"]}
        from_table = {(r["resource"], r["record_id"], r["field"], r["change"]) for r in rows if r["version"] == new}
        renamed = {(r["resource"], r["old_value"], r["new_value"]) for r in rows
                   if r["version"] == new and r["change"] == "renamed"}
        for resource, was, now in renamed:
            # where the CHANGELOG says renamed, the diff sees a removal and an addition, and the table one renamed row
            # with the cells that changed between the old record and the new one
            assert {(resource, was, "", "removed"), (resource, now, "", "added")} <= from_diff
            from_diff -= {(resource, was, "", "removed"), (resource, now, "", "added")}
            from_table -= {(resource, now, "", "renamed")}
            from_table -= {row for row in set(from_table) if row[:2] == (resource, now) and row[2]}
        assert from_table == from_diff, (new, from_table ^ from_diff)
        assert from_table, "nothing compared"


def test_the_current_build_is_compared_with_the_last_published_version(repo, tmp_path):
    work = tmp_path / "build"
    write_version(work, "0.4.0", [("thing-a", 4, "second"), ("thing-bee", 6, ""), ("thing-c", 7, "")],
                  [("cit-2", "things", "thing-a", "value")])
    changelog = (repo / "CHANGELOG.md").read_text(encoding="utf-8")
    (repo / "CHANGELOG.md").write_text(changelog.replace("## [0.3.0]", "## [0.4.0] — 2026-04-01\n\n## [0.3.0]"))
    rows, compared, problems, _ = table(repo, "0.4.0", work)
    assert not problems and compared.endswith("0.4.0 (this build)")
    current = [r for r in rows if r["version"] == "0.4.0"]
    assert [(r["record_id"], r["field"], r["old_value"], r["new_value"]) for r in current] == [
        ("thing-a", "value", "3", "4")]


def test_a_version_the_history_lacks_is_an_error_naming_it(repo):
    changelog = (repo / "CHANGELOG.md").read_text(encoding="utf-8")
    (repo / "CHANGELOG.md").write_text(changelog.replace("## [0.1.0]", "## [0.1.5] — 2026-01-20\n\n## [0.1.0]"))
    rows, _, problems, _ = table(repo)
    assert rows is None
    assert [str(p) for p in problems] == [
        "CHANGELOG.md:15: version 0.1.5 is in no commit's datapackage.json: the history lacks it"]


def test_a_version_without_its_changelog_heading_lists_its_changes_without_reasons_and_says_so(repo):
    rows, _, problems, warnings = table(repo, "0.9.0")
    assert not problems and {r["version"] for r in rows} == {"0.2.0", "0.3.0"}  # 0.9.0 is 0.3.0's state: no change
    assert [str(w) for w in warnings][0] == (
        "CHANGELOG.md: has no heading for version 0.9.0 (params.yaml package.version): its changes carry no "
        "reasons; add `## [0.9.0] — YYYY-MM-DD` with what it changes")


def test_without_history_there_is_nothing_to_derive_and_the_caller_keeps_the_published_table(tmp_path):
    copy = tmp_path / "copy"  # a release zip unpacked, or a copy of the files: no .git
    write_version(copy, "0.3.0", [("thing-a", 3, "")], [])
    (copy / "CHANGELOG.md").write_text(CHANGELOG, encoding="utf-8")
    rows, why, problems, _ = table(copy)
    assert rows is None and not problems and why == "this is not a git repository"
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
    commit(copy, "a copy committed afresh", "2026-03-01")  # a history that holds none of the earlier versions
    rows, why, problems, _ = table(copy)
    assert rows is None and not problems and why == "the history holds none of its versions"


@pytest.mark.parametrize("line, groups, renamed", [
    ("attack-2009-uralsk, record: the two sentencing quotes", [(["attack-2009-uralsk"], [""])], None),
    ("attack-2011-atyrau: split into two records", [(["attack-2011-atyrau"], [])], None),
    ("agr-sco-membership, `signed` and `place`: 2001-06-15 → empty", [(["agr-sco-membership"], ["signed", "place"])],
     None),
    ("ban-x, `decision_date`; law-y, `adopted`: each record's reason",
     [(["ban-x"], ["decision_date"]), (["law-y"], ["adopted"])], None),
    ("ministry-of-communication-and-information, `kind` (state_body, kept): cites",
     [(["ministry-of-communication-and-information"], ["kind"])], None),
    ("a-1, a-2, a-3, `period_end`: 2015 kept", [(["a-1", "a-2", "a-3"], ["period_end"])], None),
    ("old-id → new-id: renamed, shorter", [(["new-id"], [])], ("old-id", "new-id")),
    ("`citations`: 100 rows added", None, None),
    ("New table `changes`.", None, None),
])
def test_changelog_lines_name_records_and_fields(line, groups, renamed):
    entry = parse_entry(1, line)
    if groups is None:
        assert entry is None
    else:
        assert entry.groups == groups and entry.renamed == renamed


def test_changelog_lines_continue_on_indented_lines(tmp_path):
    path = tmp_path / "CHANGELOG.md"
    path.write_text("## [1.0.0] — 2026-01-01\n\n- thing-a, `value`:\n  carried on here\n- thing-b: one line\n\n"
                    "Prose, not a record line.\n", encoding="utf-8")
    (release,) = read_changelog(path)
    assert (release.version, release.date) == ("1.0.0", "2026-01-01")
    assert [(e.line, e.text) for e in release.entries] == [(3, "thing-a, `value`: carried on here"),
                                                           (5, "thing-b: one line")]


def test_compare_counts_the_cells_of_an_added_column(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    write_version(old, "0.1.0", [("thing-a", 1, "")], [])
    write_version(new, "0.2.0", [("thing-a", 1, "")], [])
    schema = dict(SCHEMA, fields=[*SCHEMA["fields"], {"name": "flag", "type": "string"}])
    (new / "schemas" / "things.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    (new / "data" / "things.csv").write_text("thing_id,value,note,flag\nthing-a,1,,odd\n", encoding="utf-8")
    result = compare(Version("old", folder=old), Version("new", folder=new))
    assert result["tables"]["things"]["columns_added"] == ["flag"]
    assert result["tables"]["things"]["changed"] == [{"id": "thing-a", "column": "flag", "old": "", "new": "odd"}]


PUBLISHED = ROOT / "data" / "changes.csv"


def test_the_published_changes_hold_the_correction_of_0_3_0_with_its_reason():
    """A researcher who cited 0.2.0's "at least 200" finds what 0.3.0 did to it, and why."""
    with open(PUBLISHED, encoding="utf-8", newline="") as handle:
        rows = {r["change_id"]: r for r in csv.DictReader(handle)}
    value = rows["0.3.0/statistics/stat-foreign-fighters-2017-02-kz/value"]
    qualifier = rows["0.3.0/statistics/stat-foreign-fighters-2017-02-kz/qualifier"]
    assert (value["previous_version"], value["change"], value["old_value"], value["new_value"]) == (
        "0.2.0", "changed", "200", "")
    assert (qualifier["old_value"], qualifier["new_value"]) == ("at_least", "hundreds")
    for row in (value, qualifier):
        assert row["reason"].startswith("stat-foreign-fighters-2017-02-kz: value 200 (at_least) removed, "
                                        "qualifier hundreds")
    assert rows["0.2.0/statistics/stat-foreign-fighters-2017-02-kz"]["change"] == "added"
    assert {r["version"] for r in rows.values()} >= {"0.2.0", "0.3.0", "0.4.0"}


def test_each_change_says_which_record_and_field_it_is_about_and_what_a_quote_said(repo):
    rows, *_ = table(repo)
    changes = by_id(rows)
    added = changes["0.3.0/citations/cit-2"]
    assert (added["about_resource"], added["about_record_id"], added["about_field"]) == ("things", "thing-a", "value")
    assert added["new_value"] == "" and added["old_value"] == ""  # the fixture's citations hold no quote column
    cell = changes["0.3.0/things/thing-a/value"]
    assert (cell["about_resource"], cell["about_record_id"], cell["about_field"]) == ("things", "thing-a", "value")


@pytest.mark.parametrize("versions, ordered", [
    (["1.0.0", "1.0.0-rc.1", "0.9.0", "1.0.0-rc.2", "1.0.1", "1.0.0-alpha"],
     ["0.9.0", "1.0.0-alpha", "1.0.0-rc.1", "1.0.0-rc.2", "1.0.0", "1.0.1"]),
    (["0.10.0", "0.2.0", "0.9.1"], ["0.2.0", "0.9.1", "0.10.0"]),
    (["1.0.0+build.7", "1.0.0-rc.10", "1.0.0-rc.9"], ["1.0.0-rc.9", "1.0.0-rc.10", "1.0.0+build.7"]),
])
def test_versions_are_ordered_by_semantic_versioning_precedence(versions, ordered):
    from pipelines.core.history import version_key
    assert sorted(versions, key=version_key) == ordered


def test_an_unreleased_heading_is_no_version_and_its_lines_are_not_read(tmp_path):
    path = tmp_path / "CHANGELOG.md"
    path.write_text("## [Unreleased]\n\n- thing-a: pending\n\n## [v1.0.0-rc.1] — 2026-01-01\n\n- thing-b: done\n",
                    encoding="utf-8")
    (release,) = read_changelog(path)
    assert (release.version, release.date) == ("1.0.0-rc.1", "2026-01-01")
    assert [e.text for e in release.entries] == ["thing-b: done"]


def test_a_release_candidate_before_its_release_is_compared_in_order(repo):
    """1.0.0-rc.1 comes before 1.0.0: its changes are its own, not merged into the release's."""
    changelog = (repo / "CHANGELOG.md").read_text(encoding="utf-8")
    (repo / "CHANGELOG.md").write_text(changelog.replace("## [0.3.0]", "## [1.0.0] — 2026-05-01\n\n## [0.3.0]"))
    write_version(repo, "1.0.0-rc.1", [("thing-a", 8, "second"), ("thing-bee", 6, ""), ("thing-c", 7, "")],
                  [("cit-2", "things", "thing-a", "value")])
    text = (repo / "CHANGELOG.md").read_text(encoding="utf-8")
    (repo / "CHANGELOG.md").write_text(text.replace("## [0.3.0]", "## [1.0.0-rc.1] — 2026-04-01\n\n## [0.3.0]"))
    commit(repo, "1.0.0-rc.1", "2026-04-01")
    write_version(repo, "1.0.0", [("thing-a", 9, "second"), ("thing-bee", 6, ""), ("thing-c", 7, "")],
                  [("cit-2", "things", "thing-a", "value")])
    rows, compared, problems, _ = table(repo, "1.0.0")
    assert not problems and "0.3.0 (" in compared and "1.0.0-rc.1 (" in compared
    value = {r["version"]: (r["previous_version"], r["old_value"], r["new_value"]) for r in rows
             if r["record_id"] == "thing-a" and r["field"] == "value"}
    assert value["1.0.0-rc.1"] == ("0.3.0", "3", "8") and value["1.0.0"] == ("1.0.0-rc.1", "8", "9")


def test_a_heading_dated_before_every_commit_of_its_version_is_reported(repo):
    changelog = (repo / "CHANGELOG.md").read_text(encoding="utf-8")
    (repo / "CHANGELOG.md").write_text(changelog.replace("## [0.2.0] — 2026-02-01", "## [0.2.0] — 2026-01-20"))
    rows, _, problems, warnings = table(repo)
    assert not problems and rows
    assert any("CHANGELOG.md:10: every commit carrying 0.2.0 is later than 2026-01-20: its first commit" in str(w)
               for w in warnings)


def test_a_shallow_clone_keeps_the_published_table(repo, tmp_path):
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "2", f"file://{repo}", str(shallow)], check=True)
    rows, why, problems, _ = table(shallow)
    assert rows is None and not problems and why.startswith("the clone is shallow")


CHANGELOG_LINES = """## [0.3.0] — 2026-03-01

- thing-a, record: its quotes moved
- prov-1, -2, -3-1: the `law_id` citation gets an inference
- `things`: new column `flag`, from the sources
- thing-c, whatever words: a head with a word that is no id
"""


def test_the_record_word_abbreviated_ids_column_lines_and_unread_words(tmp_path):
    path = tmp_path / "CHANGELOG.md"
    path.write_text(CHANGELOG_LINES, encoding="utf-8")
    (release,) = read_changelog(path)
    record, abbreviated, columns, unread = release.entries
    assert record.groups == [(["thing-a"], [""])]
    assert abbreviated.groups == [(["prov-1", "prov-2", "prov-3-1"], [])]
    assert columns.groups == [] and columns.columns == (["things"], ["flag"])
    assert unread.unread == ["whatever words"]


def test_reasons_follow_fields_derived_precisions_and_added_columns(tmp_path):
    """Built from compare() results by hand: a field line reaches the field and its _precision column; a line
    without a field reaches the record's cells but not a column the version added, which a column line reaches;
    `record` reaches the quotes of the record as a whole, not those of a field."""
    from pipelines.core.history import change_rows, parse_entry

    def state(rows, columns):
        return {"things": (["thing_id"], {(r["thing_id"],): r for r in rows}, columns),
                "citations": (["citation_id"], {(c["citation_id"],): c for c in CITES}, list(CITES[0]))}

    CITES = [{"citation_id": "c-1", "resource": "things", "record_id": "thing-a", "field": "", "quote": "q"},
             {"citation_id": "c-2", "resource": "things", "record_id": "thing-a", "field": "date", "quote": "r"}]
    old = state([{"thing_id": "thing-a", "date": "2001", "date_precision": "year", "note": "x"}],
                ["thing_id", "date", "date_precision", "note"])
    new_rows = [{"thing_id": "thing-a", "date": "2001-06", "date_precision": "month", "note": "y", "flag": "odd"}]
    new = state(new_rows, ["thing_id", "date", "date_precision", "note", "flag"])
    new["citations"][1].pop(("c-1",))  # the record-level quote removed
    new["citations"][1][("c-3",)] = {"citation_id": "c-3", "resource": "things", "record_id": "thing-a",
                                       "field": "date", "quote": "s"}
    result = {"tables": {"things": {"added": [], "removed": [], "columns_added": ["flag"], "columns_removed": [],
                                    "changed": [{"id": "thing-a", "column": c, "old": old["things"][1][("thing-a",)]
                                                 .get(c, ""), "new": new_rows[0][c]}
                                                for c in ("date", "date_precision", "note", "flag")]},
                         "citations": {"added": ["c-3"], "removed": ["c-1"], "changed": [], "columns_added": [],
                                       "columns_removed": []}},
              "states": (old, new)}
    lines = ["thing-a, `date`: the month is stated", "thing-a: note rewritten", "thing-a, record: a quote dropped",
             "`things`: new column `flag`"]
    entries = [parse_entry(n, text) for n, text in enumerate(lines, 1)]
    rows = by_id(change_rows("0.2.0", "0.1.0", result, entries, "CHANGELOG.md", Problems()))
    reasons = {k: set(v["reason"].split("\n")) for k, v in rows.items()}
    assert reasons["0.2.0/things/thing-a/date"] == {lines[0], lines[1]}
    assert reasons["0.2.0/things/thing-a/date_precision"] == {lines[0], lines[1]}
    assert reasons["0.2.0/things/thing-a/note"] == {lines[1]}
    assert reasons["0.2.0/things/thing-a/flag"] == {lines[3]}
    assert reasons["0.2.0/citations/c-1"] == {lines[1], lines[2]}  # a quote of the record as a whole
    assert reasons["0.2.0/citations/c-3"] == {lines[0], lines[1]}  # a quote of `date`
    assert rows["0.2.0/citations/c-1"]["old_value"] == "q" and rows["0.2.0/citations/c-3"]["new_value"] == "s"
