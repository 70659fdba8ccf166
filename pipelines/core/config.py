"""Reads params.yaml: the paths and knobs every stage shares."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import Problems, shown


@dataclass(frozen=True)
class Config:
    root: Path
    params: dict

    def path(self, key: str) -> Path:
        return self.root / self.params["paths"][key]

    @property
    def curated_tables(self) -> list[str]:
        return list(self.params["curated_tables"])

    @property
    def max_file_bytes(self) -> int:
        """The size above which a curator's file (records, the catalog, the review) is refused before it is parsed."""
        return int(self.params["records"]["max_file_bytes"])

    @property
    def all_tables(self) -> list[str]:
        return ["sources", *self.params["curated_tables"], "citations", "conflicts", "changes"]


def load_config(root: Path | str = ".") -> Config:
    """The configuration; BuildError (stage "params.yaml") when params.yaml cannot be read or a path in it leads
    outside the project, before any stage reads or writes there."""
    root = Path(root).resolve()
    problems = Problems()
    try:
        with open(root / "params.yaml", encoding="utf-8") as handle:
            params = yaml.load(handle, Loader=yaml.CSafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        problems.add("params.yaml", None, None, f"cannot be read: {shown(str(error), 300, quote=False)}")
        problems.raise_if_any("params.yaml")
    paths = params.get("paths") if isinstance(params, dict) else None
    if not isinstance(paths, dict):
        problems.add("params.yaml", None, "paths", "expected a mapping of path names to paths inside the project")
    for key, value in (paths or {}).items():
        if not isinstance(value, str) or not value.strip():
            problems.add("params.yaml", None, f"paths.{key}",
                         f"expected a path inside the project, found {shown(value)}")
        elif Path(value).is_absolute() or not (root / value).resolve().is_relative_to(root):
            problems.add("params.yaml", None, f"paths.{key}", f"expected a path inside the project ({root}), relative "
                         f"to it, found {shown(value)}: the pipeline reads and writes only inside the project")
    problems.raise_if_any("params.yaml")
    return Config(root=root, params=params)
