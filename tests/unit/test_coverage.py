from pathlib import Path

from pipelines.core.config import load_config
from pipelines.core.sentences import split_sentences
from pipelines.stages.coverage import fact_finder

ROOT = Path(__file__).resolve().parents[2]
FACTS = fact_finder(load_config(ROOT), set())


def sentences(text):
    return [text[a:b] for a, b in split_sentences(text)]


def test_sentences_end_at_full_stops_but_not_after_abbreviations_or_initials():
    text = ("Terrorism (Art. 258 of the Criminal Code, 2014). The KNB deputy chief V. Bozhko spoke. "
            "Was it so? \"Yes,\" he said. In 2016 courts convicted 182 people.")
    assert sentences(text) == [
        "Terrorism (Art. 258 of the Criminal Code, 2014).",
        "The KNB deputy chief V. Bozhko spoke.", "Was it so?", "\"Yes,\" he said.",
        "In 2016 courts convicted 182 people."]


def test_offsets_point_into_the_text():
    text = "First one. Second one here."
    assert [text[a:b] for a, b in split_sentences(text)] == ["First one.", "Second one here."]


def test_fact_bearing_words_and_numbers():
    assert FACTS.pattern.search("The court banned it.") and FACTS.pattern.search("In 2014 it happened.")
    assert FACTS.pattern.search("Hundreds of citizens left.") and not FACTS.pattern.search("It is a global problem.")


def test_a_sentence_is_cited_when_any_span_overlaps_it():
    from pipelines.stages.coverage import cited_prefix

    text = "First one. Second one here. Third."
    prefix = cited_prefix(text, [(12, 18), (14, 16)])  # inside the second sentence only
    (a1, b1), (a2, b2), (a3, b3) = split_sentences(text)
    assert prefix[b1] == prefix[a1] and prefix[b2] > prefix[a2] and prefix[b3] == prefix[a3]


def test_names_are_found_as_a_regular_expression_finds_them_not_inside_longer_words():
    import re

    from pipelines.stages.coverage import NameIndex

    names = {"Hizb ut-Tahrir", "Jamaat", "Islamic State", "АУМ Синрикё", "Tablighi Jamaat (2)", "Jund al-Khalifah"}
    index = NameIndex(names)
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")(?!\w)", re.IGNORECASE)
    texts = ["Members of HIZB UT-TAHRIR were tried.", "The Jamaatists met.", "Jamaat, they said.",
             "islamic states", "the Islamic State.", "секта аум синрикё запрещена", "Tablighi Jamaat (2) was banned",
             "Tablighi Jamaat (2)x", "xJamaat", "Jund al-Khalifahs", "", "Jama", "(Jamaat)"]
    assert [index.found_in(t) for t in texts] == [bool(pattern.search(t)) for t in texts]
    assert [index.found_in(t) for t in texts] == [True, False, True, False, True, True, True, True, False, False,
                                                   False, False, True]  # "(2)x" still holds "Jamaat" as a word
    assert not NameIndex(set()).found_in("Jamaat")


def test_a_sentence_divides_into_clauses_but_not_inside_brackets_or_a_date():
    from pipelines.core.sentences import split_clauses

    text = ("After terrorists seized a school in Beslan, North Ossetia, and after the bombings (in Tashkent, Bukhara) "
            "of October 24, 2011; the court met: it ruled.")
    clauses = [text[a:b] for a, b in split_clauses(text, 0, len(text))]
    assert clauses == ["After terrorists seized a school in Beslan", "North Ossetia",
                       "and after the bombings (in Tashkent, Bukhara) of October 24, 2011", "the court met",
                       "it ruled."]


def test_two_facts_in_one_sentence_are_decided_one_by_one(tmp_path):
    """The Beslan clause stays undecided while only the Uzbek bombings are cited, until a review decides it."""
    import json

    from pipelines.core.config import Config
    from pipelines.stages.coverage import run

    text = ("This rule worked well after terrorists seized a school in Beslan, North Ossetia, last September and "
            "after the terrorist bombings in Uzbekistan in March and April 2004. Nothing else.")
    quote = "after the terrorist bombings in Uzbekistan in March and April 2004"
    (tmp_path / "ingested").mkdir()
    (tmp_path / "ingested" / "s.txt").write_text(text, encoding="utf-8")
    (tmp_path / "ingested" / "sources.json").write_text(json.dumps([{"source_id": "s"}]), encoding="utf-8")
    start = text.index(quote)
    citation = {"source_id": "s", "char_start": start, "char_end": start + len(quote), "resource": "attacks",
                "record_id": "attack-x", "where": "records/attacks.yaml:3"}
    (tmp_path / "citations.jsonl").write_text(json.dumps([citation]) + "\n", encoding="utf-8")
    (tmp_path / "organizations.csv").write_text("org_id,name,aliases\n", encoding="utf-8")
    review = tmp_path / "reviewed.yaml"
    paths = {"ingested_dir": "ingested", "citations": "citations.jsonl", "tables_dir": ".",
             "coverage_review": "reviewed.yaml", "coverage": "coverage.json", "schemas_dir": str(ROOT / "schemas")}
    config = Config(tmp_path, {"paths": paths, "records": {"max_file_bytes": 5_000_000},
                               "curated_tables": load_config(ROOT).curated_tables})

    counts = run(config)["sources"]["s"]
    assert [u["sentence"] for u in counts["undecided"]] == [
        "This rule worked well after terrorists seized a school in Beslan"]
    assert (counts["fact_bearing"], counts["cited"]) == (2, 1)  # "North Ossetia" holds no marker

    review.write_text("- source_id: s\n  start: 0\n  begins: This rule worked\n  reason: the school seizure in "
                      "Beslan is outside the tables' scope\n", encoding="utf-8")
    counts = run(config)["sources"]["s"]
    assert counts["undecided"] == [] and (counts["cited"], counts["reviewed"]) == (1, 1)


def test_an_entry_at_a_sentence_start_decides_one_clause_with_scope_and_none_a_record_cites(tmp_path):
    import json

    from pipelines.core.config import Config
    from pipelines.stages.coverage import run

    text = "In 2013 a court sat in Astana, and in 2014 another court sat in Almaty. Nothing else."
    (tmp_path / "ingested").mkdir()
    (tmp_path / "ingested" / "s.txt").write_text(text, encoding="utf-8")
    (tmp_path / "ingested" / "sources.json").write_text(json.dumps([{"source_id": "s"}]), encoding="utf-8")
    (tmp_path / "organizations.csv").write_text("org_id,name,aliases\n", encoding="utf-8")
    paths = {"ingested_dir": "ingested", "citations": "citations.jsonl", "tables_dir": ".",
             "coverage_review": "reviewed.yaml", "coverage": "coverage.json", "schemas_dir": str(ROOT / "schemas")}
    config = Config(tmp_path, {"paths": paths, "records": {"max_file_bytes": 5_000_000},
                               "curated_tables": load_config(ROOT).curated_tables})

    def counts(quote, scope):
        start = text.index(quote) if quote else 0
        rows = [{"source_id": "s", "char_start": start, "char_end": start + len(quote), "resource": "attacks",
                 "record_id": "attack-x", "where": "records/attacks.yaml:3"}] if quote else []
        (tmp_path / "citations.jsonl").write_text("".join(json.dumps([r]) + "\n" for r in rows), encoding="utf-8")
        (tmp_path / "reviewed.yaml").write_text("- source_id: s\n  start: 0\n  begins: In 2013 a court\n"
                                                + (f"  scope: {scope}\n" if scope else "") + "  reason: r\n",
                                                encoding="utf-8")
        return run(config)

    whole = counts("", None)["sources"]["s"]
    assert (whole["reviewed"], whole["undecided"]) == (2, [])  # the whole sentence, both clauses
    clause = counts("", "clause")["sources"]["s"]
    assert clause["reviewed"] == 1 and [u["sentence"] for u in clause["undecided"]] == [
        "and in 2014 another court sat in Almaty."]
    summary = counts("In 2013 a court sat in Astana", "clause")
    assert [e["start"] for e in summary["stale_reviews"]] == [0]  # a record cites what the review says holds no fact
    assert summary["stale_reviews"][0]["cited_by"] == ["attacks attack-x (records/attacks.yaml:3)"]
    assert "attacks attack-x (records/attacks.yaml:3) cite(s) this passage" in summary["stale_reviews"][0]["problem"]
    assert summary["stale_reviews"][0]["where"] == "reviewed.yaml:1"


def test_organization_names_split_aliases_at_the_schemas_separator(tmp_path):
    from pipelines.core.schemas import list_separator, load_schema
    from pipelines.stages.coverage import organization_names

    separator = list_separator(load_schema(ROOT / "schemas", "organizations"), "aliases")
    (tmp_path / "organizations.csv").write_text(
        f"org_id,name,aliases\nis,Islamic State,ISIL{separator}IS{separator}Daesh\n", encoding="utf-8")
    assert organization_names(tmp_path / "organizations.csv", separator) == {"Islamic State", "ISIL", "IS", "Daesh"}


def test_the_number_and_month_words_are_those_evidence_reads():
    from pipelines.core.evidence import MONTH_NAMES, NUMBER_WORDS

    for word in (*NUMBER_WORDS, *MONTH_NAMES):
        assert bool(FACTS.pattern.search(f"They came {word}.")) == (word not in ("may", "zero")), word
    assert FACTS.pattern.search("Hundreds of them left") and FACTS.pattern.search("Seventeen were killed")
    assert not FACTS.pattern.search("It may be a zero-tolerance attitude")


def test_the_fact_words_are_the_tables_own_and_suggest_their_tables():
    """Each fact word is declared by the tables it suggests (x-fact-words in their schemas); a count suggests
    statistics, a date does not."""
    assert FACTS.tables("the court banned the group") == ["court_bans", "prosecutions"]
    assert FACTS.tables("8 people were killed") == ["attacks", "statistics"]
    assert FACTS.tables("On June 5, 2016") == [] and FACTS.tables("on 5 June 2016") == []
    assert FACTS.tables("hundreds of citizens left") == ["statistics"]
    assert FACTS.tables("The weather was fine") == []
    assert FACTS.found_in("The court sat.") and not FACTS.found_in("The weather was fine.")


def test_the_worklist_names_the_existing_attack_by_its_city_and_year(tmp_path):
    """`mentions` finds an existing attack by city and year, an organization by an alias, a law by its title."""
    from pipelines.core.config import Config
    from pipelines.stages.coverage import RecordIndex, worklist

    (tmp_path / "tables").mkdir()
    files = {"organizations": "org_id,name,aliases\nhizb-ut-tahrir,Hizb ut-Tahrir,HT|Hizb ut-Tahrir al-Islami\n",
             "attacks": "attack_id,city,date\nattack-2016-aktobe,Aktobe,2016-06-05\n"
                        "attack-2011-aktobe,Aktobe,2011-05-17\n",
             "laws": "law_id,title\nlaw-2005-x,On Countering Extremism\n",
             "agreements": "agreement_id,title\n", "programmes": "programme_id,title\n"}
    for table, text in files.items():
        (tmp_path / "tables" / f"{table}.csv").write_text(text, encoding="utf-8")
    config = Config(tmp_path, {"paths": {"tables_dir": "tables", "schemas_dir": str(ROOT / "schemas")}})
    text = "In June 2016 gunmen attacked Aktobe, 8 were killed. HT denied it; the law On Countering Extremism applies."
    summary = {"sources": {"s": {"undecided": [{"start": 0, "sentence": "In June 2016 gunmen attacked Aktobe"},
                                               {"start": 52, "sentence": "HT denied it"},
                                               {"start": 66, "sentence": "the law On Countering Extremism applies."}]}}}
    items = worklist(summary, "s", {"s": text}, FACTS, RecordIndex(config))
    assert [i["mentions"] for i in items] == [["attack-2016-aktobe"], ["hizb-ut-tahrir"], ["law-2005-x"]]
    for item in items:
        assert text[item["start"]:].startswith(item["quote"]) and item["quote"].startswith(item["begins"])
        assert item["review"] == {"source_id": "s", "start": item["start"], "scope": "clause",
                                  "begins": item["begins"], "reason": ""}
