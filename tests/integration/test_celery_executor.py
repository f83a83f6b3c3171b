"""CeleryExecutor under load: Redis broker, PostgreSQL result backend, two default workers and
a GPU worker, one default worker killed mid-run.

The GPU worker consumes only the ``gpu`` queue, the default workers only ``default``. Two
runs of each of two DAGs (scale_penguin_a on TFX 1.16, scale_penguin_b on TFX 1.15) are
triggered at once; while a default worker runs a task, its whole process group is SIGKILLed
and the worker restarted (tests/support/load_run.py, shared with bench/load.py). Every run
must succeed, the killed worker's tasks through their retry; no two Trainers overlap (one
GPU, a one-slot pool); ML Metadata holds no execution left NEW or RUNNING; each run pushes at
most one model, complete; the Trainer ran on the GPU worker and every other task on a
default worker, as recorded in the task instances' hostnames.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.deployment import require_services
from tests.support.load_run import GPU_WORKER, LoadReport, LoadRun, celery_deployment, workers
from tfx_dags.common import settings

DAGS = Path(__file__).resolve().parent / "scheduler_dags"
DAG_IDS = ("scale_penguin_a", "scale_penguin_b")
RUNS_PER_DAG = 2
POOL = workers(default_workers=2, concurrency=1)
DEFAULT_WORKERS = {worker.name for worker in POOL if worker.name != GPU_WORKER}


def train_steps(dag_id: str, index: int) -> dict[str, int]:
    """Few steps, and each run its own count, so that every Trainer trains (no cache hit)."""
    return {"train_steps": 300 + index}


@pytest.fixture(scope="module")
def load(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoadReport]:
    require_services("PostgreSQL", "MariaDB", "Redis")
    run = LoadRun(celery_deployment(tmp_path_factory.mktemp("celery-executor"), DAGS, POOL), POOL)
    try:
        run.start(DAG_IDS)
        refs = run.trigger_burst(DAG_IDS, RUNS_PER_DAG, conf=train_steps)
        run.kill_worker_mid_run(DAG_IDS)
        report = run.report(refs, run.wait_finished(refs, timeout=900))
        print("\n".join(report.lines()))  # shown with a failure
        yield report
    finally:
        run.stop()


def test_every_run_succeeds(load: LoadReport) -> None:
    assert load.succeeded == len(DAG_IDS) * RUNS_PER_DAG, load.lines()
    for run, tasks in load.tasks.items():
        assert {task["state"] for task in tasks} == {"success"}, run


def test_the_killed_workers_tasks_retried(load: LoadReport) -> None:
    assert load.killed, "the worker was killed between two nodes"
    for task in load.killed:
        assert task["final_try"] > task["killed_try"], task
        assert task["final_state"] == "success", task


def test_no_two_trainers_overlap(load: LoadReport) -> None:
    assert len(load.trainer_tries) >= len(load.runs)
    assert load.trainer_overlaps() == []


def test_ml_metadata_holds_no_unfinished_execution(load: LoadReport) -> None:
    assert load.unfinished == [], load.unfinished


def test_each_run_pushes_at_most_one_complete_model(load: LoadReport) -> None:
    assert max(len(pushed) for pushed in load.pushes.values()) <= 1, load.pushes
    assert load.incomplete_pushes() == []


def test_the_trainer_ran_on_the_gpu_worker_and_the_rest_on_the_default_workers(
    load: LoadReport,
) -> None:
    assert load.trainer_hosts() == {GPU_WORKER}
    for tasks in load.tasks.values():
        hosts = {task["task_id"]: task["hostname"] for task in tasks}
        queues = {task["task_id"]: task["queue"] for task in tasks}
        assert hosts.pop("Trainer") == GPU_WORKER and queues.pop("Trainer") == settings.gpu_queue()
        assert set(hosts.values()) <= DEFAULT_WORKERS, hosts
        assert set(queues.values()) == {settings.default_queue()}
