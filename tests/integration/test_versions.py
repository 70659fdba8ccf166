"""Every value's history where readers meet it, and the dataset's description where catalogues look for it: the
changes table rebuilt from a fresh clone's history, the portal's record page and home page, the report."""
from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, chromium_dom, run_stages

from pipelines.commands.portal import running_server
from pipelines.core.browser import free_port
from pipelines.core.config import load_config
from pipelines.core.description import read_scripts

DATABASE = Path(yaml.safe_load((ROOT / "params.yaml").read_text())["portal"]["database"]).stem
PROPERTIES = ("name", "description", "version", "license", "creator", "citation", "keywords", "temporalCoverage",
              "spatialCoverage", "variableMeasured", "isAccessibleForFree", "distribution")


def test_a_fresh_clone_derives_the_published_changes_from_its_history(tmp_path):
    """`git clone` (the whole history), then the stages up to tables: the changes table they derive is the one the
    clone publishes, byte for byte: derived, never written by hand."""
    if subprocess.run(["git", "rev-parse", "--is-shallow-repository"], cwd=ROOT, capture_output=True,
                      text=True).stdout.strip() == "true":
        pytest.fail("this clone's history is shallow: the changes table cannot be derived (`git fetch --unshallow`)")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, capture_output=True)
    result = run_stages(clone, ["ingest", "cite", "tables"], in_process=True)
    assert result.returncode == 0, result.stderr
    config = load_config(clone)
    built = (config.path("tables_dir") / "changes.csv").read_bytes()
    assert built == (config.path("data_dir") / "changes.csv").read_bytes()
    assert "is kept as published" not in result.stderr


def test_without_history_the_build_keeps_the_published_changes_and_says_so(real_built):
    project, before, result = real_built  # a copy committed afresh: its history holds no published version
    assert result.returncode == 0, result.stderr
    assert "the history of published versions is not available (the history holds none of its versions): " \
           "data/changes.csv is kept as published" in result.stderr + result.stdout
    assert (project / "data" / "changes.csv").read_bytes() == before["data/changes.csv"]


@pytest.fixture(scope="module")
def portal(real_built):
    project, _, result = real_built
    assert result.returncode == 0, result.stderr
    with running_server(load_config(project), free_port(), stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL) as base:
        yield base


@pytest.mark.browser
def test_a_record_page_shows_the_history_of_its_values_with_the_reason(portal):
    """The 0.3.0 correction of the foreign fighters' count, as a researcher who cited 0.2.0 meets it."""
    page = chromium_dom(f"{portal}/{DATABASE}/statistics/stat-foreign-fighters-2017-02-kz")
    history = page[page.index('id="history"'):page.index('id="record-citations"')]
    assert "First published in version <strong>0.2.0</strong>" in history
    rows = [row for row in history.split("<tr>")[2:]]
    value = next(r for r in rows if '<a href="#field-value"><code>value</code></a>' in r)
    assert "<td>0.3.0</td>" in value and '<div class="cell">200</div>' in value and "changed" in value
    assert 'class="new"><span class="none">—</span>' in value  # emptied
    qualifier = next(r for r in rows if '<a href="#field-qualifier"><code>qualifier</code></a>' in r)
    assert '<div class="cell">at_least</div>' in qualifier and '<div class="cell">hundreds</div>' in qualifier
    assert "value 200 (at_least) removed, qualifier hundreds" in qualifier
    link = "changes?about_resource=statistics&amp;about_record_id=stat-foreign-fighters-2017-02-kz"
    assert link in history  # every change of the record, in the changes table
    assert "Cite as:</strong> Kazakhstan counter-terrorism dataset maintainers" in page
    quotes = [r for r in rows if "a quote (" in r]  # the record's quotes added and removed, with what they said
    assert quotes and all("<td>0.2.0</td>" in r or "<td>0.3.0</td>" in r or "<td>0.4.0</td>" in r for r in quotes)


@pytest.mark.browser
def test_a_record_unchanged_since_it_was_published_says_so(portal, real_built):
    project, _, _ = real_built
    with open(project / "data" / "changes.csv", encoding="utf-8", newline="") as handle:
        touched = {(r["about_resource"], r["about_record_id"]) for r in csv.DictReader(handle)
                   if not (r["change"] == "added" and r["resource"] == r["about_resource"])}
    with open(project / "data" / "court_bans.csv", encoding="utf-8", newline="") as handle:
        steady = next(r["ban_id"] for r in csv.DictReader(handle) if ("court_bans", r["ban_id"]) not in touched)
    page = chromium_dom(f"{portal}/{DATABASE}/court_bans/{steady}")
    assert "No value of this record has changed since." in page


def described(html: str) -> dict:
    (description,) = read_scripts(html)
    return description


def check_description(description: dict, version: str) -> None:
    for name in PROPERTIES:
        assert description.get(name) not in (None, "", []), name
    assert {"Dataset", "dcat:Dataset"} <= set(description["@type"]) and description["version"] == version
    assert f"(Version {version})" in description["citation"]
    for download in description["distribution"]:
        assert download["contentUrl"].startswith(("http://", "https://"))
        assert download["contentSize"].endswith(" B") and download["dcat:mediaType"] == download["encodingFormat"]


@pytest.mark.browser
def test_the_portal_home_page_carries_the_dataset_description_and_how_to_cite(portal, real_built):
    project, _, _ = real_built
    package = json.loads((project / "datapackage.json").read_text(encoding="utf-8"))
    page = chromium_dom(f"{portal}/")
    description = described(page)
    check_description(description, package["version"])
    base = load_config(project).params["package"]["base_url"]
    urls = {d["contentUrl"]: d["dcat:byteSize"] for d in description["distribution"]}
    for resource in package["resources"]:  # every published file, at the base URL, with the bytes it declares
        assert urls[base + resource["path"]] == resource["bytes"]
    cff = yaml.safe_load((project / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["version"] == package["version"] and str(cff["date-released"]) == package["created"][:10]
    assert f"(Version {package['version']}) [Data set]" in page[page.index('id="cite-as"'):]


def test_the_report_carries_the_description_how_to_cite_and_what_changed(real_built):
    project, _, _ = real_built
    package = json.loads((project / "datapackage.json").read_text(encoding="utf-8"))
    page = (project / "reports" / "index.html").read_text(encoding="utf-8")
    check_description(described(page), package["version"])
    cite = page[page.index('id="cite-as"'):]
    assert f"(Version {package['version']}) [Data set]" in cite
    changed = page[page.index('id="what-changed-in-this-version"'):page.index('id="where-the-sources-disagree"')]
    with open(project / "data" / "changes.csv", encoding="utf-8", newline="") as handle:
        current = [r for r in csv.DictReader(handle) if r["version"] == package["version"]]
    if current:
        for resource in {r["resource"] for r in current}:
            assert f"<strong>{resource}</strong>" in changed
    else:
        assert f"No cell changed in version {package['version']}" in changed
    assert "0.3.0 (from 0.2.0)" in changed and 'href="../data/changes.csv"' in changed


def test_the_changes_of_a_version_link_each_record_to_the_quote_it_stands_on():
    """As the report shows a version's changes (0.3.0 here, whose changes the published table holds): grouped by
    table, each record linked to its place in a source, the CHANGELOG's reason under it."""
    import re

    from pipelines.core.schemas import load_schema, pandas_frame, read_table
    from pipelines.stages.report import changes_section

    config = load_config(ROOT)
    schemas = {t: load_schema(config.path("schemas_dir"), t) for t in ("changes", "citations")}
    frames = {t: pandas_frame(read_table(config.path("data_dir") / f"{t}.csv", schemas[t])[0]) for t in schemas}
    html = changes_section(config, {"version": "0.3.0"}, frames, schemas, config.path("reports_dir"))
    assert re.search(r"<summary><strong>statistics</strong>: \d+ added, \d+ changed</summary>", html)
    link = re.search(r'<li><a href="(sources/[^"#]+\.html#cit-[0-9a-f]+)">stat-foreign-fighters-2017-02-kz</a> '
                     r"<code>value</code>: 200 → —<br><span class=note>stat-foreign-fighters-2017-02-kz: value 200",
                     html)
    assert link, html[:2000]
    assert (config.path("reports_dir") / link.group(1).split("#")[0]).is_file()


@pytest.mark.parametrize("stage", ["report", "database"])
def test_a_description_with_a_local_path_for_an_address_fails_the_stage_and_keeps_its_outputs(mini, stage):
    """The base URL is where readers download from: a local path gives no address, and the stage says so, naming
    the property, with what it published before left as it was."""
    params = (mini / "params.yaml").read_text(encoding="utf-8")
    (mini / "params.yaml").write_text(params.replace("base_url: http://localhost:8000/", "base_url: build/dist/"),
                                      encoding="utf-8")
    config = load_config(mini)
    outputs = [config.path("reports_dir") / "index.html", config.path("portal_dir") / "metadata.json",
               config.path("portal_dir") / config.params["portal"]["database"]]
    before = {p: p.read_bytes() for p in outputs}
    result = run_stages(mini, [stage], in_process=True)
    assert result.returncode == 1
    assert (f"{stage}, record 'distribution[0]', field 'contentUrl': expected a URL under the base URL, found "
            "'build/dist/datapackage.json'") in result.stderr
    assert {p: p.read_bytes() for p in outputs} == before
