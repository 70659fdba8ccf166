import shutil
from pathlib import Path

from pipelines.core.config import load_config
from pipelines.core.records import load_records

ROOT = Path(__file__).resolve().parents[2]
MAX_FILE_BYTES = load_config(ROOT).max_file_bytes


def load(tmp_path, table, text):
    records = tmp_path / "records"
    records.mkdir(exist_ok=True)
    (records / f"{table}.yaml").write_text(text, encoding="utf-8")
    return load_records(records, ROOT / "schemas", [table], tmp_path, MAX_FILE_BYTES)


def test_a_good_record_loads_with_its_citations(tmp_path):
    loaded, problems = load(tmp_path, "laws", """
- law_id: law-x
  title: Law X
  act_type: law
  adopted: 2011-10-11
  summary: s
  citations:
    - source_id: s1
      quote: q
      field: adopted
      stated_value: 2011-10
""")
    assert not problems
    (record,) = loaded["laws"]
    assert record.where == "records/laws.yaml:2" and record.record_id == "law-x"
    assert record.citations[0].stated_value == "2011-10" and record.citations[0].line == 8


def test_shape_problems_name_file_line_record_and_field(tmp_path):
    _, problems = load(tmp_path, "laws", """
- law_id: law-x
  title: Law X
  adopted_precision: day
  color: red
  citations:
    - source_id: s1
      quote: q
      stated_value: "1999"
    - source_id: s1
      quote: q
      field: law_id
- title: no id
  citations: []
- law_id: law-y
  citations:
    - source_id: s1
      quote: q
      field: adopted
      stated_value: someday
      page: 3
""")
    text = "\n".join(map(str, problems))
    assert "records/laws.yaml:2, record 'law-x', field 'adopted_precision': is derived from 'adopted'" in text
    assert "field 'color': unknown column" in text
    assert "records/laws.yaml:7, record 'law-x', field 'citations.stated_value': a stated_value needs the field" in text
    assert "field 'citations.field': expected a column of the table other than the id, found 'law_id'" in text
    assert "record '#2', field 'law_id': expected the record's id" in text
    assert "record 'law-y', field 'citations.stated_value': for 'adopted': expected a date" in text
    assert "field 'citations.page': unknown key" in text


def test_missing_file_and_bad_yaml(tmp_path):
    _, problems = load(tmp_path, "laws", "- law_id: [\n")
    assert "records/laws.yaml" in str(problems[0]) and "not valid YAML" in str(problems[0])
    shutil.rmtree(tmp_path / "records")
    (tmp_path / "records").mkdir()
    _, problems = load_records(tmp_path / "records", ROOT / "schemas", ["laws"], tmp_path, MAX_FILE_BYTES)
    assert "records file is missing" in str(problems[0])


def test_conflict_reasons_are_a_sentence_per_column_of_the_table(tmp_path):
    loaded, problems = load(tmp_path, "laws", """
- law_id: law-x
  title: Law X
  conflict_reasons:
    adopted: the decree itself is dated so
  citations:
    - source_id: s1
      quote: q
- law_id: law-y
  title: Law Y
  conflict_reasons:
    colour: red
    title: ""
    law_id: its own id
  citations:
    - source_id: s1
      quote: q
- law_id: law-z
  title: Law Z
  conflict_reasons: [adopted]
  citations:
    - source_id: s1
      quote: q
""")
    assert loaded["laws"][0].reasons == {"adopted": "the decree itself is dated so"}
    text = "\n".join(map(str, problems))
    assert ("records/laws.yaml:9, record 'law-y', field 'conflict_reasons.colour': expected a column of the table"
            in text)
    assert "record 'law-y', field 'conflict_reasons.title': expected a sentence on why" in text
    assert "record 'law-y', field 'conflict_reasons.law_id': expected a column" in text
    assert "record 'law-z', field 'conflict_reasons': expected a mapping of column: reason" in text
