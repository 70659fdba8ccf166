"""Reads every table of a data package with the v1 Python library `datapackage` (run in .interop-venv).

Prints JSON: {"tables": {name: [row, ...]}, "foreign_keys": {name: "ok" or the error}}; rows are keyed and
typed as the library types them (dates and decimals as text).
"""
import datetime
import decimal
import json
import sys

from datapackage import Package


def main(path: str) -> None:
    package = Package(path)
    if not package.valid:
        sys.exit(f"datapackage v1 finds the descriptor invalid: {package.errors}")
    out = {"tables": {}, "foreign_keys": {}}
    for resource in package.resources:
        if not resource.tabular:  # a file published beside the tables (the annotations)
            continue
        out["tables"][resource.name] = resource.read(keyed=True)
        try:
            resource.read(relations=True)
            out["foreign_keys"][resource.name] = "ok"
        except Exception as error:  # the library raises its own exception types for a dangling key
            out["foreign_keys"][resource.name] = str(error)
    json.dump(out, sys.stdout, default=_plain)


def _plain(value):
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return str(value)


if __name__ == "__main__":
    main(sys.argv[1])
