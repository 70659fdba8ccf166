"""Stage coverage: every fact the sources state is cited by a record or reviewed; facts are counted, not sentences.

A sentence is fact-bearing when it holds a number, year or month, the name, alias or acronym of a known
organization, or a word by which a table's facts are stated (`x-fact-words` in each Table Schema: court, decree,
law, convicted, seized, killed…). Its facts are its clauses (the
sentence cut at semicolons, colons and commas outside brackets) that hold such a marker: a sentence with two facts
is decided only when each is. A fact is decided when a citation's span overlaps it, or when the review file
(params.yaml paths.coverage_review) lists it — at the clause's start, or the whole sentence at the sentence's
start — with the reason it holds no table fact.
`python -m pipelines coverage` writes build/coverage.json and prints per-source counts; with `--check` it
exits 1 while any fact is undecided or any review entry no longer matches its sentence or clause.
"""
from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import yaml

from ..core.config import Config, load_config
from ..core.errors import Problems, run_stage, shown, stage_arguments
from ..core.evidence import MONTH_NAMES, MULTIPLIERS, NUMBER_WORDS, SCALES
from ..core.fileio import bulk_objects, read_batches, read_texts, write_json_atomic
from ..core.schemas import list_separator, load_schema
from ..core.sentences import read_review, reviewed_spans, split_clauses, split_sentences, whole_sentence

# The number and month words are evidence's, with the plurals of its scales ("hundreds of"; not of mln and bn); not
# "may" (in prose, mostly the verb) nor "zero" (mostly "zero tolerance"), nor the abbreviations of months, which
# state a date only beside a day or year (a digit marks those already).
_PLURALS = tuple(f"{scale}s" for scale in (*SCALES, *MULTIPLIERS) if len(scale) > 3)
DATE_AND_NUMBER_WORDS = tuple(word for word in (*NUMBER_WORDS, *_PLURALS, *MONTH_NAMES) if word not in ("may", "zero"))



def run(config: Config) -> dict:
    # Load
    texts = read_texts(config.path("ingested_dir"))
    with bulk_objects():
        spans = [(c["source_id"], c["char_start"], c["char_end"], f"{c['resource']} {c['record_id']} ({c['where']})")
                 for c in read_batches(config.path("citations"))]
    names = organization_names(config.path("tables_dir") / "organizations.csv",
                               list_separator(load_schema(config.path("schemas_dir"), "organizations"), "aliases"))
    problems = Problems()
    reviewed = read_review(config, texts, problems)
    problems.raise_if_any("coverage")

    # Process
    facts = fact_finder(config, names)
    summary = {"sources": {}, "stale_reviews": []}
    for source_id, text in texts.items():
        sentences = split_sentences(text)
        starts = {start for start, _ in sentences}
        cited = cited_prefix(text, [(a, b) for s, a, b, _ in spans if s == source_id])
        counts = {"sentences": len(sentences), "fact_bearing_sentences": 0, "fact_bearing": 0, "cited": 0,
                  "reviewed": 0, "undecided": []}
        for start, clauses in fact_sentences(text, sentences, facts):
            counts["fact_bearing_sentences"] += 1
            whole_reviewed = (source_id, start) in reviewed and whole_sentence(reviewed[(source_id, start)])
            for a, b in clauses:
                clause = text[a:b]
                starts.add(a)
                counts["fact_bearing"] += 1
                if cited[b] > cited[a]:
                    counts["cited"] += 1
                elif whole_reviewed or (source_id, a) in reviewed:
                    counts["reviewed"] += 1
                else:
                    counts["undecided"].append({"start": a, "sentence": clause})
        for (review_source, start), entry in reviewed.items():
            if review_source == source_id and start not in starts:
                summary["stale_reviews"].append({**entry, "problem": "no fact-bearing sentence or clause starts at "
                                                 "this offset"})
        for start, end, _ in reviewed_spans(text, source_id, reviewed):
            if cited[end] > cited[start]:
                citing = sorted({who for s, a, b, who in spans if s == source_id and a < end and b > start})
                summary["stale_reviews"].append({**reviewed[(source_id, start)], "cited_by": citing, "problem": (
                    f"{' and '.join(citing)} cite(s) this passage (characters {start}-{end}), which the review says "
                    "holds no table fact: delete the review entry (or, if the citation is wrong, the citation)")})
        summary["sources"][source_id] = counts

    # Save
    write_json_atomic(config.path("coverage"), summary, compact=True)
    return summary


class FactFinder:
    """What makes a clause a fact: a digit, a number or month word (core/evidence.py), a word by which a table's facts
    are stated (`x-fact-words` in its Table Schema), or the name of a known organization. It also says which tables
    a fact's words suggest: the tables whose words it holds, and statistics for a number that is not a year."""

    def __init__(self, table_words: dict[str, list[str]], names: set[str]):
        words = sorted({w for ws in table_words.values() for w in ws} | set(DATE_AND_NUMBER_WORDS))
        self.pattern = re.compile(r"\d|\b(?:" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE)
        self.by_table = {table: re.compile(r"\b(?:" + "|".join(map(re.escape, ws)) + r")\b", re.IGNORECASE)
                         for table, ws in table_words.items() if ws}
        self.mentions = NameIndex(names)

    def found_in(self, text: str) -> bool:
        return bool(self.pattern.search(text)) or self.mentions.found_in(text)

    def tables(self, clause: str) -> list[str]:
        found = {table for table, words in self.by_table.items() if words.search(clause)}
        undated = _DAY_OF_MONTH.sub(" ", clause)  # "June 5, 2016": a date, not a count
        if _COUNT.search(undated) or _NUMBER_WORD.search(undated):
            found.add("statistics")
        return sorted(found)


_COUNT = re.compile(r"(?<![\d.,])(?!(?:1[89]|20)\d\d\b)\d[\d,.]*")  # a number that is not a year
_MONTHS = "|".join(MONTH_NAMES)
_DAY_OF_MONTH = re.compile(rf"\b(?:(?:{_MONTHS})\.?\s+\d{{1,2}}\b|\d{{1,2}}\s+(?:{_MONTHS})\b)", re.IGNORECASE)
_NUMBER_WORD = re.compile(r"\b(?:" + "|".join(map(re.escape, (*NUMBER_WORDS, *_PLURALS))) + r")\b", re.IGNORECASE)


def fact_finder(config: Config, names: set[str]) -> FactFinder:
    """The fact finder of the package: each curated table's fact words, read from its Table Schema."""
    schemas = config.path("schemas_dir")
    return FactFinder({t: load_schema(schemas, t).get("x-fact-words", []) for t in config.curated_tables}, names)


def fact_sentences(text: str, sentences: list[tuple[int, int]], facts: FactFinder) -> Iterator[tuple[int, list]]:
    """Each fact-bearing sentence of a text, by its start, with its facts: the (start, end) of each of its clauses
    that holds a marker."""
    for start, end in sentences:
        if facts.found_in(text[start:end]):
            yield start, [(a, b) for a, b in split_clauses(text, start, end) if facts.found_in(text[a:b])]


def cited_prefix(text: str, spans: list[tuple[int, int]]) -> list[int]:
    """prefix[i] = how many of the first i characters some span covers: [start, end) overlaps a citation exactly
    when prefix[end] > prefix[start]. One pass over the spans and one over the text, however many spans."""
    edges = [0] * (len(text) + 1)
    for start, end in spans:
        edges[start] += 1
        edges[end] -= 1
    prefix, depth, covered = [0], 0, 0
    for i in range(len(text)):
        depth += edges[i]
        covered += depth > 0
        prefix.append(covered)
    return prefix


class NameIndex:
    """Finds whether a text mentions any of many names: case-insensitively, not inside a longer word.

    A regular expression with one alternative per name tries every name at every position, so its cost is the
    text's length times the number of names. Here names are looked up by their first four characters at each
    position where a word can start: the cost is the text's length plus the names that share those characters.
    """
    KEY = 4

    def __init__(self, names: set[str]):
        self.by_start: dict[str, list[str]] = {}
        # Names shorter than the key are acronyms (SCO, CIS, KNB): matched as whole words, in capitals only.
        short = sorted(n for n in names if len(n) < self.KEY)
        self.acronyms = re.compile(r"\b(?:" + "|".join(map(re.escape, short)) + r")\b") if short else None
        for name in (n for n in names if len(n) >= self.KEY):
            folded = _lower(name)
            self.by_start.setdefault(folded[: self.KEY], []).append(folded)

    def found_in(self, text: str) -> bool:
        if self.acronyms is not None and self.acronyms.search(text):
            return True
        if not self.by_start:
            return False
        folded = _lower(text)
        for position in range(len(folded) - self.KEY + 1):
            if position and _WORD.match(folded, position - 1):
                continue  # inside a word
            for name in self.by_start.get(folded[position:position + self.KEY], ()):
                end = position + len(name)
                if folded.startswith(name, position) and not _WORD.match(folded, end):
                    return True
        return False


_WORD = re.compile(r"\w")


def _lower(text: str) -> str:
    """Lower case, one character for one (a character whose lower case is longer is kept), so positions hold."""
    return "".join(c if len(low := c.lower()) != 1 else low for c in text)


def organization_names(path: Path, separator: str) -> set[str]:
    """Names and aliases (separated by `separator`) of the organizations table, as they appear in sentences."""
    return {n for row in _rows(path) for n in _findable([row["name"], *row["aliases"].split(separator)])}


def _findable(names: list[str]) -> set[str]:
    """The names worth looking for in a sentence: four characters or more, or an acronym of two or three capitals."""
    return {n for n in (n.strip() for n in names) if len(n) >= 4 or re.fullmatch(r"[A-Z]{2,3}", n)}


def worklist(summary: dict, source_id: str, texts: dict[str, str] | None = None, facts: FactFinder | None = None,
             records: RecordIndex | None = None) -> list[dict]:
    """One item per undecided fact of a source: where it is, its clause verbatim (a quote ready to paste into a
    record's citations), the tables its words suggest, the existing records it names (extend one before making a
    duplicate), and the review entry that would decide that clause alone, but for its reason."""
    items = []
    for item in summary["sources"][source_id]["undecided"]:
        clause = item["sentence"]
        begins = " ".join(clause.split(" ")[:BEGINS_WORDS])
        entry = {"source_id": source_id, "start": item["start"], "begins": begins, "quote": clause}
        if facts is not None:
            entry["tables"] = facts.tables(clause)
        if records is not None and texts is not None:
            entry["mentions"] = records.named_in(clause, sentence_around(texts[source_id], item["start"]))
        entry["review"] = {"source_id": source_id, "start": item["start"], "scope": "clause", "begins": begins,
                           "reason": ""}
        items.append(entry)
    return items


def sentence_around(text: str, offset: int) -> str:
    return next((text[a:b] for a, b in split_sentences(text) if a <= offset < b), "")


class RecordIndex:
    """The existing records a passage names: an organization by its name or an alias, an attack by its city and
    year, a law, agreement or programme by its title. Names are found as the coverage finds them (NameIndex)."""

    def __init__(self, config: Config):
        tables = config.path("tables_dir")
        separator = list_separator(load_schema(config.path("schemas_dir"), "organizations"), "aliases")
        self.organizations = [(row["org_id"], NameIndex(_findable([row["name"], *row["aliases"].split(separator)])))
                              for row in _rows(tables / "organizations.csv")]
        self.attacks = [(row["attack_id"], NameIndex({row["city"]}), row["date"][:4])
                        for row in _rows(tables / "attacks.csv") if row["city"] and row["date"]]
        self.titled = [(row[key], row["title"].casefold()) for table, key in TITLED.items()
                       for row in _rows(tables / f"{table}.csv") if row["title"]]

    def named_in(self, clause: str, sentence: str) -> list[str]:
        found = [org_id for org_id, names in self.organizations if names.found_in(clause)]
        found += [attack_id for attack_id, city, year in self.attacks
                  if city.found_in(sentence) and re.search(rf"\b{year}\b", sentence)]
        found += [record_id for record_id, title in self.titled if title in clause.casefold()]
        return found


TITLED = {"laws": "law_id", "agreements": "agreement_id", "programmes": "programme_id"}


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


BEGINS_WORDS = 6  # the first words a review entry quotes: enough to be refused when the text there changes


def print_summary(summary: dict, out=sys.stdout) -> int:
    """Per-source counts and every undecided sentence; returns how many sentences need a decision."""
    print(f"{'source':32} {'sentences':>9} {'facts':>6} {'cited':>6} {'reviewed':>8} {'undecided':>9}", file=out)
    undecided = 0
    for source_id, c in summary["sources"].items():
        undecided += len(c["undecided"])
        print(f"{source_id:32} {c['sentences']:>9} {c['fact_bearing']:>6} {c['cited']:>6} {c['reviewed']:>8} "
              f"{len(c['undecided']):>9}", file=out)
    for source_id, c in summary["sources"].items():
        for item in c["undecided"]:
            print(f"undecided: {source_id} @{item['start']}: {shown(item['sentence'], 300, quote=False)}", file=out)
    for entry in summary["stale_reviews"]:
        print(f"stale review: {entry['where']} ({entry['source_id']} @{entry['start']}): {entry['problem']}", file=out)
    return undecided + len(summary["stale_reviews"])


def main(argv: list[str] | None = None) -> None:
    parser = stage_arguments("coverage", __doc__)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 while any fact-bearing sentence is undecided or any review entry is stale")
    parser.add_argument("--worklist", metavar="SOURCE_ID",
                        help="print, as YAML, each undecided fact of the source with its quote and review entry")
    args = parser.parse_args(argv)
    check = args.check

    def stage() -> None:
        config = load_config()
        summary = run(config)
        if args.worklist is not None:
            if args.worklist not in summary["sources"]:
                problems = Problems()
                added = (config.path("sources_dir") / f"{args.worklist}.txt").exists()
                problems.add("--worklist", args.worklist, "source_id", (
                    "not built yet: run `make check` (python -m pipelines check) first, then the worklist again"
                    if added else f"no such source; expected one of {sorted(summary['sources'])}"))
                problems.raise_if_any("coverage")
            texts = read_texts(config.path("ingested_dir"), [args.worklist])
            facts = fact_finder(config, set())
            items = worklist(summary, args.worklist, texts, facts, RecordIndex(config))
            yaml.safe_dump(items, sys.stdout, allow_unicode=True, sort_keys=False, width=120)
            return
        left = print_summary(summary)
        if check and left:
            problems = Problems()
            problems.add(config.params["paths"]["coverage_review"], None, None,
                         f"{left} fact(s) or review entries need a decision: cite each fact from a record, or review "
                         "it here (at its clause's start) with the reason it holds no table fact")
            problems.raise_if_any("coverage")

    run_stage("coverage", stage)


if __name__ == "__main__":
    main()
