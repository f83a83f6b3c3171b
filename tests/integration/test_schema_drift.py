"""Data that drifts from the curated taxi schema stops the run at ExampleValidator.

One DAG over a folder of data sets, its ``data_root`` a run parameter: each drifted data set
is a manual run with that parameter. ExampleValidator must fail with the anomaly named in the
task log, without retrying; Transform and the Trainer never run.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tfx_dags.common import settings
from tfx_dags.dev import local_airflow

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
        self.env = local_airflow.environment(home, dags_folder=dags)
        local_airflow.init_db(self.env, log=home / "logs" / "db-migrate.log")
        self.exit_codes, self.logs = {}, {}
        for name in DRIFTS:
            log = home / "logs" / f"{name}.log"
            conf = ["-c", json.dumps({"data_root": name})]
            self.exit_codes[name] = local_airflow.run_dag(
                self.env, "drift_taxi", log=log, conf=conf
            )
            self.logs[name] = log.read_text()
        self.states = local_airflow.task_states(self.env, "drift_taxi")
        self.metadata = json.loads(
            local_airflow.tfx_query(self.env, "runs", "--pipeline", "drift_taxi")
        )


@pytest.fixture(scope="module")
def drift(tmp_path_factory: pytest.TempPathFactory) -> DriftRuns:
    return DriftRuns(tmp_path_factory.mktemp("schema-drift"))


@pytest.mark.parametrize("name", list(DRIFTS))
def test_drifted_data_stops_the_run_at_the_validator_with_the_anomaly_in_the_log(
    drift: DriftRuns, name: str
) -> None:
    assert drift.exit_codes[name] != 0
    log = drift.logs[name]
    assert "ExampleValidator found" in log and DRIFTS[name][1] in log, log[-3000:]
    if name == "new_category":
        assert "Bitcoin" in log


def test_no_drifted_run_trained_and_the_validator_did_not_retry(drift: DriftRuns) -> None:
    assert len(drift.states) == len(DRIFTS)
    for run_id, states in drift.states.items():
        assert states["ExampleValidator"] == "failed", (run_id, states)
        assert states["Transform"] == states["Trainer"] == "upstream_failed", (run_id, states)
        assert states["Pusher"] == "upstream_failed", (run_id, states)
        assert "Trainer" not in drift.metadata.get(run_id, {}), run_id
    for log in drift.logs.values():
        assert log.count("failed with exit code 3") >= 1
        assert "up_for_retry" not in log
