"""Cross-field and cross-table rules that a Table Schema cannot state. Each rule yields its problems.

Every rule takes a `Tables` (typed frames of all tables, their schemas, the normalized source texts and
the validate params) and yields (table, record id, field, message).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterator

import pandas as pd

from .errors import shown
from .schemas import (CONTROL_CHARACTERS, FORMULA_STARTS, canonical, canonical_cell, compatible, fields_by_name,
                      precision_of, primary_key, record_id_at)

Finding = tuple[str, str | None, str | None, str]


@dataclass
class Tables:
    frames: dict[str, pd.DataFrame]
    schemas: dict[str, dict]
    curated: list[str]
    texts: dict[str, str]
    params: dict
    today: dt.date

    def ids(self, table: str) -> pd.Series:
        (key,) = primary_key(self.schemas[table])
        return self.frames[table][key]


def foreign_keys_exist(t: Tables) -> Iterator[Finding]:
    """Every foreign key of every Table Schema resolves: an anti-join per key, as frictionless checks row by row.
    A row whose key fields are all empty refers to nothing and passes."""
    for table, schema in t.schemas.items():
        for key in schema.get("foreignKeys", []):
            fields = [key["fields"]] if isinstance(key["fields"], str) else key["fields"]
            reference = key["reference"]
            target = reference["resource"] or table
            targets = [reference["fields"]] if isinstance(reference["fields"], str) else reference["fields"]
            child = t.frames[table][fields].dropna(how="all").reset_index()
            parent = t.frames[target][targets].drop_duplicates().set_axis(fields, axis=1).assign(found=True)
            dangling = child.merge(parent, on=fields, how="left")
            for row in dangling[dangling["found"].isna()].itertuples(index=False):
                values = [getattr(row, f) for f in fields]
                yield table, record_id_at(t.frames[table], t.schemas[table], row.index), ",".join(fields), (
                    f"foreign-key: {', '.join(map(repr, values))} is not a {target}.{','.join(targets)}")


def every_record_cited(t: Tables) -> Iterator[Finding]:
    cited = set(zip(t.frames["citations"]["resource"], t.frames["citations"]["record_id"]))
    for table in t.curated:
        for record_id in t.ids(table):
            if (table, record_id) not in cited:
                yield table, record_id, None, "has no citation: every published row must be backed by a quote"


def citations_point_at_records(t: Tables) -> Iterator[Finding]:
    """Every citation of a curated table names a record and a column that exist (anti-joins, not lookups)."""
    cited = t.frames["citations"]
    cited = cited[cited["resource"].isin(t.curated)]
    records = pd.concat([pd.DataFrame({"resource": table, "record_id": t.ids(table)}) for table in t.curated])
    dangling = cited.merge(records.assign(found=True), on=["resource", "record_id"], how="left")
    for citation_id, record_id, resource in dangling.loc[dangling["found"].isna(), ["citation_id", "record_id", "resource"]].itertuples(index=False):
        yield "citations", citation_id, "record_id", f"no record {record_id!r} in {resource}"
    columns = pd.DataFrame([(table, f["name"]) for table in t.curated for f in t.schemas[table]["fields"]],
                           columns=["resource", "field"]).assign(known=True)
    named = cited[cited["field"].notna()].merge(columns, on=["resource", "field"], how="left")
    for citation_id, resource, field in named.loc[named["known"].isna(), ["citation_id", "resource", "field"]].itertuples(index=False):
        yield "citations", citation_id, "field", f"{resource} has no column {field!r}"


def quotes_at_their_offsets(t: Tables) -> Iterator[Finding]:
    c = t.frames["citations"].dropna(subset=["char_start", "char_end"])  # a cell of the wrong type is reported already
    for citation_id, source_id, start, end, quote in zip(c["citation_id"], c["source_id"], c["char_start"], c["char_end"], c["quote"]):
        if t.texts.get(source_id, "")[start:end] != quote:
            yield "citations", citation_id, "char_start", f"{source_id}[{start}:{end}] is not the quote {quote!r}"


def values_agree_with_citations(t: Tables) -> Iterator[Finding]:
    """A record's value must be one that a source states, wherever sources state values for that field."""
    c = t.frames["citations"]
    c = c[c["field"].notna() & c["stated_value"].notna() & c["resource"].isin(t.curated)]
    for (table, name), group in c.groupby(["resource", "field"], sort=True):
        schema, frame = t.schemas[table], t.frames[table]
        if name not in frame.columns:
            continue
        field = fields_by_name(schema)[name]
        published = _published_values(schema, frame, name)  # record id → canonical value, one pass over the column
        claims = group.groupby("record_id", sort=True)["stated_value"].agg(lambda values: {canonical(field, v) for v in values})
        for record_id, stated in claims.items():
            if record_id not in published:
                continue
            value = published[record_id]
            if value is None:
                yield table, record_id, name, f"is empty, but sources state {sorted(stated)}"
            elif not any(compatible(field, value, claim) for claim in stated):
                yield table, record_id, name, f"is {value!r}, but its citations state {sorted(stated)}"


def dates_within_precision(t: Tables) -> Iterator[Finding]:
    earliest = pd.Timestamp(t.params["earliest_date"])
    for table, frame in t.frames.items():
        for name, precision_name in precision_of(t.schemas[table]).items():
            for record_id, value, precision in zip(t.ids(table), frame[name], frame[precision_name]):
                if pd.isna(value) != pd.isna(precision):
                    yield table, record_id, precision_name, f"{name} and its precision must be both set or both empty"
                elif pd.isna(value):
                    continue
                elif (precision in ("month", "year") and value.day != 1) or (precision == "year" and value.month != 1):
                    yield table, record_id, name, f"{value.date()} is not the first day of its {precision}"
                elif not earliest <= value <= pd.Timestamp(t.today):
                    yield table, record_id, name, f"{value.date()} is outside {earliest.date()}..{t.today}"


def periods_in_order(t: Tables) -> Iterator[Finding]:
    for table, frame in t.frames.items():
        if {"period_start", "period_end"} <= set(frame.columns):
            for record_id, start, end in zip(t.ids(table), frame["period_start"], frame["period_end"]):
                if not pd.isna(start) and not pd.isna(end) and end < start:
                    yield table, record_id, "period_end", f"period ends ({end}) before it starts ({start})"
    budgets = t.frames["budgets"].merge(t.frames["programmes"][["programme_id", "period_start", "period_end"]],
                                        on="programme_id", suffixes=("", "_programme"))
    outside = budgets[(budgets["period_start"] < budgets["period_start_programme"])
                      | (budgets["period_end"] > budgets["period_end_programme"])]
    for b in outside.itertuples(index=False):
        yield "budgets", b.budget_id, "period_start", (
            f"budget period {b.period_start}-{b.period_end} lies outside its programme's "
            f"{b.period_start_programme}-{b.period_end_programme}")


def organizations_of_the_right_kind(t: Tables) -> Iterator[Finding]:
    kind = dict(zip(t.frames["organizations"]["org_id"], t.frames["organizations"]["kind"]))
    expected = t.params["org_kinds"]
    for table, columns in expected.items():
        frame = t.frames[table]
        for column, kinds in columns.items():
            for record_id, org_id in zip(t.ids(table), frame[column]):
                if not pd.isna(org_id) and org_id in kind and kind[org_id] not in kinds:
                    yield table, record_id, column, f"{org_id!r} is of kind {kind[org_id]!r}; expected one of {kinds}"
    banned = set(t.frames["court_bans"]["org_id"])
    for org_id, org_kind in kind.items():
        if org_kind == "banned_group" and org_id not in banned:
            yield "organizations", org_id, "kind", "is banned_group, but no court_bans row bans it"


def no_duplicates_under_another_id(t: Tables) -> Iterator[Finding]:
    for table, columns in t.params["natural_keys"].items():
        frame = t.frames[table]
        keys = frame[columns].dropna()
        if keys.empty:
            continue
        normalized = keys.astype(str).apply(lambda column: column.str.split().str.join(" ").str.casefold())
        ids = t.ids(table).loc[normalized.index]
        first = ids.groupby([normalized[c] for c in columns], sort=False).transform("first")
        for record_id, original in zip(ids[normalized.duplicated()], first[normalized.duplicated()]):
            yield table, record_id, ",".join(columns), f"same {columns} as {original!r}: a duplicate under another id?"
    names = defaultdict(set)
    for org_id, name, aliases in zip(*(t.frames["organizations"][c] for c in ("org_id", "name", "aliases"))):
        for label in [name, *([] if pd.isna(aliases) else aliases.split("|"))]:
            names[label.strip().casefold()].add(org_id)
    for label, org_ids in sorted(names.items()):
        if len(org_ids) > 1:
            yield "organizations", sorted(org_ids)[1], "aliases", f"name {label!r} also names {sorted(org_ids)[0]!r}"


def usd_conversions_flagged(t: Tables) -> Iterator[Finding]:
    """A stated dollar figure far from the period's exchange rate must carry the implausibility flag, and only then."""
    rates, factor = t.params["kzt_per_usd"], t.params["usd_rate_tolerance_factor"]
    for _, b in t.frames["budgets"].iterrows():
        flagged = not pd.isna(b["flag"]) and b["flag"] == "implausible_usd_conversion"
        if pd.isna(b["amount_usd_stated"]):
            if flagged:
                yield "budgets", b["budget_id"], "flag", "flags a conversion, but no dollar figure is stated"
            continue
        if b["currency"] != "KZT":
            yield "budgets", b["budget_id"], "currency", f"no reference rate for {b['currency']} in params.yaml"
            continue
        period = [rates[y] for y in range(int(b["period_start"]), int(b["period_end"]) + 1) if y in rates]
        if not period:
            yield "budgets", b["budget_id"], "period_start", "no reference KZT rate for the period in params.yaml"
            continue
        implied = b["amount"] / b["amount_usd_stated"]
        plausible = min(period) / factor <= implied <= max(period) * factor
        if plausible == flagged:
            state = "plausible" if plausible else "implausible"
            yield "budgets", b["budget_id"], "flag", (
                f"implied rate {implied:,.1f} KZT/USD is {state} for {b['period_start']}-{b['period_end']} "
                f"(reference {min(period)}-{max(period)}); flag must be "
                f"{'empty' if plausible else 'implausible_usd_conversion'}")


def text_cells_safe(t: Tables) -> Iterator[Finding]:
    """No text cell of any table, derived ones included, holds a control character or starts like a formula."""
    for table, frame in t.frames.items():
        for field in t.schemas[table]["fields"]:
            if field["type"] != "string" or field["name"] not in frame.columns:
                continue
            cells = frame[field["name"]].dropna()
            bad = cells[cells.str.contains(CONTROL_CHARACTERS, regex=True) | cells.str.startswith(FORMULA_STARTS)]
            for row, cell in bad.items():
                yield table, record_id_at(t.frames[table], t.schemas[table], row), field["name"], (
                    f"{shown(cell)} holds a control character or starts with one of {list(FORMULA_STARTS)}")


def _published_values(schema: dict, frame: pd.DataFrame, name: str) -> dict[str, str | None]:
    (key,) = primary_key(schema)
    field = fields_by_name(schema)[name]
    precisions = frame[precision_of(schema)[name]] if name in precision_of(schema) else [None] * len(frame)
    return {record_id: None if pd.isna(value) else canonical_cell(field, value, precision)
            for record_id, value, precision in zip(frame[key], frame[name], precisions)}



# --- rules of the 0.2.0 tables: each one a set operation over whole columns --------------------------------

def list_references_exist(t: Tables) -> Iterator[Finding]:
    """Every id in a list column that names another table's rows exists there (x-list-reference in the schema):
    Table Schema foreign keys cannot reach inside a list."""
    for table in t.curated:
        (key,) = primary_key(t.schemas[table])
        for field in t.schemas[table]["fields"]:
            reference = field.get("x-list-reference")
            if not reference:
                continue
            name = field["name"]
            cells = t.frames[table][[key, name]].dropna()
            items = cells.assign(item=cells[name].str.split(field["x-list-separator"], regex=False)).explode("item")
            missing = items[~items["item"].isin(t.frames[reference["resource"]][reference["field"]])]
            for record_id, item in zip(missing[key], missing["item"]):
                yield table, record_id, name, f"{item!r} is not a {reference['resource']}.{reference['field']}"


def statistics_consistent(t: Tables) -> Iterator[Finding]:
    """Values, bounds and qualifier tell one story; a reversed range is flagged, never silently accepted."""
    f = t.frames["statistics"]
    value, low, high = f["value"], f["value_low"], f["value_high"]
    is_range = (f["qualifier"] == "range").fillna(False)
    reversed_range = (low > high).fillna(False)
    flagged = (f["flag"] == "reversed_range").fillna(False)
    checks = [
        (is_range & ~(low.notna() & high.notna() & value.isna()), "qualifier",
         "qualifier is range: value_low and value_high must both be given and value empty"),
        (~is_range & (value.isna() | low.notna() | high.notna()), "qualifier",
         "qualifier is not range: value must be given and value_low, value_high empty"),
        (value.notna() & (((value < low) & low.notna()) | ((value > high) & high.notna())).fillna(False), "value",
         "value lies outside value_low..value_high"),
        (reversed_range & ~flagged, "flag", "value_low is above value_high: record it as stated with flag reversed_range"),
        (flagged & ~reversed_range, "flag", "flag is reversed_range, but value_low is not above value_high"),
        (f["reference_date"].isna() & f["period_start"].isna(), "reference_date",
         "a statistic needs a reference date (a stock) or a period (a flow)"),
        (f["period_start"].isna() != f["period_end"].isna(), "period_end", "a period needs both period_start and period_end"),
    ]
    for failing, field, message in checks:
        for record_id in f.loc[failing.astype(bool), "statistic_id"]:
            yield "statistics", record_id, field, message


def prosecutions_consistent(t: Tables) -> Iterator[Finding]:
    """No more defendants named than tried; a term in years only for a prison or restricted-freedom sentence."""
    f = t.frames["prosecutions"]
    separator = fields_by_name(t.schemas["prosecutions"])["defendants"]["x-list-separator"]
    named = f["defendants"].str.split(separator, regex=False).str.len()
    too_many = (named > f["defendant_count"]).fillna(False)
    for record_id, count, names in zip(f.loc[too_many, "case_id"], f.loc[too_many, "defendant_count"], named[too_many]):
        yield "prosecutions", record_id, "defendant_count", f"{names} defendants are named, but defendant_count is {count}"
    term = f["sentence_years"].notna() & ~f["sentence_type"].isin(["imprisonment", "restricted_freedom"])
    for record_id, kind in zip(f.loc[term, "case_id"], f.loc[term, "sentence_type"]):
        yield "prosecutions", record_id, "sentence_years", f"a term in years does not fit sentence_type {kind!r}"


def provision_successors_consistent(t: Tables) -> Iterator[Finding]:
    """A provision and its successor belong to different acts; a successor claimed by two or more provisions is
    recorded as stated, and every provision claiming it carries flag shared_successor (and only those do)."""
    f = t.frames["legal_provisions"]
    pairs = f[["provision_id", "law_id", "successor_provision_id", "flag"]].merge(
        f[["provision_id", "law_id"]], left_on="successor_provision_id", right_on="provision_id",
        suffixes=("", "_successor"))
    for record_id in pairs.loc[pairs["law_id"] == pairs["law_id_successor"], "provision_id"]:
        yield "legal_provisions", record_id, "successor_provision_id", "the successor belongs to the same act"
    claims = f["successor_provision_id"].map(f["successor_provision_id"].value_counts())
    shared = (claims > 1).fillna(False)
    flagged = (f["flag"] == "shared_successor").fillna(False)
    for record_id in f.loc[shared & ~flagged, "provision_id"]:
        yield "legal_provisions", record_id, "flag", "another provision names the same successor: flag it shared_successor"
    for record_id in f.loc[flagged & ~shared, "provision_id"]:
        yield "legal_provisions", record_id, "flag", "flag is shared_successor, but no other provision names its successor"


RULES = [foreign_keys_exist, every_record_cited, citations_point_at_records, quotes_at_their_offsets, values_agree_with_citations,
         dates_within_precision, periods_in_order, organizations_of_the_right_kind,
         no_duplicates_under_another_id, usd_conversions_flagged, text_cells_safe,
         list_references_exist, statistics_consistent, prosecutions_consistent, provision_successors_consistent]
