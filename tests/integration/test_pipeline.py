"""The real pipeline, run by DVC on a copy of this repository: rebuild, no-op, one record changed, loading.

It is run as `make build` and `make check` run it (`python -m pipelines build|check`): DVC's lines naming the
stages, no advice about git or DVC remotes, a closing summary, and on failure every file as it was and exit 1.
"""
from __future__ import annotations

import ast
import datetime
import json
import re
import shutil
import subprocess
from pathlib import Path

import frictionless
import pytest
import yaml
from conftest import ROOT, command, copy_project, dvc, env, snapshot, tree

from pipelines.core.config import load_config


def ran(result) -> set[str]:
    return set(re.findall(r"Running stage '([\w-]+)'", result.stdout))


def summarized(result, *lines: str) -> None:
    """The run ended with a summary holding `lines`, and without DVC's advice on git and remotes."""
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "git add" not in output and "dvc push" not in output and "autostage" not in output, output
    for line in lines:
        assert line in result.stdout, f"{line!r} not in:\n{result.stdout}"


@pytest.fixture
def project(real_built, tmp_path) -> Path:
    """A private copy of the built repository copy (conftest's real_built), free to edit and rebuild."""
    return Path(shutil.copytree(real_built[0], tmp_path / "project", symlinks=True))


def test_fresh_copy_rebuilds_exactly_the_committed_outputs(real_built):
    project, committed, result = real_built  # the copy's published outputs before its build, and the build's run
    tables = len(load_config(project).all_tables)
    summarized(result, "build done in", f"{tables} tables", "Changes since the last build:\n  none\n",
               "reports/index.html", "make portal")
    assert "Running stage 'ingest'" in result.stdout
    assert snapshot(project) == committed, "the committed data/ and datapackage.json are not what the pipeline builds"


def test_second_repro_does_nothing(project):
    result = command(project, "build")
    summarized(result, "Changes since the last build:\n  none\n")
    assert ran(result) == set(), result.stdout
    assert dvc(project, "status").stdout.strip().endswith("Data and pipelines are up to date.")


def test_one_changed_record_reruns_only_what_depends_on_it(project):
    path = project / "records" / "attacks.yaml"
    records = yaml.safe_load(path.read_text(encoding="utf-8"))
    records[0]["summary"] = records[0]["summary"] + " (edited)"
    path.write_text(yaml.safe_dump(records, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = command(project, "build")
    summarized(result, "Changes since the last build:\n  attacks: 0 added, 1 changed, 0 removed\n")
    # citation reads only the package metadata: a record edit does not rerun it
    assert ran(result) == {"cite", "tables", "validate", "quality", "package", "conformance", "coverage",
                           "report", "database", "docs"}, result.stdout
    published = (project / "data" / "attacks.csv").read_text(encoding="utf-8")
    assert "(edited)" in published
    assert ran(dvc(project, "repro")) == set()


def test_checks_between_edits_run_up_to_validate_and_coverage_and_publish_nothing(project):
    before, path = snapshot(project), project / "records" / "attacks.yaml"
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace("summary: ", "summary: Checked, ", 1), encoding="utf-8")
    result = command(project, "check")
    summarized(result, "nothing published",
               "Differences from the last build:\n  attacks: 0 added, 1 changed, 0 removed\n")
    # coverage reruns only when the citations changed (this edit keeps every quote and line)
    assert {"cite", "tables", "validate"} <= ran(result) <= {"cite", "tables", "validate", "coverage"}, result.stdout
    assert snapshot(project) == before
    path.write_text(original.replace("quote: ", "quote: Not in the source ", 1), encoding="utf-8")
    result = command(project, "check")
    assert result.returncode == 1 and "records/attacks.yaml:" in result.stderr
    assert snapshot(project) == before
    path.write_text(original, encoding="utf-8")


def test_a_failed_check_leaves_every_file_as_it_was_where_dvc_alone_rewrites_dvc_lock(project):
    # A code edit reruns ingest, which succeeds: DVC records it in dvc.lock before cite fails on the broken quote.
    edited = {project / "pipelines" / "core" / "textnorm.py": "\n# an edit that changes nothing\n",
              project / "records" / "attacks.yaml": None}
    originals = {path: path.read_text(encoding="utf-8") for path in edited}
    for path in edited:
        path.write_text(originals[path] + edited[path] if edited[path] else
                        originals[path].replace("quote: ", "quote: Not in the source ", 1), encoding="utf-8")
    before = tree(project)
    result = command(project, "check")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Running stage 'ingest'" in result.stdout and "records/attacks.yaml:" in result.stderr
    assert "Traceback" not in result.stderr and "check failed" in result.stderr
    assert tree(project) == before, "a failed check changed files"

    for name in ("Makefile", "requirements.lock"):  # `make check` in the copy, with this checkout's environment
        shutil.copy2(ROOT / name, project / name)
    (project / ".venv").symlink_to(ROOT / ".venv")
    before = tree(project)
    result = subprocess.run(["make", "--no-print-directory", "check"], cwd=project, env=env(), capture_output=True,
                            text=True)
    # GNU make exits 2 whatever status a recipe failed with, and names that status: 1.
    assert result.returncode == 2 and "check] Error 1" in result.stderr, result.stdout + result.stderr
    assert tree(project) == before, "a failed `make check` changed files"

    lock = (project / "dvc.lock").read_bytes()
    assert dvc(project, "repro", "validate").returncode != 0
    assert (project / "dvc.lock").read_bytes() != lock, "DVC alone no longer rewrites dvc.lock on failure"
    for path, text in originals.items():
        path.write_text(text, encoding="utf-8")


def test_failed_repro_leaves_published_files_untouched(project):
    before = snapshot(project)
    path = project / "records" / "laws.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("act_type: law\n", "act_type: statute\n", 1),
                    encoding="utf-8")
    files = tree(project)
    result = command(project, "build")
    assert result.returncode == 1
    assert "act_type" in result.stderr and "statute" in result.stderr
    assert snapshot(project) == before and tree(project) == files


def test_every_table_loads_in_one_line_with_frictionless():
    package = frictionless.Package(str(ROOT / "datapackage.json"))
    assert package.version == yaml.safe_load((ROOT / "params.yaml").read_text())["package"]["version"]
    for resource in package.resources:
        if resource.type != "table":  # the annotations: one JSON-LD document
            assert json.loads(resource.read_text())["type"] == "AnnotationCollection", resource.name
            continue
        rows = package.get_resource(resource.name).read_rows()
        assert rows, resource.name
    attacks = package.get_resource("attacks").read_rows()
    assert all(isinstance(r["killed"], (int, type(None))) for r in attacks)
    assert any(isinstance(r["date"], datetime.date) for r in attacks)


def test_the_published_package_is_valid_with_foreign_keys():
    report = frictionless.Package(str(ROOT / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "message"])


def test_descriptor_metadata_and_integrity():
    descriptor = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
    for key in ("name", "title", "description", "version", "licenses", "sources", "contributors", "keywords",
                "created"):
        assert descriptor.get(key), key
    assert re.fullmatch(r"\d+\.\d+\.\d+", descriptor["version"])
    assert descriptor["licenses"][0]["name"] == "CC-BY-4.0"
    for resource in descriptor["resources"]:
        if resource.get("type") == "table":
            assert resource["schema"] == f"schemas/{resource['name']}.schema.json"
        assert resource["bytes"] == (ROOT / resource["path"]).stat().st_size
        assert resource["hash"].startswith("sha256:")


def imported_modules(module: Path, root: Path = ROOT) -> set[Path]:
    """The project's modules that `module` imports, in every form (`from . import x`, `from ..core.x import y`,
    `import pipelines.core.x`, imports inside functions), followed through them. Fails on an import of the
    project that names no module file, so that nothing goes unchecked."""
    found, todo = set(), [module]
    while todo:
        current = todo.pop()
        if current in found:
            continue
        found.add(current)
        package = current.relative_to(root).parent.parts  # ("pipelines", "stages")
        for node in ast.walk(ast.parse(current.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] == "pipelines"):
                base = (*package[:len(package) - node.level + 1], *(node.module or "").split(".")) if node.level \
                    else tuple(node.module.split("."))
                base = tuple(part for part in base if part)
                targets = [base] if root.joinpath(*base).with_suffix(".py").is_file() \
                    else [(*base, alias.name) for alias in node.names]  # a package: each name is a module of it
            elif isinstance(node, ast.Import):
                targets = [tuple(a.name.split(".")) for a in node.names if a.name.split(".")[0] == "pipelines"]
            else:
                continue
            for parts in targets:
                path = root.joinpath(*parts)
                if path.with_suffix(".py").is_file():
                    todo.append(path.with_suffix(".py"))
                elif not (path / "__init__.py").is_file():
                    raise AssertionError(f"{current.relative_to(root)}:{node.lineno} imports {'.'.join(parts)}, "
                                         "which is no module of the project")
    return {path for path in found if path.name != "__init__.py"}


def test_each_stage_depends_on_the_modules_it_imports():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    for name, stage in stages.items():
        assert stage["cmd"] == f"python -m pipelines.stages.{name}"
        module = ROOT / "pipelines" / "stages" / f"{name}.py"
        assert module.is_file(), f"stage {name} has no module {module.relative_to(ROOT)}"
        needed = {path.relative_to(ROOT).as_posix() for path in imported_modules(module)}
        assert needed <= set(stage["deps"]), f"stage {name} misses {sorted(needed - set(stage['deps']))}"
        listed = {dep for dep in stage["deps"] if dep.startswith("pipelines/") and dep.endswith(".py")}
        assert listed <= needed, f"stage {name} lists modules it does not import: {sorted(listed - needed)}"
        used = {key for path in needed for key in re.findall(r'config\.path\("(\w+)"\)', (ROOT / path).read_text())}
        declared = {p.removeprefix("paths.") for p in stage["params"] if isinstance(p, str) and p.startswith("paths.")}
        assert used <= declared, f"stage {name} reads paths {sorted(used - declared)} not in its params"


def params_read(text: str, owner: str = "config") -> set[str]:
    """The params keys ("validate", "records.max_file_bytes") a module's text reads as owner.params[...][...]."""
    found = re.findall(rf'{owner}\.params\[["\'](\w+)["\']\](?:\[["\'](\w+)["\']\])?', text)
    return {".".join(part for part in key if part) for key in found}


def test_each_stage_declares_the_params_it_reads():
    """Read directly (config.params[...]) or through a property of Config (config.max_file_bytes), in the stage's
    module or any module it imports; a stage that declares a whole group (validate) or part of one (package.version)
    counts as declaring what it reads of it."""
    source = (ROOT / "pipelines" / "core" / "config.py").read_text(encoding="utf-8")
    properties = {node.name: params_read(ast.get_source_segment(source, node), "self")
                  for node in ast.walk(ast.parse(source)) if isinstance(node, ast.FunctionDef)
                  and any(isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list)}
    assert properties["max_file_bytes"] == {"records.max_file_bytes"}
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    for name, stage in stages.items():
        used = set()
        for path in imported_modules(ROOT / "pipelines" / "stages" / f"{name}.py"):
            text = path.read_text(encoding="utf-8")
            used |= params_read(text)
            used |= {key for prop, keys in properties.items() if re.search(rf"config\.{prop}\b", text) for key in keys}
        declared = [p for p in stage["params"] if isinstance(p, str)]
        missing = {key for key in used
                   if not any(d == key or key.startswith(d + ".") or d.startswith(key + ".") for d in declared)}
        assert not missing, f"stage {name} reads params {sorted(missing)} not in its params"


def test_the_import_follower_sees_every_form_of_import(tmp_path):
    """`from ..core import x` and imports inside functions count; an import of a missing module fails."""
    stages = ROOT / "pipelines" / "stages"
    found = {p.relative_to(ROOT).as_posix() for p in imported_modules(stages / "tables.py")}
    assert "pipelines/core/geocode.py" in found  # `from ..core import geocode`
    found = {p.relative_to(ROOT).as_posix() for p in imported_modules(stages / "quality.py")}
    assert "pipelines/core/gxdocs.py" in found  # imported inside a function
    shutil.copytree(ROOT / "pipelines", tmp_path / "pipelines", ignore=shutil.ignore_patterns("__pycache__"))
    for line in ("from ..core import no_such_module", "from ..no_such_package.x import y",
                 "import pipelines.core.nothing"):
        broken = tmp_path / "pipelines" / "stages" / "broken.py"
        broken.write_text(f"def f():\n    {line}\n", encoding="utf-8")
        with pytest.raises(AssertionError, match="no module of the project"):
            imported_modules(broken, tmp_path)


def test_every_citation_quote_is_at_its_offsets_in_the_normalized_source():
    from pipelines.core.textnorm import normalize

    citations = frictionless.Resource(str(ROOT / "data" / "citations.csv")).read_rows()
    texts = {p.stem: normalize(p.read_text(encoding="utf-8")) for p in (ROOT / "sources").glob("*.txt")}
    for row in citations:
        assert texts[row["source_id"]][row["char_start"]:row["char_end"]] == row["quote"]


def test_the_data_dictionary_defines_each_value_of_every_category_column_on_its_row():
    from pipelines.core.config import load_config
    from pipelines.core.schemas import codebooks, load_schema

    config = load_config(ROOT)
    dictionary = config.path("data_dictionary").read_text(encoding="utf-8")
    books = {(table, name): book for table in config.curated_tables
             for name, book in codebooks(load_schema(config.path("schemas_dir"), table)).items()}
    assert len(books) == 9
    for (table, name), book in books.items():
        section = dictionary.split(f"## `{table}`")[1].split("\n## ")[0]
        (row,) = [line for line in section.splitlines() if line.startswith(f"| `{name}` |")]
        for value, entry in book.items():
            assert f"`{value}`: {entry['definition']}" in row, (table, name, value)


def test_the_data_dictionary_and_the_readme_table_of_tables_are_generated_from_the_current_package():
    from pipelines.core.config import load_config
    from pipelines.stages.docs import documents

    config = load_config(ROOT)
    for path, text in documents(config).items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name}: run `make docs`"

def test_the_docs_stage_refuses_a_document_without_its_markers(tmp_path):
    """A README whose generated part lost its marker lines is named, not rewritten, and not a traceback."""
    from pipelines.core.config import load_config
    from pipelines.core.errors import BuildError
    from pipelines.stages.docs import SOURCES_END, documents

    project = copy_project(tmp_path / "project")
    readme = project / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8").replace(SOURCES_END, ""), encoding="utf-8")
    with pytest.raises(BuildError) as refused:
        documents(load_config(project))
    assert [str(p).split(":")[0] for p in refused.value.problems] == ["README.md"]
    assert "sources:start" in str(refused.value.problems[0])


def test_dvc_lock_records_only_the_stages_of_dvc_yaml():
    """DVC keeps the lock entry of a stage removed or renamed in dvc.yaml, and parses and rewrites the whole lock after
    every stage it runs: a stale entry only slows each rebuild. Delete it from dvc.lock."""
    stages = set(yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"])
    locked = set(yaml.safe_load((ROOT / "dvc.lock").read_text(encoding="utf-8"))["stages"])
    assert locked <= stages, f"dvc.lock holds stages dvc.yaml no longer has: {sorted(locked - stages)}"
