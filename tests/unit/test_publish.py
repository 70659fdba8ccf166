"""publish's plan and its failure reporting, against a fake portal (the real CKAN is in integration/)."""
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from pipelines.commands.publish import EXIT_REJECTED, EXIT_USAGE, PublishError, publish
from pipelines.commands.release import release_dir, write_sums
from pipelines.core.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def release_files(tables: int) -> int:
    """package zip, a Parquet and a CSV file per table, SQLite, report zip, dataset.jsonld, SHA256SUMS"""
    return 1 + 2 * tables + 1 + 1 + 1 + 1


@pytest.fixture
def project(tmp_path) -> Path:
    """The published package with a stand-in release beside it (make release is tested in integration/)."""
    for name in ("data", "schemas"):
        shutil.copytree(ROOT / name, tmp_path / name)
    for name in ("params.yaml", "datapackage.json"):
        shutil.copy2(ROOT / name, tmp_path / name)
    config = load_config(tmp_path)
    package = json.loads(config.path("datapackage").read_text(encoding="utf-8"))
    folder = release_dir(config, package)
    (folder / "parquet").mkdir(parents=True)
    (folder / "csv").mkdir()
    with zipfile.ZipFile(folder / f"{folder.name}.zip", "w") as archive:
        archive.writestr("datapackage.json", config.path("datapackage").read_bytes())
    for table in config.all_tables:
        (folder / "parquet" / f"{table}.parquet").write_bytes(b"PAR1")
        shutil.copyfile(config.path("data_dir") / f"{table}.csv", folder / "csv" / f"{table}.csv")
    (folder / "dataset.jsonld").write_text('{"@type": "Dataset"}', encoding="utf-8")
    (folder / config.params["portal"]["database"]).write_bytes(b"SQLite format 3\0")
    (folder / f"{folder.name}-report.zip").write_bytes(b"PK")
    write_sums(folder)
    return tmp_path


class FakePortal:
    url = "http://fake"

    def __init__(self, fail_on: int | None = None):
        self.calls, self.fail_on, self.uploads = [], fail_on, 0

    def dataset(self, name):
        return None

    def call(self, action, upload=None, **data):
        self.calls.append(action)
        if upload is not None:
            self.uploads += 1
            if self.uploads == self.fail_on:
                raise PublishError(f"{action}: the portal rejected the payload: too large", EXIT_REJECTED)
        return {"id": f"id-{len(self.calls)}", "version": None}


def test_a_first_publish_creates_then_uploads_then_sets_the_version_last(project):
    portal = FakePortal()
    actions = publish(load_config(project), portal, "org", dry_run=False, say=lambda *_: None)
    assert actions["dataset"] == "create"
    assert portal.calls[0] == "package_create" and portal.calls[-1] == "package_patch"
    tables = len(load_config(project).all_tables)
    # every table, the annotations, datapackage.json and the release's files
    assert portal.calls.count("resource_create") == tables + 2 + release_files(tables)
    assert portal.calls.count("resource_patch") == tables  # a schema attached to each table, none to the annotations
    assert {"data package (zip)", "attacks (Parquet)", "attacks (CSV)", "SQLite database",
            "dataset description (schema.org and DCAT, JSON-LD)", "SHA256SUMS"} <= set(actions["resources"])


def test_a_failure_midway_says_the_dataset_is_partially_updated_and_keeps_the_old_version(project):
    portal = FakePortal(fail_on=3)
    with pytest.raises(PublishError) as caught:
        publish(load_config(project), portal, "org", dry_run=False, say=lambda *_: None)
    message = str(caught.value)
    assert "PARTIALLY updated" in message and "sent ['sources', 'organizations']" in message
    assert "'court_bans'" in message.split("not sent")[1] and "Run publish again" in message
    assert "package_patch" not in portal.calls and caught.value.code == EXIT_REJECTED


def test_dry_run_sends_nothing(project):
    portal = FakePortal()
    lines = []
    publish(load_config(project), portal, "org", dry_run=True, say=lines.append)
    assert portal.calls == [] and "dry run: nothing was sent" in lines


def _refused(project) -> str:
    portal = FakePortal()
    with pytest.raises(PublishError) as caught:
        publish(load_config(project), portal, "org", dry_run=False, say=lambda *_: None)
    assert caught.value.code == EXIT_USAGE and portal.calls == []
    return str(caught.value)


def test_no_release_is_refused_before_anything_is_sent(project):
    shutil.rmtree(project / "dist")
    assert "no release of kazakhstan-counter-terrorism-" in _refused(project) and "make release" in _refused(project)


def test_a_release_file_that_does_not_match_its_checksum_is_refused(project):
    (parquet,) = (project / "dist").glob("*/parquet/attacks.parquet")
    parquet.write_bytes(b"PAR1 changed")
    assert "parquet/attacks.parquet does not match SHA256SUMS" in _refused(project)


def test_a_release_of_another_package_state_is_refused(project):
    descriptor = project / "datapackage.json"
    descriptor.write_text(descriptor.read_text(encoding="utf-8").replace('"title"', '"title" ', 1), encoding="utf-8")
    assert "holds another datapackage.json than the one published" in _refused(project)
