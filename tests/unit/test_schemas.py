import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from pipelines.core.schemas import (
    canonical,
    canonical_cell,
    cell_value,
    compatible,
    folded,
    folded_column,
    pandera_schema,
    parse_partial_date,
    precision_of,
    read_table,
)

DATE = {"name": "d", "type": "date"}
INT = {"name": "n", "type": "integer"}
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("value, expected", [
    ("2013", ("2013-01-01", "year")), ("2013-04", ("2013-04-01", "month")),
    ("2013-04-09", ("2013-04-09", "day")), (dt.date(2013, 4, 9), ("2013-04-09", "day")), (2013, ("2013-01-01", "year")),
])
def test_partial_dates_hold_the_first_day_of_what_is_known(value, expected):
    assert parse_partial_date(value) == expected


@pytest.mark.parametrize("value", ["2013-4", "13.04.2013", "2013-02-30", "", True, "2013-13"])
def test_bad_dates_are_refused_with_the_expected_form(value):
    with pytest.raises(ValueError, match="expected a date YYYY, YYYY-MM or YYYY-MM-DD"):
        parse_partial_date(value)


def test_cell_values_are_typed_by_the_schema():
    assert cell_value(INT, 8) == 8
    assert cell_value({"type": "number"}, 4.0e7) == 40000000
    assert cell_value({"type": "string", "x-list-separator": "|"}, ["IS", "ISIL"]) == "IS|ISIL"
    with pytest.raises(ValueError, match="whole number"):
        cell_value(INT, "8")
    with pytest.raises(ValueError, match="expected text"):
        cell_value({"type": "string"}, 5)
    with pytest.raises(ValueError, match="without '\\|'"):
        cell_value({"type": "string", "x-list-separator": "|"}, ["a|b"])


def test_dates_compare_at_their_precision():
    assert canonical(DATE, "2013-04-09") == "2013-04-09"
    assert compatible(DATE, canonical(DATE, "2013-04"), canonical(DATE, "2013-04-09"))
    assert not compatible(DATE, canonical(DATE, "2013-02-26"), canonical(DATE, "2013-04"))
    assert canonical_cell(DATE, pd.Timestamp("2013-04-01"), "month") == "2013-04"


def test_numbers_compare_by_value():
    assert canonical(INT, "17") == canonical(INT, 17) != canonical(INT, 8)
    assert canonical({"type": "number"}, "103000000000") == canonical({"type": "number"}, 1.03e11)


def test_precision_fields_are_found_by_name():
    schema = {"fields": [DATE, {"name": "d_precision", "type": "string"}, {"name": "x", "type": "date"}]}
    assert precision_of(schema) == {"d": "d_precision"}


SCHEMA = {
    "fields": [
        {"name": "id", "type": "string", "constraints": {"required": True, "unique": True, "pattern": "^[a-z]+$"}},
        {"name": "n", "type": "integer", "constraints": {"minimum": 0}},
        {"name": "ok", "type": "boolean", "trueValues": ["Y"], "falseValues": ["N"]},
        {"name": "d", "type": "date"},
        {"name": "kind", "type": "string", "constraints": {"enum": ["a", "b"]}},
    ],
    "missingValues": ["", "NA"], "primaryKey": ["id"],
}


def test_read_table_types_columns_and_reports_bad_cells(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,n,ok,d,kind\nx,1,Y,2011-10-31,a\ny,NA,N,,b\nz,two,maybe,2011-13-01,a\n", encoding="utf-8")
    frame, bad = read_table(path, SCHEMA)
    assert str(frame["n"].dtype) == "Int64" and frame["n"][1] is None  # "NA" is a missing value
    assert frame["ok"].to_list()[:2] == [True, False]  # trueValues/falseValues honoured
    assert frame["d"][0] == dt.date(2011, 10, 31)
    assert sorted(bad) == [(2, "d", "2011-13-01"), (2, "n", "two"), (2, "ok", "maybe")]


@pytest.mark.parametrize("content", ["id,n\nx,1,extra\n", "id,n\n\"x,1\n", b"id,n\n\xff\xfe,1\n"])
def test_read_table_refuses_a_file_that_is_not_a_csv_naming_it(tmp_path, content):
    path = tmp_path / "t.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    with pytest.raises(ValueError, match="t.csv is not a readable CSV"):
        read_table(path, SCHEMA)


def test_pandera_schema_enforces_every_constraint(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,n,ok,d,kind\nx,1,Y,2011-10-31,a\nx,-1,N,,c\nBAD,,,,a\n", encoding="utf-8")
    frame, _ = read_table(path, SCHEMA)
    import pandera.polars as pa
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        pandera_schema("t", SCHEMA).validate(frame, lazy=True)
    cases = caught.value.failure_cases.to_dicts()
    found = {(row["column"], str(row["failure_case"]), row["index"]) for row in cases}
    assert ("id", "x", 1) in found  # unique, at the row it repeats
    assert ("n", "-1", 1) in found  # minimum
    assert ("kind", "c", 1) in found  # enum
    assert ("id", "BAD", 2) in found  # pattern
    assert not any(row["column"] == "n" and row["check"] == "not_nullable" for row in cases)  # optional int


def test_every_enum_is_declared_with_its_categories_and_every_text_column_has_a_max_length():
    for path in sorted((ROOT / "schemas").glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert schema["$schema"] == "https://datapackage.org/profiles/2.0/tableschema.json", path.name
        for field in schema["fields"]:
            enum = field.get("constraints", {}).get("enum")
            if enum:
                assert [c["value"] for c in field["categories"]] == enum, f"{path.name} {field['name']}"
                assert all(c["label"] for c in field["categories"])
            elif field["type"] == "string":
                assert field["constraints"].get("maxLength"), f"{path.name} {field['name']} has no maxLength"


@pytest.mark.parametrize("value, message", [
    ("a\x00b", r"U\+0000 \(NULL\)"), ("a\x1bb", "ESCAPE"), ("line\nbreak", "LINE FEED"), ("\x85x", r"U\+0085"),
    ("=1+1", "starts with '='"), ("+7 777", "starts with '\\+'"), ("-x", "starts with '-'"),
    ("@SUM(A1)", "starts with '@'"),
    ("x" * 101, "101 characters long; 'city' allows at most 100"),
])
def test_check_text_refuses_what_no_text_cell_may_hold(value, message):
    from pipelines.core.schemas import check_text

    with pytest.raises(ValueError, match=message):
        check_text({"name": "city", "type": "string", "constraints": {"maxLength": 100}}, value)


def test_check_text_accepts_ordinary_text():
    from pipelines.core.schemas import check_text

    check_text({"name": "city", "type": "string", "constraints": {"maxLength": 100}},
               "Aktobe – 2016 \"quoted\" 'x' = y")


def test_text_is_folded_the_same_in_python_and_in_polars():
    import polars as pl
    texts = ["  Islamic  State ", "ИСЛАМСКОЕ\u00a0государство", "Qazaqstan\tRespublikasy", "ÆSir Ōtake", "İstanbul",
             "ΣΊΣΥΦΟΣ"]
    assert pl.DataFrame({"t": texts}).select(folded_column(pl.col("t")))["t"].to_list() == [folded(t) for t in texts]


def test_every_type_a_schema_uses_has_a_row_in_the_table_of_types():
    from pipelines.core.schemas import TYPES

    used = {f["type"] for path in (ROOT / "schemas").glob("*.schema.json")
            for f in json.loads(path.read_text(encoding="utf-8"))["fields"]}
    assert used <= set(TYPES)


def test_each_row_of_the_table_of_types_names_real_engine_types():
    import polars as pl

    from pipelines.core.schemas import TYPES

    for types in TYPES.values():
        assert isinstance(getattr(pl, types.polars)(), pl.DataType)
        pd.api.types.pandas_dtype(types.pandas)
        assert types.sqlite in {"TEXT", "INTEGER", "REAL"}


def test_pandas_frame_gives_each_schema_type_its_pandas_dtype(tmp_path):
    from pipelines.core.schemas import TYPES, pandas_frame

    cells = {"string": "x", "integer": "-3", "year": "2001", "number": "1.5", "boolean": "true", "date": "2001-06-15"}
    assert set(cells) == set(TYPES)
    schema = {"fields": [{"name": kind, "type": kind} for kind in cells]}
    (tmp_path / "t.csv").write_text(",".join(cells) + "\n" + ",".join(cells.values()) + "\n,,,,,\n", encoding="utf-8")
    frame, bad = read_table(tmp_path / "t.csv", schema)
    assert not bad
    assert {name: str(dtype) for name, dtype in pandas_frame(frame).dtypes.items()} == {
        kind: TYPES[kind].pandas for kind in cells}


@pytest.mark.parametrize("kind, value", [("integer", -3), ("year", 2001), ("number", 1.5), ("number", 2.5e-07),
                                         ("boolean", True), ("boolean", False), ("date", "2001-06-15")])
def test_a_published_cell_matches_the_pattern_of_its_type(tmp_path, kind, value):
    import re

    from pipelines.core.fileio import write_csv
    from pipelines.core.schemas import TYPES

    write_csv(tmp_path / "t.csv", ["v"], [{"v": value}])
    cell = (tmp_path / "t.csv").read_text(encoding="utf-8").splitlines()[1]
    assert re.fullmatch(TYPES[kind].published, cell)


def test_list_separator_is_read_from_the_schema_and_refused_for_a_plain_column():
    from pipelines.core.schemas import list_separator

    schema = {"fields": [{"name": "aliases", "type": "string", "x-list-separator": ";"},
                         {"name": "note", "type": "string"}]}
    assert list_separator(schema, "aliases") == ";"
    with pytest.raises(ValueError, match="'note' is not a list"):
        list_separator(schema, "note")


def test_every_column_described_as_a_list_declares_its_separator():
    """A description that says "separated by '|'" and a schema that does not say so would drift apart."""
    for path in (ROOT / "schemas").glob("*.schema.json"):
        for field in json.loads(path.read_text(encoding="utf-8"))["fields"]:
            if "separated by" in field.get("description", ""):
                separated = f"separated by {field.get('x-list-separator')!r}"
                assert separated in field["description"], (path.name, field["name"])


def test_enum_subset_reads_the_values_a_property_sets_apart_and_refuses_one_outside_the_enum():
    from pipelines.core.schemas import enum_subset

    field = {"name": "kind", "type": "string", "constraints": {"enum": ["a", "b", "c"]}, "x-odd": ["a", "c"]}
    assert enum_subset({"fields": [field]}, "kind", "x-odd") == ["a", "c"]
    with pytest.raises(ValueError, match=r"kind: x-odd lists \['d'\], which its enum does not allow"):
        enum_subset({"fields": [{**field, "x-odd": ["a", "d"]}]}, "kind", "x-odd")


def test_every_subset_of_an_enum_a_schema_declares_lies_within_the_enum():
    """The rules read x-vague (statistics.qualifier) and x-term-in-years (prosecutions.sentence_type) this way."""
    from pipelines.core.schemas import enum_subset

    subsets = [(path.name, field["name"], key) for path in (ROOT / "schemas").glob("*.schema.json")
               for field in json.loads(path.read_text(encoding="utf-8"))["fields"]
               if "enum" in field.get("constraints", {})
               for key, value in field.items() if key.startswith("x-") and isinstance(value, list)]
    assert {("statistics.schema.json", "qualifier", "x-vague"),
            ("prosecutions.schema.json", "sentence_type", "x-term-in-years")} <= set(subsets)
    for file, name, key in subsets:
        schema = json.loads((ROOT / "schemas" / file).read_text(encoding="utf-8"))
        assert enum_subset(schema, name, key)


CATEGORY_COLUMNS = {("attacks", "attack_type"), ("attacks", "target_type"), ("organizations", "kind"),
                    ("laws", "act_type"), ("court_bans", "designation"), ("agreements", "framework"),
                    ("agreements", "kind"), ("prosecutions", "sentence_type"), ("statistics", "indicator")}


def test_every_category_column_has_a_codebook_of_exactly_its_enum():
    """Each value: one sentence of definition and the words that state it; a value no word can state (other,
    unknown, unspecified) says that its citation carries an inference."""
    from pipelines.core.schemas import codebooks, fields_by_name

    found = set()
    for path in sorted((ROOT / "schemas").glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        for name, book in codebooks(schema).items():
            found.add((path.name.removesuffix(".schema.json"), name))
            assert list(book) == fields_by_name(schema)[name]["constraints"]["enum"], (path.name, name)
            for value, entry in book.items():
                assert set(entry) == {"definition", "words"}, (name, value)
                definition, words = entry["definition"], entry["words"]
                assert definition.endswith(".") and ". " not in definition, (name, value, definition)
                assert words or "inference" in definition, (name, value)
                assert len(set(map(str.lower, words))) == len(words), (name, value, words)
                assert all(word == word.strip() and word for word in words), (name, value, words)
    assert found == CATEGORY_COLUMNS


@pytest.mark.parametrize("book, words", [
    ({"a": {"definition": "A.", "words": ["a"]}}, r"defines \['a'\], but its enum allows \['a', 'b'\]"),
    ({"a": {"definition": "A.", "words": []}, "b": {"definition": "B.", "words": []},
      "c": {"definition": "C.", "words": []}}, r"defines \['a', 'b', 'c'\]"),
])
def test_a_codebook_that_misses_a_value_or_defines_one_outside_the_enum_is_refused(book, words):
    from pipelines.core.schemas import codebooks

    field = {"name": "kind", "type": "string", "constraints": {"enum": ["a", "b"]}, "x-codebook": book}
    with pytest.raises(ValueError, match=f"kind: x-codebook {words}"):
        codebooks({"fields": [field]})


def test_described_adds_each_value_s_definition_to_the_description():
    from pipelines.core.schemas import described

    field = {"name": "kind", "description": "What it is.", "constraints": {"enum": ["a", "b"]},
             "x-codebook": {"a": {"definition": "An a.", "words": ["a"]}, "b": {"definition": "A b.", "words": []}}}
    assert described(field) == "What it is. `a`: An a. `b`: A b."
    assert described({"name": "n", "description": "A number."}) == "A number."


def test_entity_fields_reads_the_kind_each_column_names_and_refuses_an_unknown_one():
    from pipelines.core.schemas import ENTITY_KINDS, entity_fields

    schema = {"fields": [{"name": "city", "type": "string", "x-names": "place"}, {"name": "note", "type": "string"}]}
    assert entity_fields(schema) == {"city": "place"}
    with pytest.raises(ValueError, match=r"city: x-names is 'town', expected one of \['place'"):
        entity_fields({"fields": [{"name": "city", "type": "string", "x-names": "town"}]})
    declared = {kind for path in (ROOT / "schemas").glob("*.schema.json")
                for kind in entity_fields(json.loads(path.read_text(encoding="utf-8"))).values()}
    assert declared == set(ENTITY_KINDS)  # every kind the rule knows is declared on some column, and no other


def test_distinct_from_is_the_same_column_in_exactly_the_tables_with_a_natural_key():
    """Copied into each Table Schema (frictionless reads each alone): every copy says the same of its own table."""
    import yaml

    from pipelines.core.schemas import fields_by_name, primary_key

    natural_keys = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))["validate"]["natural_keys"]
    schemas = {path.name.removesuffix(".schema.json"): json.loads(path.read_text(encoding="utf-8"))
               for path in (ROOT / "schemas").glob("*.schema.json")}
    copies = {table: fields_by_name(schema)["distinct_from"] for table, schema in schemas.items()
              if "distinct_from" in fields_by_name(schema)}
    assert set(copies) == set(natural_keys)
    shapes = set()
    for table, field in copies.items():
        (key,) = primary_key(schemas[table])
        assert field["x-list-reference"] == {"resource": table, "field": key}
        own = f"{table}.{key}"
        general = {**field, "x-list-reference": None, "description": field["description"].replace(own, "{own}")}
        shapes.add(json.dumps(general, sort_keys=True))
        assert own in field["description"]
    assert len(shapes) == 1, shapes
