"""File output that never leaves a half-written file where a good one stood."""
from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

# Beside the built tables: where each record and citation was written (records/<table>.yaml:<line>), so that
# the validate stage can point a curator at the line to edit rather than at a table row.
LOCATIONS = "locations.json"


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.chmod(temp, 0o644)  # mkstemp makes it private; published files are world-readable
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data, compact: bool = False) -> None:
    """JSON indented for reading, or compact (json's C encoder: several times faster) for files between stages."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")) if compact else json.dumps(data, ensure_ascii=False, indent=2)
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


def csv_text(header: list[str], rows: list[dict]) -> str:
    """CSV in DIALECT: a header, LF line ends, minimal quoting; None is an empty cell, booleans true/false."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, delimiter=DIALECT["delimiter"], quotechar=DIALECT["quoteChar"],
                            doublequote=DIALECT["doubleQuote"], lineterminator=DIALECT["lineTerminator"],
                            quoting=csv.QUOTE_MINIMAL, extrasaction="raise")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in header})
    return buffer.getvalue()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
