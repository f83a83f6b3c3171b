"""CeleryExecutor: Redis broker, PostgreSQL result backend, a GPU worker and a default worker.

The GPU worker consumes only the ``gpu`` queue, the other worker only ``default``. One TFX DAG
run: the Trainer must have run on the GPU worker and every other task on the other one, as
recorded in the task instances' hostnames.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deployment import Databases, Deployment, require_services

from tfx_dags.common import settings

DAGS = Path(__file__).resolve().parent / "scheduler_dags"
GPU_WORKER, CPU_WORKER = "gpu-worker", "cpu-worker"


@pytest.fixture(scope="module")
def celery_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_services("PostgreSQL", "MariaDB", "Redis")
    databases = Databases()
    deployment = Deployment(
        home=tmp_path_factory.mktemp("celery-executor"),
        dags_folder=DAGS,
        databases=databases,
        executor="CeleryExecutor",
        extra_env={
            # A Redis database of its own, so that a concurrent deployment's queue is apart.
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{secrets.randbelow(15) + 1}",
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+"
            + databases.airflow_uri.replace("postgresql+psycopg2", "postgresql"),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tfx_dags.dev.local_airflow.worker_hostname",
        },
    )
    workers = [
        (
            name,
            [
                "celery",
                "worker",
                "--queues",
                queue,
                "--concurrency",
                concurrency,
                "--celery-hostname",
                f"{name}@%h",
                "--without-mingle",
                "--without-gossip",
            ],
            {"TFX_DAGS_WORKER_NAME": name, "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(port)},
        )
        for name, queue, concurrency, port in (
            (GPU_WORKER, settings.gpu_queue(), "1", 18793 + secrets.randbelow(500)),
            (CPU_WORKER, settings.default_queue(), "2", 19793 + secrets.randbelow(500)),
        )
    ]
    try:
        deployment.start(workers)
        deployment.wait_for_dag("scale_penguin_a")
        status, body = deployment.request(
            "POST", "/api/v2/dags/scale_penguin_a/dagRuns", {"logical_date": None}
        )
        assert status == 200, body
        [run] = deployment.wait_for_runs("scale_penguin_a", timeout=900)
        yield {"run": run, "tasks": deployment.task_instances("scale_penguin_a", run["dag_run_id"])}
    finally:
        deployment.stop()


def test_the_celery_run_succeeds(celery_run: dict[str, Any]) -> None:
    assert celery_run["run"]["state"] == "success"
    assert {task["state"] for task in celery_run["tasks"]} == {"success"}


def test_the_trainer_ran_on_the_gpu_worker_and_the_rest_on_the_default_worker(
    celery_run: dict[str, Any],
) -> None:
    hosts = {task["task_id"]: task["hostname"] for task in celery_run["tasks"]}
    queues = {task["task_id"]: task["queue"] for task in celery_run["tasks"]}
    assert hosts.pop("Trainer") == GPU_WORKER and queues.pop("Trainer") == settings.gpu_queue()
    assert set(hosts.values()) == {CPU_WORKER}, hosts
    assert set(queues.values()) == {settings.default_queue()}
