"""The package's versions as git keeps them: find each version's published state, compare two states table by
table, and derive the `changes` table (every cell added, removed or changed from one version to the next, with
the CHANGELOG's reason where a record-by-record line names the record).

A version's published state is the last commit whose datapackage.json carries it on or before the date its
CHANGELOG.md heading gives (`## [0.3.0] — 2026-12-02`): commits after that day that still carry it are work on the
next version. Without a dated heading it is the first commit carrying it. The `diff` command and the tables stage
both read versions through here, so the two always agree.
"""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .errors import Problems


class VersionError(Exception):
    pass


VERSION_NAME = re.compile(r"v?(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)")  # semver, as params.yaml package.version
CHANGES = "changes"  # the derived table of changes: never compared itself


def version_key(version: str) -> tuple:
    core = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    return tuple(int(n) for n in core.groups()) if core else (0, 0, 0)


# --- a version's files ------------------------------------------------------------------------------------------


@dataclass
class Version:
    """A package as files: in a folder, or at a git revision of the repository at `root`. `resources` lists
    (name, schema path, table path) where the tables are not yet described by a datapackage.json (a build)."""
    label: str
    folder: Path | None = None
    revision: str | None = None
    root: Path = Path(".")
    resources: list[tuple[str, str, str]] | None = None
    tables_dir: str | None = None  # where the tables are when not at their resource paths: built, not yet published

    def read(self, path: str) -> str:
        return self.read_many([path])[path]

    def read_many(self, paths: list[str]) -> dict[str, str]:
        if self.folder is not None:
            found = {}
            for path in paths:
                try:
                    found[path] = (self.folder / path).read_text(encoding="utf-8")
                except OSError as error:
                    raise VersionError(f"{self.label}: cannot read {path}: {error.strerror}") from None
            return found
        blobs = cat_files(self.root, self.revision, paths)
        missing = [p for p in paths if blobs.get(p) is None]
        if missing:
            raise VersionError(f"{self.label}: cannot read {', '.join(missing)} at revision {self.revision[:12]}")
        return blobs

    def tables(self) -> dict[str, tuple[list[str], dict[tuple, dict]]]:
        """name → (primary key, rows by key) for every tabular resource but the changes table."""
        if self.resources is None:
            package = json.loads(self.read("datapackage.json"))
            listed = [(r["name"], r["schema"],
                       f"{self.tables_dir}/{Path(r['path']).name}" if self.tables_dir else r["path"])
                      for r in package["resources"]
                      if r.get("type") == "table" and r["name"] != CHANGES]  # the annotations are not compared
        else:
            listed = [r for r in self.resources if r[0] != CHANGES]
        texts = self.read_many(sorted({p for _, schema, path in listed for p in (schema, path)
                                       if isinstance(p, str)}))
        tables = {}
        for name, schema, path in listed:
            schema = schema if isinstance(schema, dict) else json.loads(texts[schema])
            key = schema.get("primaryKey") or [f["name"] for f in schema["fields"]]
            key = [key] if isinstance(key, str) else key
            rows = list(csv.DictReader(io.StringIO(texts[path])))
            tables[name] = (key, {tuple(r[k] for k in key): r for r in rows})
        return tables


def cat_files(root: Path, revision: str, paths: list[str]) -> dict[str, str | None]:
    """The text of each path at a revision, read by one `git cat-file --batch`; None for a path it lacks."""
    request = "".join(f"{revision}:{p}\n" for p in paths).encode()
    result = subprocess.run(["git", "-C", str(root), "cat-file", "--batch"], input=request, capture_output=True)
    if result.returncode != 0:
        raise VersionError(f"git cannot read revision {revision}: {result.stderr.decode().strip()}")
    out, at, found = result.stdout, 0, {}
    for path in paths:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            found[path] = out[at:at + size].decode("utf-8")
            at += size + 1
        else:  # "<object> missing", or a tree
            found[path] = None
    return found


def git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)


def commits_by_version(root: Path) -> dict[str, list[tuple[str, str]]]:
    """Each version datapackage.json has carried → the commits carrying it (hash, committer date YYYY-MM-DD),
    oldest first. A commit that changes the version or the data changes datapackage.json (its resources' hashes),
    so only those are read, all at once."""
    log = git(root, "log", "--reverse", "--topo-order", "--format=%H %cs", "--", "datapackage.json")
    if log.returncode != 0:
        raise VersionError(f"versions are looked up in git history, and git says: {log.stderr.strip()}")
    commits = [line.split() for line in log.stdout.splitlines() if line.strip()]
    request = "".join(f"{c}:datapackage.json\n" for c, _ in commits).encode()
    shown = subprocess.run(["git", "-C", str(root), "cat-file", "--batch"], input=request, capture_output=True)
    out, at, found = shown.stdout, 0, defaultdict(list)
    for commit, date in commits:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) != 3:
            continue
        size = int(header[2])
        blob, at = out[at:at + size], at + size + 1
        try:
            version = json.loads(blob).get("version")
        except ValueError:  # a commit with a broken datapackage.json carries no version
            continue
        if isinstance(version, str):
            found[version].append((commit, date))
    return dict(found)


def published_commit(commits: list[tuple[str, str]], date: str | None) -> str:
    """The commit that published a version: the last carrying it on or before its date, else the first."""
    dated = [c for c, day in commits if date and day <= date]
    return dated[-1] if dated else commits[0][0]


def shallow(root: Path) -> bool:
    return git(root, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"


def open_version(spec: str, root: Path = Path("."), changelog: Path | None = None) -> Version:
    """A folder with a datapackage.json, a version by name (0.3.0 or v0.3.0: its published state) or any git
    revision."""
    folder = Path(spec)
    if (folder / "datapackage.json").exists():
        return Version(spec, folder=folder)
    name = VERSION_NAME.fullmatch(spec)
    if name:
        return Version(spec, revision=commit_of_version(name.group(1), root, changelog), root=root)
    check = git(root, "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}")
    if check.returncode == 0:
        return Version(spec, revision=check.stdout.strip(), root=root)
    raise VersionError(f"{spec!r} is neither a folder with a datapackage.json, a version of the package nor a git "
                       "revision")


def commit_of_version(version: str, root: Path = Path("."), changelog: Path | None = None) -> str:
    """The commit that published `version`; a VersionError listing the versions found if none carries it."""
    found = commits_by_version(root)
    if version in found:
        dates = {r.version: r.date for r in read_changelog(changelog)} if changelog and changelog.exists() else {}
        return published_commit(found[version], dates.get(version))
    listed = ", ".join(f"{v} ({c[0][0][:7]})" for v, c in found.items()) or "none"
    raise VersionError(f"version {version} is in no commit's datapackage.json; versions found: {listed}"
                       + (" (this clone's history is shallow: `git fetch --unshallow` brings the rest)"
                          if shallow(root) else ""))


# --- comparing two versions -------------------------------------------------------------------------------------


@dataclass
class TableDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[dict] = field(default_factory=list)  # {id, column, old, new}
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.columns_added or self.columns_removed)


def label(key: tuple) -> str:
    """A record's id as the changes table and the diff name it: its primary key, parts joined by '/'."""
    return "/".join(key)


def compare(old: Version, new: Version) -> dict:
    """Rows added and removed and cells changed per table, on primary keys. A column one side lacks is empty
    there: each non-empty cell of an added column is a changed cell (from empty), and likewise for a removed one.
    `states` keeps both sides' tables for the changes table (not for printing)."""
    before, after = old.tables(), new.tables()
    result = {"old": old.label, "new": new.label, "tables_added": sorted(set(after) - set(before)),
              "tables_removed": sorted(set(before) - set(after)), "tables": {},
              "rows": {name: len(rows) for name, (_, rows) in after.items()}}
    for name in after:
        (_, old_rows), (_, new_rows) = before.get(name, ([], {})), after[name]
        diff = TableDiff()
        old_columns = list(next(iter(old_rows.values()), {}).keys())
        new_columns = list(next(iter(new_rows.values()), {}).keys())
        if name in before:
            diff.columns_added = [c for c in new_columns if c not in old_columns]
            diff.columns_removed = [c for c in old_columns if c not in new_columns]
        diff.added = sorted(label(k) for k in new_rows.keys() - old_rows.keys())
        diff.removed = sorted(label(k) for k in old_rows.keys() - new_rows.keys())
        columns = new_columns + [c for c in old_columns if c not in new_columns]
        for key in sorted(new_rows.keys() & old_rows.keys()):
            was, now = old_rows[key], new_rows[key]
            for column in columns:
                if was.get(column, "") != now.get(column, ""):
                    diff.changed.append({"id": label(key), "column": column,
                                         "old": was.get(column, ""), "new": now.get(column, "")})
        result["tables"][name] = diff.__dict__
    for name in result["tables_removed"]:
        result["tables"][name] = TableDiff(removed=sorted(label(k) for k in before[name][1])).__dict__
    result["states"] = (before, after)
    return result


# --- the CHANGELOG --------------------------------------------------------------------------------------------


@dataclass
class Entry:
    """A record-by-record line of a version's CHANGELOG section: `- id[, id…][, `field`…][; …]: what and why`."""
    line: int
    text: str
    groups: list[tuple[list[str], list[str]]]  # (record ids, fields: empty for the whole record)
    renamed: tuple[str, str] | None = None  # `- old-id → new-id: renamed …`


@dataclass
class Release:
    version: str
    date: str | None
    line: int
    entries: list[Entry] = field(default_factory=list)


HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\](?:\s*[—–-]+\s*(?P<date>\d{4}-\d{2}-\d{2}))?")
RECORD_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
ENTRY = re.compile(r"^[a-z0-9][a-z0-9-]*(?=[,;:]|\s+→|$)")
RENAME = re.compile(r"^(?P<old>[a-z0-9][a-z0-9-]*)\s+→\s+(?P<new>[a-z0-9][a-z0-9-]*)$")
NOT_IDS = {"record"}  # words a head uses beside ids ("attack-2009-uralsk, record: …")


def read_changelog(path: Path) -> list[Release]:
    """Each version's heading and its record-by-record lines, in the file's order (newest first)."""
    releases: list[Release] = []
    bullet: list[str] | None = None
    start = 0

    def close():
        if bullet is not None and releases:
            entry = parse_entry(start, " ".join(part.strip() for part in bullet))
            if entry:
                releases[-1].entries.append(entry)

    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        heading = HEADING.match(line)
        if heading or line.startswith("#") or not line.strip() or line.startswith("- "):
            close()
            bullet = None
        if heading:
            releases.append(Release(heading["version"], heading["date"], number))
        elif line.startswith("- "):
            bullet, start = [line[2:]], number
        elif bullet is not None and line.startswith("  "):
            bullet.append(line)
    close()
    return releases


def parse_entry(line: int, text: str) -> Entry | None:
    if not ENTRY.match(text):
        return None
    head = re.split(r":(?:\s|$)", text, maxsplit=1)[0].strip()
    rename = RENAME.match(head)
    if rename and "renamed" in text:
        return Entry(line, text, [([rename["new"]], [])], (rename["old"], rename["new"]))
    groups = []
    for group in head.split(";"):
        group = re.sub(r"\([^)]*\)", " ", group)
        fields = re.findall(r"`([^`]+)`", group)
        words = re.split(r",|\s+and\s+", re.sub(r"`[^`]*`", " ", group))
        ids = [w.strip() for w in words if RECORD_ID.fullmatch(w.strip()) and w.strip() not in NOT_IDS]
        if ids:
            groups.append((ids, fields))
    return Entry(line, text, groups) if groups else None


# --- the changes table ------------------------------------------------------------------------------------------


def about(resource: str, record_id: str, row: dict) -> tuple[str, str]:
    """The record and field a row of a table is about: a citation's or a conflict's own record and field; any
    other row, itself."""
    if resource in ("citations", "conflicts"):
        return row.get("record_id", ""), row.get("field", "")
    return record_id, ""


def change_rows(version: str, previous: str, result: dict, entries: list[Entry], changelog: str,
                warnings: Problems) -> list[dict]:
    """The changes table's rows for one version from compare(previous state, this version's state), with the
    reasons of the version's CHANGELOG entries; an entry naming an id neither state has is reported in `warnings`
    (file:line) and its reason not attached."""
    before, after = result["states"]
    known = {label(k) for tables in (before, after) for _, rows in tables.values() for k in rows}
    renames = {}
    for entry in entries:
        for ids, _ in entry.groups:
            for record_id in ids + ([entry.renamed[0]] if entry.renamed else []):
                if record_id not in known:
                    warnings.add(f"{changelog}:{entry.line}", record_id, None,
                                 f"names a record neither {previous} nor {version} has; its reason is not attached "
                                 "to any change")
        if entry.renamed and entry.renamed[0] not in known:
            continue
        if entry.renamed:
            renames[entry.renamed] = entry

    rows = []

    def add(resource, record_id, field_name, change, old, new, row):
        rows.append({"version": version, "previous_version": previous, "resource": resource,
                     "record_id": record_id, "field": field_name, "change": change, "old_value": old,
                     "new_value": new, "_about": about(resource, record_id, row), "_field": field_name})

    for name, diff in result["tables"].items():
        old_rows = before.get(name, ([], {}))[1]
        new_rows = after.get(name, ([], {}))[1]
        old_by_id = {label(k): r for k, r in old_rows.items()}
        new_by_id = {label(k): r for k, r in new_rows.items()}
        added, removed = set(diff["added"]), set(diff["removed"])
        for old_id, new_id in renames:
            if old_id in removed and new_id in added:
                added.discard(new_id)
                removed.discard(old_id)
                add(name, new_id, "", "renamed", old_id, new_id, new_by_id[new_id])
                was, now = old_by_id[old_id], new_by_id[new_id]
                key_columns = set(after[name][0])
                for column in list(now) + [c for c in was if c not in now]:
                    if column not in key_columns and was.get(column, "") != now.get(column, ""):
                        add(name, new_id, column, "changed", was.get(column, ""), now.get(column, ""), now)
        for record_id in sorted(added):
            add(name, record_id, "", "added", "", "", new_by_id[record_id])
        for record_id in sorted(removed):
            add(name, record_id, "", "removed", "", "", old_by_id[record_id])
        for cell in diff["changed"]:
            add(name, cell["id"], cell["column"], "changed", cell["old"], cell["new"], new_by_id[cell["id"]])

    for row in rows:
        reasons = []
        record, about_field = row.pop("_about")
        cell = row.pop("_field")
        whole_record = row["change"] in ("added", "removed", "renamed") and row["resource"] not in (
            "citations", "conflicts")
        for entry in entries:
            for ids, fields in entry.groups:
                names = about_field if row["resource"] in ("citations", "conflicts") else cell
                if record in ids and (not fields or names in fields or whole_record):
                    reasons.append(entry.text)
                    break
        row["reason"] = " / ".join(dict.fromkeys(reasons))
        row["change_id"] = "/".join(p for p in (version, row["resource"], row["record_id"], row["field"]) if p)
    return rows


def change_table(root: Path, changelog_path: Path, current: str, current_state: Version,
                 problems: Problems, warnings: Problems) -> tuple[list[dict] | None, str]:
    """Every change from the first version the CHANGELOG names to `current_state` (this build, version `current`):
    (rows, what was compared). Rows is None when the repository's history holds none of the CHANGELOG's earlier
    versions (a release zip, a copy, a shallow clone): the caller keeps the published table. A version the CHANGELOG
    names that a history holding the others lacks is a problem naming it; a CHANGELOG line naming a record its
    version does not have, a warning."""
    changelog = str(changelog_path.relative_to(root)) if changelog_path.is_relative_to(root) else str(changelog_path)
    releases = sorted(read_changelog(changelog_path), key=lambda r: version_key(r.version))
    by_version = {r.version: r for r in releases}
    if current not in by_version:  # its changes are listed all the same, without reasons
        warnings.add(changelog, None, None, f"has no heading for version {current} (params.yaml package.version): "
                     f"its changes carry no reasons; add `## [{current}] — YYYY-MM-DD` with what it changes")
    earlier = [r for r in releases if version_key(r.version) < version_key(current)]
    inside = git(root, "rev-parse", "--is-inside-work-tree").stdout.strip() == "true"
    found = commits_by_version(root) if inside else {}
    if not earlier:
        return [], f"no version before {current}"
    if not any(r.version in found for r in earlier):
        why = ("the clone is shallow" if inside and shallow(root) else
               "the history holds none of its versions" if inside else "this is not a git repository")
        return None, why
    for release in earlier:
        if release.version not in found:
            problems.add(f"{changelog}:{release.line}", None, None,
                         f"version {release.version} is in no commit's datapackage.json: the history lacks it"
                         + (" (this clone is shallow: `git fetch --unshallow`)" if shallow(root) else ""))
    if problems:
        return None, ""
    states = [Version(r.version, revision=published_commit(found[r.version], r.date), root=root) for r in earlier]
    states.append(current_state)
    rows = []
    for old, new in zip(states, states[1:], strict=False):
        result = compare(old, new)
        entries = by_version[new.label].entries if new.label in by_version else []
        rows += change_rows(new.label, old.label, result, entries, changelog, warnings)
    compared = " → ".join(f"{s.label} ({s.revision[:7]})" if s.revision else f"{s.label} (this build)"
                          for s in states)
    return rows, compared
