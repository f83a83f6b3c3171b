"""Benchmark 1: DAG parse time of dags/ against a TFX-style DAG file, measured in one run.

    .venv-airflow/bin/python bench/dag_parse.py [--repeat 3]

Ours: each file of dags/ as Airflow's DagBag loads it (its per-file duration), with a warm
compile cache, in a fresh interpreter per repetition. Baseline: bench/tfx_style_dag.py (the
same penguin pipeline, TFX-style: imports TFX and builds the pipeline at parse time), timed
the same way in the TFX environment. Prints seconds per file (median) and the ratio.

Then the cold compile cache (a new pipeline or changed code), once each: compiles through a
node server that the first compile starts, through the then warm server, and in a fresh
interpreter per compile (TFX_DAGS_NODE_SERVER=off).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from tfx_dags.node_server import client as node_client  # noqa: E402

DAGS = PROJECT_ROOT / "dags"
TFX_PYTHON = PROJECT_ROOT / ".venv-tfx115" / "bin" / "python"
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


def probe(python: str, code: str, *args: str, env: Mapping[str, str] | None = None) -> object:
    result = subprocess.run(
        [python, "-c", code, *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
        env=None if env is None else dict(env),
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def cold_parse(**overrides: str) -> dict[str, float]:
    """Per-file parse seconds with an empty compile cache."""
    env = {
        **os.environ,
        "TFX_DAGS_COMPILED_DIR": tempfile.mkdtemp(prefix="tfx-dags-cold-"),
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "900",
        **overrides,
    }
    stats = probe(sys.executable, DAGBAG_PROBE, str(DAGS), env=env)
    return {Path(file).name: seconds for file, seconds in stats.items()}  # type: ignore[union-attr]


def report_cold_parses() -> None:
    server_dir = tempfile.mkdtemp(prefix="tfx-dags-srv-")
    try:
        cases = {
            "node server started by the first compile": cold_parse(
                TFX_DAGS_NODE_SERVER_DIR=server_dir
            ),
            "warm node server": cold_parse(TFX_DAGS_NODE_SERVER_DIR=server_dir),
            "fresh interpreter per compile": cold_parse(TFX_DAGS_NODE_SERVER="off"),
        }
    finally:
        node_client.stop_servers(Path(server_dir))
    slowest = max(sum(times.values()) for times in cases.values())
    print("\nCold compile cache, all of dags/ (7 pipelines), one fresh interpreter each")
    print(f"{'compiles':42} {'seconds':>8} {'per file':>28} {'slowest / this':>15}")
    for name, times in cases.items():
        total = sum(times.values())
        per_file = ", ".join(f"{file} {seconds:.1f}" for file, seconds in sorted(times.items()))
        print(f"{name:42} {total:8.1f} {per_file:>28} {slowest / total:14.1f}x")


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
    report_cold_parses()


if __name__ == "__main__":
    main()
