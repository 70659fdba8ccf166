"""The command line: `--help` of every command and stage only helps, `make help` lists the targets, usage errors
exit 2."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml
from conftest import ROOT, command, copy_project, env, tree

from pipelines.__main__ import COMMANDS, source_of
from pipelines.core.config import load_config
from pipelines.stages.docs import END, documents

STAGES = list(yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"])
AVAILABLE = [name for name, c in COMMANDS.items() if source_of(c.module) is not None]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A copy where running any command would change a file: the data dictionary is stale, build/ is absent."""
    project = copy_project(tmp_path_factory.mktemp("cli") / "project")
    for name in ("README.md", "docs", "Makefile", "bench", "tests/conftest.py"):
        source = ROOT / name
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, project / name, dirs_exist_ok=True)
        else:
            shutil.copy2(source, project / name)
    dictionary = load_config(project).path("data_dictionary")
    dictionary.write_text(dictionary.read_text(encoding="utf-8").replace(END, f"stale\n{END}"), encoding="utf-8")
    return project


def help_of(project, *args: str) -> subprocess.CompletedProcess:
    before = tree(project)
    result = subprocess.run(["python", "-m", *args, "--help"], cwd=project, env=env(), capture_output=True, text=True)
    assert tree(project) == before, f"`python -m {' '.join(args)} --help` changed files"
    assert not (project / "build").exists(), f"`python -m {' '.join(args)} --help` wrote build/"
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: "), result.stdout
    return result


def test_in_the_copy_docs_would_rewrite_the_data_dictionary(project):
    """So that the tree comparison would catch `docs --help` running docs."""
    config = load_config(project)
    dictionary = config.path("data_dictionary")
    assert documents(config)[dictionary] != dictionary.read_text(encoding="utf-8")


@pytest.mark.parametrize("stage", STAGES)
def test_help_of_every_stage_only_helps(project, stage):
    result = help_of(project, f"pipelines.stages.{stage}")
    assert f"python -m pipelines.stages.{stage}" in result.stdout
    assert "exit status:" in result.stdout or "Exit 0" in result.stdout, result.stdout


@pytest.mark.parametrize("name", AVAILABLE)
def test_help_of_every_command_only_helps(project, name):
    result = help_of(project, "pipelines", name)
    assert result.stdout.startswith("usage: python -m pipelines") or name == "bench", result.stdout
    assert "exit status:" in result.stdout or "Exit 0" in result.stdout or name == "bench", result.stdout


def test_the_entry_point_lists_every_available_command(project):
    listed = help_of(project, "pipelines").stdout
    assert {"build", "check", "coverage", "diff", "publish", "portal", "docs", "bench"} <= set(AVAILABLE)
    for name in AVAILABLE:
        assert re.search(rf"^    {name}(?: +|\n +)\S", listed, re.M), f"{name} not listed:\n{listed}"
    assert ("release" in AVAILABLE) == (ROOT / "pipelines" / "commands" / "release.py").exists()


@pytest.mark.parametrize("args", [[], ["no-such-command"], ["check", "--no-such-option"],
                                  ["pipelines.stages.validate", "x"]],
                         ids=["no command", "unknown command", "unknown option", "stage argument"])
def test_usage_errors_exit_2_and_change_nothing(project, args):
    before = tree(project)
    if args and args[0].startswith("pipelines."):
        result = subprocess.run(["python", "-m", *args], cwd=project, env=env(), capture_output=True, text=True)
    else:
        result = command(project, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "usage: " in result.stderr
    assert tree(project) == before and not (project / "build").exists()


def test_make_help_lists_every_target_with_its_description():
    declared = dict(re.findall(r"^([a-z][a-z-]*):.*?## (.+)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M))
    assert {"build", "check", "test", "test-fast", "help", "portal", "bench"} <= declared.keys()
    result = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for target, description in declared.items():
        assert re.search(rf"^  make {re.escape(target)} +{re.escape(description)}$", result.stdout, re.M), \
            f"{target} missing:\n{result.stdout}"
