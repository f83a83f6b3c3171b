"""Benchmark 5: a ``module_file=`` pipeline's tasks against the same pipeline by dotted path.

    .venv-airflow/bin/python bench/module_file_overhead.py [--repeats 3]

One user module (modules/penguin: preprocessing_fn, keras_raw.run_fn), named two ways in one
pipeline (bench/user_code_pipeline.py): by dotted path, and as ``module_file=``, which the
compile packages into wheels under the pipeline root as TFX's runners do. Both run as
Airflow DAG runs (``airflow dags test``, SQLite) in the same home, alternating, with the node
server warm, caching off. Per user-code task (Transform, Trainer): its wall time in Airflow,
the node's launch and executor times (printed by the node runner), and the overhead (task
minus launch). The ratio module_file / dotted of the user-code tasks' wall time is the
per-task cost of ``module_file=``; the cost of getting the wheel ready is shown beside it:
TFX's own ``pip install --target`` of the wheel against the unpacking the node does instead.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT_ROOT)]

from dev import local_airflow  # noqa: E402
from tfx_dags.common import settings  # noqa: E402
from tfx_dags.node_server import client as node_client  # noqa: E402

STYLES = ("dotted", "module_file")
USER_CODE_NODES = ("Transform", "Trainer")
TIMINGS = re.compile(r"node (\S+) timings: launch ([\d.]+) s, executor ([\d.]+) s")
DAG_FILE = '''"""Airflow DAGs: one user module by dotted path and as module_file=."""
from tfx_dags.airflow.factory import pipeline_dag

for style in {styles!r}:
    globals()[style] = pipeline_dag(
        dag_id=f"overhead_{{style}}",
        pipeline="{pipeline}:create_pipeline",
        pipeline_kwargs={{"data_root": "{data}", "style": style, "train_steps": 100}},
        owner="bench", retries=0,
    )
'''
WHEEL_CHECK = """
import json, sys, tempfile, time
from tfx.components.util import udf_utils
from tfx_dags.tfx_process import user_code
wheel = sys.argv[1]
start = time.perf_counter(); udf_utils.install_to_temp_directory(wheel, tempfile.mkdtemp())
pip_s = time.perf_counter() - start
user_code.use_fast_wheel_install()
start = time.perf_counter(); udf_utils.install_to_temp_directory(wheel, tempfile.mkdtemp())
print(json.dumps({"pip_s": pip_s, "unpack_s": time.perf_counter() - start}))
"""


def task_times(log: str) -> dict[str, dict[str, float]]:
    """Per task: wall (Airflow), launch and executor (node runner) seconds."""
    starts: dict[str, float] = {}
    times: dict[str, dict[str, float]] = {}
    for line in log.splitlines():
        if "[DAG TEST] starting task_id=" in line or "[DAG TEST] end task task_id=" in line:
            stamp = datetime.fromisoformat(line.split()[0].replace("Z", "+00:00")).timestamp()
            task = line.split("task_id=")[1].split()[0]
            if "starting" in line:
                starts[task] = stamp
            else:
                times.setdefault(task, {})["wall_s"] = stamp - starts[task]
    for match in TIMINGS.finditer(log):
        times.setdefault(match[1], {}).update(launch_s=float(match[2]), executor_s=float(match[3]))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-module-file-"))
    dags = home / "dags"
    dags.mkdir()
    (dags / "overhead.py").write_text(
        DAG_FILE.format(
            styles=STYLES,
            pipeline=PROJECT_ROOT / "bench" / "user_code_pipeline.py",
            data=PROJECT_ROOT / "data" / "penguin",
        )
    )
    env = {
        **local_airflow.environment(home, dags_folder=dags),
        "TFX_DAGS_NODE_SERVER_DIR": str(home / "node-server"),
    }
    os.environ.update(env)
    local_airflow.init_db(env, log=home / "logs" / "db-migrate.log")
    node_client.connect_server(settings.tfx_python(), env=env).close()  # a warm worker
    runs: dict[str, list[dict[str, dict[str, float]]]] = {style: [] for style in STYLES}
    try:
        for repeat in range(args.repeats):
            order = STYLES if repeat % 2 == 0 else tuple(reversed(STYLES))
            for style in order:
                log = home / "logs" / f"{style}-{repeat}.log"
                if local_airflow.run_dag(env, f"overhead_{style}", log=log) != 0:
                    raise SystemExit(f"the {style} run failed; see {log}")
                runs[style].append(task_times(log.read_text()))
        wheels = sorted((home / "pipelines" / "overhead_module_file" / "_wheels").glob("*.whl"))
        wheel = json.loads(
            subprocess.run(
                [str(settings.tfx_python()), "-c", WHEEL_CHECK, str(wheels[0])],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.splitlines()[-1]
        )
    finally:
        node_client.stop_servers()
    report(runs, wheel, args.repeats)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(
    runs: dict[str, list[dict[str, dict[str, float]]]], wheel: dict[str, float], repeats: int
) -> None:
    print(f"Median of {repeats} runs per style, node server warm, seconds.")
    print(f"{'task':<12}{'style':<13}{'wall':>8}{'launch':>8}{'executor':>10}{'overhead':>10}")
    walls = {style: 0.0 for style in STYLES}
    for node in USER_CODE_NODES:
        for style in STYLES:
            samples = [run[node] for run in runs[style]]
            wall = median([sample["wall_s"] for sample in samples])
            launch = median([sample["launch_s"] for sample in samples])
            executor = median([sample["executor_s"] for sample in samples])
            walls[style] += wall
            print(
                f"{node:<12}{style:<13}{wall:>8.2f}{launch:>8.2f}{executor:>10.2f}"
                f"{wall - launch:>10.2f}"
            )
    ratio = walls["module_file"] / walls["dotted"]
    print(f"User-code tasks' wall time, module_file / dotted: {ratio:.2f}x")
    print(
        f"Getting the module's wheel ready in a node: TFX's pip install {wheel['pip_s']:.2f} s, "
        f"unpacked {wheel['unpack_s'] * 1000:.1f} ms ({wheel['unpack_s'] / wheel['pip_s']:.3f}x)"
    )


if __name__ == "__main__":
    main()
