"""Command: release the data package to a CKAN portal — create the dataset or update it in place.

    CKAN_API_TOKEN=... python -m pipelines publish --url https://ckan.example.org --org ORG [--dry-run]

Every table, the annotations file, datapackage.json and each table's schema (attached to its resource) are sent,
and the files of the version's release (make release: the package zip, Parquet, SQLite, the report zip,
SHA256SUMS). A resource whose
file hash is already on the portal is left alone, so publishing the same version twice changes nothing. The
dataset's version field is written last, after every resource: a dataset showing the new version is
complete. The API token is read from the environment only and never printed.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..core.config import Config, load_config
from ..core.fileio import sha256_file
from .release import ReleaseError, published_files

EXIT_USAGE, EXIT_AUTH, EXIT_UNREACHABLE, EXIT_REJECTED = 2, 3, 4, 5
EXIT_STATUSES = f"""exit status:
  0  published (or, with --dry-run, the plan printed)
  {EXIT_USAGE}  usage: an unknown option, a missing --url, or no token in the environment
  {EXIT_AUTH}  the portal refused the token
  {EXIT_UNREACHABLE}  the portal could not be reached
  {EXIT_REJECTED}  the portal rejected what was sent"""


class PublishError(Exception):
    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


@dataclass
class Upload:
    """One file to put on the portal as a resource of the dataset."""
    name: str
    path: Path
    fields: dict  # resource metadata for CKAN
    schema: dict | None
    hash: str


def plan_uploads(config: Config, package: dict) -> list[Upload]:
    from frictionless_ckan_mapper import frictionless_to_ckan

    uploads = []
    for resource in package["resources"]:
        fields = frictionless_to_ckan.resource(dict(resource))
        # CKAN keeps resource extras as text: a structured value (the CSV dialect) is sent as JSON, like the schema
        fields = {k: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v
                  for k, v in fields.items() if k not in ("url", "schema", "path", "scheme")}
        schema = (json.loads((config.root / resource["schema"]).read_text(encoding="utf-8"))
                  if resource.get("type") == "table" else None)  # the annotations file has none
        path = config.root / resource["path"]
        uploads.append(Upload(resource["name"], path, fields, schema, "sha256:" + sha256_file(path)))
    descriptor = config.path("datapackage")
    uploads.append(Upload("datapackage", descriptor, {"name": "datapackage", "format": "JSON",
                                                      "description": "Frictionless data package descriptor"},
                          None, "sha256:" + sha256_file(descriptor)))
    try:
        release = published_files(config, package)
    except ReleaseError as error:
        raise PublishError(str(error), EXIT_USAGE) from None
    for name, path, digest, kind in release:
        uploads.append(Upload(name, path, {"name": name, "format": kind,
                                           "description": f"release {package['version']}: {path.name}"},
                              None, digest))
    return uploads


def dataset_fields(config: Config, package: dict, org: str | None) -> dict:
    from frictionless_ckan_mapper import frictionless_to_ckan

    fields = frictionless_to_ckan.package({k: v for k, v in package.items() if k != "resources"})
    fields.pop("resources", None)
    licence = package["licenses"][0]["name"]
    fields["license_id"] = config.params["publish"]["ckan_license_ids"][licence]
    fields["notes"] = package["description"]
    if org:
        fields["owner_org"] = org
    return fields


class Portal:
    """The few CKAN actions publishing needs, with errors turned into PublishError (token never shown)."""

    def __init__(self, url: str, token: str | None):
        import ckanapi

        self._token = token or ""
        self.ckan = ckanapi.RemoteCKAN(url, apikey=token, user_agent="kazakhstan-ct-data-publish")
        self.url = url

    def call(self, action: str, upload: Path | None = None, **data):
        import ckanapi
        import requests

        try:
            if upload is not None:
                with open(upload, "rb") as handle:
                    return self.ckan.call_action(action, data, files={"upload": handle})
            return self.ckan.call_action(action, data)
        except ckanapi.NotAuthorized as error:
            raise PublishError(f"{action}: the portal refused the API token ({self._scrub(error)})",
                               EXIT_AUTH) from None
        except ckanapi.NotFound:
            raise
        except ckanapi.ValidationError as error:
            raise PublishError(f"{action}: the portal rejected the payload: {self._scrub(error)}",
                               EXIT_REJECTED) from None
        except (requests.ConnectionError, requests.Timeout) as error:
            raise PublishError(f"cannot reach the portal at {self.url}: {type(error).__name__}",
                               EXIT_UNREACHABLE) from None
        except ckanapi.CKANAPIError as error:
            raise PublishError(f"{action}: the portal answered with an error: {self._scrub(error)}",
                               EXIT_REJECTED) from None

    def dataset(self, name: str) -> dict | None:
        import ckanapi
        try:
            return self.call("package_show", id=name)
        except ckanapi.NotFound:
            return None

    def _scrub(self, error) -> str:
        text = str(error)
        return text.replace(self._token, "***") if self._token else text


def publish(config: Config, portal: Portal | None, org: str | None, dry_run: bool, say=print) -> dict:
    """Bring the portal's dataset to this package's state; return what was (or would be) done."""
    package = json.loads(config.path("datapackage").read_text(encoding="utf-8"))
    fields, uploads = dataset_fields(config, package, org), plan_uploads(config, package)
    remote = portal.dataset(package["name"]) if portal else None
    existing = {r["name"]: r for r in (remote or {}).get("resources", [])}
    actions = {"dataset": "create" if remote is None else "update", "resources": {}}
    for upload in uploads:
        current = existing.get(upload.name)
        actions["resources"][upload.name] = ("create" if current is None
                                             else "unchanged" if current.get("hash") == upload.hash else "update")
    version_changes = remote is None or remote.get("version") != package["version"]
    nothing = not version_changes and all(a == "unchanged" for a in actions["resources"].values())
    actions["dataset"] = "unchanged" if nothing else actions["dataset"]

    say(f"dataset {package['name']} version {package['version']}: {actions['dataset']}")
    for name, action in actions["resources"].items():
        say(f"  resource {name}: {action}")
    if dry_run or nothing:
        if dry_run:
            say("dry run: nothing was sent")
            say(json.dumps({"dataset": {k: v for k, v in fields.items() if k != "version"},
                            "resources": [u.fields | {"hash": u.hash} for u in uploads]}, indent=2, ensure_ascii=False))
        return actions

    if remote is None:  # create without the version: the version is what marks a complete release
        remote = portal.call("package_create", **{k: v for k, v in fields.items() if k != "version"})
    done = []
    try:
        for upload in uploads:
            action = actions["resources"][upload.name]
            if action == "unchanged":
                continue
            meta = upload.fields | {"hash": upload.hash}
            if action == "create":
                created = portal.call("resource_create", upload=upload.path, package_id=remote["id"], **meta)
                resource_id = created["id"]
            else:
                resource_id = existing[upload.name]["id"]
                portal.call("resource_patch", upload=upload.path, id=resource_id, **meta)
            if upload.schema is not None:
                portal.call("resource_patch", id=resource_id, schema=json.dumps(upload.schema, ensure_ascii=False))
            done.append(upload.name)
    except PublishError as error:
        left = [u.name for u in uploads if u.name not in done and actions["resources"][u.name] != "unchanged"]
        raise PublishError(f"{error} — the dataset is PARTIALLY updated: sent {done or 'nothing'}, not sent {left}; "
                           f"its version field still says {remote.get('version')!r}. Run publish again to complete it.",
                           error.code) from None
    portal.call("package_patch", id=remote["id"], **fields)  # last: version and metadata
    say(f"published {package['name']} {package['version']} to {portal.url}")
    return actions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines publish", description=__doc__, epilog=EXIT_STATUSES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the CKAN portal's base URL")
    parser.add_argument("--org", help="the CKAN organization that owns the dataset")
    parser.add_argument("--dry-run", action="store_true", help="print what would be sent; send nothing")
    args = parser.parse_args(argv)
    missing = [name for name in ("ckanapi", "frictionless_ckan_mapper") if importlib.util.find_spec(name) is None]
    if missing:
        print(f"publish: {', '.join(missing)} not installed: `make publish-env` installs what publishing needs "
              "(requirements-publish.lock)", file=sys.stderr)
        return EXIT_USAGE
    config = load_config()
    token = os.environ.get(config.params["publish"]["token_variable"])
    if not token and not args.dry_run:
        print(f"publish: set {config.params['publish']['token_variable']} to a CKAN API token", file=sys.stderr)
        return EXIT_USAGE
    try:
        portal = Portal(args.url, token) if token else None
        publish(config, portal, args.org, args.dry_run)
    except PublishError as error:
        print(f"publish: {error}", file=sys.stderr)
        return error.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
