"""The Table Schemas in schemas/ and everything derived from them: value parsing, typed reading, pandera.

Conventions read from the schemas (nothing here names a table):
- a `date` field X with a sibling field `X_precision` holds the first day of what is known; records write
  only X, as "YYYY", "YYYY-MM" or "YYYY-MM-DD", and the precision is derived;
- a string field with the property "x-list-separator" holds a list, written in records as a YAML list.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from pathlib import Path

import pandas as pd

from .errors import shown

PRECISIONS = ("day", "month", "year")
_WIDTH = {"year": 4, "month": 7, "day": 10}
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def load_schema(schemas_dir: Path, table: str) -> dict:
    with open(schemas_dir / f"{table}.schema.json", encoding="utf-8") as handle:
        return json.load(handle)


def fields_by_name(schema: dict) -> dict[str, dict]:
    return {f["name"]: f for f in schema["fields"]}


def primary_key(schema: dict) -> list[str]:
    key = schema.get("primaryKey", [])
    return [key] if isinstance(key, str) else list(key)


def precision_of(schema: dict) -> dict[str, str]:
    """Map each date field that carries a precision to its precision field."""
    names = fields_by_name(schema)
    return {f["name"]: f"{f['name']}_precision" for f in schema["fields"]
            if f["type"] == "date" and f"{f['name']}_precision" in names}


def record_id_at(frame: pd.DataFrame, schema: dict, row) -> str | None:
    """The primary key of a frame's row (by position), joined with '/', to name it in a message."""
    if row is None or not 0 <= row < len(frame):
        return None
    return "/".join(str(frame[k].iloc[row]) for k in primary_key(schema))


def is_required(field: dict) -> bool:
    return bool(field.get("constraints", {}).get("required"))


# --- text cells: the one place where every text value is checked ---------------------------------------

# C0 and C1 control characters and DEL; tab, line feed and carriage return only where a column says so.
CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
_CONTROL = re.compile(CONTROL_CHARACTERS)
_LINE_CONTROL = re.compile(r"[\t\n\r]")
_CONTROL_NAMES = {0x00: "NULL", 0x07: "BELL", 0x08: "BACKSPACE", 0x09: "TAB", 0x0A: "LINE FEED", 0x0B: "VERTICAL TAB",
                  0x0C: "FORM FEED", 0x0D: "CARRIAGE RETURN", 0x1B: "ESCAPE", 0x7F: "DELETE"}
# A cell starting with one of these is run as a formula by spreadsheets (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def check_text(field: dict, value: str) -> None:
    """Raise ValueError naming what is wrong with a text value for `field`: control characters, a leading
    formula sign, or more characters than the field's maxLength."""
    bad = _CONTROL.search(value) or (None if field.get("x-multiline") else _LINE_CONTROL.search(value))
    if bad:
        char = bad.group()
        name = unicodedata.name(char, None) or _CONTROL_NAMES.get(ord(char), "a control character")
        raise ValueError(f"contains U+{ord(char):04X} ({name}) at character {bad.start() + 1}; text cells must not "
                         "hold control characters or line breaks: delete it (it often comes from copying out of a PDF)")
    if value.startswith(FORMULA_STARTS):
        raise ValueError(f"starts with {value[0]!r}, which a spreadsheet opening the CSV would run as a formula; "
                         "reword it to start with a letter, digit or quote mark (a quote can start after the sign)")
    limit = field.get("constraints", {}).get("maxLength")
    if limit is not None and len(value) > limit:
        raise ValueError(f"is {len(value):,} characters long; {field['name']!r} allows at most {limit:,} "
                         "(maxLength in its Table Schema)")


# --- values ---------------------------------------------------------------------------------------------

def parse_partial_date(value) -> tuple[str, str]:
    """'2013-04' → ('2013-04-01', 'month'). Accepts str, datetime.date and a bare year (int)."""
    if isinstance(value, dt.date):
        return value.isoformat(), "day"
    text = str(value).strip()
    match = _PARTIAL_DATE.match(text)
    if not match or isinstance(value, bool):
        raise ValueError(f"expected a date YYYY, YYYY-MM or YYYY-MM-DD, found {shown(value)}")
    year, month, day = match.groups()
    try:
        first = dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise ValueError(f"expected a date YYYY, YYYY-MM or YYYY-MM-DD, found {shown(value)}: no such day") from None
    return first.isoformat(), ("day" if day else "month" if month else "year")


def cell_value(field: dict, value) -> str | int | float | bool:
    """A record's value for `field` as it is written into the table; ValueError says what was expected."""
    kind = field["type"]
    separator = field.get("x-list-separator")
    if separator and isinstance(value, list):
        items = [str(v).strip() for v in value]
        if any(not item or separator in item for item in items):
            raise ValueError(f"expected a list of non-empty names without {separator!r}, found {shown(value)}")
        for item in items:
            check_text({**field, "constraints": {}}, item)
        joined = separator.join(items)
        check_text(field, joined)
        return joined
    if kind == "string":
        if not isinstance(value, str):
            raise ValueError(f"expected text, found {type(value).__name__} {shown(value)} (quote it in YAML)")
        text = value.strip()
        check_text(field, text)
        return text
    if kind in ("integer", "year"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number, found {shown(value)}")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number, found {shown(value)}")
        return int(value) if float(value).is_integer() else value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, found {shown(value)}")
        return value
    if kind == "date":
        return parse_partial_date(value)[0]
    raise ValueError(f"field type {kind!r} is not supported by the record format")


def canonical(field: dict, value) -> str:
    """The comparable form of a value stated for `field` (by a record or a citation)."""
    kind = field["type"]
    if kind == "date":
        iso, precision = parse_partial_date(value)
        return iso[: _WIDTH[precision]]
    if kind in ("integer", "year"):
        number = float(str(value).replace(",", "").strip())
        if not number.is_integer():
            raise ValueError(f"expected a whole number, found {shown(value)}")
        return str(int(number))
    if kind == "number":
        return repr(float(str(value).replace(",", "").strip()))
    if kind == "boolean":
        return str(value).strip().lower()
    return " ".join(str(value).split()).casefold()


def canonical_cell(field: dict, value, precision: str | None = None) -> str:
    """The comparable form of a table cell (text or typed); a date is cut to its precision."""
    if field["type"] == "date":
        return pd.Timestamp(value).date().isoformat()[: _WIDTH[precision or "day"]]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return canonical(field, value)


def compatible(field: dict, a: str, b: str) -> bool:
    """Whether two canonical values can both be true: equal, or for dates one refines the other."""
    if field["type"] == "date":
        return a.startswith(b) or b.startswith(a)
    return a == b


# --- reading a published table ---------------------------------------------------------------------------

_DTYPES = {"string": "string", "integer": "Int64", "year": "Int64", "number": "Float64",
           "boolean": "boolean", "date": "datetime64[ns]"}


def read_table(path: Path, schema: dict) -> tuple[pd.DataFrame, list[tuple[int, str, str]]]:
    """Read a CSV as typed columns; returns the frame and (row, field, bad cell) for cells of the wrong type."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    missing = set(schema.get("missingValues", [""]))
    bad: list[tuple[int, str, str]] = []
    frame = pd.DataFrame(index=raw.index)
    for field in schema["fields"]:
        name = field["name"]
        if name not in raw.columns:
            continue
        cells = raw[name].where(~raw[name].isin(missing), None)
        kind = field["type"]
        if kind == "boolean":
            true = set(field.get("trueValues", ["true", "True", "TRUE", "1"]))
            false = set(field.get("falseValues", ["false", "False", "FALSE", "0"]))
            typed = cells.map(lambda c: None if c is None else True if c in true else False if c in false else pd.NA)
        elif kind == "date":
            typed = pd.to_datetime(cells, format="%Y-%m-%d", errors="coerce")
        elif kind in ("integer", "year", "number"):
            typed = pd.to_numeric(cells, errors="coerce")
            if kind != "number":
                typed = typed.where(typed.isna() | (typed == typed.round()))
        else:
            typed = cells
        typed = pd.Series(typed, index=raw.index)
        for row in raw.index[cells.notna() & typed.isna()]:
            bad.append((int(row), name, raw.at[row, name]))
        frame[name] = typed.astype(_DTYPES[kind]) if kind != "boolean" else typed.astype("boolean")
    return frame, bad


def pandera_schema(table: str, schema: dict):
    """The pandera DataFrameSchema a Table Schema implies: dtypes, required, unique, enum, range, pattern, keys."""
    import pandera.pandas as pa

    columns = {}
    for field in schema["fields"]:
        constraints = field.get("constraints", {})
        checks = []
        if "enum" in constraints:
            checks.append(pa.Check.isin(constraints["enum"]))
        if "minimum" in constraints:
            checks.append(pa.Check.ge(_bound(field, constraints["minimum"])))
        if "maximum" in constraints:
            checks.append(pa.Check.le(_bound(field, constraints["maximum"])))
        if "pattern" in constraints:
            checks.append(pa.Check.str_matches(f"(?:{constraints['pattern']})\\Z"))  # Table Schema patterns match whole values
        if "minLength" in constraints:
            checks.append(pa.Check.str_length(min_value=constraints["minLength"]))
        if "maxLength" in constraints:
            checks.append(pa.Check.str_length(max_value=constraints["maxLength"]))
        columns[field["name"]] = pa.Column(
            _DTYPES[field["type"]], checks=checks, nullable=not is_required(field),
            unique=bool(constraints.get("unique")), required=True)
    key = primary_key(schema)
    return pa.DataFrameSchema(columns, name=table, strict=True, ordered=True,
                              unique=key if len(key) > 1 else None)


def _bound(field: dict, value):
    return pd.Timestamp(value) if field["type"] == "date" else value
