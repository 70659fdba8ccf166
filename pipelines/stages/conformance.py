"""Stage conformance: `frictionless validate` of the published package, the standard's own evidence that it conforms.

The validate stage checks the built tables with checks derived from schemas/ (types, constraints, primary and
foreign keys, and the rules), which tests/integration/test_derived_checks.py shows find every error frictionless
finds. This stage then reads the published package row by row with frictionless-py, integrity (bytes, hash)
included, and records the result in reports/conformance.json for the report; a package it finds invalid
stops the build.
"""
from __future__ import annotations

from ..core.config import Config, load_config
from ..core.errors import Problems, run_stage, stage_arguments
from ..core.fileio import write_json_atomic

MAX_LISTED = 50


def run(config: Config) -> None:
    # Load
    import frictionless

    # Process
    report = frictionless.Package(str(config.path("datapackage"))).validate()
    problems = Problems()
    for task in report.tasks:
        for error in task.errors[:MAX_LISTED]:
            field = getattr(error, "field_name", None) or ",".join(getattr(error, "field_names", None) or []) or None
            row = getattr(error, "row_number", None)
            problems.add(config.params["paths"]["data_dir"] + f"/{task.name}.csv", f"row {row}" if row else None,
                         field, f"frictionless {error.type}: {error.message}")
    problems.raise_if_any("conformance")

    # Save
    write_json_atomic(config.path("conformance"), {
        "valid": report.valid, "frictionless": frictionless.__version__,
        "tables": sum(task.type == "table" for task in report.tasks),
        "files": sum(task.type != "table" for task in report.tasks),
        "rows": sum(task.stats.get("rows", 0) for task in report.tasks)})


def main(argv: list[str] | None = None) -> None:
    stage_arguments("conformance", __doc__).parse_args(argv)
    run_stage("conformance", lambda: run(load_config()))


if __name__ == "__main__":
    main()
