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
from typing import NamedTuple

from .errors import shown

PRECISIONS = ("day", "month", "year")
_WIDTH = {"year": 4, "month": 7, "day": 10}
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
# The largest magnitude a number cell may have: beyond it, readers that hold numbers as 64-bit floats (JavaScript,
# pandas with blanks, Great Expectations) would publish another value than the one written.
MAX_EXACT = 2**53 - 1
# A number as a source or a curator writes it in a stated value: digits, a decimal point, thousands commas.
_STATED_NUMBER = re.compile(r"(-?[0-9]+)(\.[0-9]+)?")


class EngineTypes(NamedTuple):
    """How each engine holds a column of one Table Schema type."""
    polars: str  # the polars dtype's name (Parquet releases are written from these frames)
    pandas: str  # the pandas dtype of the report's frames
    sqlite: str  # the SQLite column type of the portal's database
    published: str | None  # the pattern every published cell of the type matches (Great Expectations); None: any text
    numeric: bool  # compared as a number (GX checks its minimum and maximum on a numeric copy of the column)


# The one table of types: every engine's map is derived from it.
TYPES = {
    "string": EngineTypes("String", "string", "TEXT", None, False),
    "integer": EngineTypes("Int64", "Int64", "INTEGER", r"-?\d+", True),
    "year": EngineTypes("Int64", "Int64", "INTEGER", r"\d{4}", True),
    "number": EngineTypes("Float64", "Float64", "REAL", r"-?\d+(\.\d+)?([eE][-+]?\d+)?", True),
    "boolean": EngineTypes("Boolean", "boolean", "INTEGER", "true|false", False),  # SQLite stores 0/1
    "date": EngineTypes("Date", "datetime64[ns]", "TEXT", r"\d{4}-\d{2}-\d{2}", False),  # SQLite stores ISO text
}


def engine_types(field: dict) -> EngineTypes:
    return TYPES[field["type"]]


def load_schema(schemas_dir: Path, table: str) -> dict:
    with open(schemas_dir / f"{table}.schema.json", encoding="utf-8") as handle:
        return json.load(handle)


def fields_by_name(schema: dict) -> dict[str, dict]:
    return {f["name"]: f for f in schema["fields"]}


def primary_key(schema: dict) -> list[str]:
    key = schema.get("primaryKey", [])
    return [key] if isinstance(key, str) else list(key)


def foreign_keys(table: str, schema: dict) -> list[tuple[list[str], str, list[str]]]:
    """(fields, target table, target fields) of each foreign key; an empty resource names the table itself."""
    def names(value) -> list[str]:
        return [value] if isinstance(value, str) else list(value)

    return [(names(fk["fields"]), fk["reference"]["resource"] or table, names(fk["reference"]["fields"]))
            for fk in schema.get("foreignKeys", [])]


def list_separator(schema: dict, name: str) -> str:
    """The separator between the items of the list column `name` (its "x-list-separator"); ValueError names a
    column that declares none."""
    separator = fields_by_name(schema)[name].get("x-list-separator")
    if not separator:
        raise ValueError(f"column {name!r} is not a list: its Table Schema declares no x-list-separator")
    return separator


def enum_subset(schema: dict, name: str, key: str) -> list[str]:
    """The values of the field `name` that its property `key` (e.g. "x-vague") sets apart, which a rule treats
    alike; ValueError names one the field's enum does not allow."""
    field = fields_by_name(schema)[name]
    values, allowed = field[key], field["constraints"]["enum"]
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise ValueError(f"{name}: {key} lists {unknown}, which its enum does not allow (expected some of {allowed})")
    return list(values)


def codebooks(schema: dict) -> dict[str, dict[str, dict]]:
    """The category fields of a schema with their codebooks ("x-codebook": each value's definition and the words by
    which a quote states it); ValueError names a field whose codebook does not cover exactly its enum."""
    found = {}
    for field in schema["fields"]:
        if "x-codebook" in field:
            book, allowed = field["x-codebook"], field["constraints"]["enum"]
            if sorted(book) != sorted(allowed):
                raise ValueError(f"{field['name']}: x-codebook defines {sorted(book)}, but its enum allows "
                                 f"{sorted(allowed)}")
            found[field["name"]] = book
    return found


def described(field: dict) -> str:
    """A field's description for readers, with each value's definition where the field has a codebook."""
    definitions = (f"`{value}`: {entry['definition']}" for value, entry in field.get("x-codebook", {}).items())
    return " ".join([field.get("description", ""), *definitions])


def precision_of(schema: dict) -> dict[str, str]:
    """Map each date field that carries a precision to its precision field."""
    names = fields_by_name(schema)
    return {f["name"]: f"{f['name']}_precision" for f in schema["fields"]
            if f["type"] == "date" and f"{f['name']}_precision" in names}


def derived_fields(schema: dict) -> dict[str, str]:
    """Map each field a stage derives (property "x-derived" in the schema, e.g. "gazetteer") to how: such a
    value is never written in a record and never backed by a citation, since no source states it."""
    return {f["name"]: f["x-derived"] for f in schema["fields"] if f.get("x-derived")}


ENTITY_KINDS = ("place", "person", "organization", "party")


def entity_fields(schema: dict) -> dict[str, str]:
    """Map each field whose cells name an entity (property "x-names" in the schema) to its kind, one of
    ENTITY_KINDS; ValueError names a field that declares another."""
    kinds = {f["name"]: f["x-names"] for f in schema["fields"] if "x-names" in f}
    for name, kind in kinds.items():
        if kind not in ENTITY_KINDS:
            raise ValueError(f"{name}: x-names is {kind!r}, expected one of {list(ENTITY_KINDS)}")
    return kinds


def record_id_at(frame, schema: dict, row) -> str | None:
    """The primary key of a (polars) frame's row by position, joined with '/', to name it in a message."""
    if row is None or not 0 <= row < len(frame) or not set(primary_key(schema)) <= set(frame.columns):
        return None
    return "/".join(str(frame[k][row]) for k in primary_key(schema))


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
        return _exact(field, value, value)
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number, found {shown(value)}")
        value = _exact(field, value, value)
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
    if kind in ("integer", "year", "number"):
        match = _STATED_NUMBER.fullmatch(str(value).replace(",", "").strip())
        whole = kind != "number"
        if not match or (whole and match[2] and match[2].strip(".0")):
            raise ValueError(f"expected {'a whole number' if whole else 'a number'} in digits, found {shown(value)}")
        number = _exact(field, float(match[0]), value)  # float() takes any length of digits; int() does not
        return str(int(match[1])) if whole else repr(number)
    if kind == "boolean":
        return str(value).strip().lower()
    return folded(str(value))


def _exact(field: dict, number: int | float, written) -> int | float:
    """The number, if it lies within ±MAX_EXACT (a larger one cannot be published as written) and within the
    field's minimum and maximum; ValueError showing the value as `written` if not."""
    if not -MAX_EXACT <= number <= MAX_EXACT:  # also false for NaN
        raise ValueError(f"{shown(written)} is beyond ±{MAX_EXACT:,}, the largest number a cell may hold exactly "
                         "in every reader of the package")
    constraints = field.get("constraints", {})
    low, high = constraints.get("minimum"), constraints.get("maximum")
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"{shown(written)} is outside the range {field.get('name')!r} allows: "
                         f"{'-∞' if low is None else low} to {'∞' if high is None else high} (its Table Schema)")
    return number


def folded(text: str) -> str:
    """The comparison form of a text: runs of whitespace made one space, ends trimmed, lower case."""
    return " ".join(text.split()).lower()


def folded_column(column):
    """`folded` as a polars expression, for whole columns (tests/unit/test_schemas.py keeps the two equal)."""
    return column.str.replace_all(r"\s+", " ").str.strip_chars().str.to_lowercase()


def canonical_cell(field: dict, value, precision: str | None = None) -> str:
    """The comparable form of a table cell (text or typed); a date is cut to its precision."""
    if field["type"] == "date":
        day = (value if isinstance(value, str)
               else (value.date() if isinstance(value, dt.datetime) else value).isoformat())
        return dt.date.fromisoformat(day[:10]).isoformat()[: _WIDTH[precision or "day"]]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return canonical(field, value)


def compatible(field: dict, a: str, b: str) -> bool:
    """Whether two canonical values can both be true: equal, or for dates one refines the other."""
    if field["type"] == "date":
        return a.startswith(b) or b.startswith(a)
    return a == b


# --- reading a published table ---------------------------------------------------------------------------
# Tables are read with polars: the CSV parser and every check below run as columnar expressions in Rust, so
# the cost per row stays flat as tables grow (see bench/pipeline.py).

def polars_type(field: dict):
    import polars as pl

    return getattr(pl, engine_types(field).polars)


def read_table(path: Path, schema: dict):
    """Read a published CSV into typed polars columns.

    Returns the frame and (row, field, cell) for every cell that does not parse as its field's type (the cell
    is then empty in the frame). Columns the schema does not know are kept as text, for the schema check to
    name. A file that is not a readable CSV raises ValueError naming it.
    """
    import polars as pl

    try:
        raw = pl.read_csv(path, infer_schema=False, null_values=list(schema.get("missingValues", [""])),
                          raise_if_empty=False)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise ValueError(f"{path.name} is not a readable CSV: {str(error).splitlines()[0]}") from None
    fields = fields_by_name(schema)
    typed = raw.select([_typed(pl.col(name), fields[name]).alias(name) if name in fields else pl.col(name)
                        for name in raw.columns])
    checked = [name for name in raw.columns if name in fields and fields[name]["type"] != "string"]
    bad: list[tuple[int, str, str]] = []
    if checked and len(raw):
        failed = raw.select([(pl.col(n).is_not_null() & typed[n].is_null()).any().alias(n) for n in checked]).row(0)
        for name, any_failed in zip(checked, failed, strict=True):
            if any_failed:
                rows = raw.with_row_index("row").filter(pl.col(name).is_not_null() & typed[name].is_null())
                bad += [(row, name, cell) for row, cell in rows.select("row", name).iter_rows()]
    return typed, bad


def _typed(column, field: dict):
    """The expression that parses a text column as `field`'s type; a cell that does not parse becomes null."""
    import polars as pl

    kind = field["type"]
    if kind == "boolean":
        true = field.get("trueValues", ["true", "True", "TRUE", "1"])
        false = field.get("falseValues", ["false", "False", "FALSE", "0"])
        return pl.when(column.is_in(true)).then(True).when(column.is_in(false)).then(False).otherwise(None)
    if kind == "date":
        return column.str.to_date("%Y-%m-%d", strict=False)
    if kind == "string":
        return column
    return column.cast(polars_type(field), strict=False)


def pandera_schema(table: str, schema: dict):
    """The pandera (polars) DataFrameSchema a Table Schema implies: dtypes, required, unique, enum, range,
    pattern, length and the primary key."""
    import pandera.polars as pa

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
            # Table Schema patterns match whole values
            checks.append(pa.Check.str_matches(f"^(?:{constraints['pattern']})$"))
        if "minLength" in constraints:
            checks.append(pa.Check.str_length(min_value=constraints["minLength"]))
        if "maxLength" in constraints:
            checks.append(pa.Check.str_length(max_value=constraints["maxLength"]))
        columns[field["name"]] = pa.Column(
            polars_type(field), checks=checks, nullable=not is_required(field),
            unique=bool(constraints.get("unique")), required=True)
    key = primary_key(schema)
    return pa.DataFrameSchema(columns, name=table, strict=True, ordered=True,
                              unique=key if len(key) > 1 else None)


def _bound(field: dict, value):
    return dt.date.fromisoformat(value) if field["type"] == "date" else value


def map_unique(series, function, dtype=None):
    """`function` applied to each distinct value of a polars Series (not to every row), mapped back onto it."""
    import polars as pl

    distinct = series.drop_nulls().unique()
    mapping = pl.DataFrame({"value": distinct, "mapped": pl.Series([function(v) for v in distinct.to_list()],
                                                                    dtype=dtype or pl.String)})
    return series.to_frame("value").join(mapping, on="value", how="left", maintain_order="left")["mapped"]


def pandas_frame(frame):
    """A polars frame as pandas columns of the nullable dtypes (for the report's figures), without pyarrow."""
    import pandas as pd

    pandas_of = {types.polars: types.pandas for types in TYPES.values()}
    # a column the schema does not know was read as text
    return pd.DataFrame({name: pd.Series(frame[name].to_list(), dtype=pandas_of.get(str(dtype), "string"))
                         for name, dtype in frame.schema.items()})
