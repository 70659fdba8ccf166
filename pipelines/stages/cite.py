"""Stage cite: locate every record's quote in its normalized source, at exact character offsets.

It also checks the numbers and dates: each number, integer, year or date cell a record fills has a citation of
its own field (uncited), and each such citation shows its value in its quote or says how it follows (prove).
Both run here, where the records are read with their file and line, so that a refusal names
records/<table>.yaml:<line>, the record and the field; the build later sees only published cells."""
from __future__ import annotations

import hashlib

from ..core import evidence
from ..core.config import Config, load_config
from ..core.errors import Problems, run_stage, shown, stage_arguments
from ..core.fileio import batches_atomic, read_texts
from ..core.records import iter_records, loaded_writer
from ..core.schemas import fields_by_name, load_schema
from ..core.textnorm import closest_passage, differences, find_all, normalize


def run(config: Config) -> None:
    # Load, process and save one table of records at a time: the parsed records go to loaded_records as they
    # are read, so that no later stage parses the YAML again, and their located quotes to citations. Both files
    # replace the old ones only if every record passes.
    texts = read_texts(config.path("ingested_dir"))
    dot_grouped = {source_id: evidence.groups_thousands_with_dots(text) for source_id, text in texts.items()}
    problems, seen = Problems(), {}
    with batches_atomic(config.path("citations")) as located, loaded_writer(config.path("loaded_records")) as loaded:
        for table, records in iter_records(config.path("records_dir"), config.path("schemas_dir"),
                                           config.curated_tables, config.root, config.max_file_bytes, problems):
            fields = fields_by_name(load_schema(config.path("schemas_dir"), table))
            for record in records:
                loaded(record)
                uncited(record, fields, problems)
                for citation in record.citations:
                    row = locate(record, citation, texts, problems)
                    if row is None:
                        continue
                    prove(record, citation, row, fields, dot_grouped, problems)
                    if row["citation_id"] in seen:
                        problems.add(record.where, record.record_id, "citations",
                                     f"the same quote is cited twice (also at line {seen[row['citation_id']]})")
                        continue
                    seen[row["citation_id"]] = citation.line
                    located.add(row)
        problems.raise_if_any("cite")


def citation_id(resource: str, record_id: str, field: str | None, source_id: str, quote: str) -> str:
    """Stable id: the same quote of the same source for the same record and field keeps its id."""
    key = "\x1f".join([resource, record_id, field or "", source_id, quote])
    return "cit-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def locate(record, citation, texts: dict[str, str], problems: Problems) -> dict | None:
    where = f"{record.where.rsplit(':', 1)[0]}:{citation.line}"
    if citation.source_id not in texts:
        problems.add(where, record.record_id, "citations.source_id",
                     f"unknown source {citation.source_id!r}; expected one of {sorted(texts)}")
        return None
    quote = normalize(citation.quote)
    offsets = find_all(texts[citation.source_id], quote)
    if not offsets:
        problems.add(where, record.record_id, "citations.quote",
                     f"quote is not in source {citation.source_id!r} (copy it verbatim from the source): "
                     f"{shown(quote, 200)}"
                     + _closest(texts[citation.source_id], quote))
        return None
    if len(offsets) > 1:
        problems.add(where, record.record_id, "citations.quote",
                     f"quote occurs {len(offsets)} times in source {citation.source_id!r} (extend it until it is "
                     f"unique; it is at characters {', '.join(map(str, offsets[:5]))}): {shown(quote, 200)}")
        return None
    start = offsets[0]
    return {
        "citation_id": citation_id(record.table, record.record_id, citation.field, citation.source_id, quote),
        "resource": record.table, "record_id": record.record_id, "field": citation.field,
        "stated_value": citation.stated_value, "inference": citation.inference, "source_id": citation.source_id,
        "quote": quote,
        "char_start": start, "char_end": start + len(quote), "where": where,
    }


def uncited(record, fields: dict[str, dict], problems: Problems) -> None:
    """Every number, integer, year or date cell the record fills has a citation of its own field: a count typed
    in with no quote behind it is refused. Derived columns (x-derived, *_precision) are never in record.values."""
    cited = {citation.field for citation in record.citations}
    for name, value in record.values.items():
        field = fields.get(name)
        if field and field["type"] in evidence.CHECKED_TYPES and value not in (None, "") and name not in cited:
            problems.add(record.where, record.record_id, name,
                         f"the value {shown(value, quote=False)} has no citation of its own: add a citation with "
                         f"field: {name} whose quote states it (or says how it follows, with inference:), or leave the "
                         "cell empty")


def prove(record, citation, row: dict, fields: dict[str, dict], dot_grouped: dict[str, bool],
          problems: Problems) -> None:
    """A cited number or date must stand in its quote, or the citation says how it follows (its inference)."""
    field = fields.get(citation.field or "")
    if field is None or field["type"] not in evidence.CHECKED_TYPES or citation.inference:
        return
    claimed = citation.stated_value if citation.stated_value is not None else record.values.get(citation.field)
    if claimed is None:
        return
    try:
        why = evidence.problem(field, claimed, row["quote"], dot_grouped[citation.source_id])
    except ValueError:
        return  # a value of the wrong type is reported by build, with the record's line
    if why:
        problems.add(row["where"], record.record_id, citation.field, why)


def _closest(text: str, quote: str) -> str:
    span = closest_passage(text, quote)
    if span is None:
        return "; no passage of the source resembles it"
    passage = text[span[0]:span[1]]
    return (f"; the closest passage, at character {span[0]}, is {shown(passage, 300)}; "
            + "; ".join(differences(passage, quote)))


def main(argv: list[str] | None = None) -> None:
    stage_arguments("cite", __doc__).parse_args(argv)
    run_stage("cite", lambda: run(load_config()))


if __name__ == "__main__":
    main()
