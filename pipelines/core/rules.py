"""Cross-field and cross-table rules that a Table Schema cannot state. Each rule yields its problems.

Every rule is registered by the @rule decorator where it is defined (the validate stage runs RULES), takes a
`Tables` (typed polars frames of all tables, their schemas, the normalized source texts and the validate params)
and yields (table, record id, field, message). Rules are set operations over whole columns (joins, anti-joins,
group-bys, column expressions); Python sees only the rows that fail, and the distinct values a Python function
must canonicalize.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import polars as pl

from .errors import shown
from .schemas import (
    CONTROL_CHARACTERS,
    FORMULA_STARTS,
    canonical,
    canonical_cell,
    codebooks,
    derived_fields,
    entity_fields,
    enum_subset,
    fields_by_name,
    folded_column,
    foreign_keys,
    list_separator,
    map_unique,
    precision_of,
    primary_key,
    record_id_at,
)

Finding = tuple[str, str | None, str | None, str]


@dataclass
class Tables:
    frames: dict[str, pl.DataFrame]
    schemas: dict[str, dict]
    curated: list[str]
    texts: dict[str, str]
    params: dict
    today: dt.date

    def key(self, table: str) -> str:
        (key,) = primary_key(self.schemas[table])
        return key

    def ids(self, table: str) -> pl.Series:
        return self.frames[table][self.key(table)]

    def record_ids(self, table: str, rows: pl.DataFrame) -> list[str | None]:
        """The record ids of the rows whose positions a frame's "row" column holds (only failing rows get here)."""
        return [record_id_at(self.frames[table], self.schemas[table], row) for row in rows["row"]]


Rule = Callable[[Tables], Iterator[Finding]]
RULES: list[Rule] = []  # every rule, in the order they are defined: the validate stage runs them all


def rule(check: Rule) -> Rule:
    """Register `check` as a rule where it is defined, so that no rule is written and then never run."""
    RULES.append(check)
    return check


def _rows(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_row_index("row")


@rule
def foreign_keys_exist(t: Tables) -> Iterator[Finding]:
    """Every foreign key of every Table Schema resolves: an anti-join per key, as frictionless checks row by row.
    A row whose key fields are all empty refers to nothing and passes."""
    for table, schema in t.schemas.items():
        for fields, target, targets in foreign_keys(table, schema):
            child = _rows(t.frames[table]).select("row", *fields).filter(~pl.all_horizontal(pl.col(fields).is_null()))
            parent = t.frames[target].select(targets).unique().rename(dict(zip(targets, fields, strict=True)))
            dangling = child.join(parent, on=fields, how="anti", maintain_order="left")
            for record_id, values in zip(t.record_ids(table, dangling), dangling.select(fields).iter_rows(),
                                         strict=True):
                yield table, record_id, ",".join(fields), (
                    f"foreign-key: {', '.join(map(repr, values))} is not a {target}.{','.join(targets)}")


@rule
def every_record_cited(t: Tables) -> Iterator[Finding]:
    cited = t.frames["citations"].select("resource", "record_id")
    for table in t.curated:
        ids = t.ids(table).to_frame("record_id")
        uncited = ids.join(cited.filter(pl.col("resource") == table).select("record_id").unique(), on="record_id",
                           how="anti", maintain_order="left")
        for record_id in uncited["record_id"]:
            yield table, record_id, None, "has no citation: every published row must be backed by a quote"


@rule
def citations_point_at_records(t: Tables) -> Iterator[Finding]:
    """Every citation of a curated table names a record and a column that exist (anti-joins, not lookups)."""
    cited = t.frames["citations"].filter(pl.col("resource").is_in(t.curated))
    records = pl.concat([t.ids(table).to_frame("record_id").with_columns(resource=pl.lit(table))
                         for table in t.curated])
    dangling = cited.join(records, on=["resource", "record_id"], how="anti", maintain_order="left")
    for citation_id, record_id, resource in dangling.select("citation_id", "record_id", "resource").iter_rows():
        yield "citations", citation_id, "record_id", f"no record {record_id!r} in {resource}"
    columns = pl.DataFrame([(table, f["name"], bool(f.get("x-derived"))) for table in t.curated
                            for f in t.schemas[table]["fields"]], schema=["resource", "field", "derived"], orient="row")
    named = cited.filter(pl.col("field").is_not_null()).join(columns, on=["resource", "field"], how="left",
                                                             maintain_order="left")
    for citation_id, resource, field, derived in named.filter(pl.col("derived").is_null() | pl.col("derived")).select(
            "citation_id", "resource", "field", "derived").iter_rows():
        yield "citations", citation_id, "field", (f"{resource} has no column {field!r}" if derived is None else
                                                  f"{resource}.{field} is derived, not stated: no citation may back it")


@rule
def quotes_at_their_offsets(t: Tables) -> Iterator[Finding]:
    """Each quote is the source text at its offsets: the slices are cut in one pass per source, compared in polars."""
    c = t.frames["citations"].drop_nulls(["char_start", "char_end"])  # a cell of the wrong type is reported already
    for (source_id,), group in c.group_by("source_id", maintain_order=True):
        text = t.texts.get(source_id, "")
        found = pl.Series([text[start:end] for start, end in zip(group["char_start"].to_list(),
                                                                 group["char_end"].to_list(), strict=True)],
                          dtype=pl.String)
        wrong = group.filter(found.ne_missing(group["quote"]))
        for citation_id, start, end, quote in wrong.select("citation_id", "char_start", "char_end",
                                                            "quote").iter_rows():
            yield "citations", citation_id, "char_start", f"{source_id}[{start}:{end}] is not the quote {quote!r}"


@rule
def values_agree_with_citations(t: Tables) -> Iterator[Finding]:
    """A record's value must be one that a source states, wherever sources state values for that field.
    Values are compared in canonical form, computed once per distinct value; only failing records are detailed."""
    c = t.frames["citations"].filter(pl.col("field").is_not_null() & pl.col("stated_value").is_not_null()
                                     & pl.col("resource").is_in(t.curated))
    for (table, name), group in c.group_by(["resource", "field"], maintain_order=True):
        schema, frame = t.schemas[table], t.frames[table]
        if name not in frame.columns:
            continue
        field, key = fields_by_name(schema)[name], t.key(table)
        claims = group.select("record_id", "stated_value").unique()
        claims = claims.select("record_id",
                               claim=map_unique(claims["stated_value"], lambda v, field=field: canonical(field, v)))
        precision = precision_of(schema).get(name)
        published = frame.select(pl.col(key).alias("record_id"), pl.col(name).alias("value"),
                                 (pl.col(precision) if precision else pl.lit("day")).alias("precision"))
        published = published.join(claims.select("record_id").unique(), on="record_id", how="semi")
        pairs = published.select("value", "precision").unique().drop_nulls("value")
        pairs = pairs.with_columns(published=pl.Series([canonical_cell(field, v, p) for v, p in pairs.iter_rows()],
                                                       dtype=pl.String))
        published = published.join(pairs, on=["value", "precision"], how="left", nulls_equal=True)
        joined = claims.join(published.select("record_id", "published"), on="record_id", how="inner")
        value, claim = pl.col("published"), pl.col("claim")
        agrees = ((value.str.starts_with(claim) | claim.str.starts_with(value)) if field["type"] == "date"
                  else value == claim)
        failing = joined.group_by("record_id").agg(agrees.fill_null(False).any().alias("ok")).filter(~pl.col("ok"))
        if failing.is_empty():
            continue
        detail = (joined.join(failing, on="record_id", how="semi").group_by("record_id")
                  .agg(pl.col("published").first(), pl.col("claim").unique().sort()).sort("record_id"))
        for record_id, value, stated in detail.iter_rows():
            if value is None:
                yield table, record_id, name, f"is empty, but sources state {stated}"
            else:
                yield table, record_id, name, f"is {value!r}, but its citations state {stated}"


def _word_pattern(words: list[str]) -> str | None:
    """One case-insensitive regex matching any of the words or phrases whole (listed inflections, no stemming)."""
    return "(?i)\\b(?:" + "|".join(re.escape(word) for word in words) + ")\\b" if words else None


@rule
def categories_stated_by_quotes(t: Tables) -> Iterator[Finding]:
    """A category cell (a field with an x-codebook) is stated by a quote its record cites, which holds one of its
    value's words, or read by the curator, whose citation of that field says how (inference). Each record's quotes
    are matched against each value's words in one cross join per field; only failing records are detailed."""
    citations = t.frames["citations"]
    for table in t.curated:
        key = t.key(table)
        quotes = citations.filter(pl.col("resource") == table).select("record_id", "quote")
        for name, book in codebooks(t.schemas[table]).items():
            words = pl.DataFrame({"value": list(book), "pattern": [_word_pattern(e["words"]) for e in book.values()]},
                                 schema={"value": pl.String, "pattern": pl.String}).drop_nulls("pattern")
            stated = (quotes.join(words, how="cross").filter(pl.col("quote").str.contains(pl.col("pattern")))
                      .select("record_id", "value").unique())
            inferred = citations.filter((pl.col("resource") == table) & (pl.col("field") == name)
                                        & pl.col("inference").is_not_null()).select("record_id")
            cells = t.frames[table].select(record_id=pl.col(key), value=pl.col(name)).drop_nulls("value")
            unstated = (cells.join(stated, on=["record_id", "value"], how="anti", maintain_order="left")
                        .join(inferred, on="record_id", how="anti", maintain_order="left"))
            held = stated.join(unstated.select("record_id"), on="record_id", how="semi").group_by("record_id").agg(
                pl.col("value").sort().alias("held"))
            for record_id, value, held_values in unstated.join(held, on="record_id", how="left",
                                                               maintain_order="left").iter_rows():
                words = book[value]["words"]
                yield table, record_id, name, (
                    f"{value!r} is not stated: "
                    + (f"no quote the record cites holds its words {words}" if words else "no word can state it")
                    + f", and no citation of {name} says how it follows (inference); the quotes hold the words of "
                    f"{held_values or 'no value'}: cite a passage that states it, add an inference, or correct it")


@rule
def derived_cells_together(t: Tables) -> Iterator[Finding]:
    """The columns one derivation fills (same "x-derived" in the schema, e.g. latitude, longitude, geonames_id)
    are all set or all empty in a row: a place is derived whole or not at all."""
    for table in t.curated:
        groups = defaultdict(list)
        for name, how in derived_fields(t.schemas[table]).items():
            groups[how].append(name)
        for how, names in groups.items():
            frame = t.frames[table]
            set_ = pl.sum_horizontal([pl.col(n).is_not_null().cast(pl.Int32) for n in names])
            partial = frame.filter((set_ > 0) & (set_ < len(names)))
            for record_id in partial[t.key(table)]:
                yield table, record_id, ",".join(names), f"derived from the {how} together: all set or all empty"


@rule
def dates_within_precision(t: Tables) -> Iterator[Finding]:
    earliest = dt.date.fromisoformat(str(t.params["earliest_date"]))
    for table, frame in t.frames.items():
        for name, precision_name in precision_of(t.schemas[table]).items():
            value, precision = pl.col(name), pl.col(precision_name)
            unpaired = value.is_null() != precision.is_null()
            not_first = value.is_not_null() & (((precision.is_in(["month", "year"])) & (value.dt.day() != 1))
                                                | ((precision == "year") & (value.dt.month() != 1)))
            outside = value.is_not_null() & ((value < earliest) | (value > t.today))
            found = frame.select(pl.col(t.key(table)).alias("record_id"), value.alias("value"),
                                 precision.alias("precision"), unpaired.alias("unpaired"),
                                 not_first.fill_null(False).alias("not_first"),
                                 outside.fill_null(False).alias("outside"))
            for record_id, date, kind, unpaired, not_first, _outside in found.filter(
                    pl.col("unpaired") | pl.col("not_first") | pl.col("outside")).iter_rows():
                if unpaired:
                    yield table, record_id, precision_name, f"{name} and its precision must be both set or both empty"
                elif not_first:
                    yield table, record_id, name, f"{date} is not the first day of its {kind}"
                else:
                    yield table, record_id, name, f"{date} is outside {earliest}..{t.today}"


@rule
def periods_in_order(t: Tables) -> Iterator[Finding]:
    for table, frame in t.frames.items():
        if {"period_start", "period_end"} <= set(frame.columns):
            reversed_ = frame.filter(pl.col("period_end") < pl.col("period_start"))
            for record_id, start, end in reversed_.select(t.key(table), "period_start", "period_end").iter_rows():
                yield table, record_id, "period_end", f"period ends ({end}) before it starts ({start})"
    budgets = t.frames["budgets"].join(t.frames["programmes"].select("programme_id", "period_start", "period_end"),
                                       on="programme_id", suffix="_programme", maintain_order="left")
    outside = budgets.filter((pl.col("period_start") < pl.col("period_start_programme"))
                             | (pl.col("period_end") > pl.col("period_end_programme")))
    for b in outside.iter_rows(named=True):
        yield "budgets", b["budget_id"], "period_start", (
            f"budget period {b['period_start']}-{b['period_end']} lies outside its programme's "
            f"{b['period_start_programme']}-{b['period_end_programme']}")


@rule
def organizations_of_the_right_kind(t: Tables) -> Iterator[Finding]:
    kinds_of = t.frames["organizations"].select("org_id", "kind")
    for table, columns in t.params["org_kinds"].items():
        for column, kinds in columns.items():
            wrong = (t.frames[table].select(pl.col(t.key(table)).alias("record_id"), pl.col(column).alias("org_id"))
                     .join(kinds_of, on="org_id", how="inner", maintain_order="left")
                     .filter(~pl.col("kind").is_in(kinds)))
            for record_id, org_id, kind in wrong.iter_rows():
                yield table, record_id, column, f"{org_id!r} is of kind {kind!r}; expected one of {kinds}"
    unbanned = kinds_of.filter(pl.col("kind") == "banned_group").join(
        t.frames["court_bans"].select("org_id").unique(), on="org_id", how="anti", maintain_order="left")
    for org_id in unbanned["org_id"]:
        yield "organizations", org_id, "kind", "is banned_group, but no court_bans row bans it"


@rule
def no_duplicates_under_another_id(t: Tables) -> Iterator[Finding]:
    for table, columns in t.params["natural_keys"].items():
        key = t.key(table)
        frame = t.frames[table]
        keys = frame.select(key, *columns).drop_nulls(columns)
        if keys.is_empty():
            continue
        folded = keys.with_columns([folded_column(pl.col(c).cast(pl.String)) for c in columns])
        repeats = (folded.filter(pl.struct(columns).is_duplicated())  # few rows: the windows below see only those
                   .with_columns(first=pl.col(key).first().over(columns), nth=pl.int_range(pl.len()).over(columns))
                   .filter(pl.col("nth") > 0))
        if repeats.is_empty():
            continue
        separator = list_separator(t.schemas[table], "distinct_from")
        declared = (frame.select(pl.col(key).alias("a"), pl.col("distinct_from").str.split(separator).alias("b"))
                    .drop_nulls("b").explode("b"))
        declared = pl.concat([declared, declared.select(a="b", b="a")]).unique()  # either record may say it
        pairs = repeats.select(a=pl.col(key), b=pl.col("first")).join(declared, on=["a", "b"], how="anti",
                                                                      maintain_order="left")
        for record_id, original in pairs.iter_rows():
            yield table, record_id, ",".join(columns), (
                f"same {columns} as {original!r}: a duplicate under another id? If they are two different things, "
                f"say so with distinct_from: [{original}] in the record, and how they differ in its note")
    labels = _names_of(t, "organizations").select(org_id="id", label=folded_column(pl.col("label")))
    shared = (labels.filter(pl.col("label").is_duplicated()).group_by("label").agg(pl.col("org_id").unique().sort())
              .filter(pl.col("org_id").list.len() > 1).sort("label"))
    for label, org_ids in shared.iter_rows():
        yield "organizations", org_ids[1], "aliases", f"name {label!r} also names {org_ids[0]!r}"


def _names_of(t: Tables, table: str) -> pl.DataFrame:
    """(id, label, name): each row of `table` (the organizations) under its name and under each of its aliases."""
    frame, separator = t.frames[table], list_separator(t.schemas[table], "aliases")
    return pl.concat([frame.select(id=pl.col(t.key(table)), label=pl.col("name"), name=pl.col("name")),
                      frame.select(id=pl.col(t.key(table)), label=pl.col("aliases").str.split(separator),
                                   name=pl.col("name")).explode("label")]).drop_nulls("label")


def _country_names(t: Tables) -> pl.DataFrame:
    """(id, label, name): each country a party may be, under its name and under its adjective and other forms."""
    return pl.DataFrame([(country, label, country) for country, forms in t.params["country_names"].items()
                         for label in [country, *forms]], schema=["id", "label", "name"], orient="row")


def _words(text: pl.Expr, fold: bool = True) -> pl.Expr:
    """The text's words (in lower case if `fold`), each between single spaces (punctuation counts as a space)."""
    words = text.str.replace_all(r"\W+", " ").str.strip_chars()
    return pl.concat_str(pl.lit(" "), words.str.to_lowercase() if fold else words, pl.lit(" "))


def _word_in(text: pl.Expr, name: pl.Expr) -> pl.Expr:
    """`name` stands in `text` as whole words, in any case, except that a name in capitals (an acronym: "IS") must
    stand in capitals, so that it is not every "is". A plain substring test of their words, since a pattern per
    row would be compiled per row."""
    acronym = (name == name.str.to_uppercase()) & name.str.contains(r"\p{L}")
    return (pl.when(acronym).then(_words(text, fold=False).str.contains(_words(name, fold=False), literal=True))
            .otherwise(_words(text).str.contains(_words(name), literal=True)))


def _entity_cells(t: Tables) -> pl.DataFrame:
    """(resource, record_id, field, kind, item, value, target): each non-empty cell that names an entity (x-names
    in its Table Schema), a list cell once per item; target is the table a foreign key of the column points at."""
    parts = []
    for table in t.curated:
        schema = t.schemas[table]
        targets = {fields[0]: target for fields, target, _ in foreign_keys(table, schema) if len(fields) == 1}
        for name, kind in entity_fields(schema).items():
            separator = fields_by_name(schema)[name].get("x-list-separator")
            value = pl.col(name)
            parts.append(t.frames[table].select(
                resource=pl.lit(table), record_id=pl.col(t.key(table)), field=pl.lit(name), kind=pl.lit(kind),
                item=value.str.split(separator) if separator else pl.concat_list(value), value=value,
                target=pl.lit(targets.get(name), dtype=pl.String)).explode("item").drop_nulls("item"))
    return pl.concat(parts)


def _labels(t: Tables, cells: pl.DataFrame) -> pl.DataFrame:
    """The cells with each label that names their item, one row per label: an organization id under its
    organization's name and aliases; a text by itself, an organization or a party also under every name of each
    organization whose name or alias it holds ("SCO member states": the SCO's), and a party that is a country under
    the country's other forms."""
    keyed = cells.filter(pl.col("target").is_not_null()).join(
        pl.concat([_names_of(t, target).with_columns(target=pl.lit(target)) for target in
                   cells["target"].drop_nulls().unique()]).rename({"id": "item"}), on=["target", "item"])
    texts = cells.filter(pl.col("target").is_null())
    organizations, countries = _names_of(t, "organizations"), _country_names(t)
    holding = (texts.filter(pl.col("kind").is_in(["organization", "party"])).join(organizations, how="cross")
               .filter(_word_in(pl.col("item"), pl.col("label"))).select(*cells.columns, "id")
               .join(organizations.select("id", "label"), on="id"))
    country = (texts.filter(pl.col("kind") == "party").with_columns(folded=folded_column(pl.col("item")))
               .join(countries.join(countries.select("id", other="label"), on="id")
                     .select(folded=folded_column(pl.col("label")), label="other"), on="folded"))
    return pl.concat([keyed.drop("name"), texts.with_columns(label="item"), holding.drop("id"),
                      country.drop("folded")], how="diagonal").unique()


def _names_held(t: Tables, quotes: pl.DataFrame, named: pl.DataFrame) -> dict[tuple[str, str], str]:
    """For each record of `quotes`, the names its quotes hold, in words: its own entity cells they name (`named`),
    and every organization and country they name."""
    known = pl.concat([_names_of(t, "organizations").with_columns(kind=pl.lit("organizations")),
                       _country_names(t).with_columns(kind=pl.lit("countries"))])
    found = (quotes.join(known, how="cross").filter(_word_in(pl.col("quote"), pl.col("label")))
             .select("resource", "record_id", "kind", "name"))
    own = named.select("resource", "record_id", kind="field", name="item")
    held = (pl.concat([own, found]).unique().sort("kind", "name").group_by("resource", "record_id", "kind",
                                                                             maintain_order=True)
            .agg(pl.col("name")))
    words: dict[tuple[str, str], list[str]] = defaultdict(list)
    for resource, record_id, kind, names in held.iter_rows():
        words[resource, record_id].append(f"{kind} {', '.join(map(repr, names))}")
    return {record: "; ".join(parts) for record, parts in words.items()}


@rule
def entities_named_by_quotes(t: Tables) -> Iterator[Finding]:
    """Each cell that names a place, person, organization or party (x-names in the Table Schema; a list cell item
    by item) is named by a quote its record cites, as whole words in any case: the value itself, an organization's
    name or alias, a country's name or adjective (params.yaml validate.country_names); or a citation of that field
    says how it follows (inference)."""
    citations = t.frames["citations"].filter(pl.col("resource").is_in(t.curated))
    on, cell = ["resource", "record_id"], ["resource", "record_id", "field", "item"]
    inferred = citations.filter(pl.col("field").is_not_null() & pl.col("inference").is_not_null())
    cells = _entity_cells(t).join(inferred.select(*on, "field").unique(), on=[*on, "field"], how="anti",
                                  maintain_order="left")
    quotes = citations.select(*on, "quote")
    labelled = _labels(t, cells).join(quotes, on=on).filter(_word_in(pl.col("quote"), pl.col("label")))
    unnamed = cells.join(labelled.select(cell).unique(), on=cell, how="anti", maintain_order="left")
    if unnamed.is_empty():
        return
    records = unnamed.select(on).unique()
    held = _names_held(t, quotes.join(records, on=on), labelled.join(records, on=on).select(cell).unique())
    names = pl.concat([_names_of(t, target).filter(pl.col("label") == pl.col("name")).select(
        target=pl.lit(target), item="id", name="name") for target in unnamed["target"].drop_nulls().unique()]
        + [pl.DataFrame(schema={"target": pl.String, "item": pl.String, "name": pl.String})])
    unnamed = unnamed.join(names, on=["target", "item"], how="left", maintain_order="left")
    for resource, record_id, field, item, value, name in unnamed.select(*cell, "value", "name").iter_rows():
        whole = f" ({name})" if name else "" if item == value else f" (an item of {value!r})"
        yield resource, record_id, field, (
            f"{item!r}{whole} is named in none of the record's quotes, which name "
            f"{held.get((resource, record_id)) or 'no entity this check knows'}: cite a passage that names it, or "
            f"say how it follows in an inference on the citation of {field}")


@rule
def usd_conversions_flagged(t: Tables) -> Iterator[Finding]:
    """A stated dollar figure far from the period's exchange rate must carry the implausibility flag, and only then."""
    rates, factor = t.params["kzt_per_usd"], t.params["usd_rate_tolerance_factor"]
    for b in t.frames["budgets"].iter_rows(named=True):
        flagged = b["flag"] == "implausible_usd_conversion"
        if b["amount_usd_stated"] is None:
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


# The same characters as schemas.check_text, as one pattern for polars (Rust regex: \x{..} escapes).
_UNSAFE = CONTROL_CHARACTERS + "|^[" + "".join(f"\\x{{{ord(c):x}}}" for c in FORMULA_STARTS) + "]"


@rule
def text_cells_safe(t: Tables) -> Iterator[Finding]:
    """No text cell of any table, derived ones included, holds a control character or starts like a formula. A
    column of copies of other tables' cells (x-copied-cells: the changes table's old and new values) may start like
    a formula: it holds negative numbers as text, and its string cells were checked in their own tables."""
    for table, frame in t.frames.items():
        fields = [f for f in t.schemas[table]["fields"]
                  if f["type"] == "string" and f["name"] in frame.columns and frame.schema[f["name"]] == pl.String]
        names = [f["name"] for f in fields]
        if not names:
            continue
        unsafe = _rows(frame).select("row", *[
            pl.col(f["name"]).str.contains(CONTROL_CHARACTERS if f.get("x-copied-cells") else _UNSAFE)
            .fill_null(False) for f in fields])
        flagged = unsafe.filter(pl.any_horizontal(names))
        for row, *marks in flagged.iter_rows():
            record_id = record_id_at(frame, t.schemas[table], row)
            for name, mark in zip(names, marks, strict=True):
                if mark:
                    yield table, record_id, name, (
                        f"{shown(frame[name][row])} holds a control character or starts with one of "
                        f"{list(FORMULA_STARTS)}")


# --- rules of the 0.2.0 tables: each one a set operation over whole columns --------------------------------

@rule
def list_references_exist(t: Tables) -> Iterator[Finding]:
    """Every id in a list column that names another table's rows exists there (x-list-reference in the schema):
    Table Schema foreign keys cannot reach inside a list."""
    for table in t.curated:
        key = t.key(table)
        for field in t.schemas[table]["fields"]:
            reference = field.get("x-list-reference")
            if not reference:
                continue
            name = field["name"]
            items = (t.frames[table].select(key, item=pl.col(name).str.split(field["x-list-separator"]))
                     .drop_nulls("item").explode("item"))
            targets = t.frames[reference["resource"]].select(pl.col(reference["field"]).alias("item"))
            for record_id, item in items.join(targets, on="item", how="anti", maintain_order="left").iter_rows():
                yield table, record_id, name, f"{item!r} is not a {reference['resource']}.{reference['field']}"


@rule
def statistics_consistent(t: Tables) -> Iterator[Finding]:
    """Values, bounds and qualifier tell one story; a reversed range is flagged, never silently accepted."""
    value, low, high = pl.col("value"), pl.col("value_low"), pl.col("value_high")
    is_range = (pl.col("qualifier") == "range").fill_null(False)
    # quantities a source gives in words only ("hundreds of Kazakhstanis"): the qualifier says it, no number is recorded
    is_vague = pl.col("qualifier").is_in(enum_subset(t.schemas["statistics"], "qualifier", "x-vague")).fill_null(False)
    reversed_range = (low > high).fill_null(False)
    flagged = (pl.col("flag") == "reversed_range").fill_null(False)
    checks = [
        (is_range & ~(low.is_not_null() & high.is_not_null() & value.is_null()), "qualifier",
         "qualifier is range: value_low and value_high must both be given and value empty"),
        (is_vague & (value.is_not_null() | low.is_not_null() | high.is_not_null()), "value",
         "the qualifier is a vague quantity in words: value, value_low and value_high stay empty (never a number the "
         "source does not state)"),
        (~is_range & ~is_vague & (value.is_null() | low.is_not_null() | high.is_not_null()), "qualifier",
         "qualifier is not range: value must be given and value_low, value_high empty"),
        (value.is_not_null()
         & (((value < low) & low.is_not_null()) | ((value > high) & high.is_not_null())).fill_null(False),
         "value", "value lies outside value_low..value_high"),
        (reversed_range & ~flagged, "flag",
         "value_low is above value_high: record it as stated with flag reversed_range"),
        (flagged & ~reversed_range, "flag", "flag is reversed_range, but value_low is not above value_high"),
        (pl.col("reference_date").is_null() & pl.col("period_start").is_null(), "reference_date",
         "a statistic needs a reference date (a stock) or a period (a flow)"),
        (pl.col("period_start").is_null() != pl.col("period_end").is_null(), "period_end",
         "a period needs both period_start and period_end"),
    ]
    frame = t.frames["statistics"]
    for failing, field, message in checks:
        for record_id in frame.filter(failing)["statistic_id"]:
            yield "statistics", record_id, field, message


@rule
def prosecutions_consistent(t: Tables) -> Iterator[Finding]:
    """No more defendants named than tried; a term in years only for a prison or restricted-freedom sentence."""
    f = t.frames["prosecutions"]
    separator = list_separator(t.schemas["prosecutions"], "defendants")
    named = f.with_columns(named=pl.col("defendants").str.split(separator).list.len())
    for record_id, count, names in named.filter(pl.col("named") > pl.col("defendant_count")).select(
            "case_id", "defendant_count", "named").iter_rows():
        yield ("prosecutions", record_id, "defendant_count",
               f"{names} defendants are named, but defendant_count is {count}")
    with_term = enum_subset(t.schemas["prosecutions"], "sentence_type", "x-term-in-years")
    term = f.filter(pl.col("sentence_years").is_not_null() & ~pl.col("sentence_type").is_in(with_term).fill_null(False))
    for record_id, kind in term.select("case_id", "sentence_type").iter_rows():
        yield "prosecutions", record_id, "sentence_years", f"a term in years does not fit sentence_type {kind!r}"


@rule
def provision_successors_consistent(t: Tables) -> Iterator[Finding]:
    """A provision and its successor belong to different acts; a successor claimed by two or more provisions is
    recorded as stated, and every provision claiming it carries flag shared_successor (and only those do)."""
    f = t.frames["legal_provisions"]
    pairs = f.select("provision_id", "law_id", "successor_provision_id").join(
        f.select(pl.col("provision_id").alias("successor_provision_id"), pl.col("law_id").alias("law_id_successor")),
        on="successor_provision_id", how="inner", maintain_order="left")
    for record_id in pairs.filter(pl.col("law_id") == pl.col("law_id_successor"))["provision_id"]:
        yield "legal_provisions", record_id, "successor_provision_id", "the successor belongs to the same act"
    claims = f.with_columns(
        shared=(pl.len().over("successor_provision_id") > 1) & pl.col("successor_provision_id").is_not_null(),
        flagged=(pl.col("flag") == "shared_successor").fill_null(False))
    for record_id in claims.filter(pl.col("shared") & ~pl.col("flagged"))["provision_id"]:
        yield ("legal_provisions", record_id, "flag",
               "another provision names the same successor: flag it shared_successor")
    for record_id in claims.filter(pl.col("flagged") & ~pl.col("shared"))["provision_id"]:
        yield ("legal_provisions", record_id, "flag",
               "flag is shared_successor, but no other provision names its successor")


def _last_day(date: pl.Expr, precision: pl.Expr) -> pl.Expr:
    """The last day a partial date can stand for: the date itself, or the end of its month or year."""
    return (pl.when(precision == "year").then(date.dt.offset_by("1y")).when(precision == "month")
            .then(date.dt.offset_by("1mo")).otherwise(date.dt.offset_by("1d"))).dt.offset_by("-1d")


def _impossible_dates(t: Tables) -> Iterator[tuple[str, str, str, pl.DataFrame]]:
    """(table, flag, why, frame of record_id and impossible) for each date a rule can see cannot be true: the
    whole span a partial date stands for lies before what it depends on."""
    founded = pl.DataFrame({"framework": list(t.params["framework_founded"]),
                            "founded": [dt.date.fromisoformat(str(d)) for d in t.params["framework_founded"].values()]})
    agreements = t.frames["agreements"].join(founded, on="framework", how="left", maintain_order="left")
    yield "agreements", "before_framework_existed", "signed before its framework existed", agreements.select(
        record_id="agreement_id",
        impossible=(_last_day(pl.col("signed"), pl.col("signed_precision")) < pl.col("founded")),
        detail=pl.format("signed {} ({}), {} founded {}", "signed", "signed_precision", "framework", "founded"))
    laws = t.frames["laws"]
    amended = laws.select(amends_law_id="law_id", amended_adopted="adopted")
    laws = laws.join(amended, on="amends_law_id", how="left", maintain_order="left")
    yield "laws", "amends_later_act", "adopted before the act it amends", laws.select(
        record_id="law_id",
        impossible=(_last_day(pl.col("adopted"), pl.col("adopted_precision")) < pl.col("amended_adopted")),
        detail=pl.format("adopted {}, the act it amends ({}) {}", "adopted", "amends_law_id", "amended_adopted"))
    cases = t.frames["prosecutions"].join(t.frames["attacks"].select("attack_id", attack_date="date"), on="attack_id",
                                          how="left", maintain_order="left")
    yield "prosecutions", "verdict_before_event", "the verdict is dated before its attack", cases.select(
        record_id="case_id",
        impossible=(_last_day(pl.col("verdict_date"), pl.col("verdict_date_precision")) < pl.col("attack_date")),
        detail=pl.format("verdict {}, attack {} on {}", "verdict_date", "attack_id", "attack_date"))


@rule
def impossible_values_flagged(t: Tables) -> Iterator[Finding]:
    """A value a rule can see is impossible is published as stated, with its flag, and only then; every flagged row
    says why in its note."""
    for table, flag, why, found in _impossible_dates(t):
        flags = t.frames[table].select(flagged=(pl.col("flag") == flag).fill_null(False))
        found = pl.concat([found, flags], how="horizontal").with_columns(pl.col("impossible").fill_null(False))
        for record_id, detail in found.filter(pl.col("impossible") & ~pl.col("flagged")).select(
                "record_id", "detail").iter_rows():
            yield (table, record_id, "flag",
                   f"{why} ({detail}): record it as stated with flag {flag} and say why in the note")
        for record_id in found.filter(pl.col("flagged") & ~pl.col("impossible"))["record_id"]:
            yield table, record_id, "flag", f"flag is {flag}, but the rule does not find it {why}"
    for table in t.curated:
        frame = t.frames[table]
        if "flag" in frame.columns:
            for record_id in frame.filter(pl.col("flag").is_not_null() & pl.col("note").is_null())[t.key(table)]:
                yield (table, record_id, "note",
                       "the row is flagged: its note must say what is wrong with the value as stated")
