"""The source catalog is read as strictly as a record file, within params.yaml records.max_file_bytes."""
from pipelines.core.config import Config
from pipelines.core.errors import Problems
from pipelines.stages.ingest import read_catalog

CATALOG = "- source_id: s\n  file: s.txt\n"


def test_a_catalog_larger_than_params_allow_is_refused(tmp_path):
    (tmp_path / "catalog.yaml").write_text(CATALOG, encoding="utf-8")

    def config(max_bytes: int) -> Config:
        return Config(tmp_path, {"paths": {"catalog": "catalog.yaml"}, "records": {"max_file_bytes": max_bytes}})

    problems = Problems()
    assert read_catalog(config(len(CATALOG) - 1), problems) == []
    assert "records.max_file_bytes" in str(problems[0])
    problems = Problems()
    assert read_catalog(config(len(CATALOG)), problems) == [{"source_id": "s", "file": "s.txt"}]
    assert not problems
