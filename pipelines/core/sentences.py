"""The sentences of a normalized source text, and the coverage review's decisions about them
(params.yaml paths.coverage_review): what the coverage stage counts, and what the portal and the report mark."""
from __future__ import annotations

import re

from .config import Config
from .errors import Problems, shown
from .evidence import MONTH_NAMES, MONTHS
from .records import read_yaml_strictly

REVIEW_KEYS = {"source_id", "start", "begins", "reason", "scope"}
# What an entry decides: the whole sentence starting at `start` (the default for an entry at a sentence's start), or
# only the clause starting there (`scope: clause`; always so for an entry inside a sentence).
SCOPES = ("sentence", "clause")
# A full stop ends a sentence unless it follows one of these abbreviations (the months' among them) or a single
# capital (an initial).
_ABBREVIATIONS = {"art", "arts", "no", "nos", "mr", "mrs", "ms", "dr", "prof", "st", "e.g", "i.e", "etc", "vs", "u.s",
                  "u.n", "p", "pp", "para", "vol", "gen", "col", "lt", "maj", "sgt", "inc", "ltd", "co", "rk",
                  *(month for month in MONTHS if month not in MONTH_NAMES)}
_BOUNDARY = re.compile(r"[.!?][\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9А-ЯЁ])")
# Where a sentence divides into clauses: a semicolon, a colon, or a comma that is not inside brackets nor before
# the year of a date ("October 24, 2011").
_CLAUSE_BREAK = re.compile(r"[;:]\s+|,\s+(?![^()]*\))(?!(?:1[89]|20)\d\d\b)")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of a normalized text."""
    spans, start = [], 0
    for match in _BOUNDARY.finditer(text):
        before = text[start:match.start()].rsplit(" ", 1)[-1].lower().strip("(\"'")
        if before in _ABBREVIATIONS or re.fullmatch(r"[a-zа-я]", before):
            continue
        spans.append((start, match.start() + 1))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def split_clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of each clause of the sentence text[start:end], in the text's offsets: the facts the coverage
    review decides one by one."""
    clauses, begin = [], start
    for match in _CLAUSE_BREAK.finditer(text, start, end):
        clauses.append((begin, match.start()))
        begin = match.end()
    clauses.append((begin, end))
    return [(a, b) for a, b in clauses if b > a]


def reviewed_spans(text: str, source_id: str, reviewed: dict[tuple[str, int], dict]) -> list[tuple[int, int, str]]:
    """(start, end, reason) of every sentence or clause of one source the review decided holds no table fact: an
    entry at a sentence's start marks the whole sentence, one at a later clause's start that clause. An entry that
    starts neither is the coverage stage's to report; here it marks nothing."""
    sentences = split_sentences(text)
    ends = dict(sentences)
    clause_ends = {a: b for start, end in sentences for a, b in split_clauses(text, start, end)}
    return sorted((start, clause_ends[start] if start not in ends or not whole_sentence(entry) else ends[start],
                   entry["reason"])
                  for (s, start), entry in reviewed.items()
                  if s == source_id and (start in ends or start in clause_ends))


def whole_sentence(entry: dict) -> bool:
    """Whether a review entry at a sentence's start decides the whole sentence, not only its first clause."""
    return entry.get("scope", "sentence") == "sentence"


def read_review(config: Config, texts: dict[str, str], problems: Problems) -> dict[tuple[str, int], dict]:
    """The reviewed sentences and clauses (params.yaml paths.coverage_review), keyed by (source, start); an entry must
    still begin with the words it quotes."""
    path = config.path("coverage_review")
    shown_path = path.relative_to(config.root)
    if not path.exists():
        return {}
    items = read_yaml_strictly(path, shown_path, config.max_file_bytes, None, problems) or []
    reviewed = {}
    for item in items:
        if not isinstance(item, dict):
            problems.add(shown_path, None, None, f"expected a mapping with {sorted(REVIEW_KEYS)}, found {shown(item)}")
            continue
        where = f"{shown_path}:{item.pop('__line__')}"
        record = f"{item.get('source_id')}@{item.get('start')}"
        for key in sorted(set(item) - REVIEW_KEYS):
            problems.add(where, record, key, f"unknown key; expected {sorted(REVIEW_KEYS)}")
        text, start, begins = texts.get(item.get("source_id")), item.get("start"), item.get("begins")
        if text is None:
            problems.add(where, record, "source_id", f"unknown source; expected one of {sorted(texts)}")
        elif (not isinstance(start, int) or isinstance(start, bool) or not isinstance(begins, str)
              or not text.startswith(begins, start)):
            problems.add(where, record, "begins", f"the source does not read {shown(begins)} at character {start}: "
                         f"it reads {shown(text[start:start + 60] if isinstance(start, int) else '')}; the text or the "
                         "entry has changed: review the sentence again")
        elif item.get("scope", "sentence") not in SCOPES:
            problems.add(where, record, "scope", f"expected one of {list(SCOPES)}, found {shown(item.get('scope'))}")
        elif not isinstance(item.get("reason"), str) or not item["reason"].strip():
            problems.add(where, record, "reason", "say why the sentence holds no fact for a table")
        elif (item["source_id"], start) in reviewed:
            problems.add(where, record, "start", "the same sentence is reviewed twice")
        else:
            reviewed[(item["source_id"], start)] = {**item, "where": where}  # where the curator edits it
    return reviewed


def undecided(coverage: dict, review_file: str) -> Problems:
    """What the coverage stage found still to decide (params.yaml paths.coverage), as problems: each undecided fact
    by source, offset and first words, and each review entry that a record's citation contradicts, where the
    curator edits it. The package stage publishes nothing while there is any."""
    problems = Problems()
    for source_id, counts in coverage["sources"].items():
        for item in counts["undecided"]:
            problems.add(f"sources/{source_id}", f"{source_id}@{item['start']}", None,
                         f"undecided fact {shown(item['sentence'], 90)}: cite it from a record, or decide in "
                         f"{review_file} that it holds no table fact (`python -m pipelines coverage --worklist "
                         f"{source_id}` writes each fact's quote and review entry)")
    for entry in coverage["stale_reviews"]:
        if entry.get("cited_by"):  # an entry that decides no fact any more is reported by coverage, not refused
            problems.add(entry["where"], f"{entry['source_id']}@{entry['start']}", "begins", entry["problem"])
    return problems

