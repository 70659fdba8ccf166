"""The Frictionless descriptor of the package, for any folder of tables (built or published)."""
from __future__ import annotations

from pathlib import Path

from .config import Config
from .fileio import DIALECT, sha256_file
from .schemas import load_schema

PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"


def resource(config: Config, table: str, tables_dir: Path, integrity: bool) -> dict:
    schema = load_schema(config.path("schemas_dir"), table)
    path = tables_dir / f"{table}.csv"
    entry = {
        "name": table, "type": "table", "path": str(path.relative_to(config.root)),
        "scheme": "file", "format": "csv", "mediatype": "text/csv", "encoding": "utf-8", "dialect": DIALECT,
        "title": schema.get("title", table), "description": schema.get("description", ""),
        "schema": str((config.path("schemas_dir") / f"{table}.schema.json").relative_to(config.root)),
    }
    if integrity:
        entry["bytes"] = path.stat().st_size
        entry["hash"] = "sha256:" + sha256_file(path)
    return entry


def package(config: Config, tables_dir: Path, sources: list[dict], integrity: bool = True) -> dict:
    meta = config.params["package"]
    return {
        "$schema": PROFILE, "name": meta["name"], "title": meta["title"], "description": meta["description"],
        "version": meta["version"], "created": meta["created"],
        **({"homepage": meta["homepage"]} if meta.get("homepage") else {}),
        "licenses": meta["licenses"],
        "sources": [_source(s) for s in sources],
        "contributors": meta["contributors"], "keywords": meta["keywords"],
        "x-source-texts-rights": (
            "The source documents in sources/ are not covered by this package's licence: each remains its "
            "author's and publisher's. They are redistributed only so that every quote can be checked."),
        "resources": [resource(config, t, tables_dir, integrity) for t in config.all_tables],
    }


def _source(row: dict) -> dict:
    entry = {"title": row["title"]}
    if row.get("url"):
        entry["path"] = row["url"]
    return entry
