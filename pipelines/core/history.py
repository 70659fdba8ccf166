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


# A version's name, as params.yaml package.version and CHANGELOG headings write it (a leading v allowed): semver
VERSION_NAME = re.compile(r"v?(?P<version>(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)"
                          r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?)")
CHANGES = "changes"  # the derived table of changes: never compared itself


def version_key(version: str) -> tuple:
    """Semantic versioning's precedence: 1.0.0-rc.1 < 1.0.0-rc.2 < 1.0.0 < 1.0.1; build metadata (+…) is ignored."""
    parts = VERSION_NAME.fullmatch(version)
    if not parts:
        return (-1,)
    major, minor, patch, pre = parts["major"], parts["minor"], parts["patch"], parts["pre"]
    identifiers = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")) if pre else ()
    return (int(major), int(minor), int(patch), 0 if pre else 1, identifiers)


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

    def tables(self) -> dict[str, tuple[list[str], dict[tuple, dict], list[str]]]:
        """name → (primary key, rows by key, columns) for every tabular resource but the changes table."""
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
            reader = csv.DictReader(io.StringIO(texts[path]))
            rows = list(reader)
            tables[name] = (key, {tuple(r[k] for k in key): r for r in rows}, list(reader.fieldnames or []))
        return tables


def cat_files(root: Path, revision: str, paths: list[str]) -> dict[str, str | None]:
    """The text of each path at a revision, read by one `git cat-file --batch`; None for a path it lacks."""
    blobs = cat_blobs(root, [f"{revision}:{p}" for p in paths])
    return {path: None if blob is None else blob.decode("utf-8") for path, blob in zip(paths, blobs, strict=True)}


def cat_blobs(root: Path, objects: list[str]) -> list[bytes | None]:
    """Each object (`<revision>:<path>`) as bytes, all read by one `git cat-file --batch`; None for one it lacks."""
    request = "".join(f"{o}\n" for o in objects).encode()
    result = subprocess.run(["git", "-C", str(root), "cat-file", "--batch"], input=request, capture_output=True)
    if result.returncode != 0:
        raise VersionError(f"git cannot read {objects[0] if objects else 'the history'}: "
                           f"{result.stderr.decode().strip()}")
    out, at, found = result.stdout, 0, []
    for _ in objects:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            found.append(out[at:at + size])
            at += size + 1
        else:  # "<object> missing", or a tree
            found.append(None)
    return found


def git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)


def commits_by_version(root: Path) -> dict[str, list[tuple[str, str]]]:
    """Each version datapackage.json has carried → the commits carrying it (hash, author date YYYY-MM-DD: a rebase
    keeps it), oldest first. A commit that changes the version or the data changes datapackage.json (its resources'
    hashes), so only those are read, all at once."""
    log = git(root, "log", "--reverse", "--topo-order", "--format=%H %as", "--", "datapackage.json")
    if log.returncode != 0:
        raise VersionError(f"versions are looked up in git history, and git says: {log.stderr.strip()}")
    commits = [line.split() for line in log.stdout.splitlines() if line.strip()]
    found = defaultdict(list)
    for (commit, date), blob in zip(commits, cat_blobs(root, [f"{c}:datapackage.json" for c, _ in commits]),
                                    strict=True):
        try:
            version = json.loads(blob).get("version") if blob is not None else None
        except ValueError:  # a commit with a broken datapackage.json carries no version
            continue
        if isinstance(version, str):
            found[version].append((commit, date))
    return dict(found)


def published_commit(commits: list[tuple[str, str]], date: str | None) -> tuple[str, bool]:
    """The commit that published a version: the last carrying it on or before its date, else the first; and whether
    it fell back to the first although a date was given (every commit carrying it is later than its heading says)."""
    dated = [c for c, day in commits if date and day <= date]
    return (dated[-1], False) if dated else (commits[0][0], bool(date))


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
        return Version(spec, revision=commit_of_version(name["version"], root, changelog), root=root)
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
        return published_commit(found[version], dates.get(version))[0]
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
              "rows": {name: len(rows) for name, (_, rows, _) in after.items()}}
    for name in after:
        (_, old_rows, old_columns), (_, new_rows, new_columns) = before.get(name, ([], {}, [])), after[name]
        diff = TableDiff()
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


RECORD = ""  # the pseudo-field of a line's `record` ("x, record: …"): the record as a whole, not one of its fields


@dataclass
class Entry:
    """A record-by-record line of a version's CHANGELOG section: `- id[, id…][, `field`…][; …]: what and why`."""
    line: int
    text: str
    groups: list[tuple[list[str], list[str]]]  # (record ids, fields; none: all of the record; RECORD: as a whole)
    renamed: tuple[str, str] | None = None  # `- old-id → new-id: renamed …`
    unread: list[str] = field(default_factory=list)  # words of the head that are neither ids nor fields
    # a line about columns (`- `attacks`: new columns `latitude`, …`): the tables it names (none: any) and columns
    columns: tuple[list[str], list[str]] | None = None


@dataclass
class Release:
    version: str
    date: str | None
    line: int
    entries: list[Entry] = field(default_factory=list)


HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\](?:\s*[—–-]+\s*(?P<date>\d{4}-\d{2}-\d{2}))?")
RECORD_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
ENTRY = re.compile(r"^[a-z0-9][a-z0-9-]*(?=[,;:]|\s+(?:→|->)|$)")
RENAME = re.compile(r"^(?P<old>[a-z0-9][a-z0-9-]*)\s+(?:→|->)\s+(?P<new>[a-z0-9][a-z0-9-]*)$")
ABBREVIATED = re.compile(r"-\d+(?:-\d+)*")  # "prov-cc-art-164, -168, -233-3": the first id's stem continued


def read_changelog(path: Path) -> list[Release]:
    """Each version's heading and its record-by-record lines, in the file's order (newest first). A heading that
    names no version (`## [Unreleased]`) is no release: its lines are not read."""
    releases: list[Release] = []
    bullet: list[str] | None = None
    start, current = 0, None

    def close():
        if bullet is not None and current is not None:
            entry = parse_entry(start, " ".join(part.strip() for part in bullet))
            if entry:
                current.entries.append(entry)

    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        heading = HEADING.match(line)
        if heading or line.startswith("#") or not line.strip() or line.startswith("- "):
            close()
            bullet = None
        if heading:
            current = (Release(heading["version"].removeprefix("v"), heading["date"], number)
                       if VERSION_NAME.fullmatch(heading["version"]) else None)
            if current:
                releases.append(current)
        elif line.startswith("- "):
            bullet, start = [line[2:]], number
        elif bullet is not None and line.startswith("  "):
            bullet.append(line)
    close()
    return releases


def parse_entry(line: int, text: str) -> Entry | None:
    head, _, body = [part.strip() for part in re.split(r"(:(?:\s|$))", text, maxsplit=1) + ["", ""]][:3]
    if not ENTRY.match(text):
        if re.search(r"\bcolumns?\b", text) and re.search(r"`[^`]+`", body):
            return Entry(line, text, [], columns=(re.findall(r"`([^`]+)`", head), re.findall(r"`([^`]+)`", body)))
        return None
    rename = RENAME.match(head)
    if rename and "renamed" in text.lower():
        return Entry(line, text, [([rename["new"]], [])], (rename["old"], rename["new"]))
    groups, unread = [], []
    for group in head.split(";"):
        group = re.sub(r"\([^)]*\)", " ", group)
        fields = re.findall(r"`([^`]+)`", group)
        ids = []
        for word in (w.strip() for w in re.split(r",|\s+and\s+", re.sub(r"`[^`]*`", " ", group))):
            if word == "record":
                fields.append(RECORD)
            elif ABBREVIATED.fullmatch(word) and ids:
                ids.append(re.sub(r"(?:-\d+)+$", "", ids[0]) + word)
            elif RECORD_ID.fullmatch(word):
                ids.append(word)
            elif word:
                unread.append(word)
        if ids:
            groups.append((ids, fields))
    return Entry(line, text, groups, unread=unread) if groups else None


# --- the changes table ------------------------------------------------------------------------------------------


ABOUT_OTHERS = ("citations", "conflicts")  # tables whose rows are about a record of another table, and its field


def about(resource: str, record_id: str, row: dict) -> tuple[str, str, str]:
    """The curated record and field a row is about: for a citation or a conflict, the record and field it is
    about (a citation of the record as a whole: field ""); for any other row, itself."""
    if resource in ABOUT_OTHERS:
        return row.get("resource", ""), row.get("record_id", ""), row.get("field", "")
    return resource, record_id, ""


GIST = {"citations": "quote", "conflicts": "stated_value"}  # what a citation or a conflict added or removed said


def _gist(resource: str, row: dict) -> str:
    return row.get(GIST[resource], "") if resource in GIST else ""


def _names(fields: list[str], field_name: str) -> bool:
    """Whether a line's fields name this field (or the field a derived `<field>_precision` column follows)."""
    return field_name in fields or (field_name.endswith("_precision") and field_name[:-len("_precision")] in fields)


def _says(text: str, field_name: str) -> bool:
    """Whether a line's text names the field as a word ("…; note rewritten"), where its head names other fields."""
    return re.search(rf"(?<![\w-]){re.escape(field_name)}(?![\w-])", text.split(":", 1)[-1]) is not None


def change_rows(version: str, previous: str, result: dict, entries: list[Entry], changelog: str,
                warnings: Problems) -> list[dict]:
    """The changes table's rows for one version from compare(previous state, this version's state), with the
    reasons of the version's CHANGELOG entries. A line that names an id neither state has, or a word of its head
    that is neither an id nor a field, is reported in `warnings` (file:line), and the id's reason not attached.

    Which lines give a row its reason: for a cell of a record, the lines naming the record and that field, or the
    record without a field (but not for a column the version added or removed: a line about a record's quotes is
    not why it gained coordinates); for a whole record added, removed or renamed, every line naming it; for a
    citation or a conflict, the lines naming its record and field (`record` for a citation of the record as a
    whole), else every line naming its record."""
    before, after = result["states"]
    known = {label(k) for tables in (before, after) for _, rows, _ in tables.values() for k in rows}
    renames = {}
    for entry in entries:
        for word in entry.unread:
            warnings.add(f"{changelog}:{entry.line}", None, None,
                         f"{word!r} in the line's head is neither a record id nor a `field`: it is not read")
        for ids, _ in entry.groups:
            for record_id in ids + ([entry.renamed[0]] if entry.renamed else []):
                if record_id not in known:
                    warnings.add(f"{changelog}:{entry.line}", record_id, None,
                                 f"names a record neither {previous} nor {version} has; its reason is not attached "
                                 "to any change")
        if entry.renamed and entry.renamed[0] in known:
            renames[entry.renamed] = entry

    rows = []

    def add(resource, record_id, field_name, change, old, new, row):
        about_resource, about_record, about_field = about(resource, record_id, row)
        rows.append({"version": version, "previous_version": previous, "resource": resource,
                     "record_id": record_id, "field": field_name, "change": change, "old_value": old,
                     "new_value": new, "about_resource": about_resource, "about_record_id": about_record,
                     "about_field": about_field if resource in ABOUT_OTHERS else field_name})

    for name, diff in result["tables"].items():
        old_rows = before.get(name, ([], {}, []))[1]
        new_rows = after.get(name, ([], {}, []))[1]
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
            add(name, record_id, "", "added", "", _gist(name, new_by_id[record_id]), new_by_id[record_id])
        for record_id in sorted(removed):
            add(name, record_id, "", "removed", _gist(name, old_by_id[record_id]), "", old_by_id[record_id])
        for cell in diff["changed"]:
            add(name, cell["id"], cell["column"], "changed", cell["old"], cell["new"], new_by_id[cell["id"]])

    reshaped = {name: set(d["columns_added"]) | set(d["columns_removed"]) for name, d in result["tables"].items()}
    about_columns = [e for e in entries if e.columns]
    for row in rows:
        record, about_field = row["about_record_id"], row["about_field"]
        naming = [(entry, fields) for entry in entries for ids, fields in entry.groups if record in ids]
        if row["resource"] in ABOUT_OTHERS:
            chosen = [e for e, fields in naming if not fields or _names(fields, about_field)] or [e for e, _ in naming]
        elif row["field"] == "":
            chosen = [e for e, _ in naming]
        elif row["field"] in reshaped[row["resource"]]:  # a column the version added or removed
            chosen = [e for e, fields in naming if _names(fields, row["field"])] + [
                e for e in about_columns if (not e.columns[0] or row["resource"] in e.columns[0])
                and row["field"] in e.columns[1]]
        else:
            chosen = [e for e, fields in naming if _names(fields, row["field"]) or not fields
                      or _says(e.text, row["field"])]
        row["reason"] = "\n".join(dict.fromkeys(e.text for e in chosen))
        row["change_id"] = "/".join(p for p in (version, row["resource"], row["record_id"], row["field"]) if p)
    return rows


def change_table(root: Path, changelog_path: Path, current: str, current_state: Version,
                 problems: Problems, warnings: Problems) -> tuple[list[dict] | None, str]:
    """Every change from the first version the CHANGELOG names to `current_state` (this build, version `current`):
    (rows, what was compared). Rows is None when the repository's history is not there to read: not a git
    repository, a shallow clone, or a history holding none of the CHANGELOG's earlier versions (a copy committed
    afresh); the caller keeps the published table. A version the CHANGELOG names that a whole history holding the
    others lacks is a problem naming it; a CHANGELOG line naming a record its version does not have, a warning."""
    changelog = str(changelog_path.relative_to(root)) if changelog_path.is_relative_to(root) else str(changelog_path)
    releases = sorted(read_changelog(changelog_path), key=lambda r: version_key(r.version))
    by_version = {r.version: r for r in releases}
    if current not in by_version:  # its changes are listed all the same, without reasons
        warnings.add(changelog, None, None, f"has no heading for version {current} (params.yaml package.version): "
                     f"its changes carry no reasons; add `## [{current}] — YYYY-MM-DD` with what it changes")
    earlier = [r for r in releases if version_key(r.version) < version_key(current)]
    inside = git(root, "rev-parse", "--is-inside-work-tree").stdout.strip() == "true"
    if not inside:
        return None, "this is not a git repository"
    if shallow(root):
        return None, "the clone is shallow: `git fetch --unshallow` brings the history"
    if not earlier:
        return [], f"no version before {current}"
    found = commits_by_version(root)
    if not any(r.version in found for r in earlier):
        return None, "the history holds none of its versions"
    for release in earlier:
        if release.version not in found:
            problems.add(f"{changelog}:{release.line}", None, None,
                         f"version {release.version} is in no commit's datapackage.json: the history lacks it")
    if problems:
        return None, ""
    states = []
    for release in earlier:
        commit, fell_back = published_commit(found[release.version], release.date)
        if fell_back:
            warnings.add(f"{changelog}:{release.line}", None, None,
                         f"every commit carrying {release.version} is later than {release.date}: its first commit "
                         f"({commit[:7]}) is taken as its published state; correct the heading's date")
        states.append(Version(release.version, revision=commit, root=root))
    states.append(current_state)
    rows = []
    for old, new in zip(states, states[1:], strict=False):
        result = compare(old, new)
        entries = by_version[new.label].entries if new.label in by_version else []
        rows += change_rows(new.label, old.label, result, entries, changelog, warnings)
    compared = " → ".join(f"{s.label} ({s.revision[:7]})" if s.revision else f"{s.label} (this build)"
                          for s in states)
    return rows, compared
