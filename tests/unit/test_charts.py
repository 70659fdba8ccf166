import json
import re

import pandas as pd
import pytest

from pipelines.core import charts
from pipelines.core.errors import BuildError


def statistic(**cells):
    row = {"statistic_id": "stat-x", "measure": "m", "value": None, "value_low": None, "value_high": None,
           "unit": "persons", "reference_date": pd.Timestamp("2017-02-01"), "reference_date_precision": "month",
           "period_start": None, "period_end": None}
    return row | cells


@pytest.mark.parametrize("cells, short, words", [
    ({"qualifier": "hundreds"}, "hundreds", "hundreds of persons"),
    ({"qualifier": "several_hundred"}, "several hundred", "several hundred persons"),
    ({"qualifier": "range", "value_low": 500.0, "value_high": 600.0}, "500–600", "500–600 persons"),
    ({"qualifier": "at_least", "value": 200.0}, "≥200", "at least 200 persons"),
    ({"qualifier": "approximately", "value": 5000.0}, "~5,000", "about 5,000 persons"),
    ({"qualifier": "more_than", "value": 55.0, "unit": "per_cent"}, ">55%", "more than 55%"),
    ({"qualifier": "exact", "value": 6.5, "unit": "per_cent"}, "6.5%", "6.5%"),
])
def test_a_value_reads_as_stated_and_a_vague_quantity_in_words(cells, short, words):
    assert charts.stated_value(statistic(**cells)) == short
    assert charts.stated_in_words(statistic(**cells)) == words


def test_statistics_rows_name_the_statistic_its_value_and_when_and_a_one_year_flow_reads_one_year():
    frame = pd.DataFrame([
        statistic(statistic_id="stat-a", indicator="ind", qualifier="hundreds"),
        statistic(statistic_id="stat-b", indicator="ind", qualifier="exact", value=198.0, unit="materials",
                  reference_date=pd.NaT, reference_date_precision=None, period_start=2014, period_end=2014)])
    rows = {r["label"].split(":")[0]: r for r in charts.statistics_rows(frame)}
    assert rows["stat-a"]["label"] == "stat-a: hundreds of persons — m (as of February 2017)"
    assert rows["stat-b"]["label"] == "stat-b: 198 materials — m (2014)"
    assert rows["stat-b"]["x"] == 2014 and rows["stat-b"]["x_end"] == 2015 and rows["stat-b"]["kind"] == "flow"
    assert [r["row"].split("|")[0] for r in charts.statistics_rows(frame)] == ["ind", ""]  # indicator on its first row


def test_marks_closer_than_the_gap_take_separate_lanes():
    assert charts._lanes([2004.8, 2004.8, 2004.8, 2005.0, 2006.0], gap=0.45) == [0, 1, 2, 3, 0]


def test_every_timeline_mark_names_its_record_and_links_to_the_citation_of_its_date():
    frames = {t: pd.DataFrame({"x": [], column: pd.to_datetime([])}) for t, column in charts.TIMELINE.items()}
    schemas = {t: {"fields": [], "primaryKey": ["x"]} for t in charts.TIMELINE}
    frames["laws"] = pd.DataFrame({"law_id": ["law-a", "law-b"], "title": ["On A", "On B"],
                                   "adopted": pd.to_datetime(["1999-07-13", "2002-01-01"]),
                                   "adopted_precision": ["day", "year"]})
    schemas["laws"] = {"primaryKey": ["law_id"], "fields": [{"name": "law_id", "type": "string"},
                       {"name": "adopted", "type": "date"}, {"name": "adopted_precision", "type": "string"}]}
    frames["organizations"] = pd.DataFrame({"org_id": [], "name": []})
    frames["citations"] = pd.DataFrame({
        "citation_id": ["cit-title-a", "cit-date-a", "cit-title-b"], "resource": ["laws"] * 3,
        "record_id": ["law-a", "law-a", "law-b"], "field": ["title", "adopted", None],
        "source_id": ["src-1", "src-2", "src-3"]})
    rows = charts.timeline_rows(frames, schemas)
    assert [(r["label"], r["href"]) for r in rows] == [
        ("laws · law-a: On A — adopted 13 July 1999", "sources/src-2.html#cit-date-a"),  # the date's own citation
        ("laws · law-b: On B — adopted 2002", "sources/src-3.html#cit-title-b")]  # else the record's first


SVG = ('<svg xmlns:xlink="http://www.w3.org/1999/xlink"><a xlink:href="https://vega.github.io/vega-datasets/sources/s.html#cit-1">'
       '<path aria-label="laws · law-a: On &quot;A&quot;" role="graphics-symbol" d="M0,0"/></a>'
       '<g aria-label="X-axis"><text>1990</text></g></svg>')


def test_the_post_step_gives_each_labelled_mark_a_title_and_makes_links_relative():
    svg = charts.static_svg(SVG, "timeline")
    assert '<a xlink:href="sources/s.html#cit-1">' in svg
    assert re.search(r'<path aria-label="([^"]*)"[^>]*><title>\1</title></path>', svg)
    assert '<g aria-label="X-axis"><text>1990</text></g>' in svg  # groups and axes are left alone


@pytest.mark.parametrize("remote", ['<a xlink:href="https://example.org/x">', '<image href="//cdn.example.org/a.png"/>',
                                    '<style>@font-face{src:url(https://fonts.example.org/a.woff)}</style>'])
def test_a_chart_pointing_off_the_machine_stops_the_build(remote):
    with pytest.raises(BuildError) as error:
        charts.static_svg(SVG.replace("</svg>", remote + "</svg>"), "timeline")
    assert "timeline chart" in error.value.report() and "example.org" in error.value.report()


def test_render_draws_an_altair_chart_to_static_svg():
    import altair as alt

    chart = alt.Chart(alt.Data(values=[{"x": 1, "label": "one & only",
                                        "href": "sources/s.html#c"}])).mark_point().encode(
        x="x:Q", description="label:N", href="href:N")
    svg = charts.render(chart, "test")
    assert svg.startswith("<svg") and "<title>one &amp; only</title>" in svg and 'xlink:href="sources/s.html#c"' in svg
    assert "vega.github.io" not in svg and 'font-family="sans-serif"' in svg


def test_a_figure_whose_inputs_did_not_change_is_not_drawn_again(tmp_path):
    drawn = []

    def chart_of(alt):
        drawn.append(1)
        return alt.Chart(alt.Data(values=[{"x": 1, "label": "a"}])).mark_point().encode(x="x:Q", description="label:N")

    path = tmp_path / "charts-cache.json"
    first = charts.SvgCache(path)
    svg = first.draw("test", [[{"x": 1}], 2020], chart_of)
    first.draw("other", [[{"x": 2}], 2020], chart_of)
    first.save()
    assert len(drawn) == 2 and "<svg" in svg
    again = charts.SvgCache(path)
    assert again.draw("test", [[{"x": 1}], 2020], chart_of) == svg and len(drawn) == 2  # from the file, not drawn
    again.draw("test", [[{"x": 1}], 2021], chart_of)  # other inputs: drawn
    assert len(drawn) == 3
    again.save()
    assert len(json.loads(path.read_text(encoding="utf-8"))) == 2  # only this run's figures are kept


def test_a_cache_file_of_the_wrong_shape_is_a_fresh_start(tmp_path):
    path = tmp_path / "charts-cache.json"
    for content in ("[]", '{"key": 1}', "not json"):
        path.write_text(content, encoding="utf-8")
        assert charts.SvgCache(path).kept == {}
