"""Every command the README and docs/ show runs as written, in a fresh clone of this repository.

The shell lines of every ```sh block and every ```python block are collected. A `python -m pipelines …` line, a
`git` line and a Python block run for real (on a clone built once); a `make` target is dry-run (`make -n`, which
checks the target exists and its recipe expands); a command that starts a server or sends data to a portal is
asked for its `--help`, the only way to run it here without side effects. A line that shows a placeholder
(`<source_id>`, `…`) is a template, not a command.
"""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, env

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```(sh|python)\n(.*?)```", re.S)
# a server, a remote portal
NO_SIDE_EFFECTS_HERE = {"portal", "publish", "pipelines.commands.publish", "pipelines.commands.portal"}


def documented() -> list[tuple[str, str, str]]:
    """(document, kind, command) for every command shown, in order; templates left out."""
    found = []
    for path in DOCUMENTS:
        for kind, body in BLOCK.findall(path.read_text(encoding="utf-8")):
            if kind == "python":
                if "<" not in body and "…" not in body:
                    found.append((path.name, "python", body))
                continue
            for line in body.splitlines():
                line = line.split(" #", 1)[0].strip()
                if line and not line.startswith("#") and not re.search(r"<\w|…|\.\.\.", line):
                    found.append((path.name, "sh", line))
    return found


COMMANDS = documented()


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A clone of this repository (its history too, so versions are found by name), built once."""
    target = tmp_path_factory.mktemp("docs") / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(target)], check=True)
    for name in ("README.md", "docs", "Makefile", "pipelines", "params.yaml"):  # the documents as they stand now
        source, destination = ROOT / name, target / name
        if source.is_dir():
            subprocess.run(["cp", "-rT", str(source), str(destination)], check=True)
        else:
            destination.write_bytes(source.read_bytes())
    built = subprocess.run([sys.executable, "-m", "pipelines", "build"], cwd=target, env=env(), capture_output=True,
                           text=True)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    return target


def test_the_documents_show_commands_of_every_kind():
    kinds = {kind for _, kind, _ in COMMANDS}
    words = {shlex.split(c)[0] for _, kind, c in COMMANDS if kind == "sh"}
    assert kinds == {"sh", "python"} and {"make", "python"} <= words, COMMANDS


@pytest.mark.parametrize("document, kind, line", COMMANDS, ids=[f"{d}:{c[:60]}" for d, _, c in COMMANDS])
def test_a_documented_command_runs_as_written(clone, document, kind, line):
    if kind == "python":
        result = subprocess.run([sys.executable, "-c", line], cwd=clone, env=env(), capture_output=True, text=True)
    else:
        words = shlex.split(line)
        while words and re.fullmatch(r"\w+=.*", words[0]):  # VARIABLE=value before the command
            words.pop(0)
        if words[:1] == ["make"]:
            words = ["make", "-n", *words[1:]]
        elif words[:1] == ["source"]:  # the environment `make build` creates: the one these tests run in
            words = ["test", "-e", str(ROOT / words[-1])]
        elif (words[:1] == ["python"]
              and (words[2:3] or [""])[0] in NO_SIDE_EFFECTS_HERE | {"pipelines.commands.publish"}
              or (words[:3] == ["python", "-m", "pipelines"] and words[3:4] and words[3] in NO_SIDE_EFFECTS_HERE)):
            words = [*words[: 4 if words[2] == "pipelines" else 3], "--help"]
        if words[:1] == ["python"]:
            words[0] = sys.executable
        result = subprocess.run(words, cwd=clone, env=env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{document}: {line}\n{result.stdout[-1500:]}\n{result.stderr[-1500:]}"
