"""The report's charts as a reader sees them in headless Chromium: no two labels overlap, every timeline mark
names its record and links to the passage backing its date, every statistic can be hovered for its value."""
from __future__ import annotations

import csv
import json
import os
import re
from html import unescape
from pathlib import Path

import pytest
from conftest import ROOT
from test_reports import OUTPUT, chromium

from pipelines.core.charts import TIMELINE
from pipelines.core.config import load_config

# Run in the page by Chromium: the box of every non-empty <text> of each chart, and each mark's hover text and link.
PROBE = """<script>
const charts = [...document.querySelectorAll('figure.chart svg')].map(svg => ({
  section: svg.closest('section').id,
  texts: [...svg.querySelectorAll('text')].filter(t => t.textContent.trim()).map(t => {
    const r = t.getBoundingClientRect(); \
return {text: t.textContent, left: r.left, top: r.top, right: r.right, bottom: r.bottom};
  }),
  marks: [...svg.querySelectorAll('[role=graphics-symbol]')].filter(m => m.tagName !== 'g').map(m => ({
    title: m.querySelector(':scope > title')?.textContent ?? null,
    href: m.closest('a')?.getAttribute('xlink:href') ?? m.closest('a')?.getAttribute('href') ?? null,
  })),
}));
const out = document.createElement('pre');
out.id = 'probe';
out.textContent = JSON.stringify({charts, height: document.documentElement.scrollHeight});
document.body.append(out);
</script>"""


pytestmark = pytest.mark.browser  # every test here opens the report in Chromium


def probe(page: Path, proxy, tmp_path: Path) -> dict:
    """What PROBE finds in `page`, opened from a copy that carries the probe (the published page runs no script)."""
    probed = tmp_path / f"probed-{page.name}"
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = chromium(probed, proxy, "--dump-dom").stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, f"the probe did not run in {page}"
    return json.loads(unescape(found[1]))


def overlapping(texts: list[dict]) -> list[tuple[str, str]]:
    """Pairs of text labels whose boxes share more than a sliver (half a pixel either way)."""
    pairs = []
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            width = min(a["right"], b["right"]) - max(a["left"], b["left"])
            height = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
            if width > 0.5 and height > 0.5:
                pairs.append((a["text"], b["text"]))
    return pairs


@pytest.fixture(scope="module")
def built(mini_built) -> Path:
    """The project as the current code builds it (the fixture records), not the committed outputs."""
    return mini_built


@pytest.fixture(scope="module")
def report(built, proxy, tmp_path_factory) -> dict:
    return probe(load_config(built).path("reports_dir") / "index.html", proxy, tmp_path_factory.mktemp("probe"))


@pytest.fixture(scope="module")
def rows(built):
    def read(table: str) -> list[dict]:
        with open(load_config(built).path("data_dir") / f"{table}.csv", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    return read


def test_the_report_has_its_three_charts(report):
    assert [c["section"] for c in report["charts"]] == ["timeline", "attacks-by-year", "statistics-over-time"]
    assert [(c["section"], bool(c["texts"]), bool(c["marks"])) for c in report["charts"]] == [
        (c["section"], True, True) for c in report["charts"]]


def test_no_two_labels_of_a_chart_overlap(report):
    for chart in report["charts"]:
        assert overlapping(chart["texts"]) == [], chart["section"]


def test_the_overlap_check_catches_labels_that_pile_on_one_another(proxy, tmp_path):
    page = tmp_path / "piled.html"
    page.write_text('<!doctype html><html><body><section id="s"><figure class=chart><svg width="300" height="50">'
                    '<text x="10" y="20">~5,000</text><text x="22" y="24">500–600</text>'
                    '<text x="200" y="20">≥200</text>'
                    '</svg></figure></section></body></html>', encoding="utf-8")
    (chart,) = probe(page, proxy, tmp_path)["charts"]
    assert overlapping(chart["texts"]) == [("~5,000", "500–600")]


def test_every_timeline_mark_names_a_record_and_links_to_the_passage_backing_its_date(report, rows):
    (timeline,) = [c for c in report["charts"] if c["section"] == "timeline"]
    dated = {(t, r[next(k for k in r)]): r for t, c in TIMELINE.items() for r in rows(t) if r[c]}
    assert len(timeline["marks"]) == len(dated)
    citations = {c["citation_id"]: c for c in rows("citations")}
    named = set()
    for mark in timeline["marks"]:
        title, href = mark["title"], mark["href"]
        found = re.fullmatch(r"(\w+) · ([\w-]+): (.+) — .+", title or "")
        assert found and (found[1], found[2]) in dated, f"a mark names no record: {title!r}"
        table, record_id, name = found[1], found[2], found[3]
        record = dated[(table, record_id)]
        if "title" in record:
            assert name.rstrip("…\"”)") in record["title"], title  # the record's title, shortened at most
        source_id, citation_id = re.fullmatch(r"sources/([\w-]+)\.html#(cit-\w+)", href or "").groups()
        citation = citations[citation_id]
        assert (citation["resource"], citation["record_id"], citation["source_id"]) == (table, record_id, source_id)
        date_cited = any(c["field"] == TIMELINE[table] for c in citations.values()
                         if (c["resource"], c["record_id"]) == (table, record_id))
        assert citation["field"] == TIMELINE[table] or not date_cited, f"{title}: links to a citation not of its date"
        named.add((table, record_id))
    assert named == set(dated)


def test_every_statistic_can_be_hovered_for_its_value_as_stated(report, rows):
    (statistics,) = [c for c in report["charts"] if c["section"] == "statistics-over-time"]
    titles = {m["title"].split(":")[0]: m["title"] for m in statistics["marks"]}
    labels = [t["text"] for t in statistics["texts"]]
    for row in rows("statistics"):
        assert row["statistic_id"] in titles, row["statistic_id"]
        if row["qualifier"] == "hundreds":  # a vague quantity reads in words, on the chart and on hover
            assert "hundreds of " in titles[row["statistic_id"]] and "hundreds" in labels
        if row["qualifier"] == "range":
            assert f"{float(row['value_low']):,.0f}–{float(row['value_high']):,.0f}" in titles[row["statistic_id"]]


def test_screenshot_of_the_charts(built, proxy, tmp_path):
    """The charts alone, as docs/img/report-charts.png shows them (of the real records: copied from test-output by
    hand after `dvc repro` and this test with REPORT_CHARTS_OF_THE_PROJECT=1)."""
    reports = (ROOT / "reports" if os.environ.get("REPORT_CHARTS_OF_THE_PROJECT")
               else load_config(built).path("reports_dir"))
    html = (reports / "index.html").read_text(encoding="utf-8")
    sections = re.findall(r'<section id="(?:timeline|attacks-by-year|statistics-over-time)">.*?</section>', html, re.S)
    page = tmp_path / "charts.html"
    page.write_text(html[:html.index("<main>") + 6] + "\n".join(sections) + "</main></body></html>", encoding="utf-8")
    height = probe(page, proxy, tmp_path)["height"]
    OUTPUT.mkdir(parents=True, exist_ok=True)
    shot = OUTPUT / "report-charts.png"
    shot.unlink(missing_ok=True)
    chromium(page, proxy, f"--screenshot={shot}", f"--window-size=1150,{height}", "--hide-scrollbars")
    assert shot.exists() and shot.stat().st_size > 50_000
