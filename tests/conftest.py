"""Shared test helpers: a throw-away copy of the project to run the real pipeline in."""
from __future__ import annotations

import fcntl
import hashlib
import http.server
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_RECORDS = ROOT / "tests" / "fixtures" / "records"
PROJECT_FILES = ["sources", "schemas", "pipelines", "portal", "records", "data", "reports", "README.md",
                 "docs/data-dictionary.md", "CITATION.cff", "CHANGELOG.md", ".zenodo.json", "params.yaml", "dvc.yaml",
                 "dvc.lock",
                 "datapackage.json", ".dvc/config", ".dvcignore", ".gitignore"]
STAGES = ["ingest", "cite", "tables", "validate", "quality", "coverage", "package", "conformance",
          "report"]


def copy_project(target: Path, records: Path | None = None) -> Path:
    """Copy what the pipeline needs into `target`; optionally swap in another records folder."""
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    if records is not None:
        shutil.rmtree(target / "records", ignore_errors=True)
        shutil.copytree(records, target / "records")
    return target


def env() -> dict:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "DVC_NO_ANALYTICS": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def run_stages(project: Path, stages=STAGES, in_process: bool = False) -> subprocess.CompletedProcess:
    """Run stages in order, stopping at the first that fails: as their commands, or (`in_process`) through each
    stage's `run(config)` in this process, its problems on stderr and exit status 1 as its command gives them.
    In process is for a test of what a stage writes or refuses; a test of the command itself (its exit status,
    no traceback) runs the command."""
    for stage in stages:
        result = _run_here(project, stage) if in_process else subprocess.run(
            [sys.executable, "-m", f"pipelines.stages.{stage}"], cwd=project, env=env(), capture_output=True, text=True)
        if result.returncode != 0:
            return result
    return result


def _run_here(project: Path, stage: str) -> subprocess.CompletedProcess:
    """One stage's `run(config)` on `project`, reported as `run_stage` reports it on the command line."""
    import contextlib
    import importlib
    import io

    from pipelines.core.config import load_config
    from pipelines.core.errors import BuildError

    out, err, status = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            importlib.import_module(f"pipelines.stages.{stage}").run(load_config(project))
        except BuildError as error:
            print(error.report(), file=sys.stderr)
            status = 1
    return subprocess.CompletedProcess([stage], status, out.getvalue(), err.getvalue())


def dvc(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "dvc"), *args], cwd=project, env=env(),
                          capture_output=True, text=True)


def git_init(project: Path) -> None:
    for command in (["git", "init", "-q"], ["git", "add", "-A"],
                    ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "copy"]):
        subprocess.run(command, cwd=project, check=True, capture_output=True)


# Chromium's own services (component updater, sign-in, network time) call out whatever the page is; the
# page's requests are everything else.
BROWSER_OWN_HOSTS = {"update.googleapis.com", "accounts.google.com", "clients2.google.com"}


class Recorder(http.server.BaseHTTPRequestHandler):
    """A proxy that refuses everything and remembers what was asked of it."""
    seen: list[str] = []

    @classmethod
    def from_pages(cls) -> list[str]:
        return [r for r in cls.seen
                if re.split(r"[/:]", r.split(" ", 1)[1].removeprefix("http://"))[0] not in BROWSER_OWN_HOSTS]

    def _refuse(self):
        self.seen.append(f"{self.command} {self.path}")
        self.send_error(403)

    do_GET = do_POST = do_HEAD = do_CONNECT = _refuse

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def proxy():
    """A refusing proxy for headless Chromium (the report tests' and the chart tests'): it records every request."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def chromium_dom(url: str, *flags: str) -> str:
    """The page as headless Chromium builds it (scripts run, styles applied), serialized."""
    import tempfile

    from pipelines.core.browser import HEADLESS_CHROMIUM

    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run([*HEADLESS_CHROMIUM, f"--user-data-dir={profile}", *flags, "--dump-dom", url],
                                capture_output=True, text=True, timeout=120)
    assert "<html" in result.stdout, result.stderr[-500:]
    return result.stdout


def snapshot(project: Path) -> dict[str, bytes]:
    """The published outputs, byte for byte."""
    files = (sorted((project / "data").glob("*.csv")) + [project / "datapackage.json"]
             + sorted((project / "reports").rglob("*.*")))
    return {str(p.relative_to(project)): p.read_bytes() for p in files if p.is_file()}


def built_once(tmp_path_factory, name: str, build) -> Path:
    """`build(project)` run once per test run, not once per pytest-xdist worker: the first worker that needs it
    builds `name` in the run's shared temporary folder while the others wait for it. Read only: a test that
    changes the project takes a copy."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the folder of this run, above each worker's own
    project, done = shared / name / "project", shared / name / "built"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(project.parent, ignore_errors=True)
            build(project)
            done.touch()
    return project


@pytest.fixture(scope="session")
def mini_built(tmp_path_factory) -> Path:
    """The project with the small fixture records, built through every stage and the portal's database."""
    def build(project: Path) -> None:
        copy_project(project, records=FIXTURE_RECORDS)
        for name in ("data", "datapackage.json", "dvc.lock"):
            path = project / name
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        until_coverage = STAGES[:STAGES.index("coverage") + 1]
        result = run_stages(project, until_coverage, in_process=True)
        assert result.returncode == 0, result.stderr
        decide_the_rest(project)
        result = run_stages(project, ["coverage", *STAGES[len(until_coverage):], "database"], in_process=True)
        assert result.returncode == 0, result.stderr
        # a repository whose dvc.lock records this state: a test that runs `make build` after one edit reruns only
        # the stages the edit touches, as a curator's build does
        git_init(project)
        committed = dvc(project, "commit", "--force", "--quiet")
        assert committed.returncode == 0, committed.stderr

    return built_once(tmp_path_factory, "mini", build)


@pytest.fixture(scope="session")
def real_built(tmp_path_factory) -> tuple[Path, dict[str, bytes], subprocess.CompletedProcess]:
    """A copy of this repository (a git repository of its own) built by `python -m pipelines build`, as
    `make build` builds it: the project, its published outputs as they were before the build, and the build's
    run (its exit status and output)."""
    def build(project: Path) -> None:
        copy_project(project)
        git_init(project)
        before = snapshot(project)
        result = command(project, "build")
        (project.parent / "run.pickle").write_bytes(pickle.dumps((before, result)))

    project = built_once(tmp_path_factory, "real", build)
    before, result = pickle.loads((project.parent / "run.pickle").read_bytes())
    return project, before, result


def decide_the_rest(project: Path) -> None:
    """Review every fact the project's records leave undecided, from the coverage worklist: the fixture records cite
    a few of the facts the package's records cite, and the build publishes nothing while a fact is undecided."""
    from pipelines.core.config import load_config
    from pipelines.stages.coverage import worklist

    config = load_config(project)
    summary = json.loads(config.path("coverage").read_text(encoding="utf-8"))
    entries = [{**item["review"], "reason": "cited by the package's records, not by the fixture records"}
               for source_id in summary["sources"] for item in worklist(summary, source_id)]
    with open(config.path("coverage_review"), "a", encoding="utf-8") as review:
        review.write(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, width=120))


@pytest.fixture
def mini(mini_built, tmp_path) -> Path:
    """A private copy of the built fixture project, free to break."""
    return Path(shutil.copytree(mini_built, tmp_path / "project"))


def command(project: Path, *args: str) -> subprocess.CompletedProcess:
    """`python -m pipelines <args>` in `project`: what `make build`, `make check` and the other targets run."""
    return subprocess.run([sys.executable, "-m", "pipelines", *args], cwd=project, env=env(), capture_output=True,
                          text=True)


def tree(project: Path) -> dict[str, str]:
    """Every file of the project by its sha256, but git's and DVC's own folders and build/ (neither committed)."""
    skipped = {".git", ".dvc/cache", ".dvc/tmp", "build", ".venv"}
    files = {}
    for path in sorted(project.rglob("*")):
        name = path.relative_to(project).as_posix()
        if path.is_file() and not any(name == s or name.startswith(f"{s}/") for s in skipped):
            files[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files

