"""Each rule of pipelines/core/rules.py on the published tables: silent on them, and finding each planted problem.

The rules run in-process on polars frames read as the validate stage reads them (the sources normalized by
the ingest stage of a copy of the project); each test changes a cell or two (or drops or adds rows) and
checks that the rule names the table, record and field, and says what is wrong. Every branch of every rule
that yields a problem has a planted failure here; where a rule also accepts something (a justified flag, a
declared distinction, a partial date that agrees), a test shows it stays silent there. `plants` records which
rules each test plants a failure for, and the last test checks that every registered rule has one.
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

TODAY = dt.date(2026, 11, 24)
PLANTED: dict[str, list[str]] = {}  # rule name -> the tests that plant a failure it must find


def plants(*planted_in):
    """Marks a test as planting a failure that each of these rules must find."""
    def mark(test):
        for rule in planted_in:
            PLANTED.setdefault(rule.__name__, []).append(test.__name__)
        return test
    return mark


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
    return Tables({**original, **frames}, schemas, config.curated_tables, texts, config.params["validate"], TODAY)


def findings(rule, t: Tables) -> list[tuple]:
    return [(table, record, field) for table, record, field, _ in rule(t)]


def assert_finds(rule, t: Tables, *expected: tuple) -> None:
    """The rule yields exactly the expected problems, in any order: each (table, record id, field, words its
    message holds)."""
    found = sorted(rule(t), key=lambda f: repr(f[:3]))
    expected = sorted(expected, key=lambda e: repr(e[:3]))
    assert [f[:3] for f in found] == [e[:3] for e in expected], found
    for (*_, message), (*_, words) in zip(found, expected, strict=True):
        assert words in message, f"{words!r} not in {message!r}"


def set_cells(built, table: str, record_id: str, frame: pl.DataFrame | None = None, **cells) -> pl.DataFrame:
    """The table (or `frame`, an already changed copy of it) with some cells of one record set."""
    frame = built[2][table] if frame is None else frame
    (key,) = primary_key(built[1][table])
    assert record_id in frame[key].to_list()
    return frame.with_columns(pl.when(pl.col(key) == record_id).then(pl.lit(value, dtype=frame.schema[column]))
                              .otherwise(pl.col(column)).alias(column) for column, value in cells.items())


def first(built, table: str, where=None) -> str:
    frame = built[2][table] if where is None else built[2][table].filter(where)
    return frame[primary_key(built[1][table])[0]][0]


@pytest.mark.parametrize("rule", rules.RULES, ids=lambda rule: rule.__name__)
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


# --- references: foreign keys, citations, quotes, values ------------------------------------------------------

@plants(rules.foreign_keys_exist)
def test_a_dangling_foreign_key_and_an_empty_one(built):
    ban = first(built, "court_bans", pl.col("court_org_id").is_not_null())
    t = tables(built, court_bans=set_cells(built, "court_bans", ban, org_id="org-nowhere"))
    assert_finds(rules.foreign_keys_exist, t,
                 ("court_bans", ban, "org_id", "'org-nowhere' is not a organizations.org_id"))
    empty = set_cells(built, "court_bans", ban, court_org_id=None)  # refers to nothing: not dangling
    assert_finds(rules.foreign_keys_exist, tables(built, court_bans=empty))


@plants(rules.every_record_cited, rules.citations_point_at_records)
def test_a_record_without_citation_and_citations_of_nothing(built):
    attack = first(built, "attacks")
    other = first(built, "attacks", pl.col("attack_id") != attack)
    citations = built[2]["citations"]
    orphan = citations.filter(pl.col("record_id") == attack).head(1)
    t = tables(built, citations=pl.concat([
        citations.filter(pl.col("record_id") != attack),
        orphan.with_columns(citation_id=pl.lit("cit-orphan"), record_id=pl.lit("attack-nowhere")),
        orphan.with_columns(citation_id=pl.lit("cit-nofield"), record_id=pl.lit(other), field=pl.lit("no_such_column")),
        orphan.with_columns(citation_id=pl.lit("cit-derived"), record_id=pl.lit(other), field=pl.lit("latitude"))]))
    assert_finds(rules.every_record_cited, t, ("attacks", attack, None, "has no citation"))
    assert_finds(rules.citations_point_at_records, t,
                 ("citations", "cit-orphan", "record_id", "no record 'attack-nowhere' in attacks"),
                 ("citations", "cit-nofield", "field", "attacks has no column 'no_such_column'"),
                 ("citations", "cit-derived", "field", "attacks.latitude is derived, not stated"))


@plants(rules.quotes_at_their_offsets)
def test_a_quote_off_its_offsets(built):
    citation = first(built, "citations")
    shifted = set_cells(built, "citations", citation, char_start=int(built[2]["citations"]["char_start"][0]) + 1)
    assert_finds(rules.quotes_at_their_offsets, tables(built, citations=shifted),
                 ("citations", citation, "char_start", "is not the quote"))


@plants(rules.values_agree_with_citations)
def test_a_value_its_citations_do_not_state_or_an_empty_one(built):
    stated = built[2]["citations"].filter((pl.col("resource") == "attacks") & (pl.col("field") == "killed")
                                          & pl.col("stated_value").is_not_null())
    attack = stated["record_id"][0]
    wrong = set_cells(built, "attacks", attack, killed=999)
    assert_finds(rules.values_agree_with_citations, tables(built, attacks=wrong),
                 ("attacks", attack, "killed", "is '999', but its citations state"))
    empty = set_cells(built, "attacks", attack, killed=None)
    assert_finds(rules.values_agree_with_citations, tables(built, attacks=empty),
                 ("attacks", attack, "killed", "is empty, but sources state"))


def test_a_date_known_less_precisely_than_its_citation_states_still_agrees(built):
    stated = built[2]["citations"].filter((pl.col("resource") == "attacks") & (pl.col("field") == "date")
                                          & (pl.col("stated_value").str.len_chars() == 10))
    attack, day = stated.select("record_id", "stated_value").row(0)
    day = dt.date.fromisoformat(day)
    month = set_cells(built, "attacks", attack, date=day.replace(day=1), date_precision="month")
    assert_finds(rules.values_agree_with_citations, tables(built, attacks=month))
    other_month = set_cells(built, "attacks", attack, date=day.replace(day=1, month=day.month % 12 + 1),
                            date_precision="month")
    assert_finds(rules.values_agree_with_citations, tables(built, attacks=other_month),
                 ("attacks", attack, "date", "but its citations state"))


# --- cells of one row: derived columns, dates, periods --------------------------------------------------------

@plants(rules.derived_cells_together)
def test_coordinates_are_derived_whole_or_not_at_all(built):
    attack = first(built, "attacks", pl.col("latitude").is_not_null())
    half = set_cells(built, "attacks", attack, latitude=None)
    assert_finds(rules.derived_cells_together, tables(built, attacks=half),
                 ("attacks", attack, "latitude,longitude,geonames_id,coordinates_derived_from",
                  "derived from the gazetteer together"))
    none = set_cells(built, "attacks", attack, latitude=None, longitude=None, geonames_id=None,
                     coordinates_derived_from=None)
    assert_finds(rules.derived_cells_together, tables(built, attacks=none))


@plants(rules.dates_within_precision)
@pytest.mark.parametrize("date, precision, field, words", [
    (dt.date(2030, 1, 1), "day", "date", f"2030-01-01 is outside 1900-01-01..{TODAY}"),
    (dt.date(1899, 12, 31), "day", "date", "1899-12-31 is outside 1900-01-01"),
    (dt.date(2011, 5, 17), "month", "date", "2011-05-17 is not the first day of its month"),
    (dt.date(2011, 5, 17), "year", "date", "2011-05-17 is not the first day of its year"),
    (dt.date(2011, 5, 1), "year", "date", "2011-05-01 is not the first day of its year"),
    (dt.date(2011, 5, 1), None, "date_precision", "date and its precision must be both set or both empty"),
    (None, "day", "date_precision", "date and its precision must be both set or both empty"),
])
def test_a_date_outside_its_precision_or_range(built, date, precision, field, words):
    attack = first(built, "attacks")
    frame = set_cells(built, "attacks", attack, date=date, date_precision=precision)
    assert_finds(rules.dates_within_precision, tables(built, attacks=frame), ("attacks", attack, field, words))


@pytest.mark.parametrize("date, precision", [(dt.date(2011, 5, 1), "month"), (dt.date(2011, 1, 1), "year"),
                                             (TODAY, "day"), (None, None)])
def test_a_date_on_the_first_day_of_its_precision_passes(built, date, precision):
    frame = set_cells(built, "attacks", first(built, "attacks"), date=date, date_precision=precision)
    assert_finds(rules.dates_within_precision, tables(built, attacks=frame))


@plants(rules.periods_in_order)
def test_a_reversed_period_and_a_budget_outside_its_programme(built):
    budget, programme = built[2]["budgets"].select("budget_id", "programme_id").row(0)
    programmes = built[2]["programmes"].filter(pl.col("programme_id") == programme)
    start, end = programmes.select("period_start", "period_end").row(0)
    reversed_ = set_cells(built, "programmes", programme, period_end=start - 1)
    assert_finds(rules.periods_in_order, tables(built, programmes=reversed_),
                 ("programmes", programme, "period_end", f"period ends ({start - 1}) before it starts ({start})"),
                 ("budgets", budget, "period_start", "lies outside its programme's"))  # the budget now ends after it
    for period in ((start - 1, end), (start, end + 1)):
        outside = set_cells(built, "budgets", budget, period_start=period[0], period_end=period[1])
        assert_finds(rules.periods_in_order, tables(built, budgets=outside), ("budgets", budget, "period_start",
                     f"budget period {period[0]}-{period[1]} lies outside its programme's {start}-{end}"))
    inside = set_cells(built, "budgets", budget, period_start=start, period_end=start)
    assert_finds(rules.periods_in_order, tables(built, budgets=inside))


# --- organizations and duplicates -----------------------------------------------------------------------------

@plants(rules.organizations_of_the_right_kind)
def test_an_organization_of_the_wrong_kind_and_a_banned_group_never_banned(built):
    ban, banned = built[2]["court_bans"].filter(pl.col("court_org_id").is_not_null()).select("ban_id", "org_id").row(0)
    wrong = set_cells(built, "court_bans", ban, court_org_id=banned)
    assert_finds(rules.organizations_of_the_right_kind, tables(built, court_bans=wrong),
                 ("court_bans", ban, "court_org_id",
                  f"{banned!r} is of kind 'banned_group'; expected one of ['court']"))
    unbanned = built[2]["court_bans"].filter(pl.col("org_id") != banned)
    assert_finds(rules.organizations_of_the_right_kind, tables(built, court_bans=unbanned),
                 ("organizations", banned, "kind", "is banned_group, but no court_bans row bans it"))


@plants(rules.no_duplicates_under_another_id)
def test_duplicates_under_another_id_and_a_name_shared_by_two_organizations(built):
    agreements = built[2]["agreements"]
    original = agreements["agreement_id"][0]
    copy = agreements.head(1).with_columns(agreement_id=pl.lit("agr-zzz-copy"),
                                           title=pl.col("title").str.to_uppercase() + pl.lit("  "))
    organizations = built[2]["organizations"]
    a, b = organizations["org_id"][:2]
    shared = set_cells(built, "organizations", b, aliases="  " + organizations["name"][0].upper())
    assert_finds(rules.no_duplicates_under_another_id,
                 tables(built, agreements=pl.concat([agreements, copy]), organizations=shared),
                 ("agreements", "agr-zzz-copy", "title", f"as {original!r}: a duplicate under another id?"),
                 ("organizations", max(a, b), "aliases", f"also names {min(a, b)!r}"))


def test_two_records_a_curator_declared_distinct_are_not_duplicates(built):
    agreements = built[2]["agreements"]
    original = agreements["agreement_id"][0]
    copy = agreements.head(1).with_columns(agreement_id=pl.lit("agr-zzz-copy"))
    both = pl.concat([agreements, copy])
    assert_finds(rules.no_duplicates_under_another_id, tables(built, agreements=both),  # the message names the way out
                 ("agreements", "agr-zzz-copy", "title", f"distinct_from: [{original}]"))
    for declared_on, other in (("agr-zzz-copy", original), (original, "agr-zzz-copy")):  # either record may say it
        declared = set_cells(built, "agreements", declared_on, frame=both, distinct_from=other)
        assert_finds(rules.no_duplicates_under_another_id, tables(built, agreements=declared))


# --- money ----------------------------------------------------------------------------------------------------

@plants(rules.usd_conversions_flagged)
@pytest.mark.parametrize("cells, field, words", [
    ({"flag": None}, "flag", "is implausible for 2013-2017 (reference 152.1-342.2); flag must be implausible_usd"),
    ({"amount_usd_stated": 1e8 / 200}, "flag", "implied rate 200.0 KZT/USD is plausible for 2013-2017"),
    ({"amount_usd_stated": None}, "flag", "flags a conversion, but no dollar figure is stated"),
    ({"currency": "EUR"}, "currency", "no reference rate for EUR in params.yaml"),
    ({"period_start": 1990, "period_end": 1991}, "period_start", "no reference KZT rate for the period"),
])
def test_a_dollar_figure_flagged_as_its_rate_deserves(built, cells, field, words):
    budget = first(built, "budgets")
    implausible = {"amount": 1e8, "currency": "KZT", "amount_usd_stated": 1e8 / 2500, "period_start": 2013,
                   "period_end": 2017, "flag": "implausible_usd_conversion"}
    flagged = set_cells(built, "budgets", budget, **implausible)
    assert_finds(rules.usd_conversions_flagged, tables(built, budgets=flagged))
    changed = set_cells(built, "budgets", budget, **{**implausible, **cells})
    assert_finds(rules.usd_conversions_flagged, tables(built, budgets=changed), ("budgets", budget, field, words))


def test_a_plausible_dollar_figure_or_none_needs_no_flag(built):
    budget = first(built, "budgets")
    for usd in (1e8 / 200, None):
        plain = set_cells(built, "budgets", budget, amount=1e8, currency="KZT", amount_usd_stated=usd,
                          period_start=2013, period_end=2017, flag=None)
        assert_finds(rules.usd_conversions_flagged, tables(built, budgets=plain))


# --- text and lists -------------------------------------------------------------------------------------------

@plants(rules.text_cells_safe)
def test_text_that_a_spreadsheet_would_run_or_that_holds_a_control_character(built):
    a, b = built[2]["attacks"]["attack_id"][:2]
    frame = set_cells(built, "attacks", a, note="=HYPERLINK(\"x\")")
    frame = set_cells(built, "attacks", b, frame=frame, summary="a\x07bell")
    assert_finds(rules.text_cells_safe, tables(built, attacks=frame),
                 ("attacks", a, "note", "starts with one of"), ("attacks", b, "summary", "holds a control character"))


@plants(rules.list_references_exist)
def test_an_id_inside_a_list_column_that_names_nothing(built):
    case = first(built, "prosecutions")
    provision = first(built, "legal_provisions")
    dangling = set_cells(built, "prosecutions", case, provision_ids=f"{provision}|prov-nowhere")
    assert_finds(rules.list_references_exist, tables(built, prosecutions=dangling),
                 ("prosecutions", case, "provision_ids", "'prov-nowhere' is not a legal_provisions.provision_id"))
    existing = set_cells(built, "prosecutions", case, provision_ids=provision)
    assert_finds(rules.list_references_exist, tables(built, prosecutions=existing))


# --- entities: each cell that names one stands in a quote of its record ------------------------------------

AKTOBE = "attack-2016-aktobe"
KZ_UZ = "agr-bilateral-kz-uz-march-2017-documents"


def requoted(built, record_id: str, field: str | None, quote: str, **cells) -> pl.DataFrame:
    """The citations with the quote (and other cells) of the record's citation of `field` replaced."""
    citations = built[2]["citations"]
    field_is = pl.col("field").is_null() if field is None else pl.col("field") == field
    citation = first(built, "citations", (pl.col("record_id") == record_id) & field_is)
    return set_cells(built, "citations", citation, frame=citations, quote=quote, **cells)


@plants(rules.entities_named_by_quotes)
@pytest.mark.parametrize("table, record_id, cells, expected", [
    ("attacks", AKTOBE, {"city": "Atlantis"}, [("city", "'Atlantis' is named in none of the record's quotes, "
                                                        "which name countries 'Kazakhstan'")]),
    ("attacks", AKTOBE, {"perpetrator": "John Doe"}, [("perpetrator", "'John Doe' is named in none of the record's "
                                                                      "quotes, which name city 'Aktobe'")]),
    ("court_bans", "ban-asbat-al-ansar", {"org_id": "taliban"},
     [("org_id", "'taliban' (Taliban) is named in none of the record's quotes, which name countries 'Kazakhstan'; "
                 "organizations 'Asbat al-Ansar'")]),
    ("agreements", KZ_UZ, {"parties": "Turkmenistan"}, [("parties", "'Turkmenistan' is named in none")]),
], ids=["place", "person", "organization", "party"])
def test_an_entity_no_quote_of_its_record_names_is_refused(built, table, record_id, cells, expected):
    frame = set_cells(built, table, record_id, **cells)
    assert_finds(rules.entities_named_by_quotes, tables(built, **{table: frame}),
                 *[(table, record_id, field, words) for field, words in expected])


def test_a_list_cell_with_one_item_no_quote_names_is_refused_for_that_item(built):
    case = "case-2016-almaty-kulikbayev"
    frame = set_cells(built, "prosecutions", case, defendants="Ruslan Kulikbayev|John Doe")
    assert_finds(rules.entities_named_by_quotes, tables(built, prosecutions=frame),
                 ("prosecutions", case, "defendants", "'John Doe' (an item of 'Ruslan Kulikbayev|John Doe') is named"))


def test_a_name_in_capitals_must_stand_in_capitals(built):
    """ISIL's alias "IS" does not name it in "it is banned"; "the so-called IS" does."""
    ban = "ban-asbat-al-ansar"
    frame = set_cells(built, "court_bans", ban, org_id="isil")
    lower = requoted(built, ban, None, "Asbat al-Ansar; it is banned")
    assert_finds(rules.entities_named_by_quotes, tables(built, court_bans=frame, citations=lower),
                 ("court_bans", ban, "org_id", "'isil' (Islamic State of Iraq and the Levant) is named in none"))
    capitals = requoted(built, ban, None, "the so-called IS")
    assert_finds(rules.entities_named_by_quotes, tables(built, court_bans=frame, citations=capitals))


@pytest.mark.parametrize("table, record_id, cells, field, quote", [
    ("attacks", AKTOBE, {"city": "aktobe"}, None, None),  # any case (a name in capitals is an acronym)
    ("court_bans", "ban-asbat-al-ansar", {"org_id": "isil"}, None, "the so-called ISIS;"),  # an alias
    ("agreements", KZ_UZ, {}, "parties", "Uzbek President Shavkat Mirziyoyev"),  # a country's adjective
    ("agreements", "agr-sco-antiterror-unit-training", {"parties": "SCO member states"}, None, None),  # the SCO named
], ids=["case", "alias", "adjective", "organization-held"])
def test_an_entity_a_quote_names_by_name_alias_or_adjective_passes(built, table, record_id, cells, field, quote):
    frames = {table: set_cells(built, table, record_id, **cells)}
    if quote:
        frames["citations"] = requoted(built, record_id, field, quote)
    assert_finds(rules.entities_named_by_quotes, tables(built, **frames))


def test_an_entity_no_quote_names_passes_with_an_inference_on_its_field(built):
    frame = set_cells(built, "attacks", AKTOBE, city="Aktyubinsk")
    assert_finds(rules.entities_named_by_quotes, tables(built, attacks=frame),
                 ("attacks", AKTOBE, "city", "'Aktyubinsk' is named in none"))
    citations = built[2]["citations"]
    inferred = citations.filter(pl.col("record_id") == AKTOBE).head(1).with_columns(
        citation_id=pl.lit("cit-inferred"), field=pl.lit("city"), inference=pl.lit("Aktyubinsk, Aktobe's older name"))
    with_inference = tables(built, attacks=frame, citations=pl.concat([citations, inferred]))
    assert_finds(rules.entities_named_by_quotes, with_inference)


# --- statistics, prosecutions, provisions ---------------------------------------------------------------------

A_STOCK = {"value": 10.0, "value_low": None, "value_high": None, "qualifier": "exact",
           "reference_date": dt.date(2015, 1, 1), "reference_date_precision": "year", "period_start": None,
           "period_end": None, "flag": None}


@plants(rules.statistics_consistent)
@pytest.mark.parametrize("cells, expected", [
    ({"qualifier": "range"}, [("qualifier", "qualifier is range: value_low and value_high must both be given")]),
    ({"qualifier": "hundreds"}, [("value", "the qualifier is a vague quantity in words")]),
    ({"qualifier": "several", "value": None, "value_low": 3.0}, [("value", "the qualifier is a vague quantity")]),
    ({"value": None}, [("qualifier", "qualifier is not range: value must be given")]),
    ({"value_low": 20.0, "value_high": 30.0}, [("qualifier", "qualifier is not range: value must be given and"),
                                               ("value", "value lies outside value_low..value_high")]),
    ({"qualifier": "range", "value": None, "value_low": 30.0, "value_high": 20.0},
     [("flag", "value_low is above value_high: record it as stated with flag reversed_range")]),
    ({"flag": "reversed_range"}, [("flag", "flag is reversed_range, but value_low is not above value_high")]),
    ({"reference_date": None, "reference_date_precision": None},
     [("reference_date", "a statistic needs a reference date (a stock) or a period (a flow)")]),
    ({"period_start": 2015}, [("period_end", "a period needs both period_start and period_end")]),
])
def test_a_statistic_whose_values_bounds_and_qualifier_disagree(built, cells, expected):
    statistic = first(built, "statistics")
    changed = set_cells(built, "statistics", statistic, **{**A_STOCK, **cells})
    assert_finds(rules.statistics_consistent, tables(built, statistics=changed),
                 *[("statistics", statistic, field, words) for field, words in expected])


@pytest.mark.parametrize("cells", [
    {}, {"qualifier": "at_least"}, {"qualifier": "thousands", "value": None},
    {"qualifier": "range", "value": None, "value_low": 20.0, "value_high": 30.0},
    {"qualifier": "range", "value": None, "value_low": 30.0, "value_high": 20.0, "flag": "reversed_range"},
    {"reference_date": None, "reference_date_precision": None, "period_start": 2014, "period_end": 2015},
])
def test_a_statistic_that_tells_one_story_passes(built, cells):
    statistic = first(built, "statistics")
    changed = set_cells(built, "statistics", statistic, **{**A_STOCK, **cells})
    assert_finds(rules.statistics_consistent, tables(built, statistics=changed))


@plants(rules.prosecutions_consistent)
def test_more_defendants_named_than_tried_and_a_term_without_a_prison_sentence(built):
    case = first(built, "prosecutions")
    plain = {"defendants": "A|B", "defendant_count": 2, "sentence_type": "imprisonment", "sentence_years": 5.0}
    tried = set_cells(built, "prosecutions", case, **plain)
    assert_finds(rules.prosecutions_consistent, tables(built, prosecutions=tried))
    named = set_cells(built, "prosecutions", case, **{**plain, "defendants": "A|B|C"})
    assert_finds(rules.prosecutions_consistent, tables(built, prosecutions=named),
                 ("prosecutions", case, "defendant_count", "3 defendants are named, but defendant_count is 2"))
    for kind in ("death", None):
        term = set_cells(built, "prosecutions", case, **{**plain, "sentence_type": kind})
        assert_finds(rules.prosecutions_consistent, tables(built, prosecutions=term),
                     ("prosecutions", case, "sentence_years", f"a term in years does not fit sentence_type {kind!r}"))


@plants(rules.provision_successors_consistent)
def test_a_successor_in_the_same_act_and_a_shared_successor_flagged_or_not(built):
    provisions = built[2]["legal_provisions"]
    claims = provisions.filter(pl.col("successor_provision_id").is_not_null() & pl.col("flag").is_null())
    (a, law, successor), (b, *_) = claims.select("provision_id", "law_id", "successor_provision_id").rows()[:2]
    same_act = set_cells(built, "legal_provisions", successor, law_id=law)
    assert_finds(rules.provision_successors_consistent, tables(built, legal_provisions=same_act),
                 ("legal_provisions", a, "successor_provision_id", "the successor belongs to the same act"))
    shared = set_cells(built, "legal_provisions", b, successor_provision_id=successor)
    assert_finds(rules.provision_successors_consistent, tables(built, legal_provisions=shared),
                 ("legal_provisions", a, "flag", "names the same successor: flag it shared_successor"),
                 ("legal_provisions", b, "flag", "another provision names the same successor"))
    for flagged in (a, b):
        shared = set_cells(built, "legal_provisions", flagged, frame=shared, flag="shared_successor")
    assert_finds(rules.provision_successors_consistent, tables(built, legal_provisions=shared))
    alone = set_cells(built, "legal_provisions", a, flag="shared_successor")
    assert_finds(rules.provision_successors_consistent, tables(built, legal_provisions=alone),
                 ("legal_provisions", a, "flag", "flag is shared_successor, but no other provision names it"))


# --- impossible values ----------------------------------------------------------------------------------------

@plants(rules.impossible_values_flagged)
def test_impossible_dates_are_flagged_and_only_they(built):
    unflagged = set_cells(built, "agreements", "agr-cis-ct-cooperation-1990", flag=None)
    assert_finds(rules.impossible_values_flagged, tables(built, agreements=unflagged),
                 ("agreements", "agr-cis-ct-cooperation-1990", "flag",
                  ("signed before its framework existed (signed 1990-01-01 (year), CIS founded 1991-12-08): record it "
                   "as stated with flag before_framework_existed")))
    sco = set_cells(built, "agreements", "agr-sco-membership", flag="before_framework_existed")
    assert_finds(rules.impossible_values_flagged, tables(built, agreements=sco),
                 ("agreements", "agr-sco-membership", "flag",
                  "flag is before_framework_existed, but the rule does not find it signed before its framework"))
    case = first(built, "prosecutions", pl.col("attack_id").is_not_null() & pl.col("verdict_date").is_not_null())
    early = set_cells(built, "prosecutions", case, verdict_date=dt.date(1995, 1, 1))
    assert_finds(rules.impossible_values_flagged, tables(built, prosecutions=early),
                 ("prosecutions", case, "flag", "the verdict is dated before its attack"))
    amending = built[2]["laws"].filter(pl.col("amends_law_id").is_not_null())
    law, amended = amending.select("law_id", "amends_law_id").row(0)
    later = set_cells(built, "laws", amended, adopted=dt.date(2026, 1, 1), adopted_precision="day")
    assert_finds(rules.impossible_values_flagged, tables(built, laws=later),
                 ("laws", law, "flag", "adopted before the act it amends"))
    silent = set_cells(built, "agreements", "agr-cis-ct-cooperation-1990", note=None)
    assert_finds(rules.impossible_values_flagged, tables(built, agreements=silent), (
        "agreements", "agr-cis-ct-cooperation-1990", "note", "the row is flagged: its note must say what is wrong"))


@pytest.mark.parametrize("signed, precision, impossible", [
    (dt.date(1991, 1, 1), "year", False),    # 1991 may be after 8 December 1991
    (dt.date(1991, 12, 1), "month", False),  # so may December 1991
    (dt.date(1991, 11, 1), "month", True),
    (dt.date(1991, 12, 7), "day", True),
    (dt.date(1991, 12, 8), "day", False),
])
def test_a_partial_date_is_impossible_only_if_all_it_stands_for_is(built, signed, precision, impossible):
    agreement = first(built, "agreements", pl.col("framework") == "CIS")
    frame = set_cells(built, "agreements", agreement, signed=signed, signed_precision=precision, flag=None)
    expected = [("agreements", agreement, "flag", "signed before its framework existed")] if impossible else []
    assert_finds(rules.impossible_values_flagged, tables(built, agreements=frame), *expected)


# --- categories: the words of the codebook (x-codebook) in the record's quotes, or an inference ---------------

def _with_citation(built, record_id: str, **cells) -> pl.DataFrame:
    """The citations with one more, a copy of the record's first citation with some cells changed."""
    citations = built[2]["citations"]
    extra = citations.filter(pl.col("record_id") == record_id).head(1).with_columns(
        citation_id=pl.lit("cit-planted"), **{name: pl.lit(value, dtype=pl.String) for name, value in cells.items()})
    return pl.concat([citations, extra])


@plants(rules.categories_stated_by_quotes)
def test_a_category_no_quote_states_is_refused_naming_the_values_its_quotes_do_state(built):
    """An attack whose quotes speak of bombs but of no suicide made a suicide bombing; a ban the court called
    terrorist made extremist, and one it called extremist made terrorist."""
    attacks = set_cells(built, "attacks", "attack-2011-atyrau", attack_type="suicide_bombing")
    bans = set_cells(built, "court_bans", "ban-isil", designation="extremist")
    bans = set_cells(built, "court_bans", "ban-hizb-ut-tahrir", frame=bans, designation="terrorist")
    assert_finds(rules.categories_stated_by_quotes, tables(built, attacks=attacks, court_bans=bans),
                 ("attacks", "attack-2011-atyrau", "attack_type",
                  "'suicide_bombing' is not stated: no quote the record cites holds its words ['suicide bomb'"),
                 ("court_bans", "ban-isil", "designation", "the quotes hold the words of ['terrorist']"),
                 ("court_bans", "ban-hizb-ut-tahrir", "designation", "the quotes hold the words of ['extremist']"))


@plants(rules.categories_stated_by_quotes)
def test_a_curators_reading_without_its_inference_is_refused(built):
    citations = built[2]["citations"]
    reading = (pl.col("record_id") == "attack-2011-taraz") & (pl.col("field") == "attack_type")
    assert citations.filter(reading)["inference"].str.starts_with("the curator's reading").all()
    unexplained = citations.with_columns(inference=pl.when(reading).then(None).otherwise(pl.col("inference")))
    assert_finds(rules.categories_stated_by_quotes, tables(built, citations=unexplained),
                 ("attacks", "attack-2011-taraz", "attack_type", "the quotes hold the words of no value"))


def test_a_category_a_quote_states_is_accepted(built):
    """The Aktobe attackers 'engaged in gunfire with the police': police is stated as well as military."""
    attacks = set_cells(built, "attacks", "attack-2016-aktobe", target_type="police")
    assert_finds(rules.categories_stated_by_quotes, tables(built, attacks=attacks))


def test_a_category_with_an_inference_on_its_citation_is_accepted(built):
    attacks = set_cells(built, "attacks", "attack-2011-atyrau", attack_type="other")
    assert_finds(rules.categories_stated_by_quotes, tables(built, attacks=attacks),
                 ("attacks", "attack-2011-atyrau", "attack_type", "'other' is not stated: no word can state it"))
    explained = _with_citation(built, "attack-2011-atyrau", field="attack_type", inference="the curator's reading")
    assert_finds(rules.categories_stated_by_quotes, tables(built, attacks=attacks, citations=explained))


@pytest.mark.parametrize("quote, stated", [
    ("The bandits made an ARMED ATTACK on the village administration", True),  # any case (the target stays stated)
    ("two Armed Attacks on the town administration", True),  # an inflection the list names
    ("the disarmed attackers left the village administration", False),  # whole words only
])
def test_words_match_whole_and_in_any_case(built, quote, stated):
    citations = built[2]["citations"].with_columns(
        quote=pl.when(pl.col("record_id") == "attack-2009-uralsk").then(pl.lit(quote)).otherwise(pl.col("quote")))
    expected = [] if stated else [("attacks", "attack-2009-uralsk", "attack_type", "'armed_assault' is not stated")]
    assert_finds(rules.categories_stated_by_quotes, tables(built, citations=citations), *expected)


def test_every_registered_rule_has_a_planted_failure():
    registered = {getattr(rule, "__name__", rule) for rule in rules.RULES}  # functions, or names if it maps them
    assert set(PLANTED) == registered
