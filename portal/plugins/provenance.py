"""The portal's Datasette plugin: what the published plugins do not do.

- `passage(citation)` and `source_text(source_id)` for the templates: a quote inside its passage, and a whole
  source with its citations and reviewed sentences marked, both rendered by pipelines.core.passages (the renderer the
  static report uses too);
- list columns that refer to another table (x-list-reference in the Table Schema, e.g. prosecutions.provision_ids)
  and the record_id of citations and conflicts rendered as links to the records;
- every source marked once, at start-up, and kept (the database is served immutable);
- the results of datasette-search-all's /-/search page, searched here so that every hit links to its record's
  page, and a sentence of a source to its place on the source's page.
The templates fetch the rows they show with datasette-template-sql's sql(); this plugin renders, and searches.
"""
from __future__ import annotations

import os
import re
from html import escape
from pathlib import Path
from urllib.parse import urlencode

from datasette import hookimpl
from datasette.utils import escape_fts, escape_sqlite, path_from_row_pks, tilde_encode
from markupsafe import Markup

from pipelines.core import passages

PLUGIN = "provenance"
SENTENCE_HIT, SENTENCE_END = "\x02", "\x03"  # snippet() delimiters that no text holds
SEARCH_HITS = 5
_SLUG = re.compile(r"[A-Za-z0-9_-]+")  # what tilde_encode leaves as it is
CLIPPED = 100  # characters: longer text is clipped to a few lines in table pages (portal.css), whole on record pages


def record_url(table_url: str, record_id: str, field: str | None) -> str:
    """A record's page, at the field a citation backs (row.html's ids), or at its citations of the whole record."""
    path = record_id if _SLUG.fullmatch(record_id) else tilde_encode(record_id)  # ids are slugs: nothing to encode
    return f"{table_url}/{path}#" + (f"field-{field}" if field else "record-citations")


def source_url(datasette, database: str, source_id: str, anchor: str) -> str:
    return f"{datasette.urls.table(database, 'sources')}/{tilde_encode(source_id)}#{anchor}"


async def _passage(datasette, database: str, citation) -> Markup:
    """The quote of `citation` (a citations row) highlighted in a sentence or so of its source either side."""
    db = datasette.get_database(database)
    source_id, start, end = citation["source_id"], citation["char_start"], citation["char_end"]
    near = (await db.execute(
        'select start, "end" from source_sentences where source_id = ? and "end" >= ? and start <= ? order by start',
        [source_id, start - 2000, end + 2000])).rows
    window_start, window_end = passages.context([(a, b) for a, b in near], start, end)
    text = (await db.execute("select text from source_texts where source_id = ?", [source_id])).first()
    if text is None:
        return Markup("<em>(the source's text is missing)</em>")
    return passages.render(Path(datasette.template_dir), text[0], [passages.Span(start, end)], window_start, window_end)


_RENDERED: dict[tuple, Markup] = {}  # (database file, its mtime, source) -> the marked text
_RENDERED_KEPT = 16  # at least; start-up raises it to the number of sources


async def _source_text(datasette, database: str, source_id: str) -> Markup:
    """The whole normalized text of a source, marked. The database does not change while it is served (Datasette
    serves it --immutable; a rebuilt file has another mtime), so each source is marked once and kept: a source
    with tens of thousands of citations costs a few hundred milliseconds to mark, its page then a few."""
    db = datasette.get_database(database)
    key = (db.path, os.stat(db.path).st_mtime_ns if db.path else None, source_id)
    if key not in _RENDERED:
        if len(_RENDERED) >= _RENDERED_KEPT:
            _RENDERED.pop(next(iter(_RENDERED)))
        _RENDERED[key] = await _mark_source(datasette, db, database, source_id)
    return _RENDERED[key]


@hookimpl
def startup(datasette):
    """Mark every source before the first request (Datasette awaits this before it serves): the first request of a
    source page then costs what any other does, even for a source with tens of thousands of citations."""
    async def mark_every_source():
        for database, db in datasette.databases.items():
            if "source_texts" not in await db.table_names():
                continue
            sources = (await db.execute("select source_id from source_texts order by source_id")).rows
            global _RENDERED_KEPT
            _RENDERED_KEPT = max(_RENDERED_KEPT, len(sources))  # keep every source marked
            for (source_id,) in sources:
                await _source_text(datasette, database, source_id)

    return mark_every_source


async def _mark_source(datasette, db, database: str, source_id: str) -> Markup:
    """Each citation marked, with a reference that carries its id and links to the record and field it backs;
    each reviewed sentence marked with the reviewer's reason; an anchor at every sentence (s-<offset>, where
    search hits land)."""
    row = (await db.execute("select text from source_texts where source_id = ?", [source_id])).first()
    if row is None:
        return Markup("")
    # in text order, as they are numbered; the index citations_by_source (database stage) holds every column asked for
    citations = (await db.execute(
        "select char_start, char_end, citation_id, resource, record_id, field from citations where source_id = ? "
        "order by char_start, char_end desc, citation_id", [source_id])).rows
    sentences = (await db.execute('select start, "end" from source_sentences where source_id = ?', [source_id])).rows
    reviews = (await db.execute('select start, "end", reason from source_reviews where source_id = ?',
                                [source_id])).rows
    spans = [passages.Span(start, end, passages.QUOTE, citation_id, None, "", "", (number, resource, record_id, field))
             for number, (start, end, citation_id, resource, record_id, field) in enumerate(citations, 1)]
    spans += [passages.Span(start, end, passages.REVIEWED, title=f"Reviewed, no table fact: {review}")
              for start, end, review in reviews]
    anchors = {start: [f"s-{start}"] for start, _ in sentences}
    table_urls = {}

    def describe(span: passages.Span) -> passages.Span:
        number, resource, record_id, field = span.data
        if resource not in table_urls:
            table_urls[resource] = str(datasette.urls.table(database, resource))
        return span._replace(href=record_url(table_urls[resource], record_id, field), label=str(number),
                             title=f"{resource} {record_id} · {field or 'the record as a whole'} ({span.id})")

    return passages.render(Path(datasette.template_dir), row[0], spans, anchors=anchors, describe=describe)


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    package = datasette.plugin_config(PLUGIN) or {}  # the instance's: the dataset's description and citation
    variables = {
        "dataset_jsonld": Markup(package.get("dataset_jsonld", "")),  # the database stage's checked <script>
        "cite_as": package.get("cite_as", ""),
        "passage": lambda citation: _passage(datasette, database, citation),
        "source_text": lambda source_id: _source_text(datasette, database, source_id),
        "source_url": lambda source_id, anchor: source_url(datasette, database, source_id, anchor),
        "row_url": lambda table_name, key: datasette.urls.row(database, table_name, tilde_encode(key)),
        "field_titles": (datasette.plugin_config(PLUGIN, database=database, table=table) or {}).get("titles", {})
        if database and table else {},
    }
    if view_name == "database":
        variables["hidden_count"] = 0  # the full-text index tables and the source texts are no tables to browse
    if template != "search_all.html":
        return variables

    async def with_results():
        return {**variables, "search_results": await search(datasette, request)}

    return with_results


async def search(datasette, request) -> list[dict]:
    """Per searchable table (as datasette-search-all finds them): how many rows match ?q= and the best few, each
    with a link to its page and a snippet of the matching text with the hit marked."""
    from datasette_search_all.utils import get_searchable_tables

    q = (request.args.get("q") or "").strip()
    if not q:
        return []
    results = []
    for database, table in await get_searchable_tables(datasette, request):
        db = datasette.get_database(database)
        fts = await db.fts_table(table)
        pks = await db.primary_keys(table)
        label = await db.label_column_for_table(table)
        keys = ", ".join(f"t.{escape_sqlite(k)}" for k in pks) if pks else "t.rowid"
        match = {"q": escape_fts(q)}
        count = (await db.execute(f"select count(*) from {escape_sqlite(fts)} where {escape_sqlite(fts)} match :q",
                                  match)).first()[0]
        if not count:
            continue
        extra = ", s.title as source_title" if table == "source_sentences" else ""
        join = " join sources s on s.source_id = t.source_id" if table == "source_sentences" else ""
        rows = (await db.execute(
            f"select {keys}{', t.' + escape_sqlite(label) + ' as label' if label else ''}{extra}, "
            f"snippet({escape_sqlite(fts)}, -1, '{SENTENCE_HIT}', '{SENTENCE_END}', '…', 24) as snippet "
            f"from {escape_sqlite(fts)} f join {escape_sqlite(table)} t on t.rowid = f.rowid{join} "
            f"where {escape_sqlite(fts)} match :q order by rank limit {SEARCH_HITS}", match)).rows
        hits = []
        for row in rows:
            if table == "source_sentences":
                href = source_url(datasette, database, row["source_id"], f"s-{row['start']}")
                name = row["source_title"]
            else:
                href = datasette.urls.row(database, table, path_from_row_pks(row, pks, not pks))
                name = row["label"] if label else ", ".join(str(row[k]) for k in pks)
            snippet = escape(row["snippet"]).replace(SENTENCE_HIT, "<mark>").replace(SENTENCE_END, "</mark>")
            hits.append({"href": href, "name": name, "snippet": Markup(snippet)})
        results.append({"database": database, "table": table, "count": count, "hits": hits,
                        "title": datasette.table_metadata(database, table).get("title", table),
                        "more": f"{datasette.urls.table(database, table)}?{urlencode({'_search': q})}"})
    return results


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    """Links for references that Datasette does not see as foreign keys: list columns with an x-list-reference,
    and the (resource, record_id) pair of citations, conflicts and changes; long text in a box that table pages
    clip."""
    if not isinstance(value, str) or not value or not table:
        return None
    if column == "record_id" and table in ("citations", "conflicts"):
        href = datasette.urls.row(database, row["resource"], tilde_encode(value))
        return Markup(f'<a href="{escape(href)}">{escape(value)}</a>')
    if table == "changes" and column in ("record_id", "about_record_id"):
        # a record's page, where it still is: not a removed one, nor a row of a composite key (the conflicts')
        resource = row["resource"] if column == "record_id" else row["about_resource"]
        gone = row["change"] == "removed" and (column == "record_id" or row["resource"] == row["about_resource"])
        if gone or (column == "record_id" and row["resource"] == "conflicts"):
            return None
        href = datasette.urls.row(database, resource, tilde_encode(value))
        return Markup(f'<a href="{escape(href)}">{escape(value)}</a>')
    reference = ((datasette.plugin_config(PLUGIN, database=database, table=table) or {})
                 .get("list_references", {}).get(column))
    if not reference:
        return Markup(f'<div class="cell">{escape(value)}</div>') if len(value) > CLIPPED else None
    links = [f'<a href="{escape(datasette.urls.row(database, reference["table"], tilde_encode(item)))}">'
             f'{escape(item)}</a>'
             for item in value.split(reference["separator"])]
    return Markup(", ".join(links))
