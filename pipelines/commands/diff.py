"""Command: compare two versions of the package table by table on primary keys.

    python -m pipelines diff OLD NEW [--format text|json|markdown]

OLD and NEW are each a folder holding a datapackage.json, a version of the package by name (0.1.0 or v0.1.0:
the first commit of this repository's history whose datapackage.json carries that version; no git tag is
needed), or any other git revision (HEAD, a branch, a commit). Prints rows added, rows removed and cells
changed per table, and tables or columns added or removed. Exit 0 whether or not there are differences; 2 when
a version cannot be found or read.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path


class VersionError(Exception):
    pass


@dataclass
class Version:
    """A package as files: in a folder, or at a git revision."""
    label: str
    folder: Path | None = None
    revision: str | None = None
    tables_dir: str | None = None  # where the tables are when not at their resource paths: built, not yet published

    def read(self, path: str) -> str:
        if self.folder is not None:
            try:
                return (self.folder / path).read_text(encoding="utf-8")
            except OSError as error:
                raise VersionError(f"{self.label}: cannot read {path}: {error.strerror}") from None
        result = _git("show", f"{self.revision}:{path}")
        if result.returncode != 0:
            raise VersionError(f"{self.label}: cannot read {path} at revision {self.revision}: {result.stderr.strip()}")
        return result.stdout

    def tables(self) -> dict[str, tuple[list[str], dict[tuple, dict]]]:
        """name → (primary key, rows by key) for every tabular resource."""
        package = json.loads(self.read("datapackage.json"))
        tables = {}
        for resource in package["resources"]:
            if resource.get("type") != "table":  # the annotations file: not compared cell by cell
                continue
            schema = (resource["schema"] if isinstance(resource["schema"], dict)
                      else json.loads(self.read(resource["schema"])))
            key = schema.get("primaryKey") or [f["name"] for f in schema["fields"]]
            key = [key] if isinstance(key, str) else key
            path = f"{self.tables_dir}/{Path(resource['path']).name}" if self.tables_dir else resource["path"]
            rows = list(csv.DictReader(io.StringIO(self.read(path))))
            tables[resource["name"]] = (key, {tuple(r[k] for k in key): r for r in rows})
        return tables


VERSION_NAME = re.compile(r"v?(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)")  # semver, as params.yaml package.version


def open_version(spec: str) -> Version:
    folder = Path(spec)
    if (folder / "datapackage.json").exists():
        return Version(spec, folder=folder)
    name = VERSION_NAME.fullmatch(spec)
    if name:
        return Version(spec, revision=commit_of_version(name.group(1)))
    check = _git("rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}")
    if check.returncode == 0:
        return Version(spec, revision=check.stdout.strip())
    raise VersionError(f"{spec!r} is neither a folder with a datapackage.json, a version of the package nor a git "
                       "revision")


def commit_of_version(version: str) -> str:
    """The first commit whose datapackage.json carries `version`; a VersionError listing the versions found if none."""
    found = versions_in_history()
    if version in found:
        return found[version]
    listed = ", ".join(f"{v} ({c[:7]})" for v, c in found.items()) or "none"
    shallow = _git("rev-parse", "--is-shallow-repository").stdout.strip() == "true"
    raise VersionError(f"version {version} is in no commit's datapackage.json; versions found: {listed}"
                       + (" (this clone's history is shallow: `git fetch --unshallow` brings the rest)"
                          if shallow else ""))


def versions_in_history() -> dict[str, str]:
    """Each version datapackage.json has carried → the first commit carrying it, oldest version first.

    Only commits that add or remove a line mentioning "version" can change it (git log -G); each is read whole."""
    log = _git("log", "--reverse", "--topo-order", "--format=%H", "-G", '"version"', "--", "datapackage.json")
    if log.returncode != 0:
        raise VersionError(f"versions are looked up in git history, and git says: {log.stderr.strip()}")
    found: dict[str, str] = {}
    for commit in log.stdout.split():
        shown = _git("show", f"{commit}:datapackage.json")
        try:
            version = json.loads(shown.stdout).get("version") if shown.returncode == 0 else None
        except ValueError:  # a commit with a broken datapackage.json carries no version
            continue
        if isinstance(version, str):
            found.setdefault(version, commit)
    return found


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], capture_output=True, text=True)


@dataclass
class TableDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[dict] = field(default_factory=list)  # {id, column, old, new}
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.columns_added or self.columns_removed)


def compare(old: Version, new: Version) -> dict:
    before, after = old.tables(), new.tables()
    result = {"old": old.label, "new": new.label, "tables_added": sorted(set(after) - set(before)),
              "tables_removed": sorted(set(before) - set(after)), "tables": {},
              "rows": {name: len(rows) for name, (_, rows) in after.items()}}
    for name in [t for t in after if t in before]:
        (_, old_rows), (_, new_rows) = before[name], after[name]
        diff = TableDiff()
        old_columns = list(next(iter(old_rows.values()), {}).keys())
        new_columns = list(next(iter(new_rows.values()), {}).keys())
        diff.columns_added = [c for c in new_columns if c not in old_columns]
        diff.columns_removed = [c for c in old_columns if c not in new_columns]

        def label(key):
            return "/".join(key)

        diff.added = sorted(label(k) for k in new_rows.keys() - old_rows.keys())
        diff.removed = sorted(label(k) for k in old_rows.keys() - new_rows.keys())
        for key in sorted(new_rows.keys() & old_rows.keys()):
            for column in new_columns:
                if column in old_columns and old_rows[key][column] != new_rows[key][column]:
                    diff.changed.append({"id": label(key), "column": column,
                                         "old": old_rows[key][column], "new": new_rows[key][column]})
        result["tables"][name] = diff.__dict__
    return result


def as_text(result: dict) -> str:
    lines = [f"Data diff {result['old']} → {result['new']}"]
    for name in result["tables_added"]:
        lines.append(f"+ table {name}")
    for name in result["tables_removed"]:
        lines.append(f"- table {name}")
    for name, diff in result["tables"].items():
        if TableDiff(**diff).empty():
            continue
        lines.append(f"\n{name}: {len(diff['added'])} added, {len(diff['removed'])} removed, "
                     f"{len(diff['changed'])} cells changed")
        lines += ([f"  + column {c}" for c in diff["columns_added"]]
                  + [f"  - column {c}" for c in diff["columns_removed"]])
        lines += [f"  + {i}" for i in diff["added"]] + [f"  - {i}" for i in diff["removed"]]
        lines += [f"  ~ {c['id']} {c['column']}: {c['old']!r} → {c['new']!r}" for c in diff["changed"]]
    if len(lines) == 1:
        lines.append("no differences")
    return "\n".join(lines)


def as_markdown(result: dict) -> str:
    """The data part of a CHANGELOG entry."""
    lines = [f"Data changes since {result['old']}:", ""]
    lines += [f"- New table `{t}`." for t in result["tables_added"]]
    lines += [f"- Removed table `{t}`." for t in result["tables_removed"]]
    for name, diff in result["tables"].items():
        parts = [f"{len(diff[k])} {w}" for k, w in (("added", "rows added"), ("removed", "rows removed"),
                                                     ("changed", "cells changed")) if diff[k]]
        parts += ([f"column `{c}` added" for c in diff["columns_added"]]
                  + [f"column `{c}` removed" for c in diff["columns_removed"]])
        if parts:
            lines.append(f"- `{name}`: {', '.join(parts)}.")
    return "\n".join(lines if len(lines) > 2 else lines + ["- No data changes."])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines diff", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", help="the older version: a folder with a datapackage.json, or a git revision")
    parser.add_argument("new", help="the newer version, likewise")
    parser.add_argument("--format", choices=["text", "json", "markdown"], default="text",
                        help="text for reading, json for tools, markdown for a CHANGELOG entry (default: text)")
    args = parser.parse_args(argv)
    try:
        result = compare(open_version(args.old), open_version(args.new))
    except (VersionError, json.JSONDecodeError, KeyError) as error:
        print(f"diff: {error}", file=sys.stderr)
        return 2
    print({"text": as_text, "markdown": as_markdown,
           "json": lambda r: json.dumps(r, indent=2, ensure_ascii=False)}[args.format](result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
