import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_citation_files_follow_the_package():
    package = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    zenodo = json.loads((ROOT / ".zenodo.json").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "dataset"
    assert cff["version"] == zenodo["version"] == package["version"]
    assert cff["title"] == zenodo["title"] == package["title"]
    assert cff["license"] == "CC-BY-4.0" and zenodo["license"] == "cc-by-4.0"
    assert zenodo["upload_type"] == "dataset" and zenodo["creators"] and cff["authors"]
    assert cff["date-released"] == zenodo["publication_date"] == package["created"][:10]
