"""The local data portal: the SQLite export served by the real Datasette with the portal's templates and plugin,
through its JSON API and in headless Chromium; and `make portal`, which must leave nothing running. It serves the
fixture records (conftest's mini_built), which hold every record these tests name."""
from __future__ import annotations

import html
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, chromium_dom, env, run_stages
from test_reports import OUTPUT

from pipelines.commands.portal import running_server
from pipelines.core.browser import HEADLESS_CHROMIUM, free_port
from pipelines.core.config import load_config
from pipelines.core.schemas import codebooks, load_schema

DATABASE = yaml.safe_load((ROOT / "params.yaml").read_text())["portal"]["database"]
CURATED = load_config(ROOT).curated_tables


@pytest.fixture(scope="module")
def project(mini_built) -> Path:
    """The fixture project built through the database stage; served as it is, never changed."""
    return mini_built


@pytest.fixture(scope="module")
def portal(project) -> Path:
    return load_config(project).path("portal_dir")


@pytest.fixture(scope="module")
def datasette(project, tmp_path_factory):
    log = tmp_path_factory.mktemp("datasette") / "datasette.log"
    with (open(log, "w") as out,
          running_server(load_config(project), free_port(), stdout=out, stderr=subprocess.STDOUT) as base):
        yield f"{base}/{Path(DATABASE).stem}"


def text_of(value: str) -> str:
    """A text as Chromium serializes it inside an element."""
    return html.escape(value, quote=False).replace("\u00a0", "&nbsp;")


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def test_database_has_keys_foreign_keys_and_full_text(portal):
    with sqlite3.connect(portal / DATABASE) as db:
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert db.execute("SELECT count(*) FROM source_sentences_fts "
                          "WHERE source_sentences_fts MATCH 'Tablighi'").fetchone()[0] >= 3
        pk = [r[1] for r in db.execute("PRAGMA table_info(conflicts)") if r[5]]
        assert pk == ["resource", "record_id", "field", "stated_value"]
        fks = {(r[3], r[2], r[4]) for r in db.execute("PRAGMA foreign_key_list(court_bans)")}
        assert fks == {("org_id", "organizations", "org_id"), ("court_org_id", "organizations", "org_id")}
        assert db.execute("SELECT count(*) FROM attacks_fts WHERE attacks_fts MATCH 'Aktobe'").fetchone()[0] >= 2
        assert db.execute("SELECT typeof(killed) FROM attacks "
                          "WHERE attack_id = 'attack-2016-aktobe'").fetchone() == ("integer",)


def test_table_json(project, datasette):
    rows = get(f"{datasette}/court_bans.json?_shape=objects&_size=max")["rows"]
    assert len(rows) == sum(1 for _ in open(project / "data" / "court_bans.csv")) - 1


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
    case = get(f"{datasette}/prosecutions.json?_shape=objects&_labels=on"
               "&case_id__exact=case-2016-almaty-kulikbayev")["rows"][0]
    assert case["court_org_id"]["value"] == "court-almaty-tribunal" and case["court_org_id"]["label"]
    provision = get(f"{datasette}/legal_provisions.json?_shape=objects&_labels=on"
                    "&provision_id__exact=prov-cc-art-233-3")["rows"][0]
    assert (provision["law_id"]["label"].startswith("Criminal Code")
            and provision["successor_provision_id"]["label"] == "258")
    found = get(f"{datasette}/statistics.json?_shape=objects&_search=Islamic")["rows"]
    assert found and all(r["indicator"] for r in found)
    assert get(f"{datasette}/prosecutions.json?_shape=objects&_search=Ekibastuz")["rows"]


def test_metadata_from_the_package(project, datasette):
    metadata = get(datasette.rsplit("/", 1)[0] + "/-/metadata.json")
    package = json.loads((project / "datapackage.json").read_text(encoding="utf-8"))
    assert metadata["title"] == package["title"] and metadata["license"] == "CC-BY-4.0"
    tables = metadata["databases"][Path(DATABASE).stem]["tables"]
    assert tables["attacks"]["columns"]["killed"].startswith("Victims killed")
    for table in CURATED:  # a category column's help defines each of its values
        for name, book in codebooks(load_schema(ROOT / "schemas", table)).items():
            help_ = tables[table]["columns"][name]
            assert all(f"`{value}`: {entry['definition']}" in help_ for value, entry in book.items()), (table, name)


@pytest.mark.browser
@pytest.mark.parametrize("table", ["attacks", "court_bans", "conflicts", "statistics", "prosecutions",
                                   "legal_provisions"])
def test_table_page_in_chromium(datasette, table, tmp_path):
    OUTPUT.mkdir(parents=True, exist_ok=True)
    shot = OUTPUT / f"portal__{table}.png"
    shot.unlink(missing_ok=True)
    result = subprocess.run(
        [*HEADLESS_CHROMIUM, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1400",
         f"--screenshot={shot}", f"{datasette}/{table}"],
        capture_output=True, text=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000, result.stderr[-400:]


# --- provenance on the pages ------------------------------------------------------------------------------

def _rows(portal: Path, sql: str, *args) -> list[sqlite3.Row]:
    with sqlite3.connect(portal / DATABASE) as db:
        db.row_factory = sqlite3.Row
        return db.execute(sql, args).fetchall()


def _section(page: str, element_id: str) -> str:
    """The HTML of the element with this id, up to the next element of the same kind."""
    start = page.index(f'id="{element_id}"')
    tag = page.rindex("<", 0, start)
    kind = page[tag + 1:page.index(" ", tag)]
    following = page.find(f"<{kind} ", start)
    return page[start:following if following != -1 else len(page)]


_SOURCE_PAGES: dict[str, str] = {}


def _source_page(url: str) -> str:
    if url not in _SOURCE_PAGES:
        _SOURCE_PAGES[url] = chromium_dom(url)
    return _SOURCE_PAGES[url]


def _lands_on_highlight(page: str, citation_id: str) -> bool:
    """The citation's reference is on the page and its quote's highlight follows it."""
    return re.search(rf'<a class="ref" id="{citation_id}"[^>]*>[^<]*</a>(<a [^>]*>[^<]*</a>)*</sup><mark class="quote',
                     page) is not None


@pytest.mark.parametrize("table", CURATED)
@pytest.mark.browser
def test_a_record_page_shows_every_cited_field_with_its_quote_its_source_and_a_link_to_the_passage(
        portal, datasette, table):
    (record_id,) = _rows(portal, "SELECT record_id FROM citations WHERE resource = ? GROUP BY record_id "
                                 "ORDER BY count(DISTINCT field) DESC, record_id LIMIT 1", table)[0]
    citations = _rows(portal, "SELECT c.*, s.title FROM citations c JOIN sources s USING (source_id) "
                              "WHERE resource = ? AND record_id = ?", table, record_id)
    page = chromium_dom(f"{datasette}/{table}/{urllib.parse.quote(record_id)}")
    assert any(c["field"] for c in citations)
    for citation in citations:
        where = _section(page, f"field-{citation['field']}" if citation["field"] else "record-citations")
        assert f'<mark class="quote">{text_of(citation["quote"])}</mark>' in where, (citation["citation_id"],
                                                                                     where[:2000])
        assert text_of(citation["title"]) in where
        link = re.search(rf'href="([^"]*/sources/{citation["source_id"]}#{citation["citation_id"]})"', where)
        assert link, f"no link to the quote's place for {citation['citation_id']}"
        target = urllib.parse.urljoin(datasette + "/", link.group(1)).split("#")[0]
        assert _lands_on_highlight(_source_page(target), citation["citation_id"])


@pytest.mark.parametrize("source_id", sorted(p.stem for p in (ROOT / "sources").glob("*.txt")))
@pytest.mark.browser
def test_a_source_page_has_an_anchor_on_every_citation_and_marks_the_reviewed_sentences(portal, datasette, source_id):
    page = _source_page(f"{datasette}/sources/{source_id}")
    citations = _rows(portal, "SELECT citation_id FROM citations WHERE source_id = ?", source_id)
    assert citations
    assert [c["citation_id"] for c in citations if not _lands_on_highlight(page, c["citation_id"])] == []
    marked = {html.unescape(title) for title in re.findall(r'<mark class="reviewed" title="([^"]*)">', page)}
    reviews = _rows(portal, "SELECT reason FROM source_reviews WHERE source_id = ?", source_id)
    assert reviews and {f"Reviewed, no table fact: {r['reason']}" for r in reviews} <= marked  # sentences and clauses


@pytest.mark.browser
def test_the_search_finds_a_record_by_its_name_and_a_source_passage_by_a_phrase(portal, datasette):
    base = datasette.rsplit("/", 1)[0]
    page = chromium_dom(f"{base}/-/search?q={urllib.parse.quote('Tablighi Jamaat')}")
    assert re.search(r'<a class="hit" href="[^"]*/organizations/tablighi-jamaat">Tablighi Jamaat</a>',
                     page), page[-3000:]
    sentence = _rows(portal, "SELECT source_id, start, sentence FROM source_sentences WHERE review IS NOT NULL "
                             "ORDER BY length(sentence) DESC LIMIT 1")[0]
    phrase = " ".join(re.findall(r"[A-Za-z]{4,}", sentence["sentence"])[3:7])
    page = chromium_dom(f"{base}/-/search?q={urllib.parse.quote(phrase)}")
    anchor = f'/sources/{sentence["source_id"]}#s-{sentence["start"]}"'
    assert anchor in page, (phrase, page[-3000:])
    source = _source_page(f"{datasette}/sources/{sentence['source_id']}")
    assert f'<span class="anchor" id="s-{sentence["start"]}"></span>' in source


@pytest.mark.browser
def test_list_references_and_conflicts_on_a_record_page(portal, datasette):
    case = _rows(portal, "SELECT case_id, provision_ids FROM prosecutions WHERE provision_ids LIKE '%|%' LIMIT 1")
    if case:
        page = chromium_dom(f"{datasette}/prosecutions/{case[0]['case_id']}")
        for provision in case[0]["provision_ids"].split("|"):
            assert f'/legal_provisions/{provision}">{provision}</a>' in page
    conflict = _rows(portal, "SELECT resource, record_id, field FROM conflicts LIMIT 1")[0]
    stated = _rows(portal, "SELECT stated_value, is_published_value, reason FROM conflicts WHERE resource = ? AND "
                           "record_id = ? AND field = ?", *conflict)
    page = chromium_dom(f"{datasette}/{conflict['resource']}/{conflict['record_id']}")
    where = _section(page, f"field-{conflict['field']}")
    assert "The sources disagree" in where and text_of(stated[0]["reason"]) in where
    for row in stated:
        assert text_of(str(row["stated_value"])) in where
    assert where.count('class="badge">published') == sum(r["is_published_value"] for r in stated) == 1


def test_an_unknown_record_is_datasettes_404_page(datasette):
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{datasette}/attacks/attack-that-never-was", timeout=10)
    body = error.value.read().decode()
    assert error.value.code == 404 and "Record not found" in body and "Traceback" not in body


@pytest.mark.browser
def test_table_pages_fold_the_column_descriptions_and_sort_newest_first(datasette):
    page = chromium_dom(f"{datasette}/attacks")
    assert re.search(r'<details class="column-help">\s*<summary>', page)
    assert "sorted by date descending" in page
    dates = [d for d in re.findall(r'<td class="col-date type-str">([0-9-]+)</td>', page)]
    assert dates and dates == sorted(dates, reverse=True)
    home = chromium_dom(datasette.rsplit("/", 1)[0] + "/")
    assert "hidden table" not in home and "_fts" not in home and "Source sentences" in home
    database = chromium_dom(datasette)  # the database's own page: its tables, without the index tables' count
    assert "hidden table" not in database and "_fts" not in database and "source_sentences" in database


# --- make portal stops what it starts ---------------------------------------------------------------------

def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("stop", ["SIGTERM to make", "Ctrl-C"])
def test_make_portal_leaves_nothing_listening_when_stopped(project, stop):
    port = free_port()
    # -f: this checkout's Makefile, run in the project; -o build: the project is built already (the fixture);
    # BIN: the test's own environment
    make = subprocess.Popen(["make", "-f", str(ROOT / "Makefile"), "-o", "build", "portal",
                             f"BIN={Path(sys.executable).parent}"],
                            cwd=project,
                            env={**env(), "PORT": str(port)}, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(300):
            if _listening(port) or make.poll() is not None:
                break
            time.sleep(0.1)
        assert _listening(port), f"the portal did not start: {make.stdout.read() if make.poll() is not None else ''}"
        if stop == "Ctrl-C":
            os.killpg(make.pid, signal.SIGINT)  # the terminal sends it to the whole foreground group
        else:
            make.send_signal(signal.SIGTERM)
        make.wait(timeout=60)
        # make does not wait for its recipe after SIGTERM; the server closes its socket as it begins to stop
        for _ in range(100):
            if not _listening(port):
                break
            time.sleep(0.1)
        assert not _listening(port), "a server is still listening 10 s after make portal stopped"
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)


# --- bad input --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stage, output", [("database", "portal_dir"), ("report", "reports_dir")])
def test_a_stale_review_entry_stops_the_stage_and_leaves_its_outputs_as_they_were(mini, stage, output):
    """The portal and the report mark reviewed sentences: an entry that no longer matches its sentence is named
    (file and line, source@offset, field) and nothing is replaced."""
    assert run_stages(mini, [stage], in_process=True).returncode == 0
    folder = load_config(mini).path(output)
    before = {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    review = mini / "sources" / "reviewed.yaml"
    entries = yaml.safe_load(review.read_text(encoding="utf-8"))
    entries[0]["begins"] = "Words the source does not have"
    review.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = run_stages(mini, [stage])
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{stage} failed" in result.stderr and "sources/reviewed.yaml:" in result.stderr
    assert (f"record '{entries[0]['source_id']}@{entries[0]['start']}'" in result.stderr
            and "field 'begins'" in result.stderr)
    assert {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} == before


def test_every_source_is_marked_at_start_up_before_any_request(project, portal):
    """Datasette awaits the plugin's start-up hook before it serves: every source's marked text is ready then."""
    import asyncio
    import importlib.util

    from datasette.app import Datasette

    spec = importlib.util.spec_from_file_location("provenance_under_test",
                                                  project / "portal" / "plugins" / "provenance.py")
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)
    database = portal / DATABASE
    datasette = Datasette([str(database)], template_dir=str(project / "portal" / "templates"),
                          metadata=json.loads((portal / "metadata.json").read_text(encoding="utf-8")))
    with sqlite3.connect(database) as db:
        sources = {s for (s,) in db.execute("SELECT source_id FROM source_texts")}
    asyncio.run(plugin.startup(datasette)())
    catalog = yaml.safe_load((project / "sources" / "catalog.yaml").read_text(encoding="utf-8"))
    assert {key[2] for key in plugin._RENDERED} == sources == {entry["source_id"] for entry in catalog}
