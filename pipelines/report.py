"""Stage report: the overview page reports/index.html — tables, conflicts, timeline, attacks by year, statistics
over time, source coverage, validation.

A static page with inline CSS and inline SVG figures (drawn by pipelines.charts): no script, no network, readable
without JavaScript.
"""
from __future__ import annotations

import json
import os
from html import escape
from pathlib import Path

import pandas as pd

from . import charts
from .config import Config, load_config
from .errors import run_stage
from .fileio import write_text_atomic
from .schemas import load_schema, pandas_frame, precision_of, primary_key, read_table
from .wording import shorten, year_span

LABEL_WIDTH = 80  # characters of a record's title in a heading


def run(config: Config) -> None:
    # Load
    package = json.loads(config.path("datapackage").read_text(encoding="utf-8"))
    schemas = {t: load_schema(config.path("schemas_dir"), t) for t in config.all_tables}
    frames = {t: pandas_frame(read_table(config.path("data_dir") / f"{t}.csv", schemas[t])[0]) for t in config.all_tables}
    validation = json.loads(config.path("validation").read_text(encoding="utf-8"))
    quality = json.loads(config.path("quality").read_text(encoding="utf-8"))
    coverage = json.loads(config.path("coverage").read_text(encoding="utf-8"))
    conformance = json.loads(config.path("conformance").read_text(encoding="utf-8"))

    # Process
    reports = config.path("reports_dir")
    last_year = int(package["created"][:4])
    page = "\n".join([
        _head(package),
        _section("Tables", table_overview(config, frames, schemas, reports)),
        _section("Where the sources disagree", conflicts_section(frames, schemas, reports, config)),
        _section("Timeline", charts.timeline_figure(frames, schemas, last_year)),
        _section("Attacks by year", charts.attacks_figure(frames["attacks"], last_year)),
        _section("Statistics over time", charts.statistics_figure(frames["statistics"])),
        _section("Source coverage", coverage_section(coverage)),
        _section("Validation", validation_section(package, validation, quality, conformance)),
        "</main></body></html>",
    ])

    # Save
    write_text_atomic(reports / "index.html", page)


def table_overview(config: Config, frames, schemas, reports: Path) -> str:
    citations = frames["citations"]
    sources_per_record = citations.groupby(["resource", "record_id"])["source_id"].nunique()
    rows = []
    for table in config.all_tables:
        frame, schema = frames[table], schemas[table]
        share = ""
        if table in config.curated_tables:
            counts = sources_per_record.get(table, pd.Series(dtype=int))
            multi = sum(counts.get(i, 0) > 1 for i in frame[primary_key(schema)[0]])
            share = f"{multi / len(frame):.0%}" if len(frame) else "–"
        dates = pd.concat([frame[c] for c in precision_of(schema)] or [pd.Series(dtype="datetime64[ns]")]).dropna()
        span = year_span(dates.min().year, dates.max().year) if len(dates) else "–"
        link = _rel(config.path("data_dir") / f"{table}.csv", reports)
        rows.append(f"<tr><td><a href=\"{link}\">{table}</a></td><td>{escape(schema['title'])}</td>"
                    f"<td class=n>{len(frame)}</td><td class=n>{len(schema['fields'])}</td><td class=n>{share}</td><td>{span}</td></tr>")
    return ("<table><thead><tr><th>table</th><th>title</th><th>rows</th><th>columns</th>"
            "<th>rows with &gt;1 source</th><th>date range</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def conflicts_section(frames, schemas, reports: Path, config: Config) -> str:
    conflicts, citations, sources = frames["conflicts"], frames["citations"], frames["sources"]
    if conflicts.empty:
        return "<p>No conflicting statements.</p>"
    by_id = citations.set_index("citation_id")
    source_link = {s: (u if isinstance(u, str) else _rel(config.root / p, reports))
                   for s, u, p in zip(sources["source_id"], sources["url"], sources["path"])}
    blocks = []
    for (resource, record_id, field), group in conflicts.groupby(["resource", "record_id", "field"], sort=True):
        label = _label(frames[resource], schemas[resource], record_id)
        cells = []
        for _, row in group.iterrows():
            quotes = "".join(
                f"<blockquote>“{escape(by_id.at[c, 'quote'])}”<footer><a href=\"{escape(source_link[by_id.at[c, 'source_id']])}\">"
                f"{escape(by_id.at[c, 'source_id'])}</a>, chars {by_id.at[c, 'char_start']}–{by_id.at[c, 'char_end']}</footer></blockquote>"
                for c in row["citation_ids"].split("|"))
            kept = " <strong>(published)</strong>" if row["is_published_value"] else ""
            cells.append(f"<div class=side><h4>{escape(str(row['stated_value']))}{kept}</h4>{quotes}</div>")
        note = group["note"].dropna()
        blocks.append(f"<article><h3>{escape(resource)} · {escape(label)} · <code>{escape(field)}</code></h3>"
                      f"<div class=sides>{''.join(cells)}</div>"
                      + (f"<p class=note>Curator's note: {escape(note.iloc[0])}</p>" if len(note) else "") + "</article>")
    return "\n".join(blocks)


def coverage_section(coverage: dict) -> str:
    rows, undecided = [], []
    for source_id, c in coverage["sources"].items():
        decided = c["cited"] + c["reviewed"]
        share = f"{decided / c['fact_bearing']:.0%}" if c["fact_bearing"] else "–"
        rows.append(f"<tr><td>{escape(source_id)}</td><td class=n>{c['sentences']}</td>"
                    f"<td class=n>{c['fact_bearing_sentences']}</td><td class=n>{c['fact_bearing']}</td>"
                    f"<td class=n>{c['cited']}</td><td class=n>{c['reviewed']}</td><td class=n>{len(c['undecided'])}</td>"
                    f"<td class=n>{share}</td></tr>")
        undecided += [f"<li>{escape(source_id)} @{u['start']}: {escape(u['sentence'][:300])}</li>" for u in c["undecided"]]
    stale = [f"<li>{escape(e['source_id'])} @{e['start']}: {escape(e['problem'])}</li>" for e in coverage["stale_reviews"]]
    return ("<p>Every fact the sources state is either cited by a record or reviewed in "
            "<code>sources/reviewed.yaml</code> with the reason it holds no table fact. Facts are counted, not "
            "sentences: a fact is a clause (a sentence cut at semicolons, colons and commas) that holds a checkable "
            "marker (a number, year or month, a known organization, a word such as court, law, convicted or killed), "
            "so a sentence with two facts is decided only when both are.</p>"
            "<table><thead><tr><th>source</th><th>sentences</th><th>with facts</th><th>facts</th><th>cited</th>"
            "<th>reviewed</th><th>undecided</th><th>decided</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
            + (f"<p class=bad>Undecided facts:</p><ul>{''.join(undecided)}</ul>" if undecided
               else "<p class=ok>No fact is left undecided.</p>")
            + (f"<p class=bad>Review entries that no longer match their sentence:</p><ul>{''.join(stale)}</ul>" if stale else ""))


def validation_section(package: dict, validation: dict, quality: dict, conformance: dict) -> str:
    checks = validation["rules"]["checks"]
    gx_rows = [e for e in quality["expectations"]]
    correct = [e for e in gx_rows if e["guard"] == "correctness"]
    described = [e for e in gx_rows if e["guard"] == "description"]
    missed = "".join(f"<li>{escape(e['table'])}: {escape(e['why'])} — {escape(e['detail'])}</li>"
                     for e in described if not e["success"])
    return f"""
<p>Build of version <strong>{escape(package['version'])}</strong>, created {escape(package['created'])}.</p>
<table><thead><tr><th>check</th><th>result</th><th>what it covers</th></tr></thead><tbody>
<tr><td>Types</td><td>{_ok(validation['types']['valid'])}</td>
<td>every cell parses as its column's Table Schema type (dates, integers, numbers, booleans)</td></tr>
<tr><td>Pandera {escape(validation['pandera']['version'])}</td><td>{_ok(validation['pandera']['valid'])}</td>
<td>dtypes, required, unique, enums, ranges, patterns, lengths and keys, derived from the Table Schemas</td></tr>
<tr><td>Cross-field and cross-table rules</td><td>{_ok(validation['rules']['valid'])}</td>
<td>{escape(', '.join(f'{k.replace("_", " ")} ({v} failing)' for k, v in checks.items()))}</td></tr>
<tr><td>Great Expectations {escape(quality['great_expectations'])}: correctness</td>
<td>{_ok(all(e['success'] for e in correct))} {sum(e['success'] for e in correct)}/{len(correct)}</td>
<td>expectations derived from the Table Schemas, plus foreign keys and cited records existing; a failure stops the build</td></tr>
<tr><td>Frictionless {escape(conformance['frictionless'])}: the published package</td><td>{_ok(conformance['valid'])}</td>
<td>frictionless validate of datapackage.json: {conformance['tables']} tables, {conformance['rows']:,} rows read row by row
with types, constraints, primary and foreign keys, bytes and hash</td></tr>
<tr><td>Great Expectations: description</td><td>{sum(e['success'] for e in described)}/{len(described)} met</td>
<td>coverage, share of day-precision dates, completeness; reported, never blocking</td></tr>
</tbody></table>
{f'<p>Descriptive expectations not met:</p><ul>{missed}</ul>' if missed else ''}
<p>Details: <a href="gx/index.html">Great Expectations Data Docs</a> · <a href="quality.json">quality.json</a>.</p>"""


def _head(package: dict) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(package['title'])} — overview</title>
<style>
body{{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fff}}
main{{max-width:1100px;margin:0 auto;padding:1rem 1.5rem}} h1{{font-size:1.6rem}} h2{{border-bottom:2px solid #eee;margin-top:2rem}}
table{{border-collapse:collapse;width:100%}} td,th{{border:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}}
td.n{{text-align:right}} th{{background:#f6f6f6}} .sides{{display:flex;gap:1rem;flex-wrap:wrap}}
.side{{flex:1 1 300px;border:1px solid #ddd;border-radius:6px;padding:.5rem .8rem}} .side h4{{margin:.2rem 0}}
blockquote{{margin:.4rem 0;padding:.3rem .6rem;border-left:4px solid #ccc;background:#fafafa}} footer{{font-size:.85em;color:#555}}
.note,.caption{{color:#555;font-size:.9em}} .ok{{color:#137333;font-weight:bold}} .bad{{color:#b3261e;font-weight:bold}}
figure.chart{{margin:0}} figure.chart svg{{max-width:100%;height:auto}} article{{margin-bottom:1.2rem}}
</style></head><body><main>
<h1>{escape(package['title'])}</h1>
<p>{escape(package['description'])}</p>
<p>Version {escape(package['version'])} · licence {escape(package['licenses'][0]['name'])} ·
<a href="../datapackage.json">datapackage.json</a> · <a href="gx/index.html">validation report (Data Docs)</a></p>"""


def _section(title: str, body: str) -> str:
    anchor = "-".join(title.lower().split())
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>\n{body}\n</section>'


def _label(frame: pd.DataFrame, schema: dict, record_id: str) -> str:
    (key,) = primary_key(schema)
    row = frame[frame[key] == record_id]
    for column in ("title", "name", "summary"):
        if column in frame and not row.empty and isinstance(row.iloc[0][column], str):
            return f"{record_id} ({shorten(row.iloc[0][column], LABEL_WIDTH)})"
    return record_id


def _ok(valid: bool) -> str:
    return '<span class="ok">passed</span>' if valid else '<span class="bad">failed</span>'


def _rel(path: Path, start: Path) -> str:
    return os.path.relpath(path, start)


def main() -> None:
    run_stage("report", lambda: run(load_config()))


if __name__ == "__main__":
    main()
