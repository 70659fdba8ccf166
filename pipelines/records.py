"""Loads the curated records (records/<table>.yaml) and checks their shape against the table's schema."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import Problems
from .schemas import canonical, fields_by_name, load_schema, precision_of, primary_key

CITATION_KEYS = {"source_id", "quote", "field", "stated_value"}


@dataclass(frozen=True)
class Citation:
    source_id: str
    quote: str
    field: str | None
    stated_value: str | None
    line: int


@dataclass(frozen=True)
class Record:
    table: str
    where: str  # "records/<table>.yaml:<line>"
    record_id: str
    values: dict  # column → value as written by the curator (dates still partial)
    citations: tuple[Citation, ...]


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line each mapping starts on, as key '__line__'."""


def _mapping_with_line(loader, node, deep=False):
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def load_records(records_dir: Path, schemas_dir: Path, tables: list[str], root: Path) -> tuple[dict[str, list[Record]], Problems]:
    """Every table's records, and every problem of shape found (all of them, not the first)."""
    problems = Problems()
    loaded = {}
    for table in tables:
        loaded[table] = _load_table(records_dir / f"{table}.yaml", table, load_schema(schemas_dir, table), root, problems)
    return loaded, problems


def _load_table(path: Path, table: str, schema: dict, root: Path, problems: Problems) -> list[Record]:
    shown = path.relative_to(root) if path.is_relative_to(root) else path
    if not path.exists():
        problems.add(shown, None, None, "records file is missing")
        return []
    try:
        items = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
    except yaml.YAMLError as error:
        problems.add(shown, None, None, f"not valid YAML: {error}".replace("\n", " "))
        return []
    if items is None:
        return []
    if not isinstance(items, list):
        problems.add(shown, None, None, f"expected a list of records, found {type(items).__name__}")
        return []
    fields = fields_by_name(schema)
    (key,) = primary_key(schema)
    derived = set(precision_of(schema).values())
    records = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            problems.add(shown, f"#{number}", None, f"expected a mapping of column: value, found {item!r}")
            continue
        item = dict(item)
        where = f"{shown}:{item.pop('__line__')}"
        record_id = item.get(key)
        if not isinstance(record_id, str) or not record_id.strip():
            problems.add(where, f"#{number}", key, f"expected the record's id, found {record_id!r}")
            continue
        for name in item:
            if name in derived:
                problems.add(where, record_id, name, f"is derived from {name.removesuffix('_precision')!r}; write the date at its precision (YYYY, YYYY-MM or YYYY-MM-DD) instead")
            elif name not in fields and name != "citations":
                problems.add(where, record_id, name, f"unknown column; expected one of {sorted(set(fields) - derived)}")
        citations = _citations(item.pop("citations", None), where, record_id, fields, derived, key, problems)
        values = {k: v for k, v in item.items() if k in fields and k not in derived}
        records.append(Record(table, where, record_id, values, citations))
    return records


def _citations(items, where, record_id, fields, derived, key, problems) -> tuple[Citation, ...]:
    if not isinstance(items, list) or not items:
        problems.add(where, record_id, "citations", "expected a non-empty list of citations (every record is sourced)")
        return ()
    citations = []
    for item in items:
        if not isinstance(item, dict):
            problems.add(where, record_id, "citations", f"expected a mapping with source_id and quote, found {item!r}")
            continue
        item = dict(item)
        line = item.pop("__line__")
        here = f"{where.rsplit(':', 1)[0]}:{line}"
        for name in set(item) - CITATION_KEYS:
            problems.add(here, record_id, f"citations.{name}", f"unknown key; expected {sorted(CITATION_KEYS)}")
        source_id, quote = item.get("source_id"), item.get("quote")
        field, stated = item.get("field"), item.get("stated_value")
        ok = True
        if not isinstance(source_id, str) or not source_id:
            problems.add(here, record_id, "citations.source_id", f"expected a source id, found {source_id!r}")
            ok = False
        if not isinstance(quote, str) or not quote.strip():
            problems.add(here, record_id, "citations.quote", f"expected the verbatim quote, found {quote!r}")
            ok = False
        if field is not None and (field not in fields or field in derived or field == key):
            problems.add(here, record_id, "citations.field", f"expected a column of the table other than the id, found {field!r}")
            ok = False
        if stated is not None and field is None:
            problems.add(here, record_id, "citations.stated_value", "a stated_value needs the field it is a value of")
            ok = False
        elif stated is not None and ok:
            try:
                canonical(fields[field], stated)
            except ValueError as error:
                problems.add(here, record_id, "citations.stated_value", f"for {field!r}: {error}")
                ok = False
        if ok:
            citations.append(Citation(source_id, quote, field, None if stated is None else _stated_text(stated), line))
    return tuple(citations)


def _stated_text(value) -> str:
    """A stated value as text: YAML may hand over a date or a number for what the curator wrote."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
