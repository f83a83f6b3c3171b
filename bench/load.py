"""Benchmark 7: the example DAGs under load on a Celery deployment, one worker killed mid-run.

    .venv-airflow/bin/python bench/load.py [--runs-per-dag 3] [--dags a,b,...] [--no-baseline]

A real deployment (api-server, scheduler, dag-processor, CeleryExecutor on Redis, Airflow on
PostgreSQL, ML Metadata on MariaDB; tests/support/load_run.py, which
tests/integration/test_celery_executor.py shares) with two default workers (``--concurrency``
slots each) and one GPU worker (one slot): the factory sends every Trainer to the ``gpu``
queue and the one-slot GPU pool. The DAGs of dags/ (all seven by default) are triggered
``--runs-per-dag`` times each through the REST API, all within a second; each DAG runs one
run at a time (its ``max_active_runs``, default 1), the DAGs side by side. While a default
worker runs a task, its whole process group is SIGKILLed (the Celery worker, its pool, its
task processes) and the worker restarted; its tasks fail on the heartbeat timeout (30 s
here) and retry after the DAG's ``retry_delay`` (one minute by default).

Reported: runs succeeded (goal: all, retries allowed), task tries, the killed worker's tasks
and their retries, Trainer overlap (goal: none; every Trainer try's start and end from the
task instances), ML Metadata executions left NEW or RUNNING after every run ended (goal 0),
pushes per run (goal: at most one, each with its saved_model.pb), the peak memory of the
deployment (the sum of RSS, and of PSS, of its processes and all their children, the node
servers and their nodes included, sampled every second) and the wall time from the first
trigger to the last run's end. The baseline, in the same benchmark run: the same runs one
after another (each triggered when the one before ended) on a fresh deployment of the same
shape, without the kill. Each phase has a fresh Airflow database, ML Metadata database,
pipeline roots and node servers; TFX's cache works within a phase as it would in production
(a DAG's later runs reuse its unchanged nodes), so both phases train and evaluate the same.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT_ROOT)]

from tests.support.load_run import LoadReport, LoadRun, RunRef, celery_deployment, workers  # noqa: E402
from tfx_dags.node_server import client as node_client  # noqa: E402

DAG_IDS = (
    "penguin_keras",
    "penguin_keras_raw",
    "penguin_estimator",
    "penguin_keras_estimator",
    "taxi_estimator",
    "taxi_keras",
    "digits_tflite",
)


def phase(
    home: Path,
    dag_ids: list[str],
    runs_per_dag: int,
    *,
    concurrency: int,
    burst: bool,
    timeout: float,
) -> LoadReport:
    """One deployment: the runs in a burst with a worker killed, or one after another."""
    pool = workers(default_workers=2, concurrency=concurrency)
    server_dir = home / "node-servers"
    deployment = celery_deployment(
        home,
        PROJECT_ROOT / "dags",
        pool,
        {
            # The product's default: each Beam-backed node picks its DirectRunner mode.
            "TFX_DAGS_BEAM_DIRECT_MODE": "auto",
            # Node servers of this phase only: both phases start theirs cold.
            "TFX_DAGS_NODE_SERVER_DIR": str(node_client.private_dir(server_dir)),
        },
    )
    load = LoadRun(deployment, pool)
    try:
        load.start(dag_ids, parse_timeout=900)
        refs: list[RunRef] = []
        runs: dict[RunRef, Any] = {}
        print(f"  {home.name}: deployment up, {len(dag_ids)} DAGs parsed", flush=True)
        if burst:
            refs += load.trigger_burst(dag_ids, runs_per_dag)
            spread = time.time() - (load.first_trigger or 0.0)
            print(f"  {len(refs)} runs triggered in {spread:.2f} s", flush=True)
            kill = load.kill_worker_mid_run(dag_ids)
            print(
                f"  {kill.worker} killed {kill.at - (load.first_trigger or 0.0):.0f} s after the "
                f"first trigger, running {len(kill.tries)} task(s); restarted",
                flush=True,
            )
            runs.update(load.wait_finished(refs, timeout=timeout))
        else:
            for _round in range(runs_per_dag):
                for dag_id in dag_ids:
                    ref = load.trigger(dag_id)
                    runs.update(load.wait_finished([ref], timeout=timeout))
                    refs.append(ref)
                    print(f"  {ref.dag_id} {runs[ref]['state']}", flush=True)
        return load.report(refs, runs)
    finally:
        load.stop()
        node_client.stop_servers(server_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-per-dag", type=int, default=3)
    parser.add_argument(
        "--dags",
        default=",".join(DAG_IDS),
        help=f"comma-separated DAG ids of dags/ (default: all seven, {','.join(DAG_IDS)})",
    )
    parser.add_argument("--concurrency", type=int, default=2, help="slots per default worker")
    parser.add_argument("--timeout", type=float, default=5400, help="seconds per phase's runs")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the runs one after another"
    )
    args = parser.parse_args()
    dag_ids = [dag_id.strip() for dag_id in args.dags.split(",") if dag_id.strip()]
    unknown = sorted(set(dag_ids) - set(DAG_IDS))
    if unknown:
        raise SystemExit(f"--dags: {unknown} are not DAGs of dags/ ({', '.join(DAG_IDS)})")
    scratch = Path(tempfile.mkdtemp(prefix="tfx-dags-load-"))
    total = len(dag_ids) * args.runs_per_dag
    print(
        f"Load: {len(dag_ids)} DAGs x {args.runs_per_dag} runs = {total} runs; two default "
        f"workers of {args.concurrency} slots and a GPU worker of one; {os.cpu_count()} cores",
        flush=True,
    )
    started = time.perf_counter()
    # The benchmark's own node server (its ML Metadata questions), stopped at the end.
    os.environ["TFX_DAGS_NODE_SERVER_DIR"] = str(node_client.private_dir(scratch / "node-servers"))
    try:
        report(scratch, dag_ids, args)
    finally:
        node_client.stop_servers()
    print(f"(benchmark: {time.perf_counter() - started:.0f} s in all, deployments included)")


def report(scratch: Path, dag_ids: list[str], args: argparse.Namespace) -> None:
    kwargs = {"concurrency": args.concurrency, "timeout": args.timeout}
    burst = phase(scratch / "burst", dag_ids, args.runs_per_dag, burst=True, **kwargs)
    print("\nBurst, one default worker SIGKILLed mid-run and restarted:")
    for line in burst.lines():
        print(f"  {line}")
    if not args.no_baseline:
        print("\nBaseline: the same runs one after another, no kill:", flush=True)
        baseline = phase(scratch / "sequential", dag_ids, args.runs_per_dag, burst=False, **kwargs)
        for line in baseline.lines():
            print(f"  {line}")
        print(
            f"\nWall time, burst with a kill / one after another: {burst.wall:.1f} s / "
            f"{baseline.wall:.1f} s = {burst.wall / baseline.wall:.2f}x; peak PSS "
            f"{burst.peak_pss / baseline.peak_pss:.2f}x, peak RSS "
            f"{burst.peak_rss / baseline.peak_rss:.2f}x"
        )


if __name__ == "__main__":
    main()
