"""The files between stages: the ingest stage's folder is written and read by one pair of functions."""
from pipelines.core.fileio import SOURCE_ROWS, read_source_rows, read_texts, write_ingested


def test_the_ingested_folder_reads_back_as_written(tmp_path):
    rows = [{"source_id": "b", "title": "B"}, {"source_id": "a", "title": "A"}]
    write_ingested(tmp_path, rows, {"b": "Text of b.", "a": "Text of a."})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt", SOURCE_ROWS]
    assert read_source_rows(tmp_path) == rows
    assert list(read_texts(tmp_path).items()) == [("b", "Text of b."), ("a", "Text of a.")]  # catalog order


def test_texts_of_named_sources_come_in_the_order_asked(tmp_path):
    write_ingested(tmp_path, [{"source_id": "a"}, {"source_id": "b"}], {"a": "A", "b": "B"})
    assert list(read_texts(tmp_path, ["b", "a"])) == ["b", "a"]
    assert read_texts(tmp_path, ["a"]) == {"a": "A"}
