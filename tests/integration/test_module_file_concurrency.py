"""A ``module_file=`` pipeline under a real scheduler: two runs of one DAG at once.

TFX 1.15.1's native Keras taxi pipeline, unmodified, with its own multi-processing Beam
arguments, on a slice of its data, on a LocalExecutor deployment (PostgreSQL for Airflow,
MariaDB for ML Metadata through the Airflow connection: the DAG sets the pipeline's own
SQLite store aside). Two runs triggered together run their tasks side by side; both import
the user module from the wheels under the pipeline root, and nothing races on them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from dev import local_airflow
from tests.support.deployment import Databases, Deployment, require_services
from tests.support.shared_runs import write_slice

TAXI = Path(__file__).resolve().parents[1] / "tfx_examples" / "chicago_taxi_pipeline"
DAG_ID = "taxi_module_file"
# The example's data cut to a slice (what is tested is two runs at once, not data size),
# written into the test's home.
TAXI_SLICE_ROWS = 2000
DATA_ROOT = "@data_root@"

DAG_FILE = f'''
"""Airflow DAG: TFX's native Keras taxi example, two runs at a time."""
from tfx_dags.common import settings
from tfx_dags.airflow.factory import pipeline_dag

dag = pipeline_dag(
    dag_id="{DAG_ID}",
    pipeline="{TAXI}/taxi_pipeline_native_keras.py:_create_pipeline",
    pipeline_kwargs={{
        "data_root": "{DATA_ROOT}",
        "module_file": "{TAXI}/taxi_utils_native_keras.py",
        "serving_model_dir": str(settings.serving_dir("{DAG_ID}")),
        "metadata_path": str(settings.home() / "unused-pipeline-store.sqlite"),
        "beam_pipeline_args": ["--direct_running_mode=multi_processing", "--direct_num_workers=0"],
    }},
    metadata_store="deployment",
    max_active_runs=2,
    owner="ml-platform",
    tags=("tfx",),
)
'''


class ConcurrentRuns:
    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        deployment.wait_for_dag(DAG_ID)
        self.triggers = [
            deployment.request("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None})
            for _ in range(2)
        ]
        self.runs = deployment.wait_for_runs(DAG_ID, count=2, timeout=1200)
        self.tasks = {
            run["dag_run_id"]: deployment.task_instances(DAG_ID, run["dag_run_id"])
            for run in self.runs
        }
        mlmd_env = {**deployment.env, "TFX_DAGS_METADATA_URI": deployment.databases.mlmd_uri}
        self.metadata = json.loads(local_airflow.tfx_query(mlmd_env, "runs", "--pipeline", DAG_ID))
        self.logs = deployment.logs_text()


@pytest.fixture(scope="module")
def concurrent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConcurrentRuns]:
    require_services("PostgreSQL", "MariaDB")
    home = tmp_path_factory.mktemp("module-file-concurrency")
    dags = home / "dags"
    dags.mkdir()
    write_slice(TAXI / "data" / "simple" / "data.csv", home / "data" / "data.csv", TAXI_SLICE_ROWS)
    (dags / "taxi_module_file.py").write_text(DAG_FILE.replace(DATA_ROOT, str(home / "data")))
    deployment = Deployment(home=home, dags_folder=dags, databases=Databases())
    try:
        deployment.start()
        yield ConcurrentRuns(deployment)
    finally:
        deployment.stop()


def interval(task: dict[str, Any]) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(task["start_date"]), datetime.fromisoformat(task["end_date"])


def test_both_runs_succeed(concurrent: ConcurrentRuns) -> None:
    assert all(status == 200 for status, _ in concurrent.triggers), concurrent.triggers
    assert [run["state"] for run in concurrent.runs] == ["success", "success"]
    for tasks in concurrent.tasks.values():
        assert {task["task_id"]: task["state"] for task in tasks} == {
            task["task_id"]: "success" for task in tasks
        }


def test_the_two_runs_tasks_ran_side_by_side_but_never_two_trainers(
    concurrent: ConcurrentRuns,
) -> None:
    first, second = concurrent.tasks.values()
    overlapping = [
        (a["task_id"], b["task_id"])
        for a in first
        for b in second
        if interval(a)[0] < interval(b)[1] and interval(b)[0] < interval(a)[1]
    ]
    assert overlapping, "the two runs never ran a task at the same time"
    [trainer_a] = [task for task in first if task["task_id"] == "Trainer"]
    [trainer_b] = [task for task in second if task["task_id"] == "Trainer"]
    assert ("Trainer", "Trainer") not in overlapping, (trainer_a, trainer_b)


def test_both_runs_imported_the_module_from_one_set_of_wheels(concurrent: ConcurrentRuns) -> None:
    assert len(concurrent.metadata) == 2
    paths = set()
    for run in concurrent.metadata.values():
        for node in ("Transform", "Trainer"):
            assert run[node]["state"] in ("COMPLETE", "CACHED"), run[node]
            paths.add(run[node]["properties"]["module_path"])
    wheels = concurrent.deployment.home / "pipelines" / DAG_ID / "_wheels"
    assert sorted(path.name for path in wheels.iterdir() if path.suffix == ".whl") == sorted(
        Path(path.partition("@")[2]).name for path in paths
    )
    assert not list(wheels.glob("*.tmp"))


def test_the_pipelines_own_store_was_set_aside_for_the_deployments(
    concurrent: ConcurrentRuns,
) -> None:
    assert "the pipeline's own is set aside (metadata_store='deployment')" in concurrent.logs
    assert not (concurrent.deployment.home / "unused-pipeline-store.sqlite").exists()
