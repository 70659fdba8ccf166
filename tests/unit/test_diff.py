import json
import shutil
from pathlib import Path

from pipelines.diff import main

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
    assert {"id": "attack-2011-taraz", "column": "city", "old": "Taraz", "new": "Zhambyl"} in result["tables"]["attacks"]["changed"]
    assert result["tables"]["laws"]["added"] == ["law-2099-x"]
    assert result["tables"]["court_bans"] == {"added": [], "removed": [], "changed": [], "columns_added": [], "columns_removed": []}
    assert main([str(old), str(new)]) == 0
    text = capsys.readouterr().out
    assert "attacks: 0 added, 1 removed, 1 cells changed" in text and "~ attack-2011-taraz city: 'Taraz' → 'Zhambyl'" in text
    assert main([str(old), str(new), "--format", "markdown"]) == 0
    assert "- `laws`: 1 rows added." in capsys.readouterr().out


def test_same_version_has_no_differences(capsys):
    assert main([str(ROOT), str(ROOT)]) == 0
    assert "no differences" in capsys.readouterr().out


def test_git_revisions_are_versions(tmp_path, capsys, monkeypatch):
    import subprocess
    repo = copy_package(tmp_path / "repo")
    for command in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "a"]):
        subprocess.run(command, cwd=repo, check=True)
    (repo / "data" / "budgets.csv").write_text((repo / "data" / "budgets.csv").read_text().replace(",KZT,", ",USD,"))
    monkeypatch.chdir(repo)
    assert main(["HEAD", "."]) == 0
    assert "budgets: 0 added, 0 removed, 1 cells changed" in capsys.readouterr().out


def test_unreadable_version_is_a_clear_error(capsys):
    assert main(["no-such-version", str(ROOT)]) == 2
    assert "'no-such-version' is neither a folder with a datapackage.json nor a git revision" in capsys.readouterr().err
