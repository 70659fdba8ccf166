"""Stage metadata: CITATION.cff and Zenodo metadata (.zenodo.json), from the package metadata in params.yaml.

It reads the same metadata datapackage.json is written from (params.yaml `package`), not datapackage.json
itself, so an edit to a record, which changes every table hash in the descriptor, does not rerun it.
"""
from __future__ import annotations

import yaml

from ..core.config import Config, load_config
from ..core.errors import run_stage, stage_arguments
from ..core.fileio import write_json_atomic, write_text_atomic

ZENODO_LICENSES = {"CC-BY-4.0": "cc-by-4.0"}


def run(config: Config) -> None:
    # Load
    package = config.params["package"]

    # Process
    released = package["created"][:10]
    authors = [{"name": c["title"]} for c in package["contributors"]]
    cff = {
        "cff-version": "1.2.0",
        "message": "If you use this dataset, please cite it as below, with the version you used.",
        "type": "dataset", "title": package["title"], "abstract": package["description"],
        "version": package["version"], "date-released": released, "authors": authors,
        "license": package["licenses"][0]["name"], "keywords": package["keywords"],
    }
    zenodo = {
        "title": package["title"], "upload_type": "dataset", "description": package["description"],
        "version": package["version"], "publication_date": released,
        "creators": authors, "keywords": package["keywords"], "access_right": "open",
        "license": ZENODO_LICENSES[package["licenses"][0]["name"]],
        "notes": "The source documents quoted by the citations table remain their publishers' and are not "
                 "covered by the dataset's licence.",
    }

    # Save
    write_text_atomic(config.path("citation_cff"),
                      "# Generated from params.yaml (package) by `dvc repro`; do not edit.\n"
                      + yaml.safe_dump(cff, sort_keys=False, allow_unicode=True, width=120))
    write_json_atomic(config.path("zenodo"), zenodo)


def main(argv: list[str] | None = None) -> None:
    stage_arguments("metadata", __doc__).parse_args(argv)
    run_stage("metadata", lambda: run(load_config()))


if __name__ == "__main__":
    main()
