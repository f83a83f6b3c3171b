"""Benchmark 2: the penguin pipeline as an Airflow DAG run against TFX's LocalDagRunner.

    .venv-airflow/bin/python bench/end_to_end.py

Both run the same pipeline definition (penguin_keras: Transform, Keras with MirroredStrategy
over 2 logical CPUs) on this machine in this run, each with a fresh pipeline root and ML
Metadata. The Airflow side is one real DAG run (``airflow dags test``: SQLite, tasks one after
another) after a warm-up parse, so compiling is not counted. Per task: wall time of the task
instance, time inside TFX (the ML Metadata execution, from registration to completion) and
the difference: process start, imports, reading ML Metadata.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from tfx_dags import local_airflow, settings  # noqa: E402

DAG_ID = "penguin_keras"


def executor_seconds(env: dict[str, str]) -> dict[str, float]:
    result = subprocess.run(
        [str(settings.tfx_python()), str(PROJECT_ROOT / "bench" / "mlmd_times.py"),
         "--pipeline", DAG_ID],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def airflow_run(home: Path) -> tuple[float, dict[str, float], dict[str, float]]:
    env = local_airflow.environment(home)
    local_airflow.init_db(env, log=home / "logs" / "db-migrate.log")
    local_airflow.airflow(env, "dags", "list", log=home / "logs" / "warm-up.log")
    start = time.perf_counter()
    if local_airflow.run_dag(env, DAG_ID, log=home / "logs" / "run.log") != 0:
        raise SystemExit(f"the DAG run failed; see {home / 'logs' / 'run.log'}")
    wall = time.perf_counter() - start
    [run_id] = json.loads(
        local_airflow.airflow(env, "dags", "list-runs", DAG_ID, "-o", "json").stdout
    )
    rows = json.loads(
        local_airflow.airflow(
            env, "tasks", "states-for-dag-run", DAG_ID, run_id["run_id"], "-o", "json"
        ).stdout
    )
    tasks = {
        row["task_id"]: (
            datetime.fromisoformat(row["end_date"]) - datetime.fromisoformat(row["start_date"])
        ).total_seconds()
        for row in rows
    }
    return wall, tasks, executor_seconds(env)


def local_run(home: Path) -> tuple[float, dict[str, float]]:
    result = subprocess.run(
        [str(settings.tfx_python()), str(PROJECT_ROOT / "bench" / "local_runner.py"),
         "--home", str(home)],
        capture_output=True, text=True, cwd=PROJECT_ROOT,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"LocalDagRunner failed:\n{result.stderr[-3000:]}")
    wall = json.loads(result.stdout.strip().splitlines()[-1])["wall_s"]
    env = {
        **local_airflow.environment(home),
        "TFX_DAGS_METADATA_SQLITE": str(home / "metadata.sqlite"),
    }
    return wall, executor_seconds(env)


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="tfx-dags-bench-"))
    local_wall, local_exec = local_run(scratch / "local")
    airflow_wall, tasks, airflow_exec = airflow_run(scratch / "airflow")
    print("End to end, penguin_keras, same machine, same run")
    print(f"  LocalDagRunner      {local_wall:7.1f} s")
    ratio = airflow_wall / local_wall
    print(f"  Airflow DAG run     {airflow_wall:7.1f} s  ({ratio:.2f}x LocalDagRunner)")
    header = f"{'task':32} {'task s':>7} {'in TFX s':>9} {'overhead s':>11}"
    print(f"\n{header} {'LocalDagRunner in TFX s':>24}")
    for task_id, seconds in sorted(tasks.items(), key=lambda item: -item[1]):
        inside = airflow_exec.get(task_id, 0.0)
        print(
            f"{task_id:32} {seconds:7.1f} {inside:9.1f} {seconds - inside:11.1f} "
            f"{local_exec.get(task_id, 0.0):24.1f}"
        )
    total_task = sum(tasks.values())
    total_inside = sum(airflow_exec.values())
    print(
        f"{'all tasks':32} {total_task:7.1f} {total_inside:9.1f} {total_task - total_inside:11.1f} "
        f"{sum(local_exec.values()):24.1f}"
    )


if __name__ == "__main__":
    main()
