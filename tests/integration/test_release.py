"""make release: the package zip, Parquet, CSV, SQLite, the report, the dataset's description and SHA256SUMS, the
same bytes every time."""
from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import env, run_stages

from pipelines.core.config import load_config

# What a reader of the Parquet files should find, per Table Schema type (stated here independently of the code)
POLARS = {"string": "String", "integer": "Int64", "year": "Int64", "number": "Float64", "boolean": "Boolean",
          "date": "Date"}
DUCKDB = {"string": "VARCHAR", "integer": "BIGINT", "year": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN",
          "date": "DATE"}


def release(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.commands.release"], cwd=project, env=env(),
                          capture_output=True, text=True, timeout=300)


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def project(mini) -> Path:
    """A private copy of the built fixture project, its portal database (which a release carries) built too."""
    assert (load_config(mini).path("portal_dir") / load_config(mini).params["portal"]["database"]).is_file()
    return mini


def released(project: Path) -> Path:
    package = json.loads((project / "datapackage.json").read_text(encoding="utf-8"))
    return load_config(project).path("dist_dir") / f"{package['name']}-{package['version']}"


def test_a_release_holds_every_file_and_its_checksum(project):
    result = release(project)
    assert result.returncode == 0, result.stderr
    folder = released(project)
    name = folder.name
    tables = load_config(project).all_tables
    assert set(files(folder)) == {f"{name}.zip", f"{name}-report.zip", "kazakhstan-counter-terrorism.db", "SHA256SUMS",
                                  "dataset.jsonld", *(f"parquet/{t}.parquet" for t in tables),
                                  *(f"csv/{t}.csv" for t in tables)}
    assert all(f"parquet/{t}.parquet" in result.stdout for t in tables)  # one line per file written
    sums = dict(reversed(line.split("  ", 1))
                for line in (folder / "SHA256SUMS").read_text(encoding="utf-8").splitlines())
    assert set(sums) == set(files(folder)) - {"SHA256SUMS"}
    for path, digest in sums.items():
        assert hashlib.sha256((folder / path).read_bytes()).hexdigest() == digest, path
    check = subprocess.run(["sha256sum", "--check", "--strict", "SHA256SUMS"], cwd=folder, capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    with zipfile.ZipFile(folder / f"{name}-report.zip") as report:
        assert "reports/index.html" in report.namelist() and "reports/gx/index.html" in report.namelist()


def test_the_package_zip_loads_and_validates_in_frictionless(project):
    from frictionless import Package

    assert release(project).returncode == 0
    folder = released(project)
    package = Package(str(folder / f"{folder.name}.zip"))
    published = json.loads((project / "datapackage.json").read_text(encoding="utf-8"))["resources"]
    assert sorted(r.name for r in package.resources) == sorted(r["name"] for r in published)
    assert set(load_config(project).all_tables) < {r.name for r in package.resources}  # and the annotations
    report = package.validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]


def test_parquet_keeps_the_types_of_the_table_schema_in_polars_and_duckdb(project):
    import duckdb
    import polars as pl

    assert release(project).returncode == 0
    folder, config = released(project), load_config(project)
    kinds, blank_integers = set(), 0
    for table in config.all_tables:
        schema = json.loads((config.path("schemas_dir") / f"{table}.schema.json").read_text(encoding="utf-8"))
        path = folder / "parquet" / f"{table}.parquet"
        frame = pl.read_parquet(path)
        assert frame.columns == [f["name"] for f in schema["fields"]], table
        for field in schema["fields"]:
            kinds.add(field["type"])
            assert str(frame.schema[field["name"]]) == POLARS[field["type"]], (table, field["name"])
        described = dict(duckdb.sql(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '{path}')")
                         .fetchall())
        assert described == {f["name"]: DUCKDB[f["type"]] for f in schema["fields"]}, table
        with open(config.path("data_dir") / f"{table}.csv", encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert frame.height == len(rows), table
        for field in (f for f in schema["fields"] if f["type"] in ("integer", "year")):
            blanks = sum(1 for r in rows if r[field["name"]] == "")
            assert frame[field["name"]].null_count() == blanks, (table, field["name"])  # a blank stays missing, not 0
            blank_integers += blanks
    assert {"string", "integer", "number", "date"} <= kinds  # the fixture exercises the types that matter
    assert blank_integers > 0  # the fixture has missing integers to keep as nulls


def test_two_releases_are_byte_identical(project):
    assert release(project).returncode == 0
    first = files(released(project))
    for path in (project / "data").glob("*.csv"):  # other file times must not reach the archives
        os.utime(path, (1_000_000_000, 1_000_000_000))
    assert run_stages(project, ["database"], in_process=True).returncode == 0  # a rebuilt database too
    assert release(project).returncode == 0
    assert files(released(project)) == first


def test_a_failed_release_leaves_the_previous_one_and_no_half_folder(project):
    assert release(project).returncode == 0
    folder = released(project)
    before = files(folder)
    attacks = project / "data" / "attacks.csv"
    with open(attacks, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[1][rows[0].index("killed")] = "many"
    with open(attacks, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    result = release(project)
    assert result.returncode == 1
    assert ("data/attacks.csv" in result.stderr and "row 1" in result.stderr and "killed" in result.stderr
            and "'many'" in result.stderr)
    assert files(folder) == before
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]  # no staging folder left behind


def test_a_release_of_a_package_not_rebuilt_is_refused(project):
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    params["package"]["version"] = "9.9.9"
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True), encoding="utf-8")
    result = release(project)
    assert result.returncode == 1 and "datapackage.json" in result.stderr and "'version'" in result.stderr
    assert "dvc repro" in result.stderr
    assert not load_config(project).path("dist_dir").exists()


def test_help_only_helps(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pipelines.commands.release", "--help"], cwd=tmp_path,
                            capture_output=True, text=True,
                            env={**env(), "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert result.returncode == 0 and "usage:" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_every_annotation_target_without_a_url_is_a_file_of_the_zip(project):
    import posixpath

    assert release(project).returncode == 0
    folder = released(project)
    with zipfile.ZipFile(folder / f"{folder.name}.zip") as archive:
        names = set(archive.namelist())
        annotations = json.loads(archive.read("data/annotations.jsonld"))
    local = {a["target"]["source"]["id"] for a in annotations["first"]["items"]
             if not a["target"]["source"]["id"].startswith(("http://", "https://"))}
    assert local, "no source without a URL: nothing to check"
    assert {posixpath.normpath(posixpath.join("data", target)) for target in local} <= names


def test_the_release_describes_every_file_at_its_base_url_with_its_size(project):
    """dataset.jsonld: a schema.org Dataset and dcat:Dataset whose downloads are exactly the release's files (but the
    description itself and the checksums), each at the base URL given, with its media type and size."""
    base = "https://data.example.org/releases/kct-0.5.0/"
    result = subprocess.run([sys.executable, "-m", "pipelines.commands.release", "--base-url", base], cwd=project,
                            env=env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    folder = released(project)
    described = json.loads((folder / "dataset.jsonld").read_text(encoding="utf-8"))
    assert {"Dataset", "dcat:Dataset"} <= set(described["@type"])
    package = json.loads((project / "datapackage.json").read_text(encoding="utf-8"))
    cff = yaml.safe_load((project / "CITATION.cff").read_text(encoding="utf-8"))
    assert described["version"] == package["version"] == cff["version"]
    assert f"(Version {package['version']})" in described["citation"]
    for name in ("name", "description", "license", "creator", "keywords", "temporalCoverage", "spatialCoverage",
                 "variableMeasured", "isAccessibleForFree", "distribution"):
        assert described.get(name) not in (None, "", []), name
    assert described["isAccessibleForFree"] is True and described["spatialCoverage"]["name"] == "Kazakhstan"
    start, end = described["temporalCoverage"].split("/")
    assert 1900 < int(start) <= int(end) <= int(package["created"][:4])
    columns = {f"{t}.{f['name']}" for t in load_config(project).all_tables
               for f in json.loads((project / "schemas" / f"{t}.schema.json").read_text())["fields"]}
    assert {v["name"] for v in described["variableMeasured"]} == columns
    urls = {}
    for download in described["distribution"]:
        assert {"DataDownload", "dcat:Distribution"} <= set(download["@type"])
        url = download["contentUrl"]
        assert url.startswith(base) and download["dcat:downloadURL"] == {"@id": url}
        path = folder / url[len(base):]
        assert path.is_file(), f"{url} names no file of the release"
        size = path.stat().st_size
        assert download["contentSize"] == f"{size} B" and download["dcat:byteSize"] == size
        assert download["encodingFormat"] == download["dcat:mediaType"]
        urls[url[len(base):]] = download["encodingFormat"]
    assert set(urls) == set(files(folder)) - {"dataset.jsonld", "SHA256SUMS"}
    assert urls["csv/attacks.csv"] == "text/csv" and urls["parquet/attacks.parquet"] == "application/vnd.apache.parquet"
    assert "dataset.jsonld" in (folder / "SHA256SUMS").read_text(encoding="utf-8")


def test_a_description_without_a_required_property_fails_the_release(project):
    """A description that lacks a property catalogues need is refused, and no release folder is left half-made."""
    descriptor = project / "datapackage.json"
    package = json.loads(descriptor.read_text(encoding="utf-8"))
    package["keywords"] = []
    descriptor.write_text(json.dumps(package), encoding="utf-8")
    result = release(project)
    assert result.returncode == 1
    assert "release, field 'keywords': the dataset description lacks this required property" in result.stderr
    assert not released(project).exists()
