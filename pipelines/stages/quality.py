"""Stage quality: a Great Expectations suite derived from schemas/, run on every built table; Data Docs to reports/.

Each expectation carries meta.guard: "correctness" expectations (derived from the Table Schemas, plus
cross-table integrity) fail the build; "description" expectations (coverage, precision, completeness) are
reported only. GX knows them by their severity (critical, info); gxdocs makes its Data Docs say so and read offline.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from ..core.config import Config, load_config
from ..core.errors import Problems, run_stage, stage_arguments
from ..core.fileio import replace_dir_atomic, write_json_atomic
from ..core.schemas import engine_types, foreign_keys, is_required, load_schema, precision_of, primary_key

CORRECTNESS, DESCRIPTION = "correctness", "description"


def run(config: Config) -> None:
    # Load
    schemas = {t: load_schema(config.path("schemas_dir"), t) for t in config.all_tables}
    frames = {t: text_frame(config.path("tables_dir") / f"{t}.csv", schemas[t]) for t in config.all_tables}
    add_reference_columns(frames, schemas, config.curated_tables)
    cache_file = config.path("quality_cache")
    try:  # a missing or unreadable cache only means every table is validated afresh
        cache = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}

    # Process
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from ..core import gxdocs

    context = gx.get_context(mode="ephemeral")
    # no tqdm in build logs
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    docs_dir = Path(tempfile.mkdtemp(prefix="gx-docs-"))
    context.add_data_docs_site(site_name="reports", site_config=gxdocs.site_config(docs_dir))
    source = context.data_sources.add_pandas("tables")
    store = context.validation_results_store
    meta = config.params["package"]
    run_id = RunIdentifier(run_name=f"v{meta['version']}",
                           run_time=dt.datetime.fromisoformat(meta["created"].replace("Z", "+00:00")))
    results, problems, fresh = [], Problems(), {}
    for table in config.all_tables:
        suite_expectations = list(expectations(table, schemas, config.params["quality"], config.curated_tables))
        fingerprint = _fingerprint(gx.__version__, run_id, suite_expectations, frames[table])
        # the whole suite at once: add_expectation on a stored suite re-serializes the store for each one
        suite = context.suites.add(gx.ExpectationSuite(name=table, expectations=suite_expectations))
        cached = cache.get(table)
        # same suite, same table: the same result, not rerun
        if isinstance(cached, dict) and cached.get("fingerprint") == fingerprint:
            store.set(store.tuple_to_key(tuple(cached["key"])), store.deserialize(cached["result"]))
            rows = cached["rows"]
        else:
            batch = source.add_dataframe_asset(name=table).add_batch_definition_whole_dataframe("published")
            definition = context.validation_definitions.add(gx.ValidationDefinition(name=table, data=batch,
                                                                                    suite=suite))
            outcome = definition.run(batch_parameters={"dataframe": frames[table]}, run_id=run_id,
                                     result_format="SUMMARY")
            (key,) = [k for k in store.list_keys() if k.expectation_suite_identifier.name == table]
            released = run_id.run_time.strftime("%Y%m%dT%H%M%S.%fZ")  # the release's time, not the clock's
            # so that pages rebuild byte for byte
            outcome.meta.update(validation_time=released, validation_id=fingerprint[:32])
            outcome.meta["batch_markers"]["ge_load_time"] = released
            outcome.success = not any(gxdocs.blocks_publication(result) for result in outcome.results)
            store.set(key, outcome)
            rows = [summarize(table, result) for result in outcome.results]
            fresh[table] = {"fingerprint": fingerprint, "key": list(store.key_to_tuple(key)),
                            "result": store.serialize(outcome), "rows": rows}
        results += rows
        for row in rows:
            if row["guard"] == CORRECTNESS and not row["success"]:
                problems.add(table, None, row["column"], f"expectation {row['expectation']} failed: {row['detail']}")
    # Data Docs: the pages of the tables validated afresh and the index; the other tables' pages are the published
    # ones, which a run that validated nothing new would write byte for byte (the same stored results)
    published = config.path("gx_docs_dir")
    kept = [t for t in config.all_tables if t not in fresh]
    incremental = (bool(fresh) and set(cache) == set(config.all_tables) and (published / "index.html").is_file()
                   and all((published / page).is_file() for t in kept for page in pages_of(t, cache[t]["key"])))
    copied = []
    if incremental:  # the kept pages where GX's index builder looks for them; only the new ones are rendered
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier
        for page in (page for t in kept for page in pages_of(t, cache[t]["key"])):
            (docs_dir / page).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(published / page, docs_dir / page)
            copied.append(docs_dir / page)
        identifiers = [store.tuple_to_key(tuple(fresh[t]["key"])) for t in fresh]
        identifiers += [ExpectationSuiteIdentifier(name=t) for t in fresh]
        context.build_data_docs(site_names=["reports"], resource_identifiers=identifiers)
    else:
        context.build_data_docs(site_names=["reports"])
    if problems:
        shutil.rmtree(docs_dir, ignore_errors=True)
        problems.raise_if_any("quality")

    # Save
    gxdocs.make_self_contained(docs_dir, already=copied)
    with replace_dir_atomic(published) as staging:
        shutil.copytree(docs_dir, staging, dirs_exist_ok=True)
    shutil.rmtree(docs_dir, ignore_errors=True)
    write_json_atomic(config.path("quality"), {
        "great_expectations": gx.__version__, "run_name": run_id.run_name,
        "success": all(r["success"] for r in results if r["guard"] == CORRECTNESS),
        "expectations": results})
    write_json_atomic(cache_file, {t: fresh.get(t) or cache[t] for t in config.all_tables}, compact=True)


def pages_of(table: str, key: list[str]) -> list[str]:
    """A table's two Data Docs pages, relative to the site: its suite's and its validation result's (the result's
    key is suite, run name, run time, batch)."""
    return [f"expectations/{table}.html", "validations/" + "/".join(key) + ".html"]


def _fingerprint(version: str, run_id, suite_expectations: list, frame: pd.DataFrame) -> str:
    """What a table's validation result depends on: GX's version, the run, the whole suite and the frame GX
    validates, its derived columns included (through the reference columns, other tables reach it)."""
    digest = hashlib.sha256(f"{version}\n{run_id.run_name}\n{run_id.run_time.isoformat()}\n".encode())
    for expectation in suite_expectations:
        digest.update(json.dumps(expectation.configuration.to_json_dict(), sort_keys=True, default=str).encode())
    digest.update(json.dumps(list(frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=True).values.tobytes())
    return digest.hexdigest()


def text_frame(path: Path, schema: dict) -> pd.DataFrame:
    """The table as published: text cells, missing values as None, plus each numeric column as a number."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    missing = set(schema.get("missingValues", [""]))
    frame = raw.apply(lambda column: column.where(~column.isin(missing), None))
    for field in schema["fields"]:
        if engine_types(field).numeric and field["name"] in frame:
            frame[numeric(field["name"])] = pd.to_numeric(frame[field["name"]], errors="coerce").astype("float64")
    return frame


def numeric(name: str) -> str:
    return f"{name} (as number)"


UNMATCHED_RECORD = "record_id (not a record of its resource)"


def dangling(column: str, target: str, parent: str) -> str:
    return f"{column} (not in {target}.{parent})"


def add_reference_columns(frames: dict, schemas: dict, curated: list[str]) -> None:
    """Beside each foreign key, a column holding the key's value where it matches no row of its target (and
    empty elsewhere); the same for the record_id of every citation. The suite expects them to be empty.

    A set membership computed once per column: as value sets inside expectations, a million ids would be
    copied and serialized by GX many times over per expectation."""
    for table, schema in schemas.items():
        frame = frames[table]
        for (column,), target, (parent,) in foreign_keys(table, schema):
            unmatched = frame[column].notna() & ~frame[column].isin(frames[target][parent].dropna())
            frame[dangling(column, target, parent)] = frame[column].where(unmatched, None)
    citations = frames["citations"]
    known = pd.MultiIndex.from_frame(pd.concat(
        [pd.DataFrame({"resource": t, "record_id": frames[t][primary_key(schemas[t])[0]]}) for t in curated]))
    cited = pd.MultiIndex.from_frame(citations[["resource", "record_id"]].fillna(""))
    unmatched = citations["resource"].isin(curated) & ~cited.isin(known)
    citations[UNMATCHED_RECORD] = citations["record_id"].where(unmatched, None)


def added_columns(table: str, schema: dict) -> list[str]:
    """The columns add_reference_columns and text_frame add to a published table's frame."""
    names = [numeric(f["name"]) for f in schema["fields"] if engine_types(f).numeric]
    names += [dangling(column, target, parent) for (column,), target, (parent,) in foreign_keys(table, schema)]
    return names + ([UNMATCHED_RECORD] if table == "citations" else [])


def expectations(table: str, schemas: dict, knobs: dict, curated: list[str]) -> list:
    import great_expectations as gx

    E = gx.expectations
    schema, out = schemas[table], []

    def add(expectation, guard: str, why: str) -> None:
        expectation.meta = {"guard": guard, "why": why}
        expectation.severity = "critical" if guard == CORRECTNESS else "info"  # how GX 1.x says it (see gxdocs)
        out.append(expectation)

    names = [f["name"] for f in schema["fields"]]
    add(E.ExpectTableColumnsToMatchSet(column_set=names + added_columns(table, schema), exact_match=True),
        CORRECTNESS, "the columns are exactly those of the Table Schema (and the derived ones)")
    for field in schema["fields"]:
        name, constraints = field["name"], field.get("constraints", {})
        if is_required(field):
            add(E.ExpectColumnValuesToNotBeNull(column=name), CORRECTNESS, "schema: required")
        if constraints.get("unique"):
            add(E.ExpectColumnValuesToBeUnique(column=name), CORRECTNESS, "schema: unique")
        if engine_types(field).published:
            add(E.ExpectColumnValuesToMatchRegex(column=name, regex=f"^(?:{engine_types(field).published})$"),
                CORRECTNESS, f"schema: type {field['type']}")
        if "enum" in constraints:
            add(E.ExpectColumnValuesToBeInSet(column=name, value_set=constraints["enum"]), CORRECTNESS, "schema: enum")
        if "pattern" in constraints:
            add(E.ExpectColumnValuesToMatchRegex(column=name, regex=f"^(?:{constraints['pattern']})$"), CORRECTNESS,
                "schema: pattern")
        if engine_types(field).numeric and ({"minimum", "maximum"} & set(constraints)):
            add(E.ExpectColumnValuesToBeBetween(column=numeric(name), min_value=constraints.get("minimum"),
                                                max_value=constraints.get("maximum")), CORRECTNESS,
                "schema: minimum/maximum")
    key = primary_key(schema)
    if len(key) > 1:
        add(E.ExpectCompoundColumnsToBeUnique(column_list=key), CORRECTNESS, "schema: primary key")
    for (column,), target, (parent,) in foreign_keys(table, schema):
        add(E.ExpectColumnValuesToBeNull(column=dangling(column, target, parent)), CORRECTNESS,
            f"schema: foreign key → {target}.{parent} (the column holds values that match no {target} row)")
    if table == "citations":
        add(E.ExpectColumnValuesToBeNull(column=UNMATCHED_RECORD), CORRECTNESS,
            "every record_id cited exists in its resource (the column holds those that do not)")
        add(E.ExpectColumnPairValuesAToBeGreaterThanB(column_A=numeric("char_end"), column_B=numeric("char_start")),
            CORRECTNESS, "a quote ends after it starts")
    if table in curated:
        add(E.ExpectTableRowCountToBeBetween(min_value=1), CORRECTNESS, "a curated table is never empty")
    if table in knobs["row_count"]:
        low, high = knobs["row_count"][table]
        add(E.ExpectTableRowCountToBeBetween(min_value=low, max_value=high), DESCRIPTION, "expected coverage")
    for date_name, precision_name in precision_of(schema).items():
        add(E.ExpectColumnValuesToBeInSet(column=precision_name, value_set=["day"],
                                          mostly=knobs["min_day_precision_share"]),
            DESCRIPTION, f"share of {date_name} known to the day")
    for name, share in knobs["completeness"].get(table, {}).items():
        add(E.ExpectColumnValuesToNotBeNull(column=name, mostly=share), DESCRIPTION, f"completeness of {name}")
    return out


def summarize(table: str, result) -> dict:
    config = result.expectation_config
    detail = result.result or {}
    observed = detail.get("observed_value")
    if observed is None and detail.get("unexpected_percent") is not None:
        observed = f"{detail.get('unexpected_count', 0)} unexpected ({detail['unexpected_percent']:.1f}%)"
    unexpected = [str(v) for v in (detail.get("partial_unexpected_list") or [])[:5]]
    return {
        "table": table, "expectation": config.type, "column": config.kwargs.get("column"),
        "guard": config.meta.get("guard"), "why": config.meta.get("why"), "success": bool(result.success),
        "observed": None if observed is None else str(observed),
        "detail": ", ".join(filter(None, [None if observed is None else f"observed {observed}",
                                           f"e.g. {unexpected}" if unexpected else None])) or "no detail",
    }


def main(argv: list[str] | None = None) -> None:
    stage_arguments("quality", __doc__).parse_args(argv)
    run_stage("quality", lambda: run(load_config()))


if __name__ == "__main__":
    main()
