"""Bad input stops the pipeline with a message naming file, record and field, and publishes nothing."""
from __future__ import annotations

import re

import yaml

from conftest import run_stages, snapshot


def edit_records(project, table, change):
    path = project / "records" / f"{table}.yaml"
    records = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(records)
    path.write_text(yaml.safe_dump(records, allow_unicode=True, sort_keys=False), encoding="utf-8")


def fails_leaving_outputs(project, *expected: str) -> str:
    before = snapshot(project)
    result = run_stages(project)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    for text in expected:
        assert re.search(text, result.stderr), f"{text!r} not in:\n{result.stderr}"
    assert snapshot(project) == before, "published files changed on a failed run"
    return result.stderr


def test_quote_not_in_source(mini):
    edit_records(mini, "attacks", lambda rs: rs[0]["citations"][0].update(quote="Nine servicemen were killed"))
    fails_leaving_outputs(mini, r"records/attacks.yaml:\d+", "attack-2016-aktobe", "citations.quote",
                          "is not in source 'caspian-news-mukhtarli-2017'", "Nine servicemen")


def test_quote_that_is_ambiguous(mini):
    edit_records(mini, "laws", lambda rs: rs[0]["citations"][0].update(quote="terrorism"))
    fails_leaving_outputs(mini, "law-1999-combating-terrorism", r"occurs \d+ times", "extend it")


def test_changed_source_text(mini):
    path = mini / "sources" / "edm-miranshah-2005.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("19 militants", "20 militants"), encoding="utf-8")
    fails_leaving_outputs(mini, "sources/edm-miranshah-2005.txt", "sha256", "the text has changed")


def test_dangling_foreign_key(mini):
    edit_records(mini, "court_bans", lambda rs: rs[0].update(org_id="no-such-org"))
    fails_leaving_outputs(mini, "court_bans", "ban-jund-al-khalifah", "foreign-key", "no-such-org")


def test_duplicate_id(mini):
    edit_records(mini, "organizations", lambda rs: rs[1].update(org_id=rs[0]["org_id"]))
    fails_leaving_outputs(mini, "organizations", "jund-al-khalifah", "org_id", "(unique|primary-key)")


def test_bad_date(mini):
    edit_records(mini, "laws", lambda rs: rs[0].update(adopted="1999-13-07"))
    fails_leaving_outputs(mini, r"records/laws.yaml:\d+", "law-1999-combating-terrorism", "field 'adopted'",
                          "expected a date YYYY, YYYY-MM or YYYY-MM-DD, found '1999-13-07'")


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
    fails_leaving_outputs(mini, "field 'killed_total': unknown column", "field 'date_precision': is derived from 'date'")


def test_record_without_citations(mini):
    edit_records(mini, "agreements", lambda rs: rs[0].pop("citations"))
    fails_leaving_outputs(mini, "agr-sco-shanghai-convention", "citations", "every record is sourced")


def test_value_that_contradicts_its_citations(mini):
    edit_records(mini, "attacks", lambda rs: rs[0].update(killed=12))
    fails_leaving_outputs(mini, "values_agree_with_citations", "attack-2016-aktobe", "'killed'", "12")


def test_unflagged_implausible_conversion(mini):
    edit_records(mini, "budgets", lambda rs: rs[0].pop("flag"))
    fails_leaving_outputs(mini, "usd_conversions_flagged", "budget-2013-2017-programme", "implausible")


def test_period_that_ends_before_it_starts(mini):
    edit_records(mini, "programmes", lambda rs: rs[0].update(period_end=2012))
    fails_leaving_outputs(mini, "periods_in_order", "period ends \\(2012\\) before it starts \\(2013\\)")


def test_duplicate_under_another_id(mini):
    def change(rs):
        rs.append({**rs[0], "agreement_id": "agr-sco-convention-copy"})
        rs[-1]["citations"] = [{"source_id": "cabar-trofimov", "quote": "Shanghai Convention on Combating Terrorism, Separatism and Extremism"}]
    edit_records(mini, "agreements", change)
    fails_leaving_outputs(mini, "no_duplicates_under_another_id", "agr-sco-convention-copy")


def test_every_problem_is_reported_at_once(mini):
    def change(rs):
        rs[0]["adopted"] = "yesterday"
        rs[0]["act_type"] = 5
    edit_records(mini, "laws", change)
    stderr = fails_leaving_outputs(mini, "field 'adopted'", "field 'act_type'")
    assert "2 problem(s)" in stderr
