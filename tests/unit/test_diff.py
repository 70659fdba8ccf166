import json
import shutil
import subprocess
from pathlib import Path

import pytest

from pipelines.commands.diff import main
from pipelines.core.history import commit_of_version, commits_by_version, read_changelog

ROOT = Path(__file__).resolve().parents[2]


def copy_package(target: Path) -> Path:
    for name in ("data", "schemas"):
        shutil.copytree(ROOT / name, target / name)
    shutil.copy2(ROOT / "datapackage.json", target / "datapackage.json")
    return target


def test_rows_added_removed_and_cells_changed(tmp_path, capsys):
    old, new = copy_package(tmp_path / "old"), copy_package(tmp_path / "new")
    attacks = (new / "data" / "attacks.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (new / "data" / "attacks.csv").write_text("".join(attacks[:-1]).replace(",Taraz,", ",Zhambyl,"), encoding="utf-8")
    laws = new / "data" / "laws.csv"
    laws.write_text(laws.read_text(encoding="utf-8") + "law-2099-x,X,law,,,,s,\n", encoding="utf-8")
    assert main([str(old), str(new), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    removed_id = attacks[-1].split(",")[0]
    assert result["tables"]["attacks"]["removed"] == [removed_id]
    assert ({"id": "attack-2011-taraz", "column": "city", "old": "Taraz", "new": "Zhambyl"}
            in result["tables"]["attacks"]["changed"])
    assert result["tables"]["laws"]["added"] == ["law-2099-x"]
    assert result["tables"]["court_bans"] == {"added": [], "removed": [], "changed": [], "columns_added": [],
                                              "columns_removed": []}
    assert main([str(old), str(new)]) == 0
    text = capsys.readouterr().out
    assert ("attacks: 0 added, 1 removed, 1 cells changed" in text
            and "~ attack-2011-taraz city: 'Taraz' → 'Zhambyl'" in text)
    assert main([str(old), str(new), "--format", "markdown"]) == 0
    assert "- `laws`: 1 rows added." in capsys.readouterr().out


def test_same_version_has_no_differences(capsys):
    assert main([str(ROOT), str(ROOT)]) == 0
    assert "no differences" in capsys.readouterr().out


def test_git_revisions_are_versions(tmp_path, capsys, monkeypatch):
    import subprocess
    repo = copy_package(tmp_path / "repo")
    for command in (["git", "init", "-q"], ["git", "add", "-A"],
                    ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "a"]):
        subprocess.run(command, cwd=repo, check=True)
    (repo / "data" / "budgets.csv").write_text((repo / "data" / "budgets.csv").read_text().replace(",KZT,", ",USD,"))
    monkeypatch.chdir(repo)
    assert main(["HEAD", "."]) == 0
    assert "budgets: 0 added, 0 removed, 1 cells changed" in capsys.readouterr().out


def test_unreadable_version_is_a_clear_error(capsys):
    assert main(["no-such-version", str(ROOT)]) == 2
    assert ("'no-such-version' is neither a folder with a datapackage.json, a version of the package nor a git "
            "revision" in capsys.readouterr().err)


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def full_history(monkeypatch):
    """This repository's own history, whole: a shallow clone would hide the commits the versions are looked up in."""
    if _git("rev-parse", "--is-shallow-repository") == "true":
        pytest.fail("this clone's history is shallow: versions cannot be looked up (`git fetch --unshallow`, "
                    "or actions/checkout with fetch-depth: 0)")
    monkeypatch.chdir(ROOT)


def _version_at(revision: str) -> str | None:
    shown = subprocess.run(["git", "show", f"{revision}:datapackage.json"], cwd=ROOT, capture_output=True, text=True)
    return json.loads(shown.stdout).get("version") if shown.returncode == 0 else None


def test_each_version_is_found_at_the_commit_that_published_it(full_history):
    """The last commit carrying the version on or before its CHANGELOG date: later ones are the next version's work."""
    found = commits_by_version(ROOT)
    dates = {r.version: r.date for r in read_changelog(ROOT / "CHANGELOG.md")}
    assert {"0.1.0", "0.2.0", "0.3.0", "0.4.0"} <= set(found), found
    # read off this repository's history: the commits that published each version (its same-day fixes included)
    published = {"0.1.0": "22a47ae", "0.2.0": "46eb5aa", "0.3.0": "134bc53", "0.4.0": "32ae5ed"}
    for version, expected in published.items():
        commit = commit_of_version(version, ROOT, ROOT / "CHANGELOG.md")
        assert commit.startswith(expected), (version, commit)
        assert _version_at(commit) == version
        day = _git("log", "-1", "--format=%cs", commit)
        assert day <= dates[version]
        later = [c for c, d in found[version] if d <= dates[version]]
        assert later[-1] == commit, f"{version}: {commit} is not the last commit carrying it by {dates[version]}"


def test_versions_by_name_compare_as_their_commits(full_history, capsys):
    published = {v: commit_of_version(v, ROOT, ROOT / "CHANGELOG.md") for v in ("0.1.0", "0.2.0")}
    assert main(["0.1.0", "0.2.0", "--format", "json"]) == 0
    by_name = json.loads(capsys.readouterr().out)
    assert main([published["0.1.0"], published["0.2.0"], "--format", "json"]) == 0
    by_commit = json.loads(capsys.readouterr().out)
    assert by_name["tables"] == by_commit["tables"] and by_name["tables_added"] == by_commit["tables_added"]
    assert {"statistics", "prosecutions", "legal_provisions"} <= set(by_name["tables_added"])
    assert main(["v0.1.0", "HEAD"]) == 0 and "Data diff v0.1.0 → HEAD" in capsys.readouterr().out
    assert main(["0.2.0", str(ROOT)]) == 0


def test_a_version_never_published_is_a_clear_error_listing_those_found(full_history, capsys):
    assert main(["9.9.9", "HEAD"]) == 2
    error = capsys.readouterr().err
    assert "version 9.9.9 is in no commit's datapackage.json" in error
    assert "0.1.0 (" in error and "0.2.0 (" in error
