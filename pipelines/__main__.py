"""The project's command line: `python -m pipelines <command> [options]`; `<command> --help` tells each one's usage.

Each command is the `main` of a module (or of bench/pipeline.py), given the arguments after the command's name.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .core.errors import EXIT_CODES, BuildError

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench" / "pipeline.py"


@dataclass(frozen=True)
class Command:
    module: str  # a module name, or a script's path
    function: str = "main"  # called with the arguments that follow the command's name
    leading: tuple[str, ...] = ()  # arguments put before them
    summary: str | None = None  # its line in the list; the function's or module's docstring by default


# The module is imported only when its command runs.
COMMANDS = {
    "build": Command("pipelines.commands.repro", "build"),
    "check": Command("pipelines.commands.repro", "check"),
    "coverage": Command("pipelines.stages.coverage"),
    "add-source": Command("pipelines.commands.add_source"),
    "diff": Command("pipelines.commands.diff"),
    "publish": Command("pipelines.commands.publish"),
    "portal": Command("pipelines.commands.portal",
                      summary="serve the published package in a local data portal (Datasette) on 127.0.0.1"),
    "release": Command("pipelines.commands.release"),
    "docs": Command("pipelines.stages.docs"),
    "bench": Command(str(BENCH), summary="print speed and memory figures of the pipeline (several minutes)"),
}


def source_of(module: str) -> Path | None:
    if module.endswith(".py"):
        return Path(module) if Path(module).exists() else None
    spec = importlib.util.find_spec(module)
    return Path(spec.origin) if spec and spec.origin else None


def summary_of(source: Path, function: str) -> str:
    """The first line of the function's docstring, or of its module's, read without importing the module."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    node = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function), None)
    doc = (ast.get_docstring(node) if node is not None else None) or ast.get_docstring(tree) or ""
    return re.sub(r"^(Command [\w-]+|Command|Stage \w+): ", "", doc.strip().split("\n")[0])


def load(module: str, function: str):
    if module.endswith(".py"):
        spec = importlib.util.spec_from_file_location(Path(module).stem, module)
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
    else:
        loaded = importlib.import_module(module)
    return getattr(loaded, function)


def main(argv: list[str] | None = None) -> int:
    available = {name: (command, source) for name, command in COMMANDS.items()
                 if (source := source_of(command.module)) is not None}
    parser = argparse.ArgumentParser(prog="python -m pipelines", description=__doc__, epilog=EXIT_CODES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="<command>", required=True)
    for name, (command, source) in available.items():
        # The command's own parser reads its options, --help included: they are passed on untouched.
        commands.add_parser(name, help=command.summary or summary_of(source, command.function), add_help=False)
    args, rest = parser.parse_known_args(argv)
    command, _ = available[args.command]
    try:
        status = load(command.module, command.function)([*command.leading, *rest])
    except BuildError as error:  # raised before a command's own handling starts, by load_config for one
        print(error.report(), file=sys.stderr)
        return 1
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
