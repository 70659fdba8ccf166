"""Reads params.yaml: the paths and knobs every stage shares."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


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
        return ["sources", *self.params["curated_tables"], "citations", "conflicts"]


def load_config(root: Path | str = ".") -> Config:
    root = Path(root).resolve()
    with open(root / "params.yaml", encoding="utf-8") as handle:
        return Config(root=root, params=yaml.safe_load(handle))
