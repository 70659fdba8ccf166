"""Command add-source: add a source document — its text to sources/<id>.txt and its complete entry to the catalog.

    python -m pipelines add-source FILE --id ID --title TITLE --published DATE [--author …] [--publisher …]
        [--url …] [--language …] [--note …]

The text is copied byte for byte and its SHA-256 written beside its metadata, so the ingest stage accepts it as it
is. The command then lists the facts the text states (its clauses that hold a number, a date, a fact word or a known
organization's name): each must be cited from a record or decided in sources/reviewed.yaml before the build will
publish (`make check` counts them; `python -m pipelines coverage --worklist ID` writes their quotes and review
entries). It refuses, writing nothing, an id that exists or is not a slug, a date not at one of the three
precisions, a file that is not UTF-8 text or is empty, and a text that is already a source.
"""
from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import yaml

from ..core.config import Config, load_config
from ..core.errors import Problems, command_arguments, run_stage, shown
from ..core.fileio import open_atomic, write_text_atomic
from ..core.schemas import fields_by_name, list_separator, load_schema, parse_partial_date
from ..core.sentences import split_sentences
from ..core.textnorm import normalize
from ..stages.coverage import fact_finder, fact_sentences, organization_names
from ..stages.ingest import read_catalog

FACTS_SHOWN = 20  # facts listed after adding a source; the worklist has them all


def main(argv: list[str] | None = None) -> None:
    parser = command_arguments("python -m pipelines add-source", __doc__)
    parser.add_argument("file", type=Path, help="the document as a UTF-8 text file")
    parser.add_argument("--id", required=True, help="a new slug naming the source, e.g. news-aktobe-2016")
    parser.add_argument("--title", required=True, help="the document's title as published")
    parser.add_argument("--published", required=True, help="publication date as known: YYYY, YYYY-MM or YYYY-MM-DD")
    parser.add_argument("--author", help="the author as credited")
    parser.add_argument("--publisher", help="the publisher or outlet")
    parser.add_argument("--url", help="where the document was published")
    parser.add_argument("--language", default="en", help="ISO 639-1 code of the text's language (default: en)")
    parser.add_argument("--note", help="how the metadata was established where the text does not state it")
    args = parser.parse_args(argv)
    run_stage("add-source", lambda: add_source(load_config(), args))


def add_source(config: Config, args) -> Path:
    """Check everything first, then write the text and the catalog; print what was written and the facts to decide."""
    entry, data, text = checked_entry(config, args)
    target = config.path("sources_dir") / entry["file"]
    catalog = config.path("catalog")
    with open_atomic(target, binary=True) as handle:
        handle.write(data)
    try:
        write_text_atomic(catalog, catalog_with(catalog.read_text(encoding="utf-8"), entry))
    except BaseException:
        target.unlink()
        raise
    print(f"wrote {target.relative_to(config.root)} ({len(data):,} bytes) and its entry in "
          f"{catalog.relative_to(config.root)}:")
    print(yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=120).rstrip())
    print_facts(config, entry["source_id"], text)
    return target


def checked_entry(config: Config, args) -> tuple[dict, bytes, str]:
    """The catalog entry of the new source, its bytes and its text; every refusal at once, nothing written."""
    where = config.path("catalog").relative_to(config.root)
    problems = Problems()
    entries = read_catalog(config, problems)
    fields = fields_by_name(load_schema(config.path("schemas_dir"), "sources"))
    source_id = args.id
    if not re.fullmatch(fields["source_id"]["constraints"]["pattern"], source_id):
        problems.add(where, source_id, "source_id", "expected a slug of lower-case letters and digits joined by "
                     f"hyphens, e.g. news-aktobe-2016; found {shown(source_id)}")
    elif any(e.get("source_id") == source_id for e in entries) \
            or (config.path("sources_dir") / f"{source_id}.txt").exists():
        problems.add(where, source_id, "source_id", "a source with this id exists already; choose another id")
    try:
        parse_partial_date(args.published)
    except ValueError as error:
        problems.add(where, source_id, "published", str(error))
    if not re.fullmatch(fields["language"]["constraints"]["pattern"], args.language):
        problems.add(where, source_id, "language",
                     f"expected an ISO 639-1 code such as en, found {shown(args.language)}")
    data, text = _read_text(args.file, source_id, problems)
    if text is not None:
        same = _same_text(config, entries, normalize(text))
        if same:
            problems.add(args.file, source_id, "file", f"the text is already the source {same!r}")
    problems.raise_if_any("add-source")
    entry = {"source_id": source_id, "file": f"{source_id}.txt", "received_as": args.file.name, "title": args.title,
             "author": args.author, "publisher": args.publisher, "published": args.published, "url": args.url,
             "language": args.language, "sha256": hashlib.sha256(data).hexdigest(), "note": args.note}
    return entry, data, text


def _read_text(path: Path, source_id: str, problems: Problems) -> tuple[bytes | None, str | None]:
    try:
        data = path.read_bytes()
    except OSError as error:
        problems.add(path, source_id, "file", f"cannot read the file: {error.strerror}")
        return None, None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        problems.add(path, source_id, "file", f"not UTF-8 text: byte {error.start} is {data[error.start]:#04x}; "
                     "save the document as UTF-8 text first")
        return None, None
    if "\x00" in text:
        problems.add(path, source_id, "file", "holds NUL bytes: a binary file, not a text")
        return None, None
    if not normalize(text):
        problems.add(path, source_id, "file", "is empty: it holds no text")
        return None, None
    return data, text


def _same_text(config: Config, entries: list[dict], text: str) -> str | None:
    """The source whose normalized text is this text, if any."""
    for entry in entries:
        path = config.path("sources_dir") / str(entry.get("file"))
        if path.is_file() and normalize(path.read_text(encoding="utf-8", errors="replace")) == text:
            return entry.get("source_id")
    return None


def catalog_with(catalog: str, entry: dict) -> str:
    """The catalog's text with the entry appended: its comments and every other entry kept as they are."""
    # safe_dump quotes a string that YAML would read as another type: "2016" stays the text 2016, not a number.
    return catalog.rstrip("\n") + "\n" + yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=120)


def print_facts(config: Config, source_id: str, text: str, out=sys.stdout) -> int:
    """The facts the new text states, which the build will refuse until each is cited or reviewed."""
    normalized = normalize(text)
    organizations = config.path("data_dir") / "organizations.csv"
    separator = list_separator(load_schema(config.path("schemas_dir"), "organizations"), "aliases")
    finder = fact_finder(config, organization_names(organizations, separator) if organizations.exists() else set())
    facts = [(a, b) for _, clauses in fact_sentences(normalized, split_sentences(normalized), finder)
             for a, b in clauses]
    print(f"\n{len(facts)} fact(s) of {source_id} to decide: cite each from a record, or review it in "
          f"{config.params['paths']['coverage_review']}. `make check` counts them; "
          f"`python -m pipelines coverage --worklist {source_id}` prints each with its quote and review entry.",
          file=out)
    for a, b in facts[:FACTS_SHOWN]:
        print(f"  @{a}: {shown(normalized[a:b], 100, quote=False)}", file=out)
    if len(facts) > FACTS_SHOWN:
        print(f"  … and {len(facts) - FACTS_SHOWN} more", file=out)
    return len(facts)

