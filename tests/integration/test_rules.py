"""Each rule of pipelines/core/rules.py on the published tables: silent on them, and finding one planted problem.

The rules run in-process on polars frames read as the validate stage reads them (the sources normalized by
the ingest stage of a copy of the project); each test changes a cell or two (or drops or adds rows) and
checks that the rule names the table, record and field.
"""
from __future__ import annotations

import datetime as dt
import inspect

import polars as pl
import pytest

from conftest import copy_project, run_stages
from pipelines.core import rules
from pipelines.core.config import load_config
from pipelines.core.fileio import read_texts
from pipelines.core.rules import RULES, Tables
from pipelines.core.schemas import load_schema, primary_key, read_table


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("rules") / "project")
    assert run_stages(project, ["ingest"]).returncode == 0
    config = load_config(project)
    schemas = {t: load_schema(config.path("schemas_dir"), t) for t in config.all_tables}
    frames = {t: read_table(config.path("data_dir") / f"{t}.csv", schemas[t])[0] for t in config.all_tables}
    texts = read_texts(config.path("ingested_dir"))
    return config, schemas, frames, texts


def tables(built, **frames) -> Tables:
    config, schemas, original, texts = built
    return Tables({**original, **frames}, schemas, config.curated_tables, texts, config.params["validate"], dt.date(2026, 11, 24))


def findings(rule, t: Tables) -> list[tuple]:
    return [(table, record, field) for table, record, field, _ in rule(t)]


def set_cell(built, table: str, record_id: str, column: str, value) -> pl.DataFrame:
    frame = built[2][table]
    (key,) = primary_key(built[1][table])
    assert record_id in frame[key].to_list()
    return frame.with_columns(pl.when(pl.col(key) == record_id).then(pl.lit(value, dtype=frame.schema[column]))
                              .otherwise(pl.col(column)).alias(column))


def first(built, table: str, where=None) -> str:
    frame = built[2][table] if where is None else built[2][table].filter(where)
    return frame[primary_key(built[1][table])[0]][0]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_every_rule_is_silent_on_the_built_tables(built, rule):
    assert findings(rule, tables(built)) == []


def test_every_public_function_taking_tables_is_a_registered_rule():
    """A rule registers where it is defined (@rule): none can be written and then never run."""
    taking_tables = {name for name, function in inspect.getmembers(rules, inspect.isfunction)
                     if function.__module__ == rules.__name__ and not name.startswith("_")
                     and [p.annotation for p in inspect.signature(function).parameters.values()][:1] == ["Tables"]}
    assert taking_tables == {rule.__name__ for rule in RULES}
    assert len(RULES) == len(taking_tables)  # none registered twice


def test_the_rule_decorator_registers_the_function_and_returns_it_unchanged():
    def made_up(t: Tables):
        yield from ()

    try:
        assert rules.rule(made_up) is made_up and RULES[-1] is made_up
    finally:
        RULES.remove(made_up)


def test_a_dangling_foreign_key(built):
    ban = first(built, "court_bans")
    t = tables(built, court_bans=set_cell(built, "court_bans", ban, "org_id", "org-nowhere"))
    assert findings(RULES[0], t) == [("court_bans", ban, "org_id")]


def test_a_record_without_citation_and_citations_of_nothing(built):
    from pipelines.core.rules import citations_point_at_records, every_record_cited

    attack = first(built, "attacks")
    citations = built[2]["citations"]
    orphan = citations.filter(pl.col("record_id") == attack).head(1)
    t = tables(built, citations=pl.concat([
        citations.filter(pl.col("record_id") != attack),
        orphan.with_columns(citation_id=pl.lit("cit-orphan"), record_id=pl.lit("attack-nowhere")),
        orphan.with_columns(citation_id=pl.lit("cit-nofield"), field=pl.lit("no_such_column")).with_columns(
            record_id=pl.lit(first(built, "attacks", pl.col("attack_id") != attack)))]))
    assert ("attacks", attack, None) in findings(every_record_cited, t)
    assert findings(citations_point_at_records, t) == [("citations", "cit-orphan", "record_id"),
                                                       ("citations", "cit-nofield", "field")]


def test_a_quote_off_its_offsets(built):
    from pipelines.core.rules import quotes_at_their_offsets

    citation = first(built, "citations")
    shifted = set_cell(built, "citations", citation, "char_start", int(built[2]["citations"]["char_start"][0]) + 1)
    assert findings(quotes_at_their_offsets, tables(built, citations=shifted)) == [("citations", citation, "char_start")]


def test_a_value_its_citations_do_not_state(built):
    from pipelines.core.rules import values_agree_with_citations

    stated = built[2]["citations"].filter((pl.col("resource") == "attacks") & (pl.col("field") == "killed")
                                          & pl.col("stated_value").is_not_null())
    attack = stated["record_id"][0]
    t = tables(built, attacks=set_cell(built, "attacks", attack, "killed", 999))
    assert findings(values_agree_with_citations, t) == [("attacks", attack, "killed")]


def test_dates_outside_their_precision_or_range(built):
    from pipelines.core.rules import dates_within_precision

    attacks = built[2]["attacks"].filter(pl.col("date").is_not_null())
    a, b, c = attacks["attack_id"][:3]
    frame = set_cell(built, "attacks", a, "date", dt.date(2030, 1, 1))  # after today
    frame = frame.with_columns(  # known to the year, yet not on 1 January
        pl.when(pl.col("attack_id") == b).then(pl.lit("year")).otherwise(pl.col("date_precision")).alias("date_precision"),
        pl.when(pl.col("attack_id") == b).then(pl.lit(dt.date(2011, 5, 17))).otherwise(pl.col("date")).alias("date"))
    frame = frame.with_columns(  # a date without its precision
        pl.when(pl.col("attack_id") == c).then(pl.lit(None, dtype=pl.String)).otherwise(pl.col("date_precision"))
        .alias("date_precision"))
    assert sorted(findings(dates_within_precision, tables(built, attacks=frame))) == sorted(
        [("attacks", a, "date"), ("attacks", b, "date"), ("attacks", c, "date_precision")])


def test_an_organization_of_the_wrong_kind_and_a_banned_group_never_banned(built):
    from pipelines.core.rules import organizations_of_the_right_kind

    bans = built[2]["court_bans"]
    ban, court = bans["ban_id"][0], bans["court_org_id"].drop_nulls()[0]
    organizations = set_cell(built, "organizations", court, "kind", "banned_group")
    found = findings(organizations_of_the_right_kind, tables(built, organizations=organizations))
    assert ("court_bans", ban, "court_org_id") in found and ("organizations", court, "kind") in found


def test_duplicates_under_another_id_and_a_name_shared_by_two_organizations(built):
    from pipelines.core.rules import no_duplicates_under_another_id

    agreements = built[2]["agreements"]
    copy = agreements.head(1).with_columns(agreement_id=pl.lit("agr-zzz-copy"),
                                           title=pl.col("title").str.to_uppercase() + pl.lit("  "))
    organizations = built[2]["organizations"]
    a, b = organizations["org_id"][:2]
    shared = set_cell(built, "organizations", b, "aliases", "  " + organizations["name"][0].upper())
    found = findings(no_duplicates_under_another_id,
                     tables(built, agreements=pl.concat([agreements, copy]), organizations=shared))
    assert ("agreements", "agr-zzz-copy", "title") in found
    assert ("organizations", max(a, b), "aliases") in found


def test_two_records_a_curator_declared_distinct_are_not_duplicates(built):
    from pipelines.core.rules import no_duplicates_under_another_id

    agreements = built[2]["agreements"]
    original = agreements["agreement_id"][0]
    copy = agreements.head(1).with_columns(agreement_id=pl.lit("agr-zzz-copy"))
    found = list(no_duplicates_under_another_id(tables(built, agreements=pl.concat([agreements, copy]))))
    assert [(f[0], f[1]) for f in found] == [("agreements", "agr-zzz-copy")]
    assert f"distinct_from: [{original}]" in found[0][3]  # the message names the way out
    for declared_on, other in (("agr-zzz-copy", original), (original, "agr-zzz-copy")):  # either record may say it
        both = pl.concat([agreements, copy])
        both = both.with_columns(distinct_from=pl.when(pl.col("agreement_id") == declared_on).then(pl.lit(other))
                                 .otherwise(pl.col("distinct_from")))
        assert findings(no_duplicates_under_another_id, tables(built, agreements=both)) == []


def test_a_vague_quantity_carries_no_number(built):
    from pipelines.core.rules import statistics_consistent

    statistic = first(built, "statistics", pl.col("value").is_not_null() & (pl.col("qualifier") != "range"))
    vague = set_cell(built, "statistics", statistic, "qualifier", "hundreds")
    assert findings(statistics_consistent, tables(built, statistics=vague)) == [("statistics", statistic, "value")]
    emptied = vague.with_columns(value=pl.when(pl.col("statistic_id") == statistic).then(None).otherwise(pl.col("value")))
    assert findings(statistics_consistent, tables(built, statistics=emptied)) == []


def test_impossible_dates_are_flagged_and_only_they(built):
    from pipelines.core.rules import impossible_values_flagged

    unflagged = set_cell(built, "agreements", "agr-cis-ct-cooperation-1990", "flag", None)
    assert findings(impossible_values_flagged, tables(built, agreements=unflagged)) == [
        ("agreements", "agr-cis-ct-cooperation-1990", "flag")]
    sco = set_cell(built, "agreements", "agr-sco-membership", "flag", "before_framework_existed")
    assert findings(impossible_values_flagged, tables(built, agreements=sco)) == [("agreements", "agr-sco-membership", "flag")]
    case = first(built, "prosecutions", pl.col("attack_id").is_not_null() & pl.col("verdict_date").is_not_null())
    early = set_cell(built, "prosecutions", case, "verdict_date", dt.date(1995, 1, 1))
    assert findings(impossible_values_flagged, tables(built, prosecutions=early)) == [("prosecutions", case, "flag")]
    law, amended = built[2]["laws"].filter(pl.col("amends_law_id").is_not_null()).select("law_id", "amends_law_id").row(0)
    later = built[2]["laws"].with_columns(
        adopted=pl.when(pl.col("law_id") == amended).then(pl.lit(dt.date(2026, 1, 1))).otherwise(pl.col("adopted")))
    assert findings(impossible_values_flagged, tables(built, laws=later)) == [("laws", law, "flag")]
    silent = set_cell(built, "agreements", "agr-cis-ct-cooperation-1990", "note", None)
    assert findings(impossible_values_flagged, tables(built, agreements=silent)) == [
        ("agreements", "agr-cis-ct-cooperation-1990", "note")]


def test_text_that_a_spreadsheet_would_run_or_that_holds_a_control_character(built):
    from pipelines.core.rules import text_cells_safe

    a, b = built[2]["attacks"]["attack_id"][:2]
    frame = set_cell(built, "attacks", a, "note", "=HYPERLINK(\"x\")")
    frame = frame.with_columns(pl.when(pl.col("attack_id") == b).then(pl.lit("a\x07bell")).otherwise(pl.col("summary"))
                               .alias("summary"))
    assert sorted(findings(text_cells_safe, tables(built, attacks=frame))) == [("attacks", a, "note"), ("attacks", b, "summary")]
