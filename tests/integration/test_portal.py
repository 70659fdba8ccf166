"""The local data portal: the SQLite export served by the real Datasette, through its JSON API and in Chromium."""
from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, copy_project, run_stages
from pipelines.config import load_config
from test_reports import OUTPUT

DATABASE = yaml.safe_load((ROOT / "params.yaml").read_text())["portal"]["database"]


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    """The portal stage run on a copy of the repository; yields its folder."""
    project = copy_project(tmp_path_factory.mktemp("portal") / "project")
    result = run_stages(project, ["portal"])
    assert result.returncode == 0, result.stderr
    return load_config(project).path("portal_dir")


@pytest.fixture(scope="module")
def datasette(portal):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "datasette"), "serve", str(portal / DATABASE), "--metadata",
         str(portal / "metadata.json"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/-/versions.json", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail(f"datasette did not start: {server.stdout.read()}")
    yield f"{base}/{Path(DATABASE).stem}"
    server.terminate()
    server.wait(timeout=10)


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def test_database_has_keys_foreign_keys_and_full_text(portal):
    with sqlite3.connect(portal / DATABASE) as db:
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        pk = [r[1] for r in db.execute("PRAGMA table_info(conflicts)") if r[5]]
        assert pk == ["resource", "record_id", "field", "stated_value"]
        fks = {(r[3], r[2], r[4]) for r in db.execute("PRAGMA foreign_key_list(court_bans)")}
        assert fks == {("org_id", "organizations", "org_id"), ("court_org_id", "organizations", "org_id")}
        assert db.execute("SELECT count(*) FROM attacks_fts WHERE attacks_fts MATCH 'Aktobe'").fetchone()[0] >= 2
        assert db.execute("SELECT typeof(killed) FROM attacks WHERE attack_id = 'attack-2016-aktobe'").fetchone() == ("integer",)


def test_table_json(datasette):
    rows = get(f"{datasette}/court_bans.json?_shape=objects&_size=max")["rows"]
    assert len(rows) == sum(1 for _ in open(ROOT / "data" / "court_bans.csv")) - 1


def test_filter(datasette):
    rows = get(f"{datasette}/attacks.json?_shape=objects&country__exact=KZ")["rows"]
    assert rows and all(r["country"] == "KZ" for r in rows)


def test_full_text_search(datasette):
    rows = get(f"{datasette}/citations.json?_shape=objects&_search=Tablighi")["rows"]
    assert rows and all("tablighi" in r["quote"].lower() for r in rows)


def test_foreign_keys_show_labels(datasette):
    rows = get(f"{datasette}/court_bans.json?_shape=objects&_labels=on&ban_id__exact=ban-tablighi-jamaat")["rows"]
    assert rows[0]["org_id"] == {"value": "tablighi-jamaat", "label": "Tablighi Jamaat"}


def test_the_0_2_0_tables_show_labels_and_search_their_free_text(datasette):
    case = get(f"{datasette}/prosecutions.json?_shape=objects&_labels=on&case_id__exact=case-2016-almaty-kulikbayev")["rows"][0]
    assert case["court_org_id"]["value"] == "court-almaty-tribunal" and case["court_org_id"]["label"]
    provision = get(f"{datasette}/legal_provisions.json?_shape=objects&_labels=on&provision_id__exact=prov-cc-art-233-3")["rows"][0]
    assert provision["law_id"]["label"].startswith("Criminal Code") and provision["successor_provision_id"]["label"] == "258"
    found = get(f"{datasette}/statistics.json?_shape=objects&_search=Islamic")["rows"]
    assert found and all(r["indicator"] for r in found)
    assert get(f"{datasette}/prosecutions.json?_shape=objects&_search=Ekibastuz")["rows"]


def test_metadata_from_the_package(datasette):
    metadata = get(datasette.rsplit("/", 1)[0] + "/-/metadata.json")
    package = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
    assert metadata["title"] == package["title"] and metadata["license"] == "CC-BY-4.0"
    columns = metadata["databases"][Path(DATABASE).stem]["tables"]["attacks"]["columns"]
    assert columns["killed"].startswith("Victims killed")


@pytest.mark.browser
@pytest.mark.parametrize("table", ["attacks", "court_bans", "conflicts", "statistics", "prosecutions", "legal_provisions"])
def test_table_page_in_chromium(datasette, table, tmp_path):
    OUTPUT.mkdir(parents=True, exist_ok=True)
    shot = OUTPUT / f"portal__{table}.png"
    shot.unlink(missing_ok=True)
    result = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1400", f"--screenshot={shot}", f"{datasette}/{table}"],
        capture_output=True, text=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000, result.stderr[-400:]
