"""The coverage review is read as strictly as a record file, within params.yaml records.max_file_bytes."""
from pipelines.core.config import Config
from pipelines.core.errors import Problems
from pipelines.core.sentences import read_review

TEXT = "In 2013 a court sat in Astana. Nothing else."
ENTRY = "- source_id: s\n  start: 0\n  begins: In 2013 a court\n  reason: outside the tables' scope\n"


def config(tmp_path, max_file_bytes):
    params = {"paths": {"coverage_review": "reviewed.yaml"}, "records": {"max_file_bytes": max_file_bytes}}
    return Config(tmp_path, params)


def test_the_review_is_read_within_the_size_params_allow(tmp_path):
    (tmp_path / "reviewed.yaml").write_text(ENTRY, encoding="utf-8")
    problems = Problems()
    reviewed = read_review(config(tmp_path, 5_000_000), {"s": TEXT}, problems)
    assert not problems and reviewed[("s", 0)]["reason"] == "outside the tables' scope"


def test_a_review_larger_than_params_allow_is_refused_naming_the_param(tmp_path):
    (tmp_path / "reviewed.yaml").write_text(ENTRY, encoding="utf-8")
    problems = Problems()
    assert read_review(config(tmp_path, len(ENTRY) - 1), {"s": TEXT}, problems) == {}
    assert "records.max_file_bytes" in str(problems[0]) and "reviewed.yaml" in str(problems[0])


def test_no_review_file_decides_nothing(tmp_path):
    problems = Problems()
    assert read_review(config(tmp_path, 5_000_000), {"s": TEXT}, problems) == {} and not problems
