"""Benchmark 3: Transform and Evaluator on generated taxi data as the rows grow.

    .venv-airflow/bin/python bench/scale_curve.py [--rows 10000 100000 1000000]
                                                  [--modes in_memory multi_processing]

For each size and DirectRunner mode: generate the data (data/generate_taxi.py), compile the
taxi pipeline (Keras trainer, 50 steps) with that mode, run its nodes one by one through the
node runner as tasks would, and record each node's wall time and the peak resident memory of
its whole process tree (Beam workers included, sampled every 0.2 s). Prints a table, the
growth exponent (slope of log time and log memory against log rows) per node and mode, and
the ratio of multi-processing to in-memory time at each size.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from tfx_dags.airflow.compile_cache import ensure_compiled  # noqa: E402
from tfx_dags.common import settings  # noqa: E402
from tfx_dags.common.pipeline_ref import parse_pipeline_ref  # noqa: E402

NODES = (
    "CsvExampleGen",
    "StatisticsGen",
    "ImportSchemaGen",
    "ExampleValidator",
    "Transform",
    "Trainer",
    "Evaluator",
)
MEASURED = ("Transform", "Evaluator")


def tree_rss_bytes(root: int) -> int:
    """Resident memory of a process and all its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def run_node(ir: Path, node_id: str, env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak tree memory (bytes) of one node run."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [
            str(settings.tfx_python()),
            "-m",
            "tfx_dags.runner.node",
            "--pipeline-ir",
            str(ir),
            "--node-id",
            node_id,
            "--run-id",
            "bench",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0

    def sample() -> None:
        nonlocal peak
        while process.poll() is None:
            peak = max(peak, tree_rss_bytes(process.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{node_id} failed:\n{stderr[-3000:]}")
    return time.perf_counter() - start, peak


def measure(rows: int, mode: str, scratch: Path) -> dict[str, tuple[float, int]]:
    data = scratch / f"data-{rows}"
    if not data.exists():
        data.mkdir(parents=True)
        subprocess.run(
            [
                str(settings.tfx_python()),
                str(PROJECT_ROOT / "data" / "generate_taxi.py"),
                "--rows",
                str(rows),
                "--out",
                str(data / "taxi.csv"),
            ],
            check=True,
            capture_output=True,
        )
    home = scratch / f"home-{rows}-{mode}"
    env = {**os.environ, "TFX_DAGS_HOME": str(home), "TFX_DAGS_BEAM_DIRECT_MODE": mode}
    os.environ["TFX_DAGS_BEAM_DIRECT_MODE"] = mode  # the compile step reads it
    compiled = ensure_compiled(
        cache_name=f"taxi_scale_{rows}_{mode}",
        ref=parse_pipeline_ref("modules.taxi.pipeline:create_pipeline"),
        kwargs={
            "pipeline_name": f"taxi_scale_{rows}_{mode}",
            "pipeline_root": str(home / "pipelines"),
            "data_root": str(data),
            "serving_model_dir": str(home / "serving"),
            "trainer_module": "modules.taxi.model",
            "train_steps": 50,
            "eval_steps": 5,
            "min_accuracy": 0.0,
        },
    )
    return {node: run_node(compiled.ir_path, node, env) for node in NODES}


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log y on log x: the growth exponent."""
    lx, ly = [math.log(x) for x in xs], [math.log(max(y, 1e-9)) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum(
        (a - mx) ** 2 for a in lx
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--modes", nargs="+", default=["in_memory", "multi_processing"])
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="tfx-dags-scale-"))
    results = {
        (rows, mode): measure(rows, mode, scratch) for rows in args.rows for mode in args.modes
    }
    print(f"{'node':10} {'mode':17} {'rows':>9} {'seconds':>8} {'peak MiB':>9}")
    for node in MEASURED:
        for mode in args.modes:
            for rows in args.rows:
                seconds, peak = results[(rows, mode)][node]
                print(f"{node:10} {mode:17} {rows:9d} {seconds:8.1f} {peak / 2**20:9.0f}")
    if len(args.rows) > 1:
        print("\ngrowth exponent (time ~ rows^k, memory ~ rows^m)")
        for node in MEASURED:
            for mode in args.modes:
                times = [results[(rows, mode)][node][0] for rows in args.rows]
                peaks = [results[(rows, mode)][node][1] for rows in args.rows]
                k, m = slope(args.rows, times), slope(args.rows, peaks)
                # Fixed costs (process and Beam start) dominate small sizes: the exponent
                # between the two largest sizes is closer to the asymptotic one.
                k_top, m_top = slope(args.rows[-2:], times[-2:]), slope(args.rows[-2:], peaks[-2:])
                print(
                    f"{node:10} {mode:17} k={k:.2f} m={m:.2f}   "
                    f"between the two largest: k={k_top:.2f} m={m_top:.2f}"
                )
    if len(args.modes) == 2:
        print(f"\n{args.modes[1]} / {args.modes[0]} time")
        for node in MEASURED:
            ratios = [
                results[(rows, args.modes[1])][node][0] / results[(rows, args.modes[0])][node][0]
                for rows in args.rows
            ]
            print(f"{node:10} " + "  ".join(f"{r:.2f}x" for r in ratios))


if __name__ == "__main__":
    main()
