"""Command: write a release of the built package to dist/<name>-<version>/, the same bytes every time.

    python -m pipelines release        (make release: dvc repro first)

The folder holds the data package as a zip (datapackage.json, data/, schemas/ and the source documents in sources/,
which the Web Annotations of a source without a URL point at; frictionless loads it as it is),
every table as Parquet with its Table Schema's types (parquet/<table>.parquet) and as CSV (csv/<table>.csv), the
portal's SQLite database, the report as a zip (reports/: unzipped beside the package, its links to data/ work), the
dataset's description for catalogues and search engines (dataset.jsonld: schema.org Dataset and DCAT, one download
per file above, each at the release's base URL with its size) and SHA256SUMS over all of them
(`sha256sum -c SHA256SUMS`).

    python -m pipelines release --base-url https://example.org/releases/kazakhstan-counter-terrorism-0.5.0/

gives the release's own location, where it is published; without it, params.yaml package.base_url.

Names are sorted and timestamps and modes fixed (every zip entry is dated with the package's `created`), so the same
package gives the same bytes and the same checksums. The folder is written whole or not at all. Exit 1 when the build
is missing or out of date, naming the file.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import zipfile
from pathlib import Path

from ..core import description
from ..core.config import Config, load_config
from ..core.errors import Problems, command_arguments, run_stage
from ..core.fileio import replace_dir_atomic, sha256_file
from ..core.schemas import load_schema, read_table

SUMS = "SHA256SUMS"
FILE_MODE = 0o644


def release_name(package: dict) -> str:
    return f"{package['name']}-{package['version']}"


def release_dir(config: Config, package: dict) -> Path:
    return config.path("dist_dir") / release_name(package)


DESCRIPTION = "dataset.jsonld"


def run(config: Config, say=print, base_url: str | None = None) -> Path:
    # Load: the built package, which must be the one params.yaml describes
    package = json.loads(config.path("datapackage").read_text(encoding="utf-8"))
    database = config.path("portal_dir") / config.params["portal"]["database"]
    members = package_files(package, source_documents(config))
    check_built(config, package, database, members)
    stamp = zip_time(package["created"])
    name = release_name(package)
    say(f"release {name}")

    # Process + save: everything into a staging folder that becomes dist/<name>-<version>/ only when complete
    target = release_dir(config, package)
    with replace_dir_atomic(target) as staging:
        write_zip(staging / f"{name}.zip", config.root, members, stamp)
        say(f"  {name}.zip: datapackage.json and {len(members) - 1} files")
        (staging / "parquet").mkdir()
        for resource in (r for r in package["resources"] if r.get("type") == "table"):  # the annotations are in the zip
            rows = write_parquet(config, resource, staging / "parquet" / f"{resource['name']}.parquet")
            say(f"  parquet/{resource['name']}.parquet: {rows:,} row{'' if rows == 1 else 's'}")
        shutil.copyfile(database, staging / database.name)
        say(f"  {database.name}: the portal's SQLite database")
        reports = config.path("reports_dir")
        pages = sorted(p.relative_to(config.root).as_posix() for p in reports.rglob("*") if p.is_file())
        write_zip(staging / f"{name}-report.zip", config.root, pages, stamp)
        say(f"  {name}-report.zip: {len(pages)} files of {reports.name}/")
        (staging / "csv").mkdir()
        tables = [r for r in package["resources"] if r.get("type") == "table"]
        for resource in tables:
            shutil.copyfile(config.root / resource["path"], staging / "csv" / f"{resource['name']}.csv")
        say(f"  csv/: the {len(tables)} tables as published")
        base = description.base_url(config, base_url)
        (staging / DESCRIPTION).write_text(description.checked_json(description.dataset(
            config, package, release_downloads(staging, package, base), base), "release") + "\n", encoding="utf-8")
        say(f"  {DESCRIPTION}: the dataset's schema.org/DCAT description, downloads under {base}")
        write_sums(staging)
        say(f"  {SUMS}")
        for path in [staging, *staging.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else FILE_MODE)
    say(f"wrote {target.relative_to(config.root)}/")
    return target


def release_downloads(folder: Path, package: dict, base: str) -> list[dict]:
    """Every file of the release folder but the description and the checksums, as a download at `base`."""
    tables = {r["name"]: r.get("title") for r in package["resources"]}
    labels = {f"{release_name(package)}.zip": "The data package (zip): datapackage.json, data/, schemas/, sources/",
              f"{release_name(package)}-report.zip": "The quality report (zip)"}
    downloads = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in (DESCRIPTION, SUMS)):
        relative = path.relative_to(folder).as_posix()
        what = labels.get(relative) or (f"{tables.get(path.stem, path.stem)} ({path.suffix[1:]})"
                                        if path.stem in tables else "The portal's SQLite database")
        downloads.append(description.download(base, relative, path.stat().st_size, relative, what))
    return downloads


class ReleaseError(Exception):
    """The release folder is missing, or does not match its SHA256SUMS or the package it should hold."""


def published_files(config: Config, package: dict) -> list[tuple[str, Path, str, str]]:
    """The release's files as CKAN resources: (name, path, "sha256:<hex>", format), SHA256SUMS last; each file
    checked against SHA256SUMS and the zip's datapackage.json against the package's."""
    folder, name = release_dir(config, package), release_name(package)
    where = folder.relative_to(config.root)
    if not (folder / SUMS).is_file():
        raise ReleaseError(f"no release of {name} at {where}/: run `make release` first")
    listed = dict(reversed(line.split("  ", 1)) for line in (folder / SUMS).read_text(encoding="utf-8").splitlines())
    for path, digest in listed.items():
        if not (folder / path).is_file() or sha256_file(folder / path) != digest:
            raise ReleaseError(f"{where}/{path} does not match {SUMS}: run `make release` again")
    with zipfile.ZipFile(folder / f"{name}.zip") as archive:
        if archive.read("datapackage.json") != config.path("datapackage").read_bytes():
            raise ReleaseError(f"{where}/{name}.zip holds another datapackage.json than the one published: "
                               "run `make release` again")
    named = {f"{name}.zip": (0, "data package (zip)", "ZIP"),
             config.params["portal"]["database"]: (3, "SQLite database", "SQLite"),
             f"{name}-report.zip": (4, "quality report (zip)", "ZIP"),
             DESCRIPTION: (5, "dataset description (schema.org and DCAT, JSON-LD)", "JSON-LD")}

    def kind(path: str) -> tuple:
        if path in named:
            return named[path]
        if path.startswith("csv/"):
            return (2, f"{Path(path).stem} (CSV)", "CSV")
        return (1, f"{Path(path).stem} (Parquet)", "Parquet")

    files = sorted((kind(path), path, digest) for path, digest in listed.items())
    return [(label, folder / path, f"sha256:{digest}", kind) for (_, label, kind), path, digest in files] + \
        [(SUMS, folder / SUMS, f"sha256:{sha256_file(folder / SUMS)}", "TXT")]


def source_documents(config: Config) -> list[str]:
    """The source documents' paths in the project, as the published sources table gives them."""
    with open(config.path("data_dir") / "sources.csv", encoding="utf-8", newline="") as handle:
        return [row["path"] for row in csv.DictReader(handle) if row["path"]]


def check_built(config: Config, package: dict, database: Path, members: list[str]) -> None:
    problems = Problems()
    meta = config.params["package"]
    for key in ("name", "version", "created"):
        if package.get(key) != meta[key]:
            problems.add(config.params["paths"]["datapackage"], None, key,
                         f"params.yaml says {meta[key]!r}, the built package {package.get(key)!r}: "
                         "run `dvc repro` first")
    for path in [database, config.path("reports_dir") / "index.html",
                 *(config.root / f for f in members)]:
        if not path.is_file():
            problems.add(path.relative_to(config.root), None, None, "missing: run `dvc repro` first")
    problems.raise_if_any("release")


def package_files(package: dict, sources: list[str]) -> list[str]:
    """datapackage.json, every file its resources point at (data and schemas) and the source documents (`sources`:
    sources.csv's paths; the Web Annotations of a source without a URL point at its file), in a fixed order."""
    paths = {r[key] for r in package["resources"] for key in ("path", "schema") if isinstance(r.get(key), str)}
    return ["datapackage.json", *sorted(paths | set(sources))]


def zip_time(created: str) -> tuple:
    """A zip entry's date_time: the package's `created` (zip cannot say a date before 1980)."""
    moment = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
    return max(moment.timetuple()[:6], (1980, 1, 1, 0, 0, 0))


def write_zip(path: Path, root: Path, members: list[str], stamp: tuple) -> None:
    """A zip whose bytes depend only on the members' names and contents: sorted, one date, one mode."""
    with zipfile.ZipFile(path, "w") as archive:
        for member in sorted(members):
            info = zipfile.ZipInfo(member, date_time=stamp)
            info.compress_type, info.create_system, info.external_attr = (zipfile.ZIP_DEFLATED, 3,
                                                                           (0o100000 | FILE_MODE) << 16)
            archive.writestr(info, (root / member).read_bytes(), compresslevel=9)


def write_parquet(config: Config, resource: dict, path: Path) -> int:
    """One table as Parquet, each column of its Table Schema's type; a cell that does not parse stops the release."""
    schema = load_schema(config.path("schemas_dir"), resource["name"])
    frame, bad = read_table(config.root / resource["path"], schema)
    if bad:
        problems = Problems()
        for row, field, cell in bad[:20]:
            problems.add(resource["path"], f"row {row + 1}", field, f"{cell!r} is not a {schema_type(schema, field)}")
        problems.raise_if_any("release")
    frame.write_parquet(path, compression="zstd", compression_level=9, statistics=True)
    return frame.height


def schema_type(schema: dict, name: str) -> str:
    return next(f["type"] for f in schema["fields"] if f["name"] == name)


def write_sums(folder: Path) -> None:
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    lines = [f"{sha256_file(folder / f)}  {f}\n" for f in files if f != SUMS]
    (folder / SUMS).write_text("".join(lines), encoding="utf-8", newline="\n")


def main(argv: list[str] | None = None) -> None:
    parser = command_arguments("python -m pipelines release", __doc__)
    parser.add_argument("--base-url", help="where the release's files will be published (default: params.yaml "
                        "package.base_url); the dataset description gives every download's address under it")
    args = parser.parse_args(argv)
    run_stage("release", lambda: run(load_config(), base_url=args.base_url))


if __name__ == "__main__":
    main()
