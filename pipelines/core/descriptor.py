"""The Frictionless descriptor of the package, for any folder of published files (tables and annotations)."""
from __future__ import annotations

from pathlib import Path

from .config import Config
from .fileio import DIALECT, sha256_file
from .schemas import derived_fields, load_schema

PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"


# Files published beside the tables that are not tables (Data Package v2: a resource without "type": "table").
ANNOTATIONS = {"name": "annotations", "file": "annotations.jsonld", "format": "jsonld",
               "mediatype": "application/ld+json",
               "title": "Citations as W3C Web Annotations",
               "description": ("Every row of citations.csv as a W3C Web Annotation (JSON-LD, context "
                               "http://www.w3.org/ns/anno.jsonld), in one AnnotationCollection: the target is the "
                               "cited source with a TextQuoteSelector and a TextPositionSelector, both in the "
                               "source's normalized text; the bodies name the record and field the quote backs, the "
                               "value it states and how the value follows from it.")}


def resource(config: Config, table: str, tables_dir: Path, integrity: bool, gazetteer: dict | None = None) -> dict:
    schema = load_schema(config.path("schemas_dir"), table)
    path = tables_dir / f"{table}.csv"
    entry = {
        "name": table, "type": "table", "path": str(path.relative_to(config.root)),
        "scheme": "file", "format": "csv", "mediatype": "text/csv", "encoding": "utf-8", "dialect": DIALECT,
        "title": schema.get("title", table), "description": schema.get("description", ""),
        "schema": str((config.path("schemas_dir") / f"{table}.schema.json").relative_to(config.root)),
    }
    derived = derived_fields(schema)
    if gazetteer and "gazetteer" in derived.values():
        columns = ", ".join(name for name, how in derived.items() if how == "gazetteer")
        entry["sources"] = [gazetteer_source(gazetteer, f"derived columns {columns} of this table")]
    if integrity:
        entry.update(_integrity(path))
    return entry


def file_resource(config: Config, spec: dict, files_dir: Path, integrity: bool) -> dict:
    path = files_dir / spec["file"]
    entry = {"name": spec["name"], "path": str(path.relative_to(config.root)), "scheme": "file",
             "format": spec["format"], "mediatype": spec["mediatype"], "encoding": "utf-8", "title": spec["title"],
             "description": spec["description"]}
    if integrity:
        entry.update(_integrity(path))
    return entry


def _integrity(path: Path) -> dict:
    return {"bytes": path.stat().st_size, "hash": "sha256:" + sha256_file(path)}


def gazetteer_source(gazetteer: dict, used_for: str) -> dict:
    """A Data Package `sources` entry for the gazetteer coordinates are derived from (the geocode stage's record)."""
    return {"title": (f"GeoNames gazetteer, as shipped by the {gazetteer['package']} package {gazetteer['version']} "
                      f"(places of at least {gazetteer['min_city_population']:,} people): {used_for}. Derived by "
                      "matching each record's city within its country, not stated by any source."),
            "path": gazetteer["url"], "version": gazetteer["version"]}


def package(config: Config, tables_dir: Path, sources: list[dict], integrity: bool = True,
            gazetteer: dict | None = None, with_files: bool = True) -> dict:
    """The descriptor of the tables in `tables_dir`, and of the files published beside them unless `with_files`
    is false (a folder of built tables has none)."""
    meta = config.params["package"]
    return {
        "$schema": PROFILE, "name": meta["name"], "title": meta["title"], "description": meta["description"],
        "version": meta["version"], "created": meta["created"],
        **({"homepage": meta["homepage"]} if meta.get("homepage") else {}),
        "licenses": meta["licenses"],
        "sources": [_source(s) for s in sources] + ([gazetteer_source(gazetteer, "the coordinates of places")]
                                                   if gazetteer else []),
        "contributors": meta["contributors"], "keywords": meta["keywords"],
        "x-source-texts-rights": (
            "The source documents in sources/ are not covered by this package's licence: each remains its "
            "author's and publisher's. They are redistributed only so that every quote can be checked."),
        "resources": [resource(config, t, tables_dir, integrity, gazetteer) for t in config.all_tables]
                     + ([file_resource(config, ANNOTATIONS, tables_dir, integrity)] if with_files else []),
    }


def _source(row: dict) -> dict:
    entry = {"title": row["title"]}
    if row.get("url"):
        entry["path"] = row["url"]
    return entry
