"""No input, however odd, ends in a traceback or a silently different value: every curated table, the source catalog
and the coverage review are read by the strict loader, which refuses each odd input naming file, line, record and
field. Most cases run in-process on temporary copies; a few run the commands end to end."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, command, copy_project, run_stages, tree

from pipelines.core.config import load_config
from pipelines.core.errors import BuildError, Problems
from pipelines.core.records import MAX_DEPTH, load_records, read_yaml_strictly
from pipelines.core.schemas import derived_fields, fields_by_name, load_schema, precision_of, primary_key
from pipelines.stages.tables import record_row

CONFIG = load_config(ROOT)
TABLES = CONFIG.curated_tables
# The other files the strict loader reads, with the key that names their entries.
CURATOR_FILES = {CONFIG.params["paths"]["catalog"]: "source_id", CONFIG.params["paths"]["coverage_review"]: None}
DEEP = "[" * 100_000 + "]" * 100_000


class Planted:
    """A table's real record file with a line planted in its first record, in a temporary records folder."""

    def __init__(self, tmp_path: Path, table: str, mkdir: bool = True):
        self.table, self.records = table, tmp_path / "records"
        if mkdir:
            self.records.mkdir(exist_ok=True)
        self.schema = load_schema(CONFIG.path("schemas_dir"), table)
        (self.key,) = primary_key(self.schema)
        self.text = (CONFIG.path("records_dir") / f"{table}.yaml").read_text(encoding="utf-8")
        first = yaml.load(self.text, Loader=yaml.CSafeLoader)[0]
        self.record_id = first[self.key]
        self.lines = self.text.splitlines(keepends=True)
        self.id_line = next(i for i, line in enumerate(self.lines) if line.startswith(f"- {self.key}: "))
        derived = set(derived_fields(self.schema)) | set(precision_of(self.schema).values())
        self.free = [name for name in fields_by_name(self.schema) if name not in first and name not in derived]

    def load(self, after: int, planted: str):
        """The records with `planted` inserted after line `after` (0-based), and the problems found."""
        text = "".join(self.lines[:after + 1]) + planted + "".join(self.lines[after + 1:])
        (self.records / f"{self.table}.yaml").write_text(text, encoding="utf-8")
        return load_records(self.records, CONFIG.path("schemas_dir"), [self.table], self.records.parent,
                            CONFIG.max_file_bytes)

    def column(self, kinds=("string", "integer", "year", "number", "boolean", "date")) -> str | None:
        return next((name for name in self.free if fields_by_name(self.schema)[name]["type"] in kinds), None)

    def refused(self, problems, line: int, field: str, *expected: str) -> None:
        text = "\n".join(map(str, problems))
        assert f"records/{self.table}.yaml:{line}, record {self.record_id!r}, field {field!r}" in text, text
        for fragment in expected:
            assert fragment in text, f"{fragment!r} not in:\n{text}"


# --- values YAML 1.1 would read otherwise than written ----------------------------------------------------

MISREAD = {  # as written → what the message must say
    "010": "reads as 8, not as written; write 10,",
    "0_10": "reads as 8, not as written; write 10,",
    "12:30": "reads as 750, not as written; write the number in plain digits",
    "1_000": "reads as 1000, not as written; write 1000,",
    "0x1F": "reads as 31, not as written; write 31,",
    "0b101": "reads as 5, not as written; write 5,",
    "+12": "reads as 12, not as written; write 12,",
    ".5": "reads as 0.5, not as written; write 0.5,",
    "1.": "reads as 1.0, not as written; write 1,",
    "1.0e+3": "reads as 1000.0, not as written; write 1000,",
    "yes": "reads as true, not as written; write true,",
    "Off": "reads as false, not as written; write false,",
    "~": "reads as no value, not as written; write null",
    "NULL": "reads as no value, not as written; write null",
    ".nan": "reads as nan, not as written; write the number in plain digits",
    "-.inf": "reads as -inf, not as written; write the number in plain digits",
    "2016-06-05T12:30:00Z": "reads as 2016-06-05 12:30:00+00:00, not as written; write the date as \"YYYY-MM-DD\"",
    "2016-06-05 12:30:00": "reads as 2016-06-05 12:30:00, not as written; write the date",
    "=": "reads as a special value; quote it",
    "!!float 1e400": "carries the YAML tag !!float",
    "!!set {a, b}": "carries the YAML tag !!set",
    "!!python/tuple [1, 2]": "carries the YAML tag !!python/tuple",
}


# Every spelling on one table, a few on every table: one loader reads them all.
EVERY_SPELLING = [("attacks", written) for written in MISREAD]
EVERY_TABLE = [(table, written) for table in TABLES if table != "attacks" for written in ("010", "12:30", "yes")]


@pytest.mark.parametrize("table, written", EVERY_SPELLING + EVERY_TABLE)
def test_a_value_yaml_would_read_otherwise_is_refused_showing_how_it_was_written(tmp_path, table, written):
    planted = Planted(tmp_path, table)
    column = planted.column()
    _, problems = planted.load(planted.id_line, f"  {column}: {written}\n")
    planted.refused(problems, planted.id_line + 2, column, MISREAD[written])
    if not written.startswith("!"):
        assert f"is written {written}," in str(problems[0])


@pytest.mark.parametrize("written, read", [("12", 12), ("-3", -3), ("0", 0), ("1.5", 1.5), ("true", True),
                                           ("false", False), ("null", None), ("", None), ("'010'", "010"),
                                           ('"12:30"', "12:30"), ("2016-06-05", "2016-06-05"), ("2016-6-5", "2016-6-5"),
                                           ("1e3", "1e3")])
def test_a_value_written_plainly_is_read_as_written(tmp_path, written, read):
    path = tmp_path / "values.yaml"
    path.write_text(f"- value: {written}\n", encoding="utf-8")
    problems = Problems()
    (item,) = read_yaml_strictly(path, "values.yaml", CONFIG.max_file_bytes, None, problems)
    assert not problems
    value = item["value"]
    assert (value.isoformat() if hasattr(value, "isoformat") else value) == read


def test_a_misread_key_and_a_misread_value_in_a_citation_are_named(tmp_path):
    planted = Planted(tmp_path, "attacks")
    _, problems = planted.load(planted.id_line, "  yes: 1\n")
    planted.refused(problems, planted.id_line + 2, "yes", "is written yes, which YAML 1.1 reads as true")
    citations = next(i for i, line in enumerate(planted.lines) if line.strip() == "citations:")
    _, problems = planted.load(citations, "    - source_id: s\n      quote: q\n      field: killed\n"
                                          "      stated_value: 1_000\n")
    planted.refused(problems, citations + 5, "citations.stated_value", "write 1000,")


# --- nesting deeper than any record needs ----------------------------------------------------------------

@pytest.mark.parametrize("table", TABLES)
def test_a_value_nested_thousands_deep_is_refused_not_a_crash(tmp_path, table):
    planted = Planted(tmp_path, table)
    _, problems = planted.load(planted.id_line, f"  {planted.column()}: {DEEP}\n")
    text = "\n".join(map(str, problems))
    assert f"records/{table}.yaml:{planted.id_line + 2}, record {planted.record_id!r}" in text, text
    assert f"nested more than {MAX_DEPTH} levels deep" in text


@pytest.mark.parametrize("name", list(CURATOR_FILES))
def test_the_catalog_and_the_review_refuse_deep_nesting_too(tmp_path, name):
    path = tmp_path / "file.yaml"
    path.write_text((ROOT / name).read_text(encoding="utf-8") + f"- note: {DEEP}\n", encoding="utf-8")
    problems = Problems()
    assert read_yaml_strictly(path, name, CONFIG.max_file_bytes, CURATOR_FILES[name], problems) is None
    assert re.fullmatch(rf"{re.escape(name)}:\d+: is nested more than {MAX_DEPTH} levels deep.*", str(problems[0]))


# --- numbers a table cannot publish as written -----------------------------------------------------------

def numeric_tables():
    """Each table with a number column its first record leaves empty, and that column."""
    for table in TABLES:
        column = Planted(Path("."), table, mkdir=False).column(("integer", "year", "number"))
        if column:
            yield table, column


ODD_NUMBERS = {  # value as written in YAML → what the message must say
    "123456789012345678901234567890": "beyond ±9,007,199,254,740,991",
    "-123456789012345678901234567890": "beyond ±9,007,199,254,740,991",
    "1" + "0" * 400: "(401 characters) is beyond",
    "99999999999999999999.5": "beyond ±9,007,199,254,740,991",
}


@pytest.mark.parametrize("written", list(ODD_NUMBERS))
@pytest.mark.parametrize("table, column", list(numeric_tables()))
def test_a_number_too_large_to_publish_exactly_is_refused(tmp_path, table, column, written):
    planted = Planted(tmp_path, table)
    records, problems = planted.load(planted.id_line, f"  {column}: {written}\n")
    fields = fields_by_name(planted.schema)
    kind = fields[column]["type"]
    for record in records[table]:
        record_row(record, fields, precision_of(planted.schema), problems)
    expected = ODD_NUMBERS[written] if kind == "number" or "." not in written else "expected a whole number"
    planted.refused(problems, planted.id_line + 1, column, expected)  # a cell's problem names its record's line


@pytest.mark.parametrize("stated", ["1e400", "nan", "inf", "1e3", "12 apples", "-0x10", "9" * 5000])
@pytest.mark.parametrize("table, column", list(numeric_tables()))
def test_a_stated_value_that_is_no_plain_number_is_refused(tmp_path, table, column, stated):
    planted = Planted(tmp_path, table)
    citations = next(i for i, line in enumerate(planted.lines) if line.strip() == "citations:")
    indent = planted.lines[citations + 1][:planted.lines[citations + 1].index("-")]
    _, problems = planted.load(citations, f'{indent}- source_id: s\n{indent}  quote: q\n{indent}  field: {column}\n'
                                          f'{indent}  stated_value: "{stated}"\n')
    planted.refused(problems, citations + 2, "citations.stated_value")


@pytest.mark.parametrize("table, column", list(numeric_tables()))
def test_a_negative_count_and_a_fraction_of_a_whole_number_are_refused_at_their_record(tmp_path, table, column):
    planted = Planted(tmp_path, table)
    field = fields_by_name(planted.schema)[column]
    records, problems = planted.load(planted.id_line, f"  {column}: -4.5\n")
    for record in records[table]:
        record_row(record, fields_by_name(planted.schema), precision_of(planted.schema), problems)
    minimum = field.get("constraints", {}).get("minimum")
    planted.refused(problems, planted.id_line + 1, column, "expected a whole number, found -4.5"
                    if field["type"] != "number" else f"-4.5 is outside the range {column!r} allows: {minimum} to"
                    if minimum is not None else "")


# --- files that are empty, odd or not text --------------------------------------------------------------

ODD_FILES = {  # bytes → what the message must say
    "empty": (b"", "holds no YAML value (it is empty, or only comments)"),
    "only a comment": (b"# nothing yet\n", "holds no YAML value (it is empty, or only comments)"),
    "a mapping": (b"title: x\nnote: y\n", ":1: expected a list with one '- ' item per entry, found a mapping"),
    "a single value": (b"just some text\n", ":1: expected a list with one '- ' item per entry, found the single"),
    "NUL bytes": (b"\0" * 64, "not valid YAML: unacceptable character #x0000"),
    "Windows-1251": ("- note: Казахстан\n".encode("cp1251"), ":1: is not UTF-8: byte 0xca at offset 8"),
    "two documents": (b"- a: 1\n---\n- b: 2\n", "not valid YAML: expected a single document"),
}


@pytest.mark.parametrize("case", list(ODD_FILES))
@pytest.mark.parametrize("name", [f"records/{table}.yaml" for table in TABLES] + list(CURATOR_FILES))
def test_an_odd_file_is_refused_naming_it(tmp_path, name, case):
    content, expected = ODD_FILES[case]
    path = tmp_path / "file.yaml"
    path.write_bytes(content)
    problems = Problems()
    assert read_yaml_strictly(path, name, CONFIG.max_file_bytes, None, problems) is None
    assert len(problems) == 1 and str(problems[0]).startswith(name) and expected in str(problems[0]), problems


@pytest.mark.parametrize("name", [f"records/{table}.yaml" for table in TABLES] + list(CURATOR_FILES))
def test_a_byte_order_mark_and_crlf_line_ends_read_the_same_and_a_file_over_the_limit_is_refused(tmp_path, name):
    original = (ROOT / name).read_bytes()
    path = tmp_path / "file.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + original.replace(b"\n", b"\r\n"))
    problems = Problems()
    marked = read_yaml_strictly(path, name, CONFIG.max_file_bytes, None, problems)
    path.write_bytes(original)
    assert not problems and marked == read_yaml_strictly(path, name, CONFIG.max_file_bytes, None, problems)
    assert read_yaml_strictly(path, name, len(original) - 1, None, problems) is None
    assert f"is {len(original):,} bytes; a record file may be at most {len(original) - 1:,} bytes" in str(problems[0])


def test_a_list_of_text_instead_of_records_names_each_item(tmp_path):
    records = tmp_path / "records"
    records.mkdir()
    (records / "laws.yaml").write_text("- one\n- 2\n", encoding="utf-8")
    _, problems = load_records(records, CONFIG.path("schemas_dir"), ["laws"], tmp_path, CONFIG.max_file_bytes)
    assert [str(p) for p in problems] == [
        "records/laws.yaml, record '#1': expected a mapping of column: value, found 'one'",
        "records/laws.yaml, record '#2': expected a mapping of column: value, found 2"]


# --- params.yaml: paths outside the project --------------------------------------------------------------

@pytest.mark.parametrize("path", ["../../elsewhere", "/tmp/elsewhere", "data/../../x", "", "[data]"])
def test_a_path_outside_the_project_is_refused_by_load_config(tmp_path, path):
    (tmp_path / "params.yaml").write_text(
        (ROOT / "params.yaml").read_text(encoding="utf-8").replace("\n  data_dir: data ", f"\n  data_dir: {path} "),
        encoding="utf-8")
    with pytest.raises(BuildError) as error:
        load_config(tmp_path)
    assert "params.yaml, field 'paths.data_dir': expected a path inside the project" in error.value.report()


def test_params_yaml_that_is_not_yaml_is_refused(tmp_path):
    (tmp_path / "params.yaml").write_text("paths: [unclosed\n", encoding="utf-8")
    with pytest.raises(BuildError) as error:
        load_config(tmp_path)
    assert "params.yaml: cannot be read:" in error.value.report()


# --- end to end: the commands refuse, without a traceback, and change nothing ----------------------------

@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return copy_project(tmp_path_factory.mktemp("bad-input") / "project")


def refuses_changing_nothing(project: Path, args: list[str], *expected: str) -> None:
    """`python -m pipelines <args>`, or the stage `args` names, refuses with exit 1 and no traceback, naming what
    `expected` says, and every file of the project is as it was."""
    before = tree(project)
    result = command(project, *args) if args[0] in ("build", "check") else run_stages(project, args)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for text in expected:
        assert text in result.stderr, f"{text!r} not in:\n{result.stderr}"
    assert tree(project) == before


def test_build_refuses_a_data_dir_outside_the_project(project):
    params = project / "params.yaml"
    good = params.read_text(encoding="utf-8")
    params.write_text(good.replace("\n  data_dir: data ", "\n  data_dir: ../../elsewhere "), encoding="utf-8")
    try:
        refuses_changing_nothing(project, ["build"], "params.yaml, field 'paths.data_dir'", "'../../elsewhere'")
    finally:
        params.write_text(good, encoding="utf-8")


def test_ingest_refuses_a_catalog_entry_nested_thousands_deep(project):
    path = project / "sources" / "catalog.yaml"
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace("\n  title: ", f"\n  note: {DEEP}\n  title: ", 1), encoding="utf-8")
    try:
        refuses_changing_nothing(project, ["ingest"], "catalog.yaml:", f"nested more than {MAX_DEPTH} levels")
    finally:
        path.write_text(good, encoding="utf-8")
