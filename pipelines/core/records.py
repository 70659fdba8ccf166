"""Loads the curated records (records/<table>.yaml) and checks their shape against the table's schema.

A record file is read strictly, with libyaml (yaml.CSafeLoader), before any value is used: it must be UTF-8,
no larger than params.yaml's records.max_file_bytes, free of YAML aliases, anchors and merge keys (curated
records never need them, and they are how "billion laughs" files expand), and no mapping may repeat a key
(YAML itself keeps the last value without a word). Nesting deeper than MAX_DEPTH is refused before the tree is
built (YAML's composer and constructor recurse: thousands of `[` exhaust the stack), and a plain value that YAML 1.1
would read otherwise than it is written (`010` as 8, `12:30` as 750, `yes` as true) is refused with what to write
instead: docs/curating.md, "How YAML values are read".
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path

import yaml

from .errors import Problems, shown
from .fileio import batches_atomic, bulk_objects, read_batches
from .schemas import canonical, check_text, derived_fields, fields_by_name, load_schema, precision_of, primary_key

CITATION_KEYS = {"source_id", "quote", "field", "stated_value", "inference"}
REASONS = "conflict_reasons"  # the record key of its per-field reasons where sources disagree


@dataclass(frozen=True)
class Citation:
    source_id: str
    quote: str
    field: str | None
    stated_value: str | None
    line: int
    inference: str | None = None  # how the value follows from the quote, where the quote does not state it as published


@dataclass(frozen=True)
class Record:
    table: str
    where: str  # "records/<table>.yaml:<line>"
    record_id: str
    values: dict  # column → value as written by the curator (dates still partial)
    citations: tuple[Citation, ...]
    # column → why the record publishes its value where sources disagree on it (`conflict_reasons` in the file)
    reasons: dict = dataclass_field(default_factory=dict)


class _RecordLoader(yaml.CSafeLoader):
    """libyaml's safe loader; every mapping remembers the line it starts on, as key '__line__'."""


def _mapping_with_line(loader, node):
    mapping = {loader.construct_object(k, deep=True): loader.construct_object(v, deep=True) for k, v in node.value}
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_RecordLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)
_MERGE_TAG = "tag:yaml.org,2002:merge"


def read_yaml_strictly(path: Path, shown_path, max_bytes: int, key: str | None, problems: Problems) -> list | None:
    """The file's YAML list as Python values, or None after adding every problem that stops it being read (an empty
    file, or one whose top level is not a list, among them)."""
    size = path.stat().st_size
    if size > max_bytes:
        problems.add(shown_path, None, None, f"is {size:,} bytes; a record file may be at most {max_bytes:,} bytes "
                     "(params.yaml records.max_file_bytes): look for a pasted document, or split the table's records")
        return None
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        problems.add(f"{shown_path}:{line}", None, None,
                     f"is not UTF-8: byte 0x{data[error.start]:02x} at offset {error.start} (line {line}, column "
                     f"{column}) is not valid UTF-8; re-save the file with the UTF-8 encoding (it was probably "
                     "saved as Windows-1251, Latin-1 or UTF-16)")
        return None
    text = text.removeprefix("\ufeff")
    loader = _RecordLoader(text)
    try:
        if _too_deep(text, shown_path, key, problems):
            return None
        node = loader.get_single_node()
        if node is None:
            problems.add(shown_path, None, None, "holds no YAML value (it is empty, or only comments); expected a list "
                         "with one '- ' item per entry: write [] for an empty list")
            return None
        if not isinstance(node, yaml.SequenceNode):
            what = ("a mapping (key: value)" if isinstance(node, yaml.MappingNode)
                    else f"the single value {node.value!r}")
            problems.add(f"{shown_path}:{node.start_mark.line + 1}", None, None,
                         f"expected a list with one '- ' item per entry, found {shown(what, quote=False)}")
            return None
        before = len(problems)
        _check_nodes(node, shown_path, key, problems)
        if len(problems) > before:
            return None
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        problems.add(shown_path, None, None,
                     f"not valid YAML: {shown(str(error), 300, quote=False)}".replace("\n", " "))
        return None
    finally:
        loader.dispose()


# Records nest four levels deep (list, record, citations, citation); each level costs the constructor a few
# Python frames, so this stays far below the interpreter's recursion limit.
MAX_DEPTH = 50
_OPENING = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSING = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _too_deep(text: str, shown_path, key: str | None, problems: Problems) -> bool:
    """Whether the text nests deeper than MAX_DEPTH (a problem is added naming the line and the record), read as
    a stream of parser events: libyaml's composer would recurse, and crash on a deep enough file."""
    parser = yaml.cyaml.CParser(text)
    depth, record_id, previous = 0, None, None
    try:
        while not isinstance(event := parser.get_event(), yaml.StreamEndEvent):
            if isinstance(event, _CLOSING):
                depth -= 1
            elif isinstance(event, _OPENING):
                depth += 1
                if depth == 2:
                    record_id = None  # a new record (or catalog entry) of the top list
                if depth > MAX_DEPTH:
                    problems.add(f"{shown_path}:{event.start_mark.line + 1}", record_id, None,
                                 f"is nested more than {MAX_DEPTH} levels deep (lists or mappings inside each "
                                 "other); a record needs four: look for a run of [ or { brackets")
                    return True
            elif depth == 2 and isinstance(event, yaml.ScalarEvent):
                if record_id is None and key is not None and previous == key:
                    record_id = event.value
                previous = event.value
        return False
    finally:
        parser.dispose()


def _check_nodes(root, shown_path, key: str | None, problems: Problems) -> None:
    """Refuse aliases (a node reached twice), merge keys, repeated keys, explicit tags and plain values YAML would
    read otherwise than written, naming line, record and field (citations.<key> inside a citation)."""
    seen: set[int] = set()
    stack = [(root, None, None)]
    while stack:
        node, record_id, field = stack.pop()
        if id(node) in seen:
            problems.add(f"{shown_path}:{node.start_mark.line + 1}", record_id, field,
                         "uses a YAML anchor and alias (&name … *name); write every value out in full")
            return  # one is enough: an alias bomb would repeat this millions of times
        seen.add(id(node))
        misread = _misread(node)
        if misread:
            problems.add(f"{shown_path}:{node.start_mark.line + 1}", record_id, field, misread)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, record_id, field) for child in reversed(node.value))
        elif isinstance(node, yaml.MappingNode):
            record_id = record_id or _scalar_value(node, key)
            names: dict[str, int] = {}
            for key_node, value_node in node.value:
                line = key_node.start_mark.line + 1
                if key_node.tag == _MERGE_TAG:
                    problems.add(f"{shown_path}:{line}", record_id, field,
                                 "uses a YAML merge key (<<); write every value out in full")
                    continue
                name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                inner = name if field is None or name is None else f"{field}.{name}"
                if name in names:
                    problems.add(f"{shown_path}:{line}", record_id, inner,
                                 f"appears twice in one mapping (first at line {names[name]}); YAML would keep only "
                                 "the last value: delete one")
                elif name is not None:
                    names[name] = line
                stack.append((key_node, record_id, inner))
                stack.append((value_node, record_id, inner))


# How a plain (unquoted) value may be written to be read as YAML 1.1 reads it; any other plain spelling that a
# YAML 1.1 resolver turns into a number, boolean, nothing or date is refused (docs/curating.md, "How YAML values
# are read").
_RESOLVER = yaml.resolver.Resolver()
_AS_WRITTEN = {
    "tag:yaml.org,2002:int": re.compile(r"-?(?:0|[1-9][0-9]*)"),
    "tag:yaml.org,2002:float": re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+"),
    "tag:yaml.org,2002:bool": re.compile(r"true|false"),
    "tag:yaml.org,2002:null": re.compile(r"(?:null)?"),
    "tag:yaml.org,2002:timestamp": re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"),
}


def _misread(node) -> str | None:
    """Why the node is not read as it is written, with what to write instead; None when it is."""
    if node.tag == _MERGE_TAG:
        return None  # named by the mapping that holds it
    kind = type(node)
    plain = isinstance(node, yaml.ScalarNode) and not node.style  # libyaml: "", the pure-Python parser: None
    implicit = _RESOLVER.resolve(kind, node.value if kind is yaml.ScalarNode else None, (plain, True))
    if node.tag != implicit:
        return (f"carries the YAML tag {node.tag.replace('tag:yaml.org,2002:', '!!')}; write the value without it "
                "(quote it if it is text)")
    pattern = _AS_WRITTEN.get(node.tag)
    if not plain or node.tag == "tag:yaml.org,2002:str" or (pattern and pattern.fullmatch(node.value)):
        return None
    text = node.value
    if node.tag == "tag:yaml.org,2002:value":
        return f"is written {text}, which YAML 1.1 reads as a special value; quote it (\"{text}\")"
    value = yaml.constructor.SafeConstructor().construct_object(node)
    if node.tag == "tag:yaml.org,2002:null":
        instead = "null (or leave the key out)"
    elif node.tag == "tag:yaml.org,2002:bool":
        instead = str(value).lower()
    elif node.tag == "tag:yaml.org,2002:timestamp":
        instead = f"the date as \"YYYY-MM-DD\" in quotes (\"{value:%Y-%m-%d}\")"
    elif ":" in text or value != value or value in (float("inf"), float("-inf")):
        instead = "the number in plain digits, if it is one"  # base 60, .nan, .inf: no number a source states
    elif re.fullmatch(r"[-+]?0[0-9_]+", text):
        instead = str(int(text.replace("_", "")))  # a leading zero makes YAML 1.1 read octal: 010 is 8
    else:
        instead = str(int(value)) if float(value).is_integer() else repr(value)
    read = ("no value" if value is None else str(value).lower() if isinstance(value, bool)
            else value.isoformat(" ") if isinstance(value, dt.date) else repr(value))
    return (f"is written {text}, which YAML 1.1 reads as {read}, not as written; write {instead}, or quote it "
            f"(\"{text}\") if it is text")


def _scalar_value(node, key: str | None) -> str | None:
    for key_node, value_node in node.value:
        if key is not None and getattr(key_node, "value", None) == key and isinstance(value_node, yaml.ScalarNode):
            return value_node.value
    return None


def load_records(records_dir: Path, schemas_dir: Path, tables: list[str], root: Path,
                 max_file_bytes: int) -> tuple[dict[str, list[Record]], Problems]:
    """Every table's records, and every problem of shape found (all of them, not the first)."""
    problems = Problems()
    return dict(iter_records(records_dir, schemas_dir, tables, root, max_file_bytes, problems)), problems


def iter_records(records_dir: Path, schemas_dir: Path, tables: list[str], root: Path, max_file_bytes: int,
                 problems: Problems) -> Iterator[tuple[str, list[Record]]]:
    """Each table's records in turn, so that a stage can hold one table at a time; every problem of shape found
    is added to `problems`."""
    citation_fields = fields_by_name(load_schema(schemas_dir, "citations"))
    for table in tables:
        with bulk_objects():
            records = _load_table(records_dir / f"{table}.yaml", table, load_schema(schemas_dir, table), root,
                                  max_file_bytes, citation_fields, problems)
        yield table, records


def _load_table(path: Path, table: str, schema: dict, root: Path, max_file_bytes: int, citation_fields: dict,
                problems: Problems) -> list[Record]:
    shown_path = path.relative_to(root) if path.is_relative_to(root) else path
    if not path.exists():
        problems.add(shown_path, None, None, "records file is missing")
        return []
    (key,) = primary_key(schema)
    items = read_yaml_strictly(path, shown_path, max_file_bytes, key, problems)
    if items is None:
        return []
    fields = fields_by_name(schema)
    by_stage = derived_fields(schema)
    derived = set(precision_of(schema).values()) | set(by_stage)
    records = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            problems.add(shown_path, f"#{number}", None, f"expected a mapping of column: value, found {shown(item)}")
            continue
        item = dict(item)
        where = f"{shown_path}:{item.pop('__line__')}"
        record_id = item.get(key)
        if not isinstance(record_id, str) or not record_id.strip():
            problems.add(where, f"#{number}", key, f"expected the record's id, found {shown(record_id)}")
            continue
        for name in item:
            if name in by_stage:
                problems.add(where, record_id, name, f"is derived by the pipeline (from the {by_stage[name]}), never "
                             "written by hand: delete it")
            elif name in derived:
                problems.add(where, record_id, name, f"is derived from {name.removesuffix('_precision')!r}; write the "
                             "date at its precision (YYYY, YYYY-MM or YYYY-MM-DD) instead")
            elif name not in fields and name not in ("citations", REASONS):
                problems.add(where, record_id, shown(name, quote=False),
                             f"unknown column; expected one of {sorted(set(fields) - derived)}")
        citations = _citations(item.pop("citations", None), where, record_id, fields, derived, key, citation_fields,
                               problems)
        reasons = _reasons(item.pop(REASONS, None), where, record_id, set(fields) - derived - {key}, problems)
        values = {k: v for k, v in item.items() if k in fields and k not in derived}
        records.append(Record(table, where, record_id, values, citations, reasons))
    return records


def _citations(items, where, record_id, fields, derived, key, citation_fields, problems) -> tuple[Citation, ...]:
    if not isinstance(items, list) or not items:
        problems.add(where, record_id, "citations", "expected a non-empty list of citations (every record is sourced)")
        return ()
    citations = []
    for item in items:
        if not isinstance(item, dict):
            problems.add(where, record_id, "citations",
                         f"expected a mapping with source_id and quote, found {shown(item)}")
            continue
        item = dict(item)
        line = item.pop("__line__")
        here = f"{where.rsplit(':', 1)[0]}:{line}"
        for name in set(item) - CITATION_KEYS:
            problems.add(here, record_id, f"citations.{shown(name, quote=False)}",
                         f"unknown key; expected {sorted(CITATION_KEYS)}")
        source_id, quote = item.get("source_id"), item.get("quote")
        field, stated, inference = item.get("field"), item.get("stated_value"), item.get("inference")
        ok = True
        if not isinstance(source_id, str) or not source_id:
            problems.add(here, record_id, "citations.source_id", f"expected a source id, found {shown(source_id)}")
            ok = False
        if not isinstance(quote, str) or not quote.strip():
            problems.add(here, record_id, "citations.quote", f"expected the verbatim quote, found {shown(quote)}")
            ok = False
        if inference is not None and (not isinstance(inference, str) or not inference.strip()):
            problems.add(here, record_id, "citations.inference", "expected a few words on how the value follows "
                         f"from the quote, found {shown(inference)}")
            ok = False
        for name, value in (("quote", quote), ("stated_value", stated), ("inference", inference)):
            if isinstance(value, str):
                try:
                    check_text(citation_fields[name], value)
                except ValueError as error:
                    problems.add(here, record_id, f"citations.{name}", str(error))
                    ok = False
        if field is not None and (field not in fields or field in derived or field == key):
            problems.add(here, record_id, "citations.field",
                         f"expected a column of the table other than the id, found {shown(field)}"
                         + (", which is derived by the pipeline: no source states it, so no quote can back it"
                            if field in derived else ""))
            ok = False
        if stated is not None and field is None:
            problems.add(here, record_id, "citations.stated_value", "a stated_value needs the field it is a value of")
            ok = False
        if inference is not None and field is None:
            problems.add(here, record_id, "citations.inference", "an inference needs the field whose value it explains")
            ok = False
        elif stated is not None and ok:
            try:
                canonical(fields[field], stated)
            except ValueError as error:
                problems.add(here, record_id, "citations.stated_value", f"for {field!r}: {error}")
                ok = False
        if ok:
            citations.append(Citation(source_id, quote, field, None if stated is None else _stated_text(stated), line,
                                      inference.strip() if isinstance(inference, str) else None))
    return tuple(citations)


def _reasons(items, where, record_id, columns: set[str], problems: Problems) -> dict[str, str]:
    """`conflict_reasons`: for a column on which the record's sources disagree, one sentence on why the record
    publishes the value it does (published in the conflicts table beside each stated value)."""
    if items is None:
        return {}
    if not isinstance(items, dict):
        problems.add(where, record_id, REASONS, f"expected a mapping of column: reason, found {shown(items)}")
        return {}
    reasons = {}
    for name, reason in items.items():
        if name == "__line__":
            continue
        if name not in columns:
            problems.add(where, record_id, f"{REASONS}.{shown(name, quote=False)}",
                         f"expected a column of the table, one of {sorted(columns)}")
        elif not isinstance(reason, str) or not reason.strip():
            problems.add(where, record_id, f"{REASONS}.{name}", f"expected a sentence on why the published value was "
                         f"chosen, found {shown(reason)}")
        else:
            reasons[name] = reason.strip()
    return reasons


def _stated_text(value) -> str:
    """A stated value as text: YAML may hand over a date or a number for what the curator wrote."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


# --- the loaded records, written once by the cite stage and read by the stages after it -------------------

@contextmanager
def loaded_writer(path: Path) -> Iterator[Callable[[Record], None]]:
    """A function that adds a record to the file read_loaded reads (JSON Lines batches); YAML dates keep their
    type (tagged), so later checks see what YAML gave. The file replaces the old one only when the block ends
    without error."""
    with batches_atomic(path, default=_tag) as out:
        yield lambda r: out.add([r.table, r.where, r.record_id, r.values,
                                 [[c.source_id, c.quote, c.field, c.stated_value, c.line, c.inference]
                                  for c in r.citations],
                                 r.reasons])


def read_loaded(path: Path, with_citations: bool = True) -> dict[str, list[Record]]:
    """The records a loaded_writer wrote; without their citations (an empty tuple) for a stage that reads the
    located citations instead."""
    records: dict[str, list[Record]] = {}
    with bulk_objects():
        for table, where, record_id, values, citations, reasons in read_batches(path, object_hook=_untag):
            records.setdefault(table, []).append(Record(
                table, where, record_id, values, tuple(Citation(*c) for c in citations) if with_citations else (),
                reasons))
    return records


def _tag(value):
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    raise TypeError(f"cannot store {type(value).__name__} {value!r}")


def _untag(item: dict):
    if len(item) == 1 and "$date" in item:
        return dt.date.fromisoformat(item["$date"])
    if len(item) == 1 and "$datetime" in item:
        return dt.datetime.fromisoformat(item["$datetime"])
    return item
