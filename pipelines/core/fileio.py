"""The files between stages and the published ones, written so that none is left half-written where a good one stood."""
from __future__ import annotations

import csv
import gc
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

# Beside the built tables: where each record and citation was written (records/<table>.yaml:<line>), so that
# the validate stage can point a curator at the line to edit rather than at a table row.
LOCATIONS = "locations.json"
PLACES = "places.json"  # beside the tables: the coordinates derived from the gazetteer, its name and the warnings
# In the ingest stage's folder (params.yaml paths.ingested_dir): the catalog rows, beside a <source_id>.txt per source.
SOURCE_ROWS = "sources.json"


def write_ingested(folder: Path, rows: list[dict], texts: dict[str, str]) -> None:
    """The ingest stage's output: each source's normalized text and the catalog rows of the sources table."""
    for source_id, text in texts.items():
        (folder / f"{source_id}.txt").write_text(text, encoding="utf-8")
    write_json_atomic(folder / SOURCE_ROWS, rows)


def read_source_rows(ingested: Path) -> list[dict]:
    """The sources table's rows as the ingest stage wrote them, in catalog order."""
    return json.loads((ingested / SOURCE_ROWS).read_text(encoding="utf-8"))


def read_texts(ingested: Path, source_ids: Iterable[str] | None = None) -> dict[str, str]:
    """Each source's normalized text by source id: those of `source_ids` in their order, or all in catalog order."""
    if source_ids is None:
        source_ids = [row["source_id"] for row in read_source_rows(ingested)]
    return {source_id: (ingested / f"{source_id}.txt").read_text(encoding="utf-8") for source_id in source_ids}


@contextmanager
def open_atomic(path: Path, binary: bool = False) -> Iterator:
    """A text (or binary) handle on a temporary file beside `path`, which takes `path`'s place when the block ends
    without error; on error it is removed and `path` is left exactly as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with (os.fdopen(handle, "wb") if binary else os.fdopen(handle, "w", encoding="utf-8", newline="")) as out:
            yield out
        os.chmod(temp, 0o644)  # mkstemp makes it private; published files are world-readable
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    with open_atomic(path) as out:
        out.write(text)


class BatchWriter:
    """Rows added one at a time, written as JSON Lines of batches: each line a JSON array of up to `batch` rows
    (json's C encoder per batch), so that neither the writer nor the reader holds the whole file as one string."""

    def __init__(self, out, default=None, batch: int = 10_000):
        self.out, self.default, self.batch, self.rows = out, default, batch, []

    def add(self, row) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.out.write(json.dumps(self.rows, ensure_ascii=False, separators=(",", ":"), default=self.default))
            self.out.write("\n")
            self.rows = []


@contextmanager
def batches_atomic(path: Path, default=None, batch: int = 10_000) -> Iterator[BatchWriter]:
    """A BatchWriter on a temporary file that takes `path`'s place when the block ends without error."""
    with open_atomic(path) as out:
        writer = BatchWriter(out, default, batch)
        yield writer
        writer.flush()


def read_batches(path: Path, object_hook=None) -> Iterator:
    """The rows a BatchWriter wrote, one batch in memory at a time."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            yield from json.loads(line, object_hook=object_hook)


def write_json_atomic(path: Path, data, compact: bool = False) -> None:
    """JSON indented for reading, or compact (json's C encoder: several times faster) for files between stages."""
    text = (json.dumps(data, ensure_ascii=False, separators=(",", ":")) if compact
            else json.dumps(data, ensure_ascii=False, indent=2))
    write_text_atomic(path, text + "\n")


@contextmanager
def bulk_objects() -> Iterator[None]:
    """Load millions of small objects without the cyclic garbage collector rescanning them as they pile up.

    Parsed records and rows hold no reference cycles, yet each collection walks every object created so far, so
    the collector's cost grows faster than the data. It is paused while they are built, and what was built is
    frozen out of its view afterwards.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


@contextmanager
def replace_dir_atomic(target: Path) -> Iterator[Path]:
    """Yield an empty staging folder; when the block ends without error it takes `target`'s place.

    On error the staging folder is removed and `target` is left exactly as it was.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".new"))
    staging.chmod(0o755)  # mkdtemp makes it private; published folders are world-readable
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    retired = target.parent / f".{target.name}.old"
    shutil.rmtree(retired, ignore_errors=True)
    if target.exists():
        os.replace(target, retired)
    os.replace(staging, target)
    shutil.rmtree(retired, ignore_errors=True)


# The one CSV dialect every published table is written in, declared as it is in datapackage.json (Data Package
# v2 Table Dialect) so that no client has to guess it.
DIALECT = {"$schema": "https://datapackage.org/profiles/2.0/tabledialect.json", "header": True, "delimiter": ",",
           "lineTerminator": "\n", "quoteChar": '"', "doubleQuote": True, "skipInitialSpace": False}


def write_csv(path: Path, header: list[str], rows: Iterable[dict]) -> None:
    """A CSV file in DIALECT, written row by row: a header, LF line ends, minimal quoting; None is an empty
    cell, booleans true/false. A row with a key that is not in the header is refused (ValueError)."""
    columns = set(header)
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=DIALECT["delimiter"], quotechar=DIALECT["quoteChar"],
                            doublequote=DIALECT["doubleQuote"], lineterminator=DIALECT["lineTerminator"],
                            quoting=csv.QUOTE_MINIMAL)
        writer.writerow(header)
        for row in rows:
            if not row.keys() <= columns:
                raise ValueError(f"{path.name}: columns {sorted(row.keys() - columns)} are not in the header")
            writer.writerow([_cell(row.get(k)) for k in header])


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
