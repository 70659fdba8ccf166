from pipelines.core.errors import Problems
from pipelines.core.records import Citation, Record
from pipelines.stages.cite import citation_id, locate, uncited

TEXTS = {"s1": 'He said "zero tolerance" twice: zero tolerance.', "s2": "Aktobe, June 5, 2016."}


def record(quote, source="s1"):
    return Record("attacks", "records/attacks.yaml:3", "attack-x", {}, (Citation(source, quote, None, None, 5),))


def test_a_quote_is_located_in_the_normalized_text():
    problems = Problems()
    rec = record("“zero  tolerance” twice")
    row = locate(rec, rec.citations[0], TEXTS, problems)
    assert not problems
    assert TEXTS["s1"][row["char_start"]:row["char_end"]] == row["quote"] == '"zero tolerance" twice'


def test_missing_ambiguous_and_unknown_source_are_problems():
    problems = Problems()
    for rec in (record("June 6"), record("zero tolerance"), record("x", source="nope")):
        assert locate(rec, rec.citations[0], TEXTS, problems) is None
    text = "\n".join(map(str, problems))
    assert "records/attacks.yaml:5, record 'attack-x', field 'citations.quote': quote is not in source 's1'" in text
    assert "occurs 2 times in source 's1'" in text
    assert "unknown source 'nope'" in text


def test_citation_ids_are_stable_and_distinct():
    a = citation_id("attacks", "attack-x", "killed", "s1", "q")
    assert a == citation_id("attacks", "attack-x", "killed", "s1", "q") and a.startswith("cit-") and len(a) == 16
    assert a != citation_id("attacks", "attack-x", None, "s1", "q")


FIELDS = {"attack_id": {"name": "attack_id", "type": "string"}, "injured": {"name": "injured", "type": "integer"},
          "date": {"name": "date", "type": "date"}, "summary": {"name": "summary", "type": "string"}}


def uncited_problems(values, cited_fields):
    citations = tuple(Citation("s1", "zero tolerance", field, None, 6) for field in cited_fields)
    problems = Problems()
    uncited(Record("attacks", "records/attacks.yaml:3", "attack-x", values, citations), FIELDS, problems)
    return "\n".join(map(str, problems))


def test_a_number_or_date_with_no_citation_of_its_own_is_refused():
    text = uncited_problems({"injured": 5, "date": "2016-06", "summary": "uncited text"}, [None])
    assert "records/attacks.yaml:3, record 'attack-x', field 'injured': the value 5 has no citation of its own" in text
    assert "field 'date': the value 2016-06 has no citation of its own" in text
    assert "summary" not in text  # text cells are backed by the record's citations as a whole


def test_a_number_or_date_cited_for_its_field_or_empty_is_accepted():
    assert uncited_problems({"injured": 5, "date": "2016-06"}, ["injured", "date"]) == ""
    assert uncited_problems({"injured": None, "date": ""}, [None]) == ""
