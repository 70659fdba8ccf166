"""A new source, end to end, as a curator adds one: add-source, a build refused with the facts listed, one fact cited
from the worklist with a number that disagrees with a published value, the rest reviewed from the worklist's own
entries, a build that passes, and the disagreement in data/conflicts.csv, the report and the record's portal page."""
from __future__ import annotations

import csv
import urllib.request

import yaml
from conftest import command, git_init

from pipelines.commands.portal import running_server
from pipelines.core.browser import free_port
from pipelines.core.config import load_config
from pipelines.stages.tables import NO_REASON

TEXT = ("Aktobe, June 2016. Gunmen attacked gun shops and a military unit.\n"
        "Seven people were killed in the attack in Aktobe in June 2016, the police said.\n"
        "The weather was hot.\n")


def test_a_sixth_source_from_text_file_to_published_disagreement(mini, tmp_path):
    git_init(mini)
    document = tmp_path / "report.txt"
    document.write_text(TEXT, encoding="utf-8")
    sources_before = len(yaml.safe_load((mini / "sources" / "catalog.yaml").read_text(encoding="utf-8")))

    added = command(mini, "add-source", str(document), "--id", "news-aktobe-test", "--title", "Attack in Aktobe",
                    "--published", "2016-06-06")
    assert added.returncode == 0, added.stderr

    refused = command(mini, "build")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "record 'news-aktobe-test@" in refused.stderr and "undecided fact" in refused.stderr

    listed = command(mini, "coverage", "--worklist", "news-aktobe-test")
    assert listed.returncode == 0, listed.stderr
    items = yaml.safe_load(listed.stdout)
    text = (mini / "build" / "sources" / "news-aktobe-test.txt").read_text(encoding="utf-8")
    assert all(text[i["start"]:].startswith(i["quote"]) for i in items)  # each quote verbatim, at its offset
    (count,) = [i for i in items if "Seven people were killed" in i["quote"]]
    assert "attack-2016-aktobe" in count["mentions"] and "attacks" in count["tables"]

    # the count is cited on the existing record (the fixture says 8): a disagreement, its reason not yet written
    attacks = mini / "records" / "attacks.yaml"
    records = yaml.safe_load(attacks.read_text(encoding="utf-8"))
    aktobe = next(r for r in records if r["attack_id"] == "attack-2016-aktobe")
    aktobe["citations"].append({"source_id": "news-aktobe-test", "quote": count["quote"], "field": "killed",
                                "stated_value": 7})
    attacks.write_text(yaml.safe_dump(records, allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
    review = mini / "sources" / "reviewed.yaml"
    rest = [{**i["review"], "reason": "the date and place of an attack already recorded as attack-2016-aktobe"}
            for i in items if i is not count]
    with open(review, "a", encoding="utf-8") as handle:
        handle.write(yaml.safe_dump(rest, allow_unicode=True, sort_keys=False, width=120))

    built = command(mini, "build")
    assert built.returncode == 0, built.stdout + built.stderr
    assert "attacks attack-2016-aktobe killed" in built.stdout and "no reason given yet" in built.stdout

    with open(mini / "data" / "conflicts.csv", encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["record_id"] == "attack-2016-aktobe" and r["field"] == "killed"]
    assert sorted((r["stated_value"], r["is_published_value"]) for r in rows) == [("7", "false"), ("8", "true")]
    assert {r["published_value"] for r in rows} == {"8"} and {r["reason"] for r in rows} == {NO_REASON}
    with open(mini / "data" / "sources.csv", encoding="utf-8", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == sources_before + 1

    report = (mini / "reports" / "index.html").read_text(encoding="utf-8")
    block = report[report.index("attack-2016-aktobe") if "attack-2016-aktobe" in report else 0:]
    assert "<h4>7</h4>" in report and "<h4>8 <strong>(published)</strong></h4>" in report
    assert NO_REASON in block and (mini / "reports" / "sources" / "news-aktobe-test.html").exists()

    with running_server(load_config(mini), free_port()) as base:
        page = urllib.request.urlopen(f"{base}/{load_config(mini).params['portal']['database'].removesuffix('.db')}"
                                      "/attacks/attack-2016-aktobe", timeout=30).read().decode("utf-8")
    assert "The sources disagree" in page and NO_REASON in page and "news-aktobe-test" in page
