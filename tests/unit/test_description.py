"""The dataset's description: what it must carry, and how it is refused."""
import pytest

from pipelines.core.description import checked_json, cite_as, download, read_scripts, script
from pipelines.core.errors import BuildError

COMPLETE = {"name": "n", "description": "d", "version": "1.0.0", "license": "https://l", "creator": [{"name": "c"}],
            "citation": "c", "keywords": ["k"], "temporalCoverage": "2000/2001", "spatialCoverage": {"name": "KZ"},
            "variableMeasured": [{"name": "t.c"}], "isAccessibleForFree": True, "url": "https://x/",
            "distribution": [download("https://x/", "data/t.csv", 10)]}


def test_a_complete_description_passes_and_embeds_as_data():
    html = script(COMPLETE, "report")
    assert read_scripts(f"<head>{html}</head>") == [COMPLETE]


@pytest.mark.parametrize("missing", ["keywords", "license", "distribution", "temporalCoverage", "citation"])
def test_a_missing_property_is_refused_naming_it(missing):
    with pytest.raises(BuildError) as error:
        checked_json({k: v for k, v in COMPLETE.items() if k != missing}, "report")
    assert [str(p) for p in error.value.problems] == [
        f"report, field {missing!r}: the dataset description lacks this required property"]


def test_a_download_without_its_size_or_with_a_local_path_is_refused():
    broken = dict(download("https://x/", "a.csv", 1), contentUrl="/home/me/a.csv")
    del broken["contentSize"]
    with pytest.raises(BuildError) as error:
        checked_json(dict(COMPLETE, distribution=[broken]), "release")
    assert {p.field for p in error.value.problems} == {"contentSize", "contentUrl"}


def test_a_value_json_cannot_hold_is_refused():
    with pytest.raises(BuildError) as error:
        checked_json(dict(COMPLETE, temporalCoverage=float("nan")), "report")
    assert "the dataset description is not JSON: Out of range float values" in str(error.value.problems[0])


def test_a_script_cannot_close_its_element_early():
    html = script(dict(COMPLETE, description="</script><script>alert(1)</script>"), "report")
    assert html.count("</script>") == 1 and read_scripts(html)[0]["description"].startswith("</script>")


def test_cite_as_names_the_version():
    cff = {"authors": [{"name": "Maintainers"}], "date-released": "2026-12-06", "title": "T", "version": "0.5.0"}
    assert cite_as(cff) == "Maintainers (2026). T (Version 0.5.0) [Data set]."
    given = {"authors": [{"given-names": "Ada", "family-names": "Lovelace"}], "date-released": "2027-01-02",
             "title": "T", "version": "1.0.0", "url": "https://x.org/"}
    assert cite_as(given) == "Ada Lovelace (2027). T (Version 1.0.0) [Data set]. https://x.org/"
