"""Problems a person can act on: where (file, table, record, field), what was expected, what was found."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass

MAX_MESSAGE = 1500


def shown(value, limit: int = 80, quote: bool = True) -> str:
    """A value as it may be quoted back in a message: repr'd, and cut to `limit` characters with its length."""
    text = repr(value) if quote else str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(str(value)):,} characters)"


@dataclass(frozen=True)
class Problem:
    where: str  # a file path or a table name
    record: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        parts = [self.where]
        if self.record is not None:
            parts.append(f"record {shown(self.record)}")
        if self.field is not None:
            parts.append(f"field {shown(self.field)}")
        return ": ".join([", ".join(parts), shown(self.message, MAX_MESSAGE, quote=False)])

    def as_dict(self) -> dict:
        return asdict(self)


class BuildError(Exception):
    """Raised with every problem found, so that one run reports them all."""

    def __init__(self, stage: str, problems: list[Problem]):
        self.stage = stage
        self.problems = problems
        super().__init__(f"{stage}: {len(problems)} problem(s)")

    def report(self) -> str:
        lines = [f"{self.stage} failed with {len(self.problems)} problem(s):"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class Problems(list):
    """A list of Problem with a shorthand to add one and to raise them all at once."""

    def add(self, where: str, record: str | None, field: str | None, message: str) -> None:
        self.append(Problem(str(where), record, field, message))

    def raise_if_any(self, stage: str) -> None:
        if self:
            raise BuildError(stage, list(self))


# What every command's exit status means; shown at the end of each command's --help.
EXIT_CODES = """exit status:
  0  done
  1  the data has problems: each is printed with its file, record and field; no good output is replaced
  2  usage: an unknown option or a missing argument"""


def command_arguments(prog: str, doc: str) -> argparse.ArgumentParser:
    """The command line of a command, to parse before any work: its docstring as --help, the exit statuses below
    it. A command that takes options adds them to the parser."""
    return argparse.ArgumentParser(prog=prog, description=doc, epilog=EXIT_CODES,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def stage_arguments(stage: str, doc: str) -> argparse.ArgumentParser:
    return command_arguments(f"python -m pipelines.stages.{stage}", doc)


def run_stage(stage: str, run: Callable[[], None]) -> None:
    """Command-line entry of a stage: run it; on problems print them all and exit 1."""
    try:
        run()
    except BuildError as error:
        print(error.report(), file=sys.stderr)
        sys.exit(1)
