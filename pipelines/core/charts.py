"""The report's figures — timeline, attacks by year, statistics by unit — drawn with Vega-Altair and rendered by
vl-convert to static SVG, for inlining in a page that runs no script and loads nothing from the network.

vl-convert draws without a browser, so Vega's `tooltip` channel leaves nothing in its SVG; a mark's `description`
is kept, as the mark's aria-label. And it resolves every relative `href` against its own base URL (the Vega
datasets site). `static_svg` is the one post-step that makes both work in a page: each labelled mark gets an SVG
<title> (which the browser shows on hover) and links are made relative again. Anything left pointing off the
machine stops the build.

Altair and vl-convert are imported only to draw: each figure's SVG is kept in an SvgCache keyed by the figure's
inputs (its rows and bounds), this module's code and the two libraries' versions, so an edit that changes no chart
draws nothing and imports neither.
"""
from __future__ import annotations

import hashlib
import json
import re
from html import escape
from importlib import metadata
from pathlib import Path

import pandas as pd

from .errors import BuildError, Problem
from .fileio import write_json_atomic
from .schemas import list_separator, precision_of, primary_key
from .wording import date_as_known, shorten, year_span

# The tables on the timeline, each with the date that places a record on it.
TIMELINE = {"laws": "adopted", "agreements": "signed", "court_bans": "decision_date", "programmes": "approved",
            "attacks": "date", "prosecutions": "verdict_date"}
COLOURS = {"laws": "#1f77b4", "agreements": "#2ca02c", "court_bans": "#d62728", "programmes": "#9467bd",
           "attacks": "#ff7f0e", "prosecutions": "#8c564b"}
PLACES = {"in Kazakhstan": "#d62728", "abroad": "#ff9f5a", "place not stated": "#bbbbbb"}
FIRST_YEAR = 1991
WIDTH = 820  # of each plot, in pixels; the page is about 1050 wide
NAME_WIDTH = 90  # characters of a record's name in a tooltip
FONT = "sans-serif"  # a generic family: the page loads no font
VL_CONVERT_BASE_URL = "https://vega.github.io/vega-datasets/"
QUALIFIER_MARK = {"exact": "", "approximately": "~", "at_least": "≥", "more_than": ">", "at_most": "≤",
                  "less_than": "<"}
QUALIFIER_WORDS = {"exact": "", "approximately": "about ", "at_least": "at least ", "more_than": "more than ",
                   "at_most": "at most ", "less_than": "less than "}


def timeline_figure(frames: dict, schemas: dict, last_year: int, svgs: SvgCache) -> str:
    """One mark per dated record at its date, a row per table; each mark names its record and links to the passage
    that backs the date."""
    rows = timeline_rows(frames, schemas)
    first = min([FIRST_YEAR] + [int(r["x"]) for r in rows])
    undated = ", ".join(f"{t.replace('_', ' ')} {n}" for t, c in TIMELINE.items()
                        if (n := int(frames[t][c].isna().sum())))
    svg = svgs.draw("timeline", [rows, first, last_year], lambda alt: alt.Chart(
        alt.Data(values=rows), width=WIDTH, height=alt.Step(10)).mark_point(
        filled=True, size=45, opacity=0.85, cursor="pointer").encode(
        x=_year_axis(alt, first, last_year + 1),
        y=alt.Y("row:N", title=None, scale=alt.Scale(domain=_timeline_rows_with_gaps(rows)),
                axis=alt.Axis(labelExpr="split(datum.value, '|')[0]", labelFontSize=12, labelBaseline="top",
                              labelPadding=6, domain=False, ticks=False, grid=False)),
        color=alt.Color("table:N", legend=None, scale=alt.Scale(domain=[t.replace("_", " ") for t in COLOURS],
                                                                  range=list(COLOURS.values()))),
        href="href:N", description="label:N"))
    return _figure(svg,
                   "One mark per dated record at its date (the first day of what is known); hover a mark for the "
                   "record, click it for the passage of its source that states the date."
                   + (f" Not shown, undated: {escape(undated)}." if undated else ""))


def timeline_rows(frames: dict, schemas: dict) -> list[dict]:
    """The timeline's marks: table, position in years, lane (marks closer than a mark's width take separate lanes),
    the label a reader sees on hover and the link to the backing passage."""
    citations = frames["citations"]
    first_citation = citations.drop_duplicates(["resource", "record_id"]).set_index(["resource", "record_id"])
    field_citation = (citations.dropna(subset=["field"]).drop_duplicates(["resource", "record_id", "field"])
                      .set_index(["resource", "record_id", "field"]))
    organizations = dict(zip(frames["organizations"]["org_id"], frames["organizations"]["name"], strict=True))
    rows = []
    for table, column in TIMELINE.items():
        key = primary_key(schemas[table])[0]
        precision = precision_of(schemas[table]).get(column)
        dated = frames[table].dropna(subset=[column]).sort_values(column)
        positions = [_fractional_year(d) for d in dated[column]]
        for record, x, lane in zip(dated.to_dict("records"), positions, _lanes(positions, gap=0.45), strict=True):
            record_id = record[key]
            cited = (field_citation.loc[(table, record_id, column)]
                     if (table, record_id, column) in field_citation.index
                     else first_citation.loc[(table, record_id)] if (table, record_id) in first_citation.index
                     else None)
            when = date_as_known(record[column], record.get(precision) if precision else None)
            name = record_name(table, record, schemas[table], organizations)
            rows.append({
                # one row per lane of a table; the axis names the table on its first lane only
                "row": f"{table.replace('_', ' ') if lane == 0 else ''}|{table}|{lane:02d}",
                "table": table.replace("_", " "), "x": x,
                "label": f"{table} · {record_id}: {name} — {column.replace('_', ' ')} {when}",
                "href": f"sources/{cited['source_id']}.html#{cited['citation_id']}" if cited is not None else None})
    return rows


def _timeline_rows_with_gaps(rows: list[dict]) -> list[str]:
    """The rows of the timeline in TIMELINE's order, with an empty row between two tables."""
    order = sorted({r["row"] for r in rows},
                   key=lambda row: (list(TIMELINE).index(row.split("|")[1]), row.split("|")[2]))
    with_gaps = []
    for row in order:
        if with_gaps and row.split("|")[1] != with_gaps[-1].split("|")[1]:
            with_gaps.append(f"|{row.split('|')[1]}|gap")
        with_gaps.append(row)
    return with_gaps


def record_name(table: str, record: dict, schema: dict, organizations: dict[str, str]) -> str:
    """What a reader calls a record: its title, or what it is about where the table has no title."""
    if isinstance(record.get("title"), str):
        name = record["title"]
    elif table == "court_bans":
        name = f"ban of {organizations.get(record['org_id'], record['org_id'])}"
    elif table == "attacks":
        place = record["city"] if isinstance(record["city"], str) else record["country"]
        name = f"{record['attack_type'].replace('_', ' ')} in {place}"
    elif table == "prosecutions":
        name = "case of " + record["defendants"].replace(list_separator(schema, "defendants"), ", ")
    else:
        name = next((record[c] for c in ("name", "summary") if isinstance(record.get(c), str)), "")
    return shorten(name, NAME_WIDTH)


def attacks_figure(attacks: pd.DataFrame, last_year: int, svgs: SvgCache) -> str:
    """Dated attacks and incidents per year, in Kazakhstan or abroad (attacks.country)."""
    rows = attacks_rows(attacks)
    places = [p for p in PLACES if any(r["place"] == p for r in rows)]
    svg = svgs.draw("attacks by year", [rows, last_year], lambda alt: alt.Chart(
        alt.Data(values=rows), width=WIDTH, height=160).mark_bar(stroke="white", strokeWidth=1).encode(
        x=_year_axis(alt, FIRST_YEAR, last_year + 1), x2="x_end:Q",
        y=alt.Y("top:Q", title="attacks and incidents",
                axis=alt.Axis(format="d", tickMinStep=1, titleFontWeight="normal")),
        y2="bottom:Q",
        color=alt.Color("place:N", scale=alt.Scale(domain=places, range=[PLACES[p] for p in places]),
                        legend=alt.Legend(title=None, orient="top", direction="horizontal")),
        description="label:N"))
    undated = int(attacks["date"].isna().sum())
    return _figure(svg,
                   "Attacks and incidents involving Kazakh nationals, by the year of their date; in Kazakhstan or "
                   "abroad as attacks.country says. Hover a bar for the records and the victims killed where a source "
                   "states the figure." + (f" Not shown, undated: {undated}." if undated else ""))


def attacks_rows(attacks: pd.DataFrame) -> list[dict]:
    """A bar segment per year and place, stacked in PLACES' order, with the records it counts."""
    dated = attacks.dropna(subset=["date"]).assign(
        year=lambda f: f["date"].dt.year,
        place=lambda f: f["country"].map(lambda c: "in Kazakhstan" if c == "KZ" else "abroad" if isinstance(c, str)
                                         else "place not stated"))
    rows, stacked = [], {}
    for (year, place), group in sorted(dated.groupby(["year", "place"]),
                                       key=lambda g: (g[0][0], list(PLACES).index(g[0][1]))):
        killed = group["killed"].dropna()
        victims = f"; {int(killed.sum())} killed where stated" if len(killed) else ""
        bottom = stacked.get(year, 0)
        stacked[year] = bottom + len(group)
        rows.append({"x": int(year), "x_end": int(year) + 1, "bottom": bottom, "top": stacked[year], "place": place,
                     "label": f"{year}, {place}: {len(group)} attack(s) and incident(s) — "
                              f"{', '.join(group['attack_id'])}{victims}"})
    return rows


def statistics_figure(statistics: pd.DataFrame, svgs: SvgCache) -> str:
    """Every statement of a number, one row each, in one panel per unit: a dot at the date of a stock, a bar over
    the years of a flow, labelled with the value as the source states it (in words where it gives no number)."""
    if statistics.empty:
        return "<p>No statistics.</p>"
    rows = statistics_rows(statistics)
    first = int(min(r["x"] for r in rows)) - 1
    last = int(max(r["x_end"] for r in rows)) + 2  # room for the last label
    units = [u for u, _ in sorted(pd.Series([r["unit"] for r in rows]).value_counts().items(),
                                  key=lambda u: (-u[1], u[0]))]
    return _figure(svgs.draw("statistics", [rows, first, last, units],
                             lambda alt: _statistics_chart(alt, rows, first, last, units)),
                   "Each number a source states, one row each, grouped by unit: a dot at the date of a stock "
                   "(“as of”), a bar over the years of a flow. Labels give the value as stated (~ about, ≥ at least, "
                   "&gt; more than, a–b a range, words where the source gives no number); hover a mark for the "
                   "statistic and what it counts.")


def _statistics_chart(alt, rows: list[dict], first: int, last: int, units: list[str]):
    base = alt.Chart(width=WIDTH, height=alt.Step(17)).encode(
        x=_year_axis(alt, first, last),
        # sorted by a field, not by a list of every row: Vega compiles a list into one expression, which overflows
        # its stack at a few thousand rows
        y=alt.Y("row:N", title=None, sort=alt.EncodingSortField("order", op="min"),
                axis=alt.Axis(labelExpr="split(datum.value, '|')[0]", labelFontSize=11, ticks=False, domain=False,
                              # a line above each indicator
                              labelLimit=260, grid=True, bandPosition=0, gridColor="#ddd",
                              gridOpacity={"condition": {"test": "split(datum.value, '|')[0] != ''", "value": 1},
                                           "value": 0})))
    stocks = base.transform_filter("datum.kind == 'stock'").mark_point(filled=True, size=50, color="#1f77b4").encode(
        description="label:N")
    flows = base.transform_filter("datum.kind == 'flow'").mark_bar(height=7, color="#ff7f0e", opacity=0.75).encode(
        x2="x_end:Q", description="label:N")
    labels = base.mark_text(align="left", baseline="middle", dx=6, fontSize=10, aria=False).encode(
        x=_year_axis(alt, first, last, field="x_end"), text="stated:N")
    return alt.layer(stocks, flows, labels, data=alt.Data(values=rows)).facet(
        row=alt.Row("unit:N", sort=units, title=None,
                    header=alt.Header(labelAngle=0, labelOrient="top", labelAnchor="start", labelFontSize=12,
                                      labelFontWeight="bold"))
    ).resolve_scale(y="independent").properties(spacing=14)


def statistics_rows(statistics: pd.DataFrame) -> list[dict]:
    rows = []
    ordered = statistics.assign(start=lambda f: f["reference_date"].dt.year.fillna(f["period_start"]))
    for indicator, group in ordered.sort_values(["indicator", "start", "statistic_id"]).groupby("indicator",
                                                                                               sort=False):
        for i, s in enumerate(group.to_dict("records")):
            stock = not pd.isna(s["reference_date"])
            x = _fractional_year(s["reference_date"]) if stock else float(s["period_start"])
            when = (f"as of {date_as_known(s['reference_date'], s['reference_date_precision'])}" if stock
                    else year_span(int(s["period_start"]), int(s["period_end"])))
            unit = s["unit"].replace("_", " ")
            rows.append({
                # one row per statement; the axis shows the indicator on its first row only
                "row": f"{indicator.replace('_', ' ') if i == 0 else ''}|{s['statistic_id']}",
                "unit": unit, "kind": "stock" if stock else "flow", "x": x,
                "x_end": x if stock else float(s["period_end"]) + 1, "stated": stated_value(s), "order": len(rows),
                "label": f"{s['statistic_id']}: {stated_in_words(s)} — {s['measure']} ({when})"})
    return rows


def stated_value(statistic: dict) -> str:
    """The value as the source states it, short: '~200', '≥200', '500–600', '55%', 'hundreds'."""
    qualifier = statistic["qualifier"]
    if qualifier == "range":
        value = f"{_number(statistic['value_low'])}–{_number(statistic['value_high'])}"
    elif pd.isna(statistic["value"]):  # a vague quantity: the source's words, never a number it does not state
        return qualifier.replace("_", " ")
    else:
        value = QUALIFIER_MARK[qualifier] + _number(statistic["value"])
    return value + ("%" if statistic["unit"] == "per_cent" else "")


def stated_in_words(statistic: dict) -> str:
    """The value with its unit in words: 'about 200 persons', '500–600 persons', '55%', 'hundreds of persons'."""
    qualifier, unit = statistic["qualifier"], statistic["unit"].replace("_", " ")
    if qualifier not in QUALIFIER_MARK and qualifier != "range":  # several, dozens, hundreds …
        words = qualifier.replace("_", " ")
        return f"{words} of {unit}" if words.endswith("s") else f"{words} {unit}"
    number = stated_value(statistic).lstrip("~≥>≤<")
    return QUALIFIER_WORDS.get(qualifier, "") + number + ("" if statistic["unit"] == "per_cent" else f" {unit}")


def render(chart, name: str) -> str:
    """The chart as inline SVG: drawn by vl-convert, then made static by `static_svg`."""
    import vl_convert

    spec = chart.configure(font=FONT).configure_view(stroke=None).to_dict()
    return static_svg(vl_convert.vegalite_to_svg(spec), name)


class SvgCache:
    """The SVG of each figure, kept in a file between runs (not a DVC output: it only saves time) and keyed by what
    the figure is drawn from, so that a figure whose inputs did not change is not drawn again."""

    def __init__(self, path: Path | None):
        self.path, self.used = path, {}
        try:
            self.kept = json.loads(path.read_text(encoding="utf-8")) if path is not None else {}
        except (OSError, ValueError):
            self.kept = {}
        if not isinstance(self.kept, dict) or not all(isinstance(v, str) for v in self.kept.values()):
            self.kept = {}  # not a file this class wrote: draw afresh
        self.loaded = set(self.kept)

    def draw(self, name: str, inputs, chart_of) -> str:
        """The figure's SVG: kept, or drawn with `chart_of(altair)`, rendered and kept."""
        key = hashlib.sha256(json.dumps([name, inputs, _stamp()], sort_keys=True, default=str).encode()).hexdigest()
        if key not in self.kept:
            import altair as alt

            self.kept[key] = render(chart_of(alt), name)
        self.used[key] = self.kept[key]
        return self.used[key]

    def save(self) -> None:
        """Keep the figures of this run only."""
        if self.path is not None and set(self.used) != self.loaded:
            write_json_atomic(self.path, self.used, compact=True)


def _stamp() -> list[str]:
    return [hashlib.sha256(Path(__file__).read_bytes()).hexdigest(), metadata.version("altair"),
            metadata.version("vl-convert-python")]


_LABELLED_MARK = re.compile(r'<(path|rect|circle|line|image)\b([^<>]*?\saria-label="([^"]*)"[^<>]*?)/>')
_REMOTE = re.compile(r'(?:href|src)="(?:[a-z]+:)?//[^"]*"|url\(\s*[\'"]?(?:[a-z]+:)?//[^)]*\)', re.IGNORECASE)


def static_svg(svg: str, name: str) -> str:
    """Give each mark with an aria-label a <title> saying the same (the hover text of a static SVG), and make the
    links vl-convert resolved against its base URL relative again. A chart still pointing off the machine is an
    error: the page must load nothing from the network."""
    svg = svg.replace(f'xlink:href="{VL_CONVERT_BASE_URL}', 'xlink:href="')
    svg = _LABELLED_MARK.sub(lambda m: f"<{m[1]}{m[2]}><title>{m[3]}</title></{m[1]}>", svg)
    remote = _REMOTE.findall(svg)
    if remote:
        raise BuildError("report", [Problem(f"{name} chart", None, None,
                                            "the rendered SVG must point nowhere off the machine; "
                                            f"found {remote[:3]}")])
    return svg


def _figure(svg: str, caption: str) -> str:
    return f"<figure class=chart>{svg}<figcaption class=caption>{caption}</figcaption></figure>"


def _year_axis(alt, first: int, last: int, field: str = "x"):
    """A position in years, from `first` to `last`, labelled every five years."""
    return alt.X(f"{field}:Q", title=None, scale=alt.Scale(domain=[first, last], nice=False, zero=False),
                 axis=alt.Axis(format="d", values=[y for y in range(first, last + 1) if y % 5 == 0 or y == first],
                               labelFontSize=11, grid=True, gridColor="#eee"))


def _fractional_year(date: pd.Timestamp) -> float:
    return date.year + (date.dayofyear - 1) / 366


def _lanes(positions: list[float], gap: float) -> list[int]:
    """A lane for each of the sorted `positions`, the lowest where the last position placed is at least `gap` behind."""
    ends: list[float] = []
    lanes = []
    for position in positions:
        lane = next((k for k, end in enumerate(ends) if position - end >= gap), len(ends))
        ends[lane:lane + 1] = [position]
        lanes.append(lane)
    return lanes


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
