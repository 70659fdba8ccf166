"""Bad input stops the pipeline with a message naming file, record and field, and publishes nothing."""
from __future__ import annotations

import re
import time

import pytest
import yaml
from conftest import command, git_init, run_stages, snapshot


class _NoAliases(yaml.SafeDumper):
    """Writes a value shared by two records out twice, as a curator would: record files refuse aliases."""

    def ignore_aliases(self, data):
        return True


def edit_records(project, table, change):
    path = project / "records" / f"{table}.yaml"
    records = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(records)
    path.write_text(yaml.dump(records, Dumper=_NoAliases, allow_unicode=True, sort_keys=False), encoding="utf-8")


def fails_leaving_outputs(project, *expected: str, within: float = 60.0, as_commands: bool = False) -> str:
    """Run the pipeline: it must fail, without a traceback, naming what `expected` says, within `within` seconds,
    and leave every published output byte-identical. The stages run in this process (an unexpected exception fails
    the test as a traceback would), or `as_commands`, as `dvc repro` runs them: one test per failing stage does."""
    before = snapshot(project)
    started = time.monotonic()
    result = run_stages(project, in_process=not as_commands)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert elapsed < within, f"took {elapsed:.1f} s"
    assert "Traceback" not in result.stderr, result.stderr
    for text in expected:
        assert re.search(text, result.stderr), f"{text!r} not in:\n{result.stderr}"
    assert snapshot(project) == before, "published files changed on a failed run"
    return result.stderr


def test_quote_not_in_source(mini):
    edit_records(mini, "attacks", lambda rs: rs[0]["citations"][0].update(quote="Nine servicemen were killed"))
    fails_leaving_outputs(mini, r"records/attacks.yaml:\d+", "attack-2016-aktobe", "citations.quote",
                          "is not in source 'caspian-news-mukhtarli-2017'", "Nine servicemen", as_commands=True)


def test_cited_number_not_in_its_quote(mini):
    edit_records(mini, "attacks", lambda rs: rs[0]["citations"][0].pop("inference"))
    fails_leaving_outputs(mini, r"records/attacks.yaml:\d+", "attack-2016-aktobe", "field 'killed'",
                          "the value 8 is not in the quote, which holds numbers: 3, 5", "inference:")


def test_a_number_with_no_citation_of_its_own(mini):
    """`python -m pipelines check` (what `make check` runs) refuses a count typed into a record with no quote."""
    git_init(mini)
    edit_records(mini, "attacks", lambda rs: rs[0].update(injured=5))
    result = command(mini, "check")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert re.search(r"records/attacks\.yaml:1, record 'attack-2016-aktobe', field 'injured': the value 5 has no "
                     r"citation of its own", result.stderr), result.stderr


def test_a_vague_quantity_recorded_as_a_number(mini):
    def vague(records):
        statistic = next(r for r in records if r.get("qualifier") == "exact")
        statistic["qualifier"] = "hundreds"
    edit_records(mini, "statistics", vague)
    fails_leaving_outputs(mini, "statistics_consistent", "field 'value'", "vague quantity")


def test_quote_that_is_ambiguous(mini):
    edit_records(mini, "laws", lambda rs: rs[0]["citations"][0].update(quote="terrorism"))
    fails_leaving_outputs(mini, "law-1999-combating-terrorism", r"occurs \d+ times", "extend it")


def test_changed_source_text(mini):
    path = mini / "sources" / "edm-miranshah-2005.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("19 militants", "20 militants"), encoding="utf-8")
    fails_leaving_outputs(mini, "sources/edm-miranshah-2005.txt", "sha256", "the text has changed", as_commands=True)


def test_dangling_foreign_key(mini):
    edit_records(mini, "court_bans", lambda rs: rs[0].update(org_id="no-such-org"))
    fails_leaving_outputs(mini, "court_bans", "ban-jund-al-khalifah", "foreign-key", "no-such-org")


def test_duplicate_id(mini):
    edit_records(mini, "organizations", lambda rs: rs[1].update(org_id=rs[0]["org_id"]))
    fails_leaving_outputs(mini, "organizations", "jund-al-khalifah", "org_id", "(unique|primary-key)")


def test_bad_date(mini):
    edit_records(mini, "laws", lambda rs: rs[0].update(adopted="1999-13-07"))
    fails_leaving_outputs(mini, r"records/laws.yaml:\d+", "law-1999-combating-terrorism", "field 'adopted'",
                          "expected a date YYYY, YYYY-MM or YYYY-MM-DD, found '1999-13-07'", as_commands=True)


def test_malformed_record_file(mini):
    (mini / "records" / "attacks.yaml").write_text("- attack_id: x\n  date: [unclosed\n", encoding="utf-8")
    fails_leaving_outputs(mini, "records/attacks.yaml", "not valid YAML", "line")


def test_record_that_is_not_a_mapping(mini):
    (mini / "records" / "agreements.yaml").write_text("- just a string\n", encoding="utf-8")
    fails_leaving_outputs(mini, "records/agreements.yaml", "#1", "expected a mapping")


def test_unknown_column_and_derived_precision(mini):
    def change(rs):
        rs[0]["killed_total"] = 3
        rs[0]["date_precision"] = "day"
    edit_records(mini, "attacks", change)
    fails_leaving_outputs(mini, "field 'killed_total': unknown column",
                          "field 'date_precision': is derived from 'date'")


def test_record_without_citations(mini):
    edit_records(mini, "agreements", lambda rs: rs[0].pop("citations"))
    fails_leaving_outputs(mini, "agr-sco-shanghai-convention", "citations", "every record is sourced")


def test_value_that_contradicts_its_citations(mini):
    edit_records(mini, "attacks", lambda rs: rs[0].update(killed=12))
    fails_leaving_outputs(mini, "values_agree_with_citations", "attack-2016-aktobe", "'killed'", "12")


def test_a_category_no_quote_states(mini):
    edit_records(mini, "attacks", lambda rs: rs[0].update(attack_type="suicide_bombing"))
    fails_leaving_outputs(mini, r"records/attacks.yaml:\d+, record 'attack-2016-aktobe', field 'attack_type'",
                          "categories_stated_by_quotes", "'suicide_bombing' is not stated",
                          r"the quotes hold the words of \['armed_assault'\]")


def test_unflagged_implausible_conversion(mini):
    edit_records(mini, "budgets", lambda rs: rs[0].pop("flag"))
    fails_leaving_outputs(mini, "usd_conversions_flagged", "budget-2013-2017-programme", "implausible")


def test_period_that_ends_before_it_starts(mini):
    edit_records(mini, "programmes", lambda rs: rs[0].update(period_end=2012))
    fails_leaving_outputs(mini, "periods_in_order", "period ends \\(2012\\) before it starts \\(2013\\)")


def test_duplicate_under_another_id(mini):
    def change(rs):
        rs.append({**rs[0], "agreement_id": "agr-sco-convention-copy"})
        rs[-1]["citations"] = [{"source_id": "cabar-trofimov",
                                "quote": "Shanghai Convention on Combating Terrorism, Separatism and Extremism"}]
        rs[-1]["citations"] += [c for c in rs[0]["citations"] if c.get("field") == "signed"]  # its date is cited too
    edit_records(mini, "agreements", change)
    fails_leaving_outputs(mini, "no_duplicates_under_another_id", "agr-sco-convention-copy")


def test_every_problem_is_reported_at_once(mini):
    def change(rs):
        rs[0]["adopted"] = "yesterday"
        rs[0]["act_type"] = 5
    edit_records(mini, "laws", change)
    stderr = fails_leaving_outputs(mini, "field 'adopted'", "field 'act_type'")
    assert "2 problem(s)" in stderr


# --- malformed input a curator's mistake can make: refused with file, line, record and field -------------

def replace_in_records(project, table, old, new, count=1):
    path = project / "records" / f"{table}.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def test_the_same_key_twice_in_one_record(mini):
    replace_in_records(mini, "attacks", "  country: KZ\n", "  country: KZ\n  country: AF\n")
    fails_leaving_outputs(mini, r"records/attacks.yaml:4\b", "attack-2016-aktobe", "field 'country'",
                          "appears twice", "first at line 3")


def test_a_control_character_in_a_value(mini):
    replace_in_records(mini, "attacks", "summary: Attack on two gun shops", 'summary: "Attack on two\\0 gun shops')
    replace_in_records(mini, "attacks", "military unit in Aktobe.\n", 'military unit in Aktobe."\n')
    fails_leaving_outputs(mini, r"records/attacks.yaml:\d+", "attack-2016-aktobe", "field 'summary'",
                          "U\\+0000 \\(NULL\\)")


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://example.org\")", "+1+1", "@SUM(A1)", "-2+3"])
def test_text_a_spreadsheet_would_run_as_a_formula(mini, value):
    edit_records(mini, "attacks", lambda rs: rs[0].update(city=value))
    fails_leaving_outputs(mini, r"records/attacks.yaml:\d+", "attack-2016-aktobe", "field 'city'",
                          f"starts with '\\{value[0]}'", "formula")


def test_a_quote_that_starts_like_a_formula(mini):
    edit_records(mini, "attacks", lambda rs: rs[0]["citations"][0].update(quote="- " + rs[0]["citations"][0]["quote"]))
    fails_leaving_outputs(mini, r"records/attacks.yaml:\d+", "citations.quote", "formula")


def test_an_absurdly_long_value_in_a_short_column(mini):
    edit_records(mini, "attacks", lambda rs: rs[0].update(region="x" * 2_000_000))
    stderr = fails_leaving_outputs(mini, r"records/attacks.yaml:\d+", "attack-2016-aktobe", "field 'region'",
                                   "2,000,000 characters long", "at most 100")
    assert len(stderr) < 5_000, "the value is quoted back whole"


def test_a_record_file_above_the_size_limit(mini):
    path = mini / "records" / "laws.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "# " + "padding " * 700_000 + "\n", encoding="utf-8")
    stderr = fails_leaving_outputs(mini, "records/laws.yaml", "bytes; a record file may be at most 5,000,000 bytes")
    assert len(stderr) < 5_000


def test_a_record_file_that_is_not_utf8(mini):
    path = mini / "records" / "organizations.yaml"
    text = path.read_text(encoding="utf-8").replace("name: Jund al-Khalifah", "name: Jund al-Khalifah caf\u00e9", 1)
    path.write_bytes(text.encode("latin-1"))
    fails_leaving_outputs(mini, r"records/organizations.yaml:\d+", "is not UTF-8", "byte 0xe9 at offset \\d+",
                          r"line \d+, column \d+", "UTF-8 encoding")


def test_a_yaml_alias_bomb_is_refused_at_once(mini):
    lines = ['- org_id: bomb', '  name: &a0 "lol"']
    lines += [f"  n{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    lines += ["  citations: *a9"]
    (mini / "records" / "organizations.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    stderr = fails_leaving_outputs(mini, r"records/organizations.yaml:\d+", "'bomb'", "anchor and alias", within=20)
    assert len(stderr) < 5_000


def test_a_broken_quote_shows_the_closest_passage_and_what_differs(mini):
    quote = "Three servicemen and five civilians were killed in the attacks"
    edit_records(mini, "attacks", lambda rs: rs[0]["citations"][0].update(quote=quote.replace("five", "six")))
    fails_leaving_outputs(mini, r"records/attacks.yaml:\d+", "attack-2016-aktobe", "citations.quote",
                          "closest passage, at character \\d+", f"'{quote}'",
                          "the source has 'five' where the quote has 'six'")


def test_a_missing_space_is_named(mini):
    quote = "Three servicemen and five civilians were killed in the attacks"
    edit_records(mini, "attacks",
                 lambda rs: rs[0]["citations"][0].update(quote=quote.replace("were killed", "werekilled")))
    fails_leaving_outputs(mini, "citations.quote", "the source has 'were killed' where the quote has 'werekilled'")


def test_validate_points_at_the_record_file_line(mini):
    edit_records(mini, "court_bans", lambda rs: rs[0].update(org_id="no-such-org"))
    fails_leaving_outputs(mini, r"records/court_bans.yaml:\d+, record 'ban-jund-al-khalifah', field 'org_id'",
                          "foreign-key", as_commands=True)


# --- rules of the 0.2.0 tables ------------------------------------------------------------------------------

def test_a_reversed_range_must_be_flagged(mini):
    def change(rs):
        stat = next(r for r in rs if r["qualifier"] == "range")
        stat["value_low"], stat["value_high"] = stat["value_high"], stat["value_low"]
        for c in stat["citations"]:
            if c.get("field") in ("value_low", "value_high"):
                c["field"] = "value_high" if c["field"] == "value_low" else "value_low"
    edit_records(mini, "statistics", change)
    fails_leaving_outputs(mini, r"records/statistics.yaml:\d+", "stat-foreign-fighters-2017-04-kz", "field 'flag'",
                          "statistics_consistent", "value_low is above value_high")


def test_a_qualifier_that_contradicts_its_values(mini):
    def change(rs):
        stat = next(r for r in rs if r["qualifier"] == "range")
        stat["value"] = 550  # cited (a midpoint, said so), so that only the qualifier is wrong
        stat["citations"].append({**stat["citations"][0], "field": "value", "inference": "midpoint of 500 and 600"})
        del stat["citations"][-1]["stated_value"]
    edit_records(mini, "statistics", change)
    fails_leaving_outputs(mini, "stat-foreign-fighters-2017-04-kz", "field 'qualifier'",
                          "qualifier is range: value_low and value_high must both be given and value empty")


def test_a_statistic_without_date_or_period(mini):
    def change(rs):
        stat = next(r for r in rs if r.get("period_start"))
        stat["period_start"] = stat["period_end"] = None
        stat["citations"] = [c for c in stat["citations"] if c.get("field") not in ("period_start", "period_end")]
    edit_records(mini, "statistics", change)
    fails_leaving_outputs(mini, "stat-terrorism-convictions-2016-kz", "a statistic needs a reference date")


def test_a_dangling_id_inside_a_list_column(mini):
    edit_records(mini, "prosecutions",
                 lambda rs: rs[0].update(provision_ids=["prov-cc-art-233-3", "prov-no-such-article"]))
    fails_leaving_outputs(mini, r"records/prosecutions.yaml:\d+", "case-2014-ekibastuz", "field 'provision_ids'",
                          "list_references_exist", "'prov-no-such-article' is not a legal_provisions.provision_id")


def test_more_defendants_named_than_tried(mini):
    edit_records(mini, "prosecutions", lambda rs: rs[0].update(defendant_count=1))
    fails_leaving_outputs(mini, "case-2014-ekibastuz", "field 'defendant_count'", "2 defendants are named")


def test_a_successor_in_the_same_act(mini):
    edit_records(mini, "legal_provisions", lambda rs: next(r for r in rs if r["provision_id"] == "prov-cc2014-art-258")
                 .update(law_id="law-undated-criminal-code"))
    fails_leaving_outputs(mini, "prov-cc-art-233-3", "field 'successor_provision_id'",
                          "the successor belongs to the same act")


def test_the_source_catalog_is_read_as_strictly_as_a_record_file(mini):
    path = mini / "sources" / "catalog.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("  title: Can Kazakhstan", "  language: ru\n  title: Can Kazakhstan", 1),
                    encoding="utf-8")
    fails_leaving_outputs(mini, r"catalog.yaml:\d+", "field 'language'", "appears twice in one mapping")


def test_a_failed_cite_leaves_the_files_between_stages_as_they_were(mini):
    from pipelines.core.config import load_config

    config = load_config(mini)
    between = [config.path("citations"), config.path("loaded_records")]
    before = [path.read_bytes() for path in between]
    path = mini / "records" / "laws.yaml"  # laws is read after organizations: their rows were already written
    path.write_text(path.read_text(encoding="utf-8").replace("quote: ", "quote: Not in any source ", 1),
                    encoding="utf-8")
    result = run_stages(mini, ["cite"], in_process=True)
    assert result.returncode == 1 and "records/laws.yaml:" in result.stderr, result.stderr
    assert [path.read_bytes() for path in between] == before
    assert not list(config.path("citations").parent.glob(".*.tmp"))  # no half-written file left beside them


def test_a_conflict_reason_for_a_field_the_sources_agree_on(mini):
    edit_records(mini, "attacks", lambda rs: rs[0].update(conflict_reasons={"summary": "kept the longer account"}))
    fails_leaving_outputs(mini, "record 'attack-2016-aktobe', field 'conflict_reasons.summary': the sources do not "
                                "disagree on this field")
