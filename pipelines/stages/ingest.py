"""Stage ingest: check each source text against its catalog hash and write its normalized text."""
from __future__ import annotations

from ..core.config import Config, load_config
from ..core.errors import Problems, run_stage, stage_arguments
from ..core.fileio import replace_dir_atomic, sha256_file, write_ingested
from ..core.records import read_yaml_strictly
from ..core.schemas import check_text, fields_by_name, load_schema, parse_partial_date
from ..core.textnorm import normalize

CATALOG_KEYS = {"source_id", "file", "received_as", "title", "author", "publisher", "published", "url",
                "language", "sha256", "note"}
# The keys an entry cannot do without, and what to put there.
REQUIRED = {"source_id": "a slug naming the source, e.g. news-aktobe-2016",
            "file": "the text's file name in sources/, e.g. news-aktobe-2016.txt",
            "title": "the document's title as published",
            "language": "the ISO 639-1 code of the text's language, e.g. en",
            "sha256": "the SHA-256 of the file's bytes (sha256sum sources/<file>)"}


def run(config: Config) -> None:
    # Load
    catalog_path = config.path("catalog")
    problems = Problems()
    entries = read_catalog(config, problems)
    problems.raise_if_any("ingest")

    # Process: verify every text, normalize it
    rows, texts = [], {}
    for entry in entries:
        row = _source_row(config, entry, problems)
        if row is not None:
            texts[row["source_id"]] = normalize((config.path("sources_dir") / entry["file"]).read_text(
                encoding="utf-8"))
            row["normalized_chars"] = len(texts[row["source_id"]])
            rows.append(row)
    # a text whose entry names no file is reported above, at its entry, not here as a text without one
    listed = {e.get("file") for e in entries} | {f"{e.get('source_id')}.txt" for e in entries if not e.get("file")}
    for stray in sorted(p.name for p in config.path("sources_dir").glob("*.txt")):
        if stray not in listed:
            problems.add(config.path("sources_dir").relative_to(config.root) / stray, None, None,
                         f"text is not in {catalog_path.name}; add an entry with its metadata and sha256")
    problems.raise_if_any("ingest")

    # Save
    with replace_dir_atomic(config.path("ingested_dir")) as staging:
        write_ingested(staging, rows, texts)


def read_catalog(config: Config, problems: Problems) -> list[dict]:
    """The catalog, read as strictly as a record file (no repeated keys, aliases, non-UTF-8 bytes)."""
    path, max_file_bytes = config.path("catalog"), config.max_file_bytes
    if not path.exists():
        problems.add(path.name, None, None, "cannot read the source catalog: the file is missing")
        return []
    entries = read_yaml_strictly(path, path.name, max_file_bytes, "source_id", problems)
    if entries is None:
        return []
    if not all(isinstance(e, dict) for e in entries):
        problems.add(path.name, None, None, "expected a list of source entries (source_id: …, title: …)")
        return []
    for entry in entries:
        entry.pop("__line__")
    return entries


def _source_row(config: Config, entry: dict, problems: Problems) -> dict | None:
    where = config.path("catalog").relative_to(config.root)
    source_id = entry.get("source_id")
    for key in sorted(set(entry) - CATALOG_KEYS):
        problems.add(where, source_id, key, f"unknown key; expected {sorted(CATALOG_KEYS)}")
    for key, what in REQUIRED.items():
        if not entry.get(key):
            problems.add(where, source_id, key, f"is required: {what} (`python -m pipelines add-source` writes "
                         "every key of a new entry)")
    if any(not entry.get(k) for k in ("source_id", "file", "sha256")):
        return None
    path = config.path("sources_dir") / entry["file"]
    if not path.exists():
        problems.add(where, source_id, "file", f"{path.relative_to(config.root)} does not exist")
        return None
    found = sha256_file(path)
    if found != entry["sha256"]:
        problems.add(path.relative_to(config.root), source_id, "sha256",
                     f"the text has changed: catalog says {entry['sha256']}, file is {found}. Check every quote "
                     "cited from this source against the new text, then update sha256 in the catalog")
        return None
    published, precision = None, None
    if entry.get("published") is not None:
        try:
            published, precision = parse_partial_date(entry["published"])
        except ValueError as error:
            problems.add(where, source_id, "published", str(error))
    row = {
        "source_id": source_id, "title": entry["title"], "author": entry.get("author"),
        "publisher": entry.get("publisher"), "published": published, "published_precision": precision,
        "url": entry.get("url"), "language": entry["language"], "sha256": found,
        "path": str(path.relative_to(config.root)), "note": entry.get("note"),
    }
    for name, field in fields_by_name(load_schema(config.path("schemas_dir"), "sources")).items():
        if isinstance(row.get(name), str):
            try:
                check_text(field, row[name])
            except ValueError as error:
                problems.add(where, source_id, name, str(error))
    return row


def main(argv: list[str] | None = None) -> None:
    stage_arguments("ingest", __doc__).parse_args(argv)
    run_stage("ingest", lambda: run(load_config()))


if __name__ == "__main__":
    main()
