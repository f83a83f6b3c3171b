"""Runs that several modules assert on, made once per test session (tests/integration/
conftest.py): each module that reads them names the ``xdist_group`` "sqlite_runs", so they
run in one worker process.

- StyleRuns: every trainer style's DAG of dags/ and a candidate that fails validation
  (test_trainer_styles.py; test_openlineage.py reads penguin_keras_raw's events);
- DriftRuns: taxi data drifted three ways, stopped by ExampleValidator (test_schema_drift.py;
  test_openlineage.py reads the failed validator's events of the out-of-domain run).

Both homes report OpenLineage events to a file, as a deployment with the provider's file
transport would.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dev import local_airflow
from tfx_dags.common import settings

LINEAGE_NAMESPACE = "tfx-dags-test"


def openlineage_env(events_file: Path) -> dict[str, str]:
    """Airflow settings that write every OpenLineage event to ``events_file`` (JSON lines)."""
    events_file.parent.mkdir(parents=True, exist_ok=True)
    return {
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": LINEAGE_NAMESPACE,
        "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
    }


def write_slice(source: Path, target: Path, rows: int) -> None:
    """The first ``rows`` records of a CSV file, with its header: a data set of the same
    shape where its size is not what a test is about."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open(newline="") as reading, target.open("w", newline="") as writing:
        csv.writer(writing).writerows(itertools.islice(csv.reader(reading), rows + 1))


def read_events(events_file: Path) -> list[dict[str, Any]]:
    if not events_file.exists():
        return []
    return [json.loads(line) for line in events_file.read_text().splitlines()]


GENERIC = "tfx.components.trainer.executor.GenericExecutor"
ESTIMATOR = "tfx.components.trainer.executor.Executor"


@dataclass(frozen=True)
class Style:
    dag_id: str
    label: str
    executor: str
    min_accuracy: float
    signature: str = "serving_default"
    output: str = "outputs"


STYLES = (
    Style("penguin_keras_raw", "species", GENERIC, 0.9),
    Style("penguin_estimator", "species", ESTIMATOR, 0.9, output="scores"),
    Style("penguin_keras_estimator", "species", ESTIMATOR, 0.9, output="species"),
    Style("taxi_estimator", "big_tipper", ESTIMATOR, 0.9, output="scores"),
    Style("taxi_keras", "big_tipper", GENERIC, 0.9),
    Style("digits_tflite", "digit", GENERIC, 0.9),
)

ONE_STEP_DAG = """
# Airflow DAG: penguin_keras_raw as dags/penguin.py defines it, but trained for one step.
from pathlib import Path
from tfx_dags.common import settings
from tfx_dags.airflow.factory import pipeline_dag

dag = pipeline_dag(
    dag_id="penguin_keras_raw",
    pipeline="modules.penguin.pipeline:create_pipeline",
    pipeline_kwargs={{
        "data_root": {data_root!r},
        "serving_model_dir": str(settings.serving_dir("penguin_keras_raw")),
        "trainer_module": "modules.penguin.keras_raw",
        "use_transform": False,
        "train_steps": 1,
    }},
    tfx_env="tfx116",
    owner="ml-platform",
    tags=("tfx",),
)
"""


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


class StyleRuns:
    """Each style's DAG of dags/ run once, then penguin_keras_raw trained for one step; with
    OpenLineage's file transport on."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.events_file = home / "openlineage" / "events.jsonl"
        self.env = {**local_airflow.environment(home), **openlineage_env(self.events_file)}
        local_airflow.init_db(self.env, log=home / "logs" / "db-migrate.log")
        self.exit_codes = {}
        self.logs = {}
        for style in STYLES:
            log = home / "logs" / f"{style.dag_id}.log"
            self.exit_codes[style.dag_id] = local_airflow.run_dag(self.env, style.dag_id, log=log)
            self.logs[style.dag_id] = log.read_text()
        # Snapshots of each DAG's one run, before penguin_keras_raw runs again below.
        self.first_runs = {style.dag_id: self.metadata(style.dag_id) for style in STYLES}
        self.pushed_first = {style.dag_id: self.pushed(style.dag_id) for style in STYLES}
        self.serving_before = tree_digest(home / "serving" / "penguin_keras_raw")
        self.first_events = read_events(self.events_file)
        self.one_step_exit_code = self._run_one_step_penguin(home)

    def _run_one_step_penguin(self, home: Path) -> int:
        dags = home / "one-step-dags"
        dags.mkdir()
        data_root = settings.PROJECT_ROOT / "data" / "penguin"
        (dags / "penguin_one_step.py").write_text(ONE_STEP_DAG.format(data_root=str(data_root)))
        env = {**self.env, "AIRFLOW__CORE__DAGS_FOLDER": str(dags)}
        log = home / "logs" / "penguin_keras_raw-one-step.log"
        exit_code = local_airflow.run_dag(env, "penguin_keras_raw", log=log)
        self.logs["one-step"] = log.read_text()
        return exit_code

    def metadata(self, dag_id: str) -> dict[str, dict[str, Any]]:
        return json.loads(local_airflow.tfx_query(self.env, "runs", "--pipeline", dag_id))

    def pushed(self, dag_id: str) -> list[dict[str, Any]]:
        return json.loads(local_airflow.tfx_query(self.env, "pushed-models", "--pipeline", dag_id))


TAXI_CSV = settings.PROJECT_ROOT / "data" / "taxi" / "taxi.csv"
ROWS = 1000
DAG = """
# Airflow DAG built by the tfx_dags factory.
from tfx_dags.airflow.factory import pipeline_dag
from tfx_dags.airflow.params import RunParam

dag = pipeline_dag(
    dag_id="drift_taxi",
    pipeline="modules.taxi.pipeline:create_pipeline",
    pipeline_kwargs={{"data_root": {good!r}, "serving_model_dir": {serving!r}}},
    run_params={{"data_root": RunParam(path_root={root!r})}},
    owner="ml-platform",
    tags=("tfx",),
)
"""
# data set -> (how the rows change, what the anomaly report must name)
DRIFTS = {
    "missing_column": ("drop trip_miles", "feature 'trip_miles'"),
    "new_category": ("payment_type Bitcoin", "feature 'payment_type'"),
    "out_of_domain": ("trip_start_hour 27", "feature 'trip_start_hour'"),
}


def write_data_set(folder: Path, drift: str | None) -> None:
    with TAXI_CSV.open() as source:
        rows = [row for _, row in zip(range(ROWS), csv.DictReader(source), strict=False)]
    fields = list(rows[0])
    for n, row in enumerate(rows):
        if drift == "payment_type Bitcoin" and n % 10 == 0:
            row["payment_type"] = "Bitcoin"
        if drift == "trip_start_hour 27" and n % 10 == 0:
            row["trip_start_hour"] = "27"
    if drift == "drop trip_miles":
        fields.remove("trip_miles")
    folder.mkdir(parents=True)
    with (folder / "data.csv").open("w", newline="") as target:
        writer = csv.DictWriter(target, fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


class DriftRuns:
    """One run per drifted data set, each stopped by ExampleValidator; with OpenLineage's
    file transport on."""

    def __init__(self, home: Path) -> None:
        data = home / "data"
        write_data_set(data / "good", None)
        for name, (drift, _) in DRIFTS.items():
            write_data_set(data / name, drift)
        dags = home / "dags"
        dags.mkdir()
        (dags / "drift_taxi.py").write_text(
            DAG.format(good=str(data / "good"), serving=str(home / "serving"), root=str(data))
        )
        events_file = home / "openlineage" / "events.jsonl"
        self.env = {
            **local_airflow.environment(home, dags_folder=dags),
            **openlineage_env(events_file),
        }
        local_airflow.init_db(self.env, log=home / "logs" / "db-migrate.log")
        self.exit_codes, self.logs = {}, {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        for name in DRIFTS:
            log = home / "logs" / f"{name}.log"
            conf = ["-c", json.dumps({"data_root": name})]
            before = len(read_events(events_file))
            self.exit_codes[name] = local_airflow.run_dag(
                self.env, "drift_taxi", log=log, conf=conf
            )
            self.logs[name] = log.read_text()
            self.events[name] = read_events(events_file)[before:]
        self.states = local_airflow.task_states(self.env, "drift_taxi")
        self.metadata = json.loads(
            local_airflow.tfx_query(self.env, "runs", "--pipeline", "drift_taxi")
        )
        # Each run's ExampleGen read the data set the run was triggered for.
        self.run_ids = {
            Path(run["CsvExampleGen"]["properties"]["input_base"]).name: run_id
            for run_id, run in self.metadata.items()
        }
