"""Benchmark 1: DAG parse time of dags/ against a TFX-style DAG file, measured in one run.

    .venv-airflow/bin/python bench/dag_parse.py [--repeat 3]

Ours: each file of dags/ as Airflow's DagBag loads it (its per-file duration), with a warm
compile cache, in a fresh interpreter per repetition. Baseline: bench/tfx_style_dag.py (the
same penguin pipeline, TFX-style: imports TFX and builds the pipeline at parse time), timed
the same way in the TFX environment. Prints seconds per file (median) and the ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DAGS = PROJECT_ROOT / "dags"
TFX_PYTHON = PROJECT_ROOT / ".venv-tfx" / "bin" / "python"
TARGET_S = 0.2

DAGBAG_PROBE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
print(json.dumps({s.file: s.duration.total_seconds() for s in bag.dagbag_stats}))
"""
RUNPY_PROBE = """
import json, runpy, sys, time
start = time.perf_counter()
runpy.run_path(sys.argv[1])
print(json.dumps(time.perf_counter() - start))
"""


def probe(python: str, code: str, *args: str) -> object:
    result = subprocess.run(
        [python, "-c", code, *args], capture_output=True, text=True, check=True,
        cwd=PROJECT_ROOT,
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    probe(sys.executable, DAGBAG_PROBE, str(DAGS))  # warm the compile cache
    ours: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        for file, seconds in probe(sys.executable, DAGBAG_PROBE, str(DAGS)).items():  # type: ignore[union-attr]
            ours.setdefault(Path(file).name, []).append(seconds)
    tfx_style = [
        float(probe(str(TFX_PYTHON), RUNPY_PROBE, str(PROJECT_ROOT / "bench" / "tfx_style_dag.py")))  # type: ignore[arg-type]
        for _ in range(args.repeat)
    ]
    baseline = statistics.median(tfx_style)
    print(f"DAG parse, median of {args.repeat} fresh interpreters, warm compile cache")
    print(f"{'file':28} {'seconds':>8} {'TFX-style / this':>17}  under {TARGET_S} s")
    for name, times in sorted(ours.items()):
        median = statistics.median(times)
        print(f"{name:28} {median:8.3f} {baseline / median:17.0f}x  {median < TARGET_S}")
    print(f"{'tfx_style_dag.py (baseline)':28} {baseline:8.3f} {1:17.0f}x")


if __name__ == "__main__":
    main()
