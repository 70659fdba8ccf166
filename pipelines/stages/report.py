"""Stage report: the overview page reports/index.html — how to cite this version, tables, what changed in this
version, conflicts, timeline, attacks by year, statistics over time, source coverage, validation; the dataset's
schema.org/DCAT description embedded as JSON-LD — and a page per source (reports/sources/<source_id>.html): its
normalized text with every citation highlighted and anchored by its id, rendered by pipelines.core.passages as the
portal's source pages are. Every quote of the overview links to its place there.

Static pages with inline CSS and inline SVG figures (drawn by pipelines.core.charts): no script, no network, readable
without JavaScript.
"""
from __future__ import annotations

import json
import os
from html import escape
from pathlib import Path

import pandas as pd

from ..core import charts, description, history, passages
from ..core.config import Config, load_config
from ..core.errors import Problems, run_stage, stage_arguments
from ..core.fileio import read_texts, replace_dir_atomic, write_text_atomic
from ..core.schemas import list_separator, load_schema, pandas_frame, precision_of, primary_key, read_table
from ..core.sentences import read_review, reviewed_spans
from ..core.wording import shorten, year_span

SOURCE_PAGES = "sources"  # reports/sources/<source_id>.html
LABEL_WIDTH = 80  # characters of a record's title in a heading


def run(config: Config) -> None:
    # Load
    package = json.loads(config.path("datapackage").read_text(encoding="utf-8"))
    schemas = {t: load_schema(config.path("schemas_dir"), t) for t in config.all_tables}
    frames = {t: pandas_frame(read_table(config.path("data_dir") / f"{t}.csv", schemas[t])[0])
              for t in config.all_tables}
    validation = json.loads(config.path("validation").read_text(encoding="utf-8"))
    quality = json.loads(config.path("quality").read_text(encoding="utf-8"))
    coverage = json.loads(config.path("coverage").read_text(encoding="utf-8"))
    conformance = json.loads(config.path("conformance").read_text(encoding="utf-8"))
    texts = read_texts(config.path("ingested_dir"), frames["sources"]["source_id"])
    problems = Problems()
    reviewed = read_review(config, texts, problems)
    problems.raise_if_any("report")
    cff = description.citation_file(config)

    # Process
    reports = config.path("reports_dir")
    base = description.base_url(config)
    dataset = description.script(description.dataset(
        config, package, description.package_files(config, package, base), base), "report")
    pages = source_pages(config, package, frames, texts, reviewed)
    last_year = int(package["created"][:4])
    svgs = charts.SvgCache(config.path("charts_cache"))
    page = "\n".join([
        _head(package, dataset, description.cite_as(cff)),
        _section("Tables", table_overview(config, frames, schemas, reports)),
        _section("What changed in this version", changes_section(config, package, frames, schemas, reports)),
        _section("Where the sources disagree", conflicts_section(frames, schemas)),
        _section("Timeline", charts.timeline_figure(frames, schemas, last_year, svgs)),
        _section("Attacks by year", charts.attacks_figure(frames["attacks"], last_year, svgs)),
        _section("Statistics over time", charts.statistics_figure(frames["statistics"], svgs)),
        _section("Source coverage", coverage_section(coverage)),
        _section("Validation", validation_section(package, validation, quality, conformance)),
        "</main></body></html>",
    ])

    # Save
    with replace_dir_atomic(reports / SOURCE_PAGES) as folder:
        for source_id, html in pages.items():
            (folder / f"{source_id}.html").write_text(html, encoding="utf-8")
            (folder / f"{source_id}.html").chmod(0o644)
    write_text_atomic(reports / "index.html", page)
    svgs.save()


def source_pages(config: Config, package: dict, frames, texts: dict[str, str], reviewed: dict) -> dict[str, str]:
    """Each source's page: its text with its citations (numbered in text order, each anchored by its id, its
    tooltip naming the record and field it backs) and its reviewed sentences (the reason on hover)."""
    templates = config.path("portal_templates")
    style = (config.path("portal_static") / "passages.css").read_text(encoding="utf-8")
    citations = frames["citations"].sort_values(["source_id", "char_start", "char_end", "citation_id"],
                                                ascending=[True, True, False, True])
    by_source = {s: group for s, group in citations.groupby("source_id", sort=False)}
    template = passages.environment(templates).get_template("static_source.html")
    pages = {}
    for source in frames["sources"].to_dict("records"):
        source = {k: (None if pd.isna(v) else v) for k, v in source.items()}
        source_id, text = source["source_id"], texts[source["source_id"]]
        if source.get("published") is not None:
            source["published"] = source["published"].strftime("%Y-%m-%d")[
                :{"day": 10, "month": 7, "year": 4}[source["published_precision"]]]
        group = by_source.get(source_id)
        spans = [] if group is None else [
            passages.Span(int(a), int(b), passages.QUOTE, c, None, str(n),
                          f"{r} {i} · {f if isinstance(f, str) else 'the record as a whole'} ({c})"
                          + (f" · how the value follows: {inf}" if isinstance(inf, str) else ""))
            for n, (c, r, i, f, inf, a, b) in enumerate(zip(
                group["citation_id"], group["resource"], group["record_id"], group["field"], group["inference"],
                group["char_start"], group["char_end"], strict=True), 1)]
        spans += [passages.Span(start, end, passages.REVIEWED, title=f"Reviewed, no table fact: {reason}")
                  for start, end, reason in reviewed_spans(text, source_id, reviewed)]
        pages[source_id] = template.render(source=source, package_title=package["title"], style=style,
                                           citations=len(group) if group is not None else 0,
                                           reviewed=sum(1 for s in spans if s.kind == passages.REVIEWED),
                                           text=passages.render(templates, text, spans))
    return pages


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
                    f"<td class=n>{len(frame)}</td><td class=n>{len(schema['fields'])}</td><td class=n>{share}</td>"
                    f"<td>{span}</td></tr>")
    return ("<table><thead><tr><th>table</th><th>title</th><th>rows</th><th>columns</th>"
            "<th>rows with &gt;1 source</th><th>date range</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table>")


def changes_section(config: Config, package: dict, frames, schemas, reports: Path) -> str:
    """The changes of this version (the changes table's rows of package.version), grouped by table, each record
    linked to the quote it stands on; then how many changes each earlier version made."""
    changes, citations = frames["changes"], frames["citations"]
    version = package["version"]
    table_link = _rel(config.path("data_dir") / "changes.csv", reports)
    if changes.empty:
        return (f"<p>No history of versions is published with this build (<a href=\"{table_link}\">changes.csv</a> "
                "is empty).</p>")
    current = changes[changes["version"] == version]
    # where a record is linked to: its first quote (record-level quotes first); where a citation is, its own place
    first_quote = citations.sort_values(["field", "source_id", "char_start"], na_position="first").groupby(
        ["resource", "record_id"], sort=False).first()
    quote_of = {key: (row.source_id, row.citation_id) for key, row in first_quote.iterrows()}
    source_of = dict(zip(citations["citation_id"], citations["source_id"], strict=True))
    earlier_versions = sorted(set(changes["version"]) - {version}, key=history.version_key)
    since = earlier_versions[-1] if earlier_versions else None
    blocks = []
    if current.empty:
        blocks.append(f"<p>No cell changed in version {escape(version)}"
                      + (f" since {escape(since)}" if since else "") + ".</p>")
    for resource, group in current.groupby("resource", sort=True):
        counts = group["change"].value_counts()
        summary = ", ".join(f"{counts[c]} {c}" for c in ("added", "removed", "changed", "renamed") if c in counts)
        items = []
        for row in group.itertuples():
            if row.resource == "citations" and row.record_id in source_of:
                href = source_page(source_of[row.record_id], row.record_id)
            elif (row.about_resource, row.about_record_id) in quote_of:
                href = source_page(*quote_of[row.about_resource, row.about_record_id])
            else:  # removed: no quote backs it any more
                href = None
            name = (f'<a href="{escape(href)}">{escape(row.record_id)}</a>' if href
                    else escape(row.record_id))
            if row.change == "renamed":
                what = f" renamed from {escape(row.old_value)}"
            elif isinstance(row.field, str):
                what = (f" <code>{escape(row.field)}</code>: {escape(_shown(row.old_value))} → "
                        f"{escape(_shown(row.new_value))}")
            else:
                what = f" {escape(row.change)}"
            if row.resource != row.about_resource:
                what += f" (of {escape(row.about_record_id)})"
            reason = (f"<br><span class=note>{escape(row.reason)}</span>" if isinstance(row.reason, str) else "")
            items.append(f"<li>{name}{what}{reason}</li>")
        open_ = " open" if len(items) <= 20 else ""
        blocks.append(f"<details{open_}><summary><strong>{escape(resource)}</strong>: {summary}</summary>"
                      f"<ul>{''.join(items)}</ul></details>")
    earlier = changes[changes["version"] != version].groupby(["version", "previous_version"], sort=False).size()
    if len(earlier):
        blocks.append("<p>Earlier versions: " + "; ".join(
            f"{escape(v)} (from {escape(p)}): {n:,} changes" for (v, p), n in earlier.items())
            + f". Every change, with its reason where the CHANGELOG names the record: <a href=\"{table_link}\">"
            "changes.csv</a>; any two versions compared: <code>python -m pipelines diff 0.3.0 0.4.0</code>.</p>")
    return "\n".join(blocks)


def _shown(value) -> str:
    return "—" if not isinstance(value, str) or not value else shorten(value, 160)


def conflicts_section(frames, schemas) -> str:
    conflicts, citations = frames["conflicts"], frames["citations"]
    if conflicts.empty:
        return "<p>No conflicting statements.</p>"
    by_id, separator = citations.set_index("citation_id"), list_separator(schemas["conflicts"], "citation_ids")
    blocks = []
    for (resource, record_id, field), group in conflicts.groupby(["resource", "record_id", "field"], sort=True):
        label = _label(frames[resource], schemas[resource], record_id)
        cells = []
        for _, row in group.iterrows():
            quotes = "".join(
                f"<blockquote>“{escape(by_id.at[c, 'quote'])}”"
                + (f"<p class=inference>How the value follows: {escape(by_id.at[c, 'inference'])}</p>"
                   if isinstance(by_id.at[c, "inference"], str) else "")
                + f"<footer><a href=\"{escape(source_page(by_id.at[c, 'source_id'], c))}\">"
                f"{escape(by_id.at[c, 'source_id'])}</a>, chars {by_id.at[c, 'char_start']}–{by_id.at[c, 'char_end']}"
                "</footer></blockquote>"
                for c in row["citation_ids"].split(separator))
            kept = " <strong>(published)</strong>" if row["is_published_value"] else ""
            cells.append(f"<div class=side><h4>{escape(str(row['stated_value']))}{kept}</h4>{quotes}</div>")
        blocks.append(f"<article><h3>{escape(resource)} · {escape(label)} · <code>{escape(field)}</code></h3>"
                      f"<div class=sides>{''.join(cells)}</div>"
                      f"<p class=note>Why the published value: {escape(group['reason'].iloc[0])}</p></article>")
    return "\n".join(blocks)


def source_page(source_id: str, citation_id: str | None = None) -> str:
    """The link, from reports/index.html, to a source's page or to a citation's place on it."""
    return f"{SOURCE_PAGES}/{source_id}.html" + (f"#{citation_id}" if citation_id else "")


def coverage_section(coverage: dict) -> str:
    rows, undecided = [], []
    for source_id, c in coverage["sources"].items():
        decided = c["cited"] + c["reviewed"]
        share = f"{decided / c['fact_bearing']:.0%}" if c["fact_bearing"] else "–"
        rows.append(f"<tr><td><a href=\"{escape(source_page(source_id))}\">{escape(source_id)}</a></td>"
                    f"<td class=n>{c['sentences']}</td>"
                    f"<td class=n>{c['fact_bearing_sentences']}</td><td class=n>{c['fact_bearing']}</td>"
                    f"<td class=n>{c['cited']}</td><td class=n>{c['reviewed']}</td>"
                    f"<td class=n>{len(c['undecided'])}</td>"
                    f"<td class=n>{share}</td></tr>")
        undecided += [f"<li>{escape(source_id)} @{u['start']}: {escape(u['sentence'][:300])}</li>"
                      for u in c["undecided"]]
    stale = [f"<li>{escape(e['source_id'])} @{e['start']}: {escape(e['problem'])}</li>"
             for e in coverage["stale_reviews"]]
    return ("<p>Every fact the sources state is either cited by a record or reviewed in "
            "<code>sources/reviewed.yaml</code> with the reason it holds no table fact. Facts are counted, not "
            "sentences: a fact is a clause (a sentence cut at semicolons, colons and commas) that holds a checkable "
            "marker (a number, year or month, a known organization, a word such as court, law, convicted or killed), "
            "so a sentence with two facts is decided only when both are.</p>"
            "<table><thead><tr><th>source</th><th>sentences</th><th>with facts</th><th>facts</th><th>cited</th>"
            "<th>reviewed</th><th>undecided</th><th>decided</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table>"
            + (f"<p class=bad>Undecided facts:</p><ul>{''.join(undecided)}</ul>" if undecided
               else "<p class=ok>No fact is left undecided.</p>")
            + (f"<p class=bad>Review entries that no longer match their sentence:</p><ul>{''.join(stale)}</ul>"
               if stale else ""))


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
<td>expectations derived from the Table Schemas, plus foreign keys and cited records existing; \
a failure stops the build</td></tr>
<tr><td>Frictionless {escape(conformance['frictionless'])}: the published package</td>\
<td>{_ok(conformance['valid'])}</td>
<td>frictionless validate of datapackage.json: {conformance['tables']} tables, {conformance['rows']:,} \
rows read row by row
with types, constraints, primary and foreign keys, bytes and hash</td></tr>
<tr><td>Great Expectations: description</td><td>{sum(e['success'] for e in described)}/{len(described)} met</td>
<td>coverage, share of day-precision dates, completeness; reported, never blocking</td></tr>
</tbody></table>
{f'<p>Descriptive expectations not met:</p><ul>{missed}</ul>' if missed else ''}
<p>Details: <a href="gx/index.html">Great Expectations Data Docs</a> · <a href="quality.json">quality.json</a>.</p>"""


def _head(package: dict, dataset: str, cite: str) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(package['title'])} — overview</title>
{dataset}
<style>
body{{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fff}}
main{{max-width:1100px;margin:0 auto;padding:1rem 1.5rem}} h1{{font-size:1.6rem}} \
h2{{border-bottom:2px solid #eee;margin-top:2rem}}
table{{border-collapse:collapse;width:100%}} \
td,th{{border:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}}
td.n{{text-align:right}} th{{background:#f6f6f6}} .sides{{display:flex;gap:1rem;flex-wrap:wrap}}
.side{{flex:1 1 300px;border:1px solid #ddd;border-radius:6px;padding:.5rem .8rem}} .side h4{{margin:.2rem 0}}
blockquote{{margin:.4rem 0;padding:.3rem .6rem;border-left:4px solid #ccc;background:#fafafa}} \
footer{{font-size:.85em;color:#555}} .inference{{font-size:.9em;color:#8a4b00;margin:.2rem 0}}
.note,.caption{{color:#555;font-size:.9em}} .ok{{color:#137333;font-weight:bold}} .bad{{color:#b3261e;font-weight:bold}}
figure.chart{{margin:0}} figure.chart svg{{max-width:100%;height:auto}} article{{margin-bottom:1.2rem}}
.cite{{border:1px solid #cfd8e3;background:#f5f8fc;border-radius:6px;padding:.5rem .8rem}} .cite p{{margin:.2rem 0}}
</style></head><body><main>
<h1>{escape(package['title'])}</h1>
<p>{escape(package['description'])}</p>
<p>Version {escape(package['version'])} · licence {escape(package['licenses'][0]['name'])} ·
<a href="../datapackage.json">datapackage.json</a> · <a href="gx/index.html">validation report (Data Docs)</a></p>
<div class="cite" id="cite-as"><p><strong>Cite as</strong> (with the version you used):</p><p>{escape(cite)}</p>
<p class="note">From <a href="../CITATION.cff">CITATION.cff</a>; what changed from one version to the next is in
<a href="#what-changed-in-this-version">What changed in this version</a> and
<a href="../data/changes.csv">changes.csv</a>.</p></div>"""


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


def main(argv: list[str] | None = None) -> None:
    stage_arguments("report", __doc__).parse_args(argv)
    run_stage("report", lambda: run(load_config()))


if __name__ == "__main__":
    main()
