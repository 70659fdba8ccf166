"""The dataset as catalogues and search engines read it, and how to cite it.

One description, a schema.org `Dataset` in JSON-LD with DCAT terms beside schema.org's (`dcat:Dataset`,
`dcat:Distribution`, `dcat:downloadURL`, `dcat:mediaType`) so that Google Dataset Search and CKAN's DCAT harvester
both read it, generated from datapackage.json, params.yaml (`package`) and CITATION.cff. The portal's home page and
the report's index embed it with the package's published files as its distribution; the release writes it as a file
(dataset.jsonld) with the release's files. Every `contentUrl` is the base URL of params.yaml (`package.base_url`, or
the release's own location given to `release --base-url`) joined with the file's path, never a local path.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from urllib.parse import urljoin

import yaml

from .config import Config
from .errors import Problems
from .schemas import load_schema

CONTEXT = {"@vocab": "https://schema.org/", "dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/"}
# What a description must carry (schema.org's Dataset as Google reads it, and what a citation needs); each
# DataDownload, its address, format and size.
REQUIRED = ("name", "description", "version", "license", "creator", "citation", "keywords", "temporalCoverage",
            "spatialCoverage", "variableMeasured", "isAccessibleForFree", "distribution", "url")
REQUIRED_DOWNLOAD = ("contentUrl", "encodingFormat", "contentSize", "dcat:downloadURL", "dcat:mediaType")
MEDIA_TYPES = {".csv": "text/csv", ".json": "application/json", ".jsonld": "application/ld+json",
               ".zip": "application/zip", ".parquet": "application/vnd.apache.parquet",
               ".db": "application/vnd.sqlite3", ".html": "text/html", ".cff": "application/x-yaml"}
SPATIAL = {"@type": "Place", "name": "Kazakhstan",
           "sameAs": "https://www.geonames.org/1522867",  # GeoNames' Republic of Kazakhstan
           "geo": {"@type": "GeoShape", "box": "40.56 46.49 55.44 87.36"}}


def citation_file(config: Config) -> dict:
    """CITATION.cff as written by the metadata stage."""
    return yaml.safe_load(config.path("citation_cff").read_text(encoding="utf-8"))


def cite_as(cff: dict) -> str:
    """The reference a reader copies, APA-like, from CITATION.cff: authors (year). Title (Version x) [Data set]."""
    authors = ", ".join(a.get("name") or " ".join(filter(None, (a.get("given-names"), a.get("family-names"))))
                        for a in cff["authors"])
    year = str(cff["date-released"])[:4]
    where = f" {cff['url']}" if cff.get("url") else ""
    return f"{authors} ({year}). {cff['title']} (Version {cff['version']}) [Data set].{where}"


def base_url(config: Config, override: str | None = None) -> str:
    url = override or config.params["package"]["base_url"]
    return url if url.endswith("/") else url + "/"


def download(base: str, path: str, size: int, name: str | None = None, description: str | None = None) -> dict:
    media = MEDIA_TYPES.get(Path(path).suffix, "application/octet-stream")
    url = urljoin(base, path)
    entry = {"@type": ["DataDownload", "dcat:Distribution"], "name": name or Path(path).name,
             "contentUrl": url, "encodingFormat": media, "contentSize": f"{size} B",
             "dcat:downloadURL": {"@id": url}, "dcat:mediaType": media, "dcat:byteSize": size}
    if description:
        entry["description"] = description
    return entry


def package_files(config: Config, package: dict, base: str) -> list[dict]:
    """The published files as downloads: datapackage.json and every resource with the bytes it declares."""
    descriptor = config.path("datapackage")
    files = [download(base, descriptor.name, descriptor.stat().st_size, "datapackage.json",
                      "The Frictionless Data Package descriptor: load the whole package from it.")]
    for resource in package["resources"]:
        files.append(download(base, resource["path"], resource["bytes"], resource["name"],
                              resource.get("title")))
    return files


def years_covered(config: Config) -> tuple[int, int] | None:
    """The first and last year any curated table's date or year column holds."""
    years = []
    for table in config.curated_tables:
        schema = load_schema(config.path("schemas_dir"), table)
        columns = [f["name"] for f in schema["fields"] if f["type"] in ("date", "year")]
        if not columns:
            continue
        with open(config.path("data_dir") / f"{table}.csv", encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                years += [int(row[c][:4]) for c in columns if row.get(c, "")[:4].isdigit()]
    return (min(years), max(years)) if years else None


def variables(config: Config) -> list[dict]:
    """Every column of every table as a schema.org PropertyValue."""
    measured = []
    for table in config.all_tables:
        schema = load_schema(config.path("schemas_dir"), table)
        for field in schema["fields"]:
            measured.append({"@type": "PropertyValue", "name": f"{table}.{field['name']}",
                             "alternateName": field.get("title", field["name"]),
                             "description": field.get("description", "")})
    return measured


def dataset(config: Config, package: dict, distribution: list[dict], base: str) -> dict:
    """The schema.org Dataset (and dcat:Dataset) of this version of the package."""
    cff = citation_file(config)
    covered = years_covered(config)
    licence = package["licenses"][0]
    creators = [{"@type": "Organization", "name": c["title"]} for c in package["contributors"]]
    return {
        "@context": CONTEXT, "@type": ["Dataset", "dcat:Dataset"], "@id": base,
        "name": package["title"], "alternateName": package["name"], "description": package["description"],
        "url": base, "version": package["version"], "dct:hasVersion": package["version"],
        "datePublished": package["created"][:10], "dct:issued": package["created"][:10],
        "license": licence["path"], "dct:license": {"@id": licence["path"]},
        "creator": creators, "publisher": creators[0],
        "citation": cite_as(cff), "keywords": package["keywords"], "dcat:keyword": package["keywords"],
        "inLanguage": "en", "isAccessibleForFree": True,
        "temporalCoverage": f"{covered[0]}/{covered[1]}" if covered else None,
        "spatialCoverage": SPATIAL, "dct:spatial": {"@id": SPATIAL["sameAs"]},
        "variableMeasured": variables(config),
        "isBasedOn": [s.get("path") or s["title"] for s in package.get("sources", [])],
        "distribution": distribution, "dcat:distribution": [{"@id": d["contentUrl"]} for d in distribution],
    }


def problems_of(description: dict, where: str) -> Problems:
    """What a description lacks: a required property empty or missing, a download without its address, format or
    size, an address that is not a URL."""
    problems = Problems()
    for name in REQUIRED:
        if description.get(name) in (None, "", [], {}):
            problems.add(where, None, name, "the dataset description lacks this required property")
    for number, entry in enumerate(description.get("distribution") or []):
        for name in REQUIRED_DOWNLOAD:
            if entry.get(name) in (None, ""):
                problems.add(where, f"distribution[{number}]", name, "a download lacks this required property")
        url = str(entry.get("contentUrl", ""))
        if url and not url.startswith(("http://", "https://")):
            problems.add(where, f"distribution[{number}]", "contentUrl",
                         f"expected a URL under the base URL, found {url!r}: a local path is no address")
    return problems


def checked_json(description: dict, where: str) -> str:
    """The description as JSON-LD text, parsed back and checked: a BuildError (stage `where`) when it does not
    parse or lacks a required property."""
    problems = Problems()
    try:  # NaN and Infinity are not JSON: a catalogue's parser refuses them
        text = json.dumps(description, ensure_ascii=False, indent=2, allow_nan=False)
        parsed = json.loads(text)
    except ValueError as error:
        problems.add(where, None, None, f"the dataset description is not JSON: {error}")
        problems.raise_if_any(where)
    problems.extend(problems_of(parsed, where))
    problems.raise_if_any(where)
    return text


def script(description: dict, where: str) -> str:
    """The description as an HTML <script type="application/ld+json"> element, checked."""
    text = checked_json(description, where).replace("</", "<\\/")
    return f'<script type="application/ld+json">\n{text}\n</script>'


def read_scripts(html: str) -> list[dict]:
    """Every JSON-LD block of an HTML page, parsed (for tests and checks)."""
    import re
    return [json.loads(block) for block in
            re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, flags=re.S)]
