"""`make bench`: run the seven benchmarks and write their report.

    .venv-airflow/bin/python bench/report.py [--out var/bench/RESULTS.md] [--quick]

Runs bench/dag_parse.py, bench/end_to_end.py, bench/scale_curve.py, bench/view_pages.py,
bench/module_file_overhead.py, bench/openlineage_overhead.py and bench/load.py one after
another (each prints ratios against a baseline it measures in the same run), shows their
output as it comes, and writes it into one Markdown report with the machine it ran on.
``--quick`` stops the scale curve at 100k rows (about 10 minutes instead of 30 here) and runs
the load benchmark small (2 DAGs x 2 runs, about 9 minutes here, instead of 7 x 3: 22).
bench/RESULTS.md is the committed, commented copy of such a report.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = (
    ("1. DAG parse", "dag_parse.py", []),
    ("2. End to end against LocalDagRunner", "end_to_end.py", []),
    ("3. Beam scale curve", "scale_curve.py", []),
    ("4. TFX view queries", "view_pages.py", []),
    ("5. module_file= against dotted paths", "module_file_overhead.py", []),
    ("6. OpenLineage per task", "openlineage_overhead.py", []),
    ("7. Load on a Celery deployment", "load.py", []),
)
QUICK_LOAD = ["--dags", "penguin_keras_raw,penguin_estimator", "--runs-per-dag", "2"]


def run(script: str, args: list[str]) -> tuple[str, float]:
    """The benchmark's output (also shown as it comes) and its wall seconds."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(PROJECT_ROOT / "bench" / script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    if process.wait() != 0:
        raise SystemExit(f"bench/{script} failed (exit {process.returncode})")
    return "".join(lines), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "var" / "bench" / "RESULTS.md")
    parser.add_argument(
        "--quick", action="store_true", help="scale curve up to 100k rows, the load small"
    )
    args = parser.parse_args()
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    sections = [
        "# Benchmark report\n",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}: "
        f"{os.cpu_count()} cores, {memory_gib:.0f} GiB, Python {platform.python_version()}. "
        "Ratios are against baselines measured in the same run.\n",
    ]
    for title, script, extra in BENCHMARKS:
        script_args = list(extra)
        if args.quick and script == "scale_curve.py":
            script_args += ["--rows", "10000", "100000"]
        if args.quick and script == "load.py":
            script_args += QUICK_LOAD
        print(f"\n== {title} (bench/{script})", flush=True)
        output, seconds = run(script, script_args)
        sections.append(f"## {title} (`bench/{script}`, {seconds:.0f} s)\n\n```\n{output}```\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(sections))
    print(f"\nReport: {args.out}")


if __name__ == "__main__":
    main()
