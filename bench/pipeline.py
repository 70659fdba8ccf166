"""Benchmark: wall time and peak memory of every pipeline stage on a copy of this repository.

Prints one line per stage, and the same for a synthetic load (the records repeated N times) so that a
change that makes a stage quadratic shows up. Usage: python bench/pipeline.py [--scale N]
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from conftest import STAGES, copy_project, env  # noqa: E402


_MEASURED = ("import resource, runpy, sys\n"
             "try:\n    runpy.run_module(sys.argv[1], run_name='__main__')\n"
             "finally:\n    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n")


def run_stage(project: Path, stage: str) -> tuple[float, float]:
    """Wall seconds and the stage process's own peak resident memory in MiB."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", _MEASURED, f"pipelines.{stage}"], cwd=project, env=env(),
                            capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"stage {stage} failed:\n{result.stderr}")
    return seconds, int(result.stderr.strip().splitlines()[-1]) / 1024  # ru_maxrss is in KiB on Linux


REFERENCES = ("org_id", "court_org_id", "perpetrator_org_id", "programme_id", "amends_law_id")
RENAMED = ("name", "title", "city")


def scale_records(project: Path, factor: int) -> int:
    """Repeat every curated record `factor` times as distinct things: new ids, names and references."""
    total = 0
    for path in (project / "records").glob("*.yaml"):
        records = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        grown = list(records)
        for copy in range(1, factor):
            for record in records:
                clone = {k: (f"{v}-x{copy}" if k in REFERENCES and v else v) for k, v in record.items()}
                key = next(iter(record))
                clone[key] = f"{record[key]}-x{copy}"
                clone.update({k: f"{record[k]} ({copy})" for k in RENAMED if record.get(k)})
                if record.get("aliases"):
                    clone["aliases"] = [f"{a} ({copy})" for a in record["aliases"]]
                grown.append(clone)
        total += len(grown)
        path.write_text(yaml.safe_dump(grown, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return total


def bench(label: str, project: Path) -> None:
    print(f"\n{label}")
    print(f"{'stage':<10} {'seconds':>8} {'peak MiB':>9}")
    total = 0.0
    for stage in STAGES:
        seconds, peak = run_stage(project, stage)
        total += seconds
        print(f"{stage:<10} {seconds:8.2f} {peak:9.0f}")
    print(f"{'total':<10} {total:8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=10, help="repeat the records this many times for the load run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        project = copy_project(Path(temp) / "real")
        bench(f"real records ({sum(len(yaml.safe_load(p.read_text()) or []) for p in (project / 'records').glob('*.yaml'))} records)", project)
        loaded = copy_project(Path(temp) / "scaled")
        count = scale_records(loaded, args.scale)
        bench(f"records x{args.scale} ({count} records)", loaded)
        shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    main()
