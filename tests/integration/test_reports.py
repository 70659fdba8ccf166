"""The published quality report: self-contained pages that render offline, and the GX gate."""
from __future__ import annotations

import ast
import csv
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import ROOT, Recorder, run_stages

from pipelines.core.browser import HEADLESS_CHROMIUM
from pipelines.core.config import load_config
from pipelines.core.description import read_scripts

REPORTS = ROOT / "reports"
PAGES = sorted(REPORTS.rglob("*.html"))
OUTPUT = ROOT / "test-output" / "screenshots"
REMOTE = re.compile(r"<(script|link|img|iframe|source|video|audio)\b[^>]*\b(src|href)=\"(https?:)?//", re.I)
def chromium(page: Path, proxy, *action: str) -> subprocess.CompletedProcess:
    assert shutil.which("chromium"), "Debian's chromium is needed: `make test` installs it"
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [*HEADLESS_CHROMIUM, "--disable-component-update", "--disable-sync", "--disable-quic",
             "--disable-extensions",
             "--disable-features=NetworkTimeServiceQuerying,Translate,OptimizationHints,MediaRouter",
             f"--user-data-dir={profile}",
             f"--proxy-server=http://127.0.0.1:{proxy.server_address[1]}", "--proxy-bypass-list=<-loopback>",
             "--window-size=1280,2000", *action, page.as_uri()],
            capture_output=True, text=True, timeout=120)


def test_there_are_pages_to_check():
    assert REPORTS / "index.html" in PAGES
    assert any("expectations" in p.parts for p in PAGES) and any("validations" in p.parts for p in PAGES)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPORTS)))
def test_page_loads_nothing_from_the_network_and_needs_no_script(page):
    """The dataset's description (JSON-LD) is data for search engines, not a script: it runs nothing and loads
    nothing, so it is set aside before the page is checked (and parsed, to show it is only data)."""
    html = page.read_text(encoding="utf-8")
    read_scripts(html)  # parses every description: data, not code
    html = re.sub(r'<script type="application/ld\+json">.*?</script>', "", html, flags=re.S)
    assert not REMOTE.findall(html)
    assert "<script" not in html.lower()
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)
    for link in re.findall(r"<link\b[^>]*href=\"([^\"#]+)\"", html):
        assert (page.parent / link).exists(), f"{page.name} links to missing {link}"


def test_style_sheets_load_nothing_from_the_network():
    for sheet in REPORTS.rglob("*.css"):
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", sheet.read_text(encoding="utf-8")), sheet


@pytest.mark.browser
@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPORTS)))
def test_page_renders_offline_in_chromium(page, proxy):
    Recorder.seen.clear()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    shot = OUTPUT / (str(page.relative_to(REPORTS)).replace("/", "__") + ".png")
    shot.unlink(missing_ok=True)
    result = chromium(page, proxy, f"--screenshot={shot}", "--dump-dom")  # one start of Chromium does both
    assert shot.exists() and shot.stat().st_size > 15_000, f"no screenshot of substance: {result.stderr[-500:]}"
    dom = result.stdout
    assert "<table" in dom or "<h1" in dom or "<h2" in dom, "the page rendered nothing readable"
    assert Recorder.from_pages() == [], f"requests left the machine: {Recorder.from_pages()}"


@pytest.mark.browser
def test_the_network_check_catches_a_page_that_loads_from_the_network(proxy, tmp_path):
    page = tmp_path / "remote.html"
    page.write_text('<h1>x</h1><img src="http://example.invalid/logo.png"><link rel="stylesheet" href="https://cdn.example.invalid/a.css">')
    Recorder.seen.clear()
    chromium(page, proxy, "--dump-dom")
    assert any("example.invalid" in r for r in Recorder.from_pages()), Recorder.seen


def test_overview_page_shows_tables_conflicts_figures_and_validation():
    html = (REPORTS / "index.html").read_text(encoding="utf-8")
    with open(ROOT / "data" / "conflicts.csv", encoding="utf-8") as handle:
        conflicts = list(csv.DictReader(handle))
    for table in load_config(ROOT).all_tables:
        assert f'href="../data/{table}.csv"' in html
    for row in conflicts:
        assert row["record_id"] in html and row["stated_value"] in html
    assert html.count("<svg") == 3 and "Timeline" in html and "Attacks by year" in html
    with open(ROOT / "data" / "statistics.csv", encoding="utf-8") as handle:
        statistics = list(csv.DictReader(handle))
    assert "Statistics over time" in html and all(s["statistic_id"] in html for s in statistics)
    assert "Source coverage" in html and "No fact is left undecided." in html
    results = validation_results(html)
    assert {check: results[check].split()[0] for check in GATES} == dict.fromkeys(GATES, "passed")
    met, expected = results["Great Expectations: correctness"].split()[1].split("/")
    assert met == expected
    assert 'href="gx/index.html"' in html


# The checks that stop the build, as the overview's validation table names them (versions left out).
GATES = ["Types", "Pandera", "Cross-field and cross-table rules", "Great Expectations: correctness",
         "Frictionless: the published package"]


def validation_results(html: str) -> dict[str, str]:
    """Each row of the overview's validation table: the check's name, without versions, and the result it shows."""
    section = html.split('<section id="validation">', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r"<tr><td>(.*?)</td>\s*<td>(.*?)</td>", section, re.DOTALL)
    return {re.sub(r" \d+(\.\d+)+", "", name): re.sub(r"<[^>]+>", "", result).strip() for name, result in rows}


@pytest.mark.parametrize("failing", GATES)
def test_each_check_of_the_overview_shows_its_own_result(failing):
    from pipelines.stages.report import validation_section

    ok = {check: check != failing for check in GATES}
    rules_ok = ok["Cross-field and cross-table rules"]
    validation = {"types": {"valid": ok["Types"]}, "pandera": {"valid": ok["Pandera"], "version": "0.1"},
                  "rules": {"valid": rules_ok,
                            "checks": {"foreign_keys_exist": 0, "statistics_consistent": 0 if rules_ok else 2}}}
    quality = {"great_expectations": "1.0", "expectations": [
        {"guard": "correctness", "success": True, "table": "attacks"},
        {"guard": "correctness", "success": ok["Great Expectations: correctness"], "table": "laws"},
        {"guard": "description", "success": False, "table": "laws", "why": "completeness", "detail": "1 unexpected"}]}
    conformance = {"frictionless": "5.0", "valid": ok["Frictionless: the published package"], "tables": 2, "rows": 3}
    section = validation_section({"version": "1.0.0", "created": "2026-01-01"}, validation, quality, conformance)
    results = validation_results(f'<section id="validation">{section}</section>')
    assert {check: results[check].split()[0] for check in GATES} == {
        check: "passed" if passed else "failed" for check, passed in ok.items()}
    met = "2/2" if ok["Great Expectations: correctness"] else "1/2"
    assert results["Great Expectations: correctness"].split()[1] == met
    assert results["Great Expectations: description"] == "0/1 met"
    assert "foreign keys exist (0 failing)" in section
    assert f"statistics consistent ({0 if rules_ok else 2} failing)" in section


def test_great_expectations_is_imported_by_the_quality_stage_only():
    for module in (ROOT / "pipelines").glob("*.py"):
        tree = ast.parse(module.read_text())
        imported = {n.names[0].name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)}
        imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level for a in n.names}
        # gxdocs, the Data Docs part of the quality stage, imports GX too and is imported by the quality stage only
        assert ("great_expectations" in imported) == (module.name in ("quality.py", "gxdocs.py")), module.name
        assert ("gxdocs" in imported) == (module.name == "quality.py"), module.name


def test_quality_stage_fails_the_build_on_a_correctness_expectation(mini):
    table = load_config(mini).path("tables_dir") / "attacks.csv"
    table.write_text(table.read_text(encoding="utf-8").replace(",KZ,", ",Kazakhstan,"), encoding="utf-8")
    before = load_config(mini).path("quality").read_bytes()
    result = run_stages(mini, ["quality"])
    assert result.returncode == 1
    assert "quality failed" in result.stderr and "attacks" in result.stderr and "country" in result.stderr
    assert load_config(mini).path("quality").read_bytes() == before


def test_descriptive_expectations_are_reported_but_do_not_fail():
    quality = json.loads((REPORTS / "quality.json").read_text(encoding="utf-8"))
    guards = {e["guard"] for e in quality["expectations"]}
    assert guards == {"correctness", "description"}
    assert quality["success"] is True
    assert all(e["success"] for e in quality["expectations"] if e["guard"] == "correctness")


def _gx_outputs(project: Path) -> dict[str, bytes]:
    config = load_config(project)
    files = [config.path("quality"), *sorted(config.path("gx_docs_dir").rglob("*.*"))]
    return {str(p.relative_to(project)): p.read_bytes() for p in files if p.is_file()}


def _edit_summary(project: Path, suffix: str) -> None:
    table = load_config(project).path("tables_dir") / "attacks.csv"
    rows = list(csv.DictReader(table.open(encoding="utf-8", newline="")))
    rows[0]["summary"] += suffix
    with table.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def test_quality_revalidates_only_changed_tables_and_publishes_what_a_fresh_run_would(mini):
    # Its commands, not run_stages(in_process=True): the Data Docs renderer (pipelines/core/gxdocs.py) changes its
    # informational mark each time it draws it, so pages drawn twice in one process differ.
    config = load_config(mini)
    cache_file = config.path("quality_cache")
    _edit_summary(mini, " (edited)")
    assert run_stages(mini, ["quality"]).returncode == 0
    incremental = _gx_outputs(mini)
    cache_file.unlink()
    assert run_stages(mini, ["quality"]).returncode == 0
    assert _gx_outputs(mini) == incremental  # byte for byte what a run without the cache publishes

    cache = json.loads(cache_file.read_text(encoding="utf-8"))
    for table in ("laws", "attacks"):  # mark the stored results, to see which ones are reused
        cache[table]["rows"][0]["why"] = "stored result"
    cache_file.write_text(json.dumps(cache), encoding="utf-8")
    _edit_summary(mini, " (again)")
    assert run_stages(mini, ["quality"]).returncode == 0
    why = {e["table"]: e["why"]
           for e in reversed(json.loads(config.path("quality").read_text(encoding="utf-8"))["expectations"])}
    assert why["laws"] == "stored result"  # unchanged table and suite: its result is reused
    assert why["attacks"] != "stored result"  # the edited table is validated again


def test_a_stored_result_is_not_reused_when_a_table_it_refers_to_changes(mini):
    # court_bans.csv keeps its bytes, but the organization one of its bans refers to is gone
    path = load_config(mini).path("tables_dir") / "organizations.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
    court = next(r["court_org_id"] for r in csv.DictReader((path.parent / "court_bans.csv").open(encoding="utf-8")))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(r for r in rows if r["org_id"] != court)
    result = run_stages(mini, ["quality"], in_process=True)
    assert result.returncode == 1 and "court_org_id (not in organizations.org_id)" in result.stderr, result.stderr


def test_an_unreadable_quality_cache_means_a_fresh_run(mini):
    config = load_config(mini)  # the command, for the reason given above
    published = _gx_outputs(mini)
    config.path("quality_cache").write_text("{not json", encoding="utf-8")
    assert run_stages(mini, ["quality"]).returncode == 0
    assert _gx_outputs(mini) == published


@pytest.mark.parametrize("table, column, value, named", [
    ("court_bans", "org_id", "org-nowhere", "org_id (not in organizations.org_id)"),
    ("citations", "record_id", "attack-nowhere", "record_id (not a record of its resource)"),
])
def test_quality_stage_fails_the_build_on_a_dangling_reference(mini, table, column, value, named):
    path = load_config(mini).path("tables_dir") / f"{table}.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
    row = next(r for r in rows if table != "citations" or r["resource"] == "attacks")
    row[column] = value
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    result = run_stages(mini, ["quality"], in_process=True)
    assert result.returncode == 1 and "quality failed" in result.stderr
    assert named in result.stderr and value in result.stderr, result.stderr


_DOMS: dict[Path, str] = {}


def _dom_text(page: Path, proxy) -> tuple[str, str]:
    """The page as Chromium shows it from file://: its DOM after any script ran, and the words a reader sees.
    Each page of the (read-only) built fixture project is opened once, however many checks read it."""
    if page not in _DOMS:
        _DOMS[page] = chromium(page, proxy, "--dump-dom").stdout
    dom = _DOMS[page]
    assert "<body" in dom, f"Chromium rendered nothing for {page}"
    return dom, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)\b.*?</\1>", "", dom, flags=re.S)))


@pytest.mark.browser
def test_data_docs_index_links_reach_every_suite_and_validation_page(mini_built, proxy):
    docs = load_config(mini_built).path("gx_docs_dir")
    dom, _ = _dom_text(docs / "index.html", proxy)
    reached = {(docs / href).resolve() for href in re.findall(r'<a\b[^>]*\bhref="([^"#:]+)"', dom)}
    suites = {p.resolve() for p in (docs / "expectations").rglob("*.html")}
    validations = {p.resolve() for p in (docs / "validations").rglob("*.html")}
    tables = load_config(mini_built).all_tables
    assert {p.stem for p in suites} == set(tables)
    assert {p.parts[-4] for p in validations} == set(tables)  # validations/<suite>/<run>/<time>/<batch>.html
    assert suites <= reached and validations <= reached, sorted(map(str, (suites | validations) - reached))


@pytest.mark.browser
def test_no_data_docs_page_says_failed_while_the_overview_says_passed(mini_built, proxy):
    reports = load_config(mini_built).path("reports_dir")
    _, overview = _dom_text(reports / "index.html", proxy)
    assert "Great Expectations 1" in overview and "failed" not in overview.lower()
    pages = sorted((reports / "gx").rglob("*.html"))
    for page in pages:
        _, text = _dom_text(page, proxy)
        assert "Failed" not in text, page
        assert "newsletter" not in text.lower() and "Subscribe" not in text, page  # GX's advertising footer
    # the fixture does not meet every descriptive expectation: those are shown, marked as informational
    quality = json.loads(load_config(mini_built).path("quality").read_text(encoding="utf-8"))
    unmet = {e["table"] for e in quality["expectations"] if e["guard"] == "description" and not e["success"]}
    assert unmet, "the fixture meets every descriptive expectation: nothing here shows an informational mark"
    for table in unmet:
        (page,) = (reports / "gx" / "validations" / table).rglob("*.html")
        dom, text = _dom_text(page, proxy)
        assert "Status: Succeeded" in text and "not met (informational" in text, table
        # every unmet one drawn as a mark, none as escaped markup (a shared mark came out escaped from its second on)
        count = sum(1 for e in quality["expectations"]
                    if e["table"] == table and e["guard"] == "description" and not e["success"])
        assert text.count("not met (informational") == count, table
        assert "&lt;i class" not in dom and "&lt;span" not in dom, table


def test_every_source_has_a_static_page_with_an_anchor_on_each_citation_and_the_overview_links_there(mini_built):
    config = load_config(mini_built)
    reports = config.path("reports_dir")
    with open(config.path("data_dir") / "citations.csv", encoding="utf-8") as handle:
        citations = list(csv.DictReader(handle))
    with open(config.path("data_dir") / "sources.csv", encoding="utf-8") as handle:
        sources = [row["source_id"] for row in csv.DictReader(handle)]
    assert citations and sorted(p.stem for p in (reports / "sources").glob("*.html")) == sorted(sources)
    pages = {s: (reports / "sources" / f"{s}.html").read_text(encoding="utf-8") for s in sources}
    for citation in citations:
        page = pages[citation["source_id"]]
        assert re.search(rf'<a class="ref" id="{citation["citation_id"]}"[^>]*>[^<]*</a>(<a [^>]*>[^<]*</a>)*</sup>'
                         r'<mark class="quote', page), citation["citation_id"]
    for page in pages.values():
        assert not REMOTE.findall(page) and "<script" not in page.lower()
    overview = (reports / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'href="(sources/[^"#]+\.html)#(cit-[0-9a-f]+)"', overview)
    assert links, "the overview's quotes do not link to the source pages"
    for path, citation_id in links:
        assert f'id="{citation_id}"' in (reports / path).read_text(encoding="utf-8")
    assert not re.search(r'href="[^"]*sources/[^"]+\.txt', overview), "a quote still links to the raw text"


def test_every_inference_is_shown_with_its_quote_on_the_source_page(mini_built):
    import html

    config = load_config(mini_built)
    with open(config.path("data_dir") / "citations.csv", encoding="utf-8") as handle:
        inferred = [c for c in csv.DictReader(handle) if c["inference"]]
    assert inferred, "the fixture has no citation with an inference"
    for citation in inferred:
        page = (config.path("reports_dir") / "sources" / f"{citation['source_id']}.html").read_text(encoding="utf-8")
        assert f"how the value follows: {citation['inference']}" in html.unescape(page), citation["citation_id"]
