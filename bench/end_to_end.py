"""Benchmark 2: the penguin pipeline as an Airflow DAG run against TFX's LocalDagRunner.

    .venv-airflow/bin/python bench/end_to_end.py [--beam-mode auto] [--local-only]

Both run the same pipeline definition (penguin_keras: Transform, Keras with MirroredStrategy
over 2 logical CPUs) on this machine in this run, each with a fresh pipeline root and a fresh
ML Metadata database on MariaDB. Every row names its TFX line: the DAG runs on the one
dags/penguin.py gives it (``tfx116``, TFX 1.16), and so does the baseline.

- LocalDagRunner: one interpreter of a TFX environment, with the environment's declared
  variables (``TF_USE_LEGACY_KERAS=1`` for tfx116), runs the nodes one after another (its
  wall time includes its interpreter start and imports), once with Beam ``in_memory`` and
  once ``multi_processing`` (a worker per core). The baseline is the faster of the two on
  the DAG's line, what a user who tried both would pick. The other declared lines (tfx115,
  TFX 1.15) run the same way, for a line against line comparison and for continuity with
  earlier reports; ``--local-only`` runs these alone, without Airflow.
- Airflow, with the product's default Beam mode (``auto``: each Beam-backed node picks its
  DirectRunner mode by its input rows, and its task log says which and why): a real
  deployment (api-server, scheduler, dag-processor, LocalExecutor on
  PostgreSQL), one run triggered through the REST API, from the trigger to the run's end.
  Independent branches run in parallel; each task forks its node (and the node its Beam SDK
  workers) from the worker's node server, which is started (and its start timed) before the
  run, as on a worker that has served runs before.
- Airflow again with the scheduler's idle sleep shortened (``--scheduler-idle-sleep``,
  default 0.2 s; Airflow's is 1 s, so a task's successor waits about 0.5 s for the next
  scheduler loop), for what Airflow's own scheduling costs a chain of short tasks.
- Airflow again with ``TFX_DAGS_NODE_SERVER=off``: a fresh interpreter per node and per Beam
  SDK worker, for what the node server is worth.

Per task: its wall time in Airflow, the node's time inside TFX (the launcher's launch: driver,
executor, publisher, ML Metadata) and inside its executor, both printed by the node runner
into the task log, and the overhead (task minus launch: task start, fork, reading the
pipeline, ML Metadata checks, the operator's own work). LocalDagRunner's nodes are timed the
same way (``tfx_dags.runner.timing``).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT_ROOT)]

from tests.support.deployment import Databases, Deployment, wait_for  # noqa: E402
from tfx_dags.common import tfx_envs  # noqa: E402
from tfx_dags.node_server import client as node_client  # noqa: E402

DAG_ID = "penguin_keras"


def dag_tfx_env() -> str:
    """The DAG's TFX environment, read from dags/penguin.py's ``TFX_ENVS`` (importing the
    file would compile its pipelines)."""
    tree = ast.parse((PROJECT_ROOT / "dags" / "penguin.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "TFX_ENVS":
            return str(ast.literal_eval(node.value)[DAG_ID])
    raise SystemExit("dags/penguin.py no longer sets TFX_ENVS: update bench/end_to_end.py")


DAG_TFX_ENV = dag_tfx_env()
BEAM_MODES = ("in_memory", "multi_processing")
# The DAG's pipeline arguments in dags/penguin.py, for LocalDagRunner.
PIPELINE_KWARGS = {
    "data_root": str(PROJECT_ROOT / "data" / "penguin"),
    "train_steps": 200,
    "min_accuracy": 0.9,
    "distribution_strategy": "mirrored",
    "cpu_replicas": 2,
}
TIMINGS_LINE = re.compile(r"node (\S+) timings: launch ([\d.]+) s, executor ([\d.]+) s")


def warm_node_server() -> float:
    """Start the node server of the DAG's TFX environment (as the first task on a worker
    would); seconds it took."""
    start = time.perf_counter()
    node_client.connect_server(tfx_envs.resolve(DAG_TFX_ENV).python, env=os.environ).close()
    return time.perf_counter() - start


def line_label(env: tfx_envs.TfxEnv) -> str:
    """``tfx116 (TFX 1.16.0)``: the environment and the TFX it holds."""
    return f"{env.name} (TFX {tfx_envs.installed(env).get('tfx', '?')})"


def local_run(
    home: Path, mode: str, tfx_env: tfx_envs.TfxEnv
) -> tuple[float, dict[str, dict[str, float]]]:
    """LocalDagRunner in ``tfx_env``'s interpreter, with its declared variables: wall
    seconds and per-node timings."""
    databases = Databases()
    databases.create()
    try:
        env = tfx_env.environ(
            {
                **os.environ,
                "TFX_DAGS_METADATA_URI": databases.mlmd_uri,
                "TFX_DAGS_BEAM_DIRECT_MODE": mode,
            }
        )
        python = str(tfx_env.python)
        subprocess.run([python, "-m", "tfx_dags.mlmd.connection", "init"], env=env, check=True)
        start = time.perf_counter()
        result = subprocess.run(
            [
                python,
                str(PROJECT_ROOT / "bench" / "local_runner.py"),
                "--home",
                str(home),
                "--name",
                DAG_ID,
                "--kwargs",
                json.dumps(PIPELINE_KWARGS),
            ],
            env=env,
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
        )
        wall = time.perf_counter() - start
    finally:
        databases.drop()
    if result.returncode != 0:
        raise SystemExit(f"LocalDagRunner ({tfx_env.name}) failed:\n{result.stderr[-3000:]}")
    return wall, json.loads(result.stdout.strip().splitlines()[-1])["nodes"]


def cpu_seconds(groups: set[int]) -> float:
    """CPU time used so far by the processes of these process groups and their reaped
    children (Airflow's services, executor workers, task supervisors and task processes; the
    nodes are the node server's children, not theirs)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) in groups:  # fields: state, ppid, pgrp, ... utime is the 12th
            total += sum(int(value) for value in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def airflow_run(
    home: Path, mode: str, *, node_server: bool, idle_sleep: float | None = None
) -> tuple[float, dict[str, float], dict[str, Any], float]:
    deployment = Deployment(
        home=home,
        dags_folder=PROJECT_ROOT / "dags",
        databases=Databases(),
        extra_env={
            "TFX_DAGS_BEAM_DIRECT_MODE": mode,
            "TFX_DAGS_NODE_SERVER": "on" if node_server else "off",
            **(
                {"AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": str(idle_sleep)}
                if idle_sleep is not None
                else {}
            ),
        },
    )
    deployment.start()
    try:
        deployment.wait_for_dag(DAG_ID, timeout=600)
        groups = {process.pid for process in deployment.processes.values()}
        airflow_cpu = cpu_seconds(groups)
        triggered = time.time()
        status, run = deployment.request(
            "POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None}
        )
        if status != 200:
            raise SystemExit(f"trigger refused: {status} {run}")
        run_id = run["dag_run_id"]

        def finished() -> dict[str, Any] | None:
            _status, body = deployment.request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")
            return body if body.get("state") in ("success", "failed") else None

        run = wait_for(finished, timeout=1200, what="the run to finish", every=1)
        if run["state"] != "success":
            raise SystemExit(f"the Airflow run failed; see {home / 'airflow' / 'logs'}")
        wall = _timestamp(run["end_date"]) - triggered
        airflow_cpu = cpu_seconds(groups) - airflow_cpu
        tasks = {
            ti["task_id"]: _timestamp(ti["end_date"]) - _timestamp(ti["start_date"])
            for ti in deployment.task_instances(DAG_ID, run_id)
        }
        return wall, tasks, _node_timings(deployment.logs_text()), airflow_cpu
    finally:
        deployment.stop()


def _node_timings(logs: str) -> dict[str, dict[str, float]]:
    return {
        match[1]: {"launch_s": float(match[2]), "executor_s": float(match[3])}
        for match in TIMINGS_LINE.finditer(logs)
    }


def modes_chosen(home: Path) -> dict[str, str]:
    """The DirectRunner mode each Beam-backed task logged, and why."""
    logs = "\n".join(
        path.read_text(errors="replace") for path in home.rglob("*.log") if path.is_file()
    )
    found = re.findall(r"tfx_dags: (\w+): (DirectRunner mode [^\"\[\n]*)", logs)
    return {node: choice.strip() for node, choice in found}


def _timestamp(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--beam-mode",
        default="auto",
        help="the Airflow runs' TFX_DAGS_BEAM_DIRECT_MODE (LocalDagRunner runs both modes)",
    )
    parser.add_argument(
        "--scheduler-idle-sleep",
        type=float,
        default=0.2,
        help="one more Airflow run with this [scheduler] scheduler_idle_sleep_time (Airflow's "
        "default: 1 s between idle loops, so about 0.5 s before a task's successor starts)",
    )
    parser.add_argument(
        "--local-only",
        action="store_true",
        help="only the LocalDagRunner runs (every TFX line, both Beam modes), no Airflow",
    )
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="tfx-dags-bench-"))
    # Its own node server, shared by both Airflow runs' tasks, stopped at the end.
    os.environ["TFX_DAGS_NODE_SERVER_DIR"] = tempfile.mkdtemp(prefix="tfx-dags-srv-")
    try:
        report(scratch, args.beam_mode, args.scheduler_idle_sleep, local_only=args.local_only)
    finally:
        node_client.stop_servers()


LocalRuns = dict[str, dict[str, tuple[float, dict[str, dict[str, float]]]]]


def local_runs(scratch: Path) -> LocalRuns:
    """LocalDagRunner in each Beam mode on every declared TFX line, the DAG's first."""
    envs = tfx_envs.declared()
    lines = [DAG_TFX_ENV, *(name for name in envs if name != DAG_TFX_ENV)]
    return {
        line: {
            mode: local_run(scratch / f"local-{line}-{mode}", mode, envs[line])
            for mode in BEAM_MODES
        }
        for line in lines
    }


def print_local(local: LocalRuns) -> tuple[str, float]:
    """One row per LocalDagRunner run, each line's best marked; the baseline's mode and wall
    seconds (the best on the DAG's line)."""
    envs = tfx_envs.declared()
    best = {line: min(runs, key=lambda mode: runs[mode][0]) for line, runs in local.items()}
    baseline = local[DAG_TFX_ENV][best[DAG_TFX_ENV]][0]
    for line, runs in local.items():
        for mode, (wall, _nodes) in runs.items():
            mark = ""
            if mode == best[line]:
                mark = "  (best, baseline)" if line == DAG_TFX_ENV else "  (best)"
            print(
                f"  LocalDagRunner, {line_label(envs[line])}, Beam {mode:17} {wall:7.1f} s  "
                f"{wall / baseline:.2f}x{mark}"
            )
    for line in local:
        if line != DAG_TFX_ENV:
            ratio = local[line][best[line]][0] / baseline
            print(f"  LocalDagRunner's best, {line} against {DAG_TFX_ENV}: {ratio:.2f}x")
    return best[DAG_TFX_ENV], baseline


def report(scratch: Path, beam_mode: str, idle_sleep: float, *, local_only: bool) -> None:
    if local_only:
        local = local_runs(scratch)
        print(f"LocalDagRunner, {DAG_ID}, same machine, same run; baseline: {DAG_TFX_ENV}'s best")
        print_local(local)
        return
    server_s = warm_node_server()
    local = local_runs(scratch)
    fresh_wall, fresh_tasks, _fresh_nodes, _cpu = airflow_run(
        scratch / "airflow-fresh", beam_mode, node_server=False
    )
    airflow_wall, tasks, nodes, airflow_cpu = airflow_run(
        scratch / "airflow", beam_mode, node_server=True
    )
    brisk_wall, _tasks, _nodes, brisk_cpu = airflow_run(
        scratch / "airflow-brisk", beam_mode, node_server=True, idle_sleep=idle_sleep
    )

    dag_line = line_label(tfx_envs.resolve(DAG_TFX_ENV))
    print(
        f"End to end, {DAG_ID}, same machine, same run; baseline: LocalDagRunner's best on "
        f"the DAG's line, {dag_line}"
    )
    best_mode, local_wall = print_local(local)
    local_nodes = local[DAG_TFX_ENV][best_mode][1]
    print(
        f"  Airflow DAG run, {DAG_TFX_ENV}, Beam {beam_mode:16} {airflow_wall:7.1f} s  "
        f"{airflow_wall / local_wall:.2f}x"
    )
    print(
        f"  Airflow DAG run, {DAG_TFX_ENV}, scheduler_idle_sleep_time={idle_sleep:g} s "
        f"{brisk_wall:7.1f} s  {brisk_wall / local_wall:.2f}x (Airflow's processes: "
        f"{brisk_cpu:.1f} CPU-seconds)"
    )
    print(
        f"  Airflow DAG run, {DAG_TFX_ENV}, a fresh interpreter per node "
        f"(TFX_DAGS_NODE_SERVER=off) {fresh_wall:7.1f} s  {fresh_wall / local_wall:.2f}x, "
        f"all tasks {sum(fresh_tasks.values()):.1f} s"
    )
    print(
        f"  ({DAG_TFX_ENV}'s node server start, once per worker before the run: {server_s:.1f} s)"
    )
    print(
        f"  Airflow's own processes used {airflow_cpu:.1f} CPU-seconds during the run: "
        f"{airflow_cpu / (airflow_wall * os.cpu_count()):.0%} of this machine's "
        f"{os.cpu_count()} cores"
    )
    for node, choice in sorted(modes_chosen(scratch / "airflow").items()):
        print(f"  {node}: {choice}")
    print()
    print(
        f"{'task':30} {'task s':>7} {'launch s':>9} {'executor s':>11} {'overhead s':>11}"
        f" | {f'LocalDagRunner {DAG_TFX_ENV} launch s':>31} {'executor s':>11}"
    )
    zero = {"launch_s": 0.0, "executor_s": 0.0}
    for task_id, seconds in sorted(tasks.items(), key=lambda item: -item[1]):
        ours, theirs = nodes.get(task_id, zero), local_nodes.get(task_id, zero)
        print(
            f"{task_id:30} {seconds:7.1f} {ours['launch_s']:9.1f} {ours['executor_s']:11.1f} "
            f"{seconds - ours['launch_s']:11.1f} | {theirs['launch_s']:31.1f} "
            f"{theirs['executor_s']:11.1f}"
        )
    total = sum(tasks.values())
    launch = sum(node["launch_s"] for node in nodes.values())
    executor = sum(node["executor_s"] for node in nodes.values())
    print(
        f"{'all tasks':30} {total:7.1f} {launch:9.1f} {executor:11.1f} {total - launch:11.1f} | "
        f"{sum(n['launch_s'] for n in local_nodes.values()):31.1f} "
        f"{sum(n['executor_s'] for n in local_nodes.values()):11.1f}"
    )


if __name__ == "__main__":
    main()
