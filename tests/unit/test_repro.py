from pathlib import Path

from conftest import ROOT, tree

from pipelines.commands.repro import committed_outputs, copy_aside, put_back, without_advice

# What `dvc repro` (DVC 3.67) prints on stdout after running two stages with core.autostage off.
DVC_OUTPUT = """Running stage 'cite':
> python -m pipelines.stages.cite
Updating lock file 'dvc.lock'

Running stage 'build':
> python -m pipelines.stages.tables
Updating lock file 'dvc.lock'

To track the changes with git, run:

\tgit add dvc.lock

To enable auto staging, run:

\tdvc config core.autostage true
Use `dvc push` to send your updates to remote storage.
"""


def test_dvc_advice_is_left_out_and_the_stages_are_kept():
    shown = "".join(without_advice(DVC_OUTPUT.splitlines(keepends=True)))
    assert shown == ("Running stage 'cite':\n> python -m pipelines.stages.cite\n\n"
                     "Running stage 'build':\n> python -m pipelines.stages.tables\n")


def test_the_committed_outputs_are_those_dvc_keeps_out_of_its_cache():
    from dvc.repo import Repo

    with Repo(str(ROOT)) as repo:
        uncached = {Path(out.fs_path).relative_to(ROOT).as_posix() for out in repo.index.outs if not out.use_cache}
    assert sorted(committed_outputs(ROOT)) == sorted({"dvc.lock", *uncached})
    assert {"data", "datapackage.json", "reports/index.html"} <= uncached


def test_put_back_restores_files_folders_and_absences_byte_for_byte(tmp_path):
    root, kept = tmp_path / "root", tmp_path / "kept"
    (root / "data").mkdir(parents=True)
    (root / "data" / "a.csv").write_text("id\n1\n")
    (root / "dvc.lock").write_text("schema: '2.0'\n")
    paths = ["data", "dvc.lock", "absent.json"]
    before = tree(root)
    copy_aside(root, paths, kept)
    (root / "data" / "a.csv").write_text("id\n2\n")
    (root / "data" / "b.csv").write_text("id\n")
    (root / "dvc.lock").write_text("changed\n")
    (root / "absent.json").write_text("{}\n")
    put_back(root, paths, kept)
    assert tree(root) == before
