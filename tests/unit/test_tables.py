from pathlib import Path

from pipelines.core.errors import Problems
from pipelines.core.records import Record
from pipelines.core.schemas import fields_by_name, load_schema, precision_of
from pipelines.stages.tables import NO_REASON, conflict_rows, record_row

CONFLICTS = load_schema(Path(__file__).resolve().parents[2] / "schemas", "conflicts")
SCHEMA = {"fields": [{"name": "attack_id", "type": "string"}, {"name": "date", "type": "date"},
                     {"name": "date_precision", "type": "string"}, {"name": "killed", "type": "integer"},
                     {"name": "note", "type": "string"}], "primaryKey": ["attack_id"]}


def test_record_row_derives_date_precision():
    problems = Problems()
    rec = Record("attacks", "f:1", "a", {"attack_id": "a", "date": "2011-10", "killed": None}, ())
    row = record_row(rec, fields_by_name(SCHEMA), precision_of(SCHEMA), problems)
    assert row == {"attack_id": "a", "date": "2011-10-01", "date_precision": "month"}
    assert not problems


def cite(cid, field, value, source):
    return {"citation_id": cid, "resource": "attacks", "record_id": "a", "field": field,
            "stated_value": value, "source_id": source}


def test_only_incompatible_statements_are_conflicts():
    tables = {
        "attacks": [{"attack_id": "a", "date": "2016-06-05", "date_precision": "day", "killed": 8}],
        "citations": [cite("c1", "date", "2016-06", "s1"), cite("c2", "date", "2016-06-05", "s2"),
                      cite("c3", "killed", "8", "s1"), cite("c4", "killed", "17", "s2"),
                      cite("c5", "killed", "8", "s3")],
    }
    records = {"attacks": [Record("attacks", "f:1", "a", {"attack_id": "a", "note": "a whole paragraph"}, (),
                                  {"killed": "the count of the police"})]}
    rows = conflict_rows(tables, {"attacks": SCHEMA, "conflicts": CONFLICTS}, records)
    assert {(r["field"], r["stated_value"], r["is_published_value"], r["source_ids"]) for r in rows} == {
        ("killed", "8", True, "s1|s3"), ("killed", "17", False, "s2")}
    # the reason for this field alone, not the record's note; each value in its column's type (8, not 8.0)
    assert all(r["published_value"] == "8" and r["reason"] == "the count of the police" for r in rows)


def test_a_disagreement_without_its_reason_is_published_and_says_so():
    tables = {"attacks": [{"attack_id": "a", "killed": 8.0}],
              "citations": [cite("c3", "killed", "8.0", "s1"), cite("c4", "killed", "17", "s2")]}
    records = {"attacks": [Record("attacks", "f:1", "a", {"attack_id": "a"}, ())]}
    rows = conflict_rows(tables, {"attacks": SCHEMA, "conflicts": CONFLICTS}, records)
    assert sorted(r["stated_value"] for r in rows) == ["17", "8"] and {r["published_value"] for r in rows} == {"8"}
    assert {r["reason"] for r in rows} == {NO_REASON}


def test_a_csv_row_with_a_column_outside_the_header_is_refused(tmp_path):
    import pytest

    from pipelines.core.fileio import write_csv
    write_csv(tmp_path / "t.csv", ["a", "b"], [{"a": 1, "b": None}, {"a": True}])
    assert (tmp_path / "t.csv").read_text(encoding="utf-8") == "a,b\n1,\ntrue,\n"
    with pytest.raises(ValueError, match="'c'"):
        write_csv(tmp_path / "u.csv", ["a", "b"], [{"a": 1, "c": 2}])
