"""Publishing to a real CKAN 2.12 (PostgreSQL, Redis and a Solr stand-in on 127.0.0.1), end to end."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, STAGES, copy_project, env, run_stages

sys.path.insert(0, str(ROOT / "tests" / "ckan"))
import service

pytestmark = pytest.mark.ckan

NAME = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))["name"]
RESOURCES = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))["resources"]
TABLES = [r["name"] for r in RESOURCES if r.get("type") == "table"]
FILES = [r["name"] for r in RESOURCES if r.get("type") != "table"]  # the Web Annotations


@pytest.fixture(scope="module")
def portal():
    reason = service.missing()
    if reason:
        pytest.fail(f"{reason}: `make test` installs it (make ckan-env)")
    with service.ckan_portal() as running:
        yield running


def build_and_release(project: Path) -> Path:
    """Every stage, the portal's database and `make release`'s command, in a copy of the project."""
    built = run_stages(project, [*STAGES, "database"])
    assert built.returncode == 0, built.stderr
    released = subprocess.run([sys.executable, "-m", "pipelines.commands.release"], cwd=project, env=env(),
                              capture_output=True, text=True)
    assert released.returncode == 0, released.stderr
    return project


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The package as published from this repository, built with its release in a copy."""
    return build_and_release(copy_project(tmp_path_factory.mktemp("publish") / "project"))


def release_sums(project: Path) -> dict[str, str]:
    (sums,) = (project / "dist").glob("*/SHA256SUMS")
    return {path: digest
            for digest, path in (line.split("  ", 1) for line in sums.read_text(encoding="utf-8").splitlines())}


def publish(project: Path, portal, *args: str, token: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "CKAN_API_TOKEN": portal.token if token is None else token}
    return subprocess.run([sys.executable, "-m", "pipelines.commands.publish", "--url", portal.url, "--org", portal.org,
                           *args],
                          cwd=project, env=env, capture_output=True, text=True, timeout=300)


def action(portal, name: str, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    request = urllib.request.Request(f"{portal.url}/api/3/action/{name}?{query}",
                                     headers={"Authorization": portal.token})
    try:
        return json.load(urllib.request.urlopen(request, timeout=30))["result"]
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def no_token_in(result, portal):
    assert portal.token not in result.stdout + result.stderr


def test_dry_run_prints_the_plan_and_sends_nothing(portal, project):
    result = publish(project, portal, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert f"dataset {NAME} version" in result.stdout and "dry run: nothing was sent" in result.stdout
    assert all(f"resource {t}: create" in result.stdout for t in TABLES + FILES)
    assert action(portal, "package_show", id=NAME) is None
    no_token_in(result, portal)


def test_wrong_token_is_refused_clearly_and_changes_nothing(portal, project):
    result = publish(project, portal, token="not-a-valid-token")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "refused the API token" in result.stderr and "not-a-valid-token" not in result.stdout + result.stderr
    assert action(portal, "package_show", id=NAME) is None


def test_unreachable_portal(portal, project):
    env = {**os.environ, "CKAN_API_TOKEN": portal.token}
    result = subprocess.run([sys.executable, "-m", "pipelines.commands.publish", "--url", "http://127.0.0.1:9",
                             "--org", portal.org],
                            cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 4 and "cannot reach the portal at http://127.0.0.1:9" in result.stderr
    no_token_in(result, portal)


def test_rejected_payload(portal, project):
    env = {**os.environ, "CKAN_API_TOKEN": portal.token}
    result = subprocess.run([sys.executable, "-m", "pipelines.commands.publish", "--url", portal.url,
                             "--org", "no-such-org"],
                            cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 5 and "rejected the payload" in result.stderr
    assert action(portal, "package_show", id=NAME) is None
    no_token_in(result, portal)


def test_publish_round_trips_resources_and_schemas(portal, project):
    result = publish(project, portal)
    assert result.returncode == 0, result.stdout + result.stderr
    no_token_in(result, portal)
    dataset = action(portal, "package_show", id=NAME)
    package = json.loads((project / "datapackage.json").read_text(encoding="utf-8"))
    assert dataset["version"] == package["version"] and dataset["license_id"] == "cc-by"
    assert dataset["organization"]["name"] == portal.org and dataset["title"] == package["title"]
    by_name = {r["name"]: r for r in dataset["resources"]}
    release = ["data package (zip)", "SQLite database", "quality report (zip)", "SHA256SUMS",
               "dataset description (schema.org and DCAT, JSON-LD)", *(f"{t} (Parquet)" for t in TABLES),
               *(f"{t} (CSV)" for t in TABLES)]
    assert sorted(by_name) == sorted(TABLES + FILES + ["datapackage"] + release)
    for resource in package["resources"]:
        remote = by_name[resource["name"]]
        if resource.get("type") == "table":  # the annotations file has neither
            assert json.loads(remote["schema"]) == json.loads(
                (project / resource["schema"]).read_text(encoding="utf-8"))
            assert json.loads(remote["dialect"]) == resource["dialect"]
        downloaded = urllib.request.urlopen(urllib.request.Request(remote["url"],
                                                                   headers={"Authorization": portal.token}),
                                            timeout=30).read()
        assert downloaded == (project / resource["path"]).read_bytes(), resource["name"]
    descriptor = urllib.request.urlopen(by_name["datapackage"]["url"], timeout=30).read()
    assert descriptor == (project / "datapackage.json").read_bytes()
    sums = release_sums(project)
    (folder,) = (project / "dist").glob("*/")
    files = {"data package (zip)": f"{folder.name}.zip", "quality report (zip)": f"{folder.name}-report.zip",
             "SQLite database": "kazakhstan-counter-terrorism.db",
             **{f"{t} (Parquet)": f"parquet/{t}.parquet" for t in TABLES}}
    for name, path in files.items():  # the release's files, each the bytes SHA256SUMS names
        remote = by_name[name]
        downloaded = urllib.request.urlopen(remote["url"], timeout=60).read()
        assert hashlib.sha256(downloaded).hexdigest() == sums[path] and remote["size"] == len(downloaded), name
        assert remote["hash"] == f"sha256:{sums[path]}" and remote["url"].endswith("/" + Path(path).name), name
    listed = urllib.request.urlopen(by_name["SHA256SUMS"]["url"], timeout=30).read()
    assert listed == (folder / "SHA256SUMS").read_bytes()
    found = action(portal, "package_search", q=f"name:{NAME}")
    assert found["count"] == 1 and found["results"][0]["name"] == NAME


def test_publishing_the_same_version_again_changes_nothing(portal, project):
    before = action(portal, "package_show", id=NAME)
    result = publish(project, portal)
    assert result.returncode == 0 and f"dataset {NAME} version {before['version']}: unchanged" in result.stdout
    after = action(portal, "package_show", id=NAME)
    assert after["metadata_modified"] == before["metadata_modified"]
    assert [r["id"] for r in after["resources"]] == [r["id"] for r in before["resources"]]


def test_a_new_version_updates_the_dataset_in_place(portal, tmp_path):
    project = copy_project(tmp_path / "project")
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    params["package"]["version"] = "0.1.1"
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True), encoding="utf-8")
    records = yaml.safe_load((project / "records" / "laws.yaml").read_text(encoding="utf-8"))
    records[0]["summary"] += " (revised)"
    (project / "records" / "laws.yaml").write_text(yaml.safe_dump(records, sort_keys=False, allow_unicode=True),
                                                   encoding="utf-8")
    build_and_release(project)
    before = action(portal, "package_show", id=NAME)
    result = publish(project, portal)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "resource laws: update" in result.stdout and "resource attacks: unchanged" in result.stdout
    assert ("resource data package (zip): update" in result.stdout
            and "resource attacks (Parquet): unchanged" in result.stdout)
    after = action(portal, "package_show", id=NAME)
    assert after["version"] == "0.1.1" and after["id"] == before["id"]
    assert len(after["resources"]) == len(before["resources"])
    laws = next(r for r in after["resources"] if r["name"] == "laws")
    assert b"(revised)" in urllib.request.urlopen(laws["url"], timeout=30).read()
    package_zip = next(r for r in after["resources"] if r["name"] == "data package (zip)")
    assert package_zip["url"].endswith(f"{NAME}-0.1.1.zip")
