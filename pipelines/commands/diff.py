"""Command: compare two versions of the package table by table on primary keys.

    python -m pipelines diff OLD NEW [--format text|json|markdown]

OLD and NEW are each a folder holding a datapackage.json, a version of the package by name (0.1.0 or v0.1.0:
its published state, the last commit whose datapackage.json carries it on or before the date of its CHANGELOG.md
heading; no git tag is needed), or any other git revision (HEAD, a branch, a commit). The changes table
(data/changes.csv) lists the same changes cell by cell, version after version. Prints rows added, rows removed and cells
changed per table, and tables or columns added or removed. Exit 0 whether or not there are differences; 2 when
a version cannot be found or read.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..core.history import TableDiff, VersionError, compare, open_version


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
        changelog = Path("CHANGELOG.md")
        result = compare(open_version(args.old, changelog=changelog), open_version(args.new, changelog=changelog))
        del result["states"]
    except (VersionError, json.JSONDecodeError, KeyError) as error:
        print(f"diff: {error}", file=sys.stderr)
        return 2
    print({"text": as_text, "markdown": as_markdown,
           "json": lambda r: json.dumps(r, indent=2, ensure_ascii=False)}[args.format](result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
