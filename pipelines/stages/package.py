"""Stage package: publish the validated tables and their annotations into data/ and write datapackage.json, \
all or nothing.

Nothing is published while the coverage review leaves a fact of a source undecided or a record cites a passage the
review says holds no fact (build/coverage.json, from the coverage stage): the package keeps its promise by the build.
"""
from __future__ import annotations

import json
import shutil

from ..core.annotate import write_annotations
from ..core.config import Config, load_config
from ..core.descriptor import ANNOTATIONS
from ..core.descriptor import package as package_descriptor
from ..core.errors import run_stage, stage_arguments
from ..core.fileio import PLACES, read_source_rows, replace_dir_atomic, sha256_file, write_json_atomic
from ..core.sentences import undecided


def run(config: Config) -> None:
    # Load: publish only tables byte-identical to the ones the validate stage passed (dvc.yaml also runs the
    # quality stage first: it writes its results only when every correctness expectation holds)
    validated = json.loads(config.path("validation").read_text(encoding="utf-8"))["sha256"]
    sources = read_source_rows(config.path("ingested_dir"))
    gazetteer = json.loads((config.path("tables_dir") / PLACES).read_text(encoding="utf-8"))["gazetteer"]
    coverage = json.loads(config.path("coverage").read_text(encoding="utf-8"))
    problems = undecided(coverage, config.params["paths"]["coverage_review"])
    for table in config.all_tables:
        path = config.path("tables_dir") / f"{table}.csv"
        if not path.exists() or sha256_file(path) != validated.get(table):
            problems.add(path.relative_to(config.root), None, None,
                         "differs from the validated table; run validate first")
    problems.raise_if_any("package")
    # the descriptor is written after data/ is replaced: make it once from the built tables first, so that whatever
    # can fail in it (the catalog's entries, the gazetteer's record) fails before anything is replaced
    package_descriptor(config, config.path("tables_dir"), sources, integrity=False, gazetteer=gazetteer,
                       with_files=False)

    # Process + save: copy tables into a staging folder that replaces data/ whole, then the descriptor
    data_dir = config.path("data_dir")
    with replace_dir_atomic(data_dir) as staging:
        for table in config.all_tables:
            shutil.copyfile(config.path("tables_dir") / f"{table}.csv", staging / f"{table}.csv")
        write_annotations(config, staging / ANNOTATIONS["file"])
    write_json_atomic(config.path("datapackage"), package_descriptor(config, data_dir, sources, gazetteer=gazetteer))


def main(argv: list[str] | None = None) -> None:
    stage_arguments("package", __doc__).parse_args(argv)
    run_stage("package", lambda: run(load_config()))


if __name__ == "__main__":
    main()
