"""The penguin DAG end to end through a real Airflow (SQLite), real TFX and real ML Metadata.

Two DAG runs in one fresh home: the first trains, blesses and pushes; the second validates
its candidate against the first run's blessed model, resolved from ML Metadata.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dev import local_airflow
from tfx_dags.common import settings

DAG_ID = "penguin_keras"
NODES = {
    "CsvExampleGen",
    "StatisticsGen",
    "SchemaGen",
    "ExampleValidator",
    "Transform",
    "Trainer",
    "latest_blessed_model_resolver",
    "Evaluator",
    "Pusher",
}
SCORE_MODEL = Path(__file__).resolve().parents[1] / "tfx_env" / "score_model.py"


class PenguinRuns:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = local_airflow.environment(home)
        local_airflow.init_db(self.env, log=home / "logs" / "db-migrate.log")
        self.exit_codes = [
            local_airflow.run_dag(self.env, DAG_ID, log=home / "logs" / f"run{n}.log")
            for n in (1, 2)
        ]
        self.logs = [(home / "logs" / f"run{n}.log").read_text() for n in (1, 2)]
        states = local_airflow.task_states(self.env, DAG_ID)
        # list-runs gives newest first; the test reasons in run order.
        self.run_ids = sorted(states, key=lambda run_id: run_id)
        self.task_states = [states[run_id] for run_id in self.run_ids]
        self.metadata = json.loads(local_airflow.tfx_query(self.env, "runs", "--pipeline", DAG_ID))
        self.pushed = json.loads(
            local_airflow.tfx_query(self.env, "pushed-models", "--pipeline", DAG_ID)
        )

    def node(self, run: int, node_id: str) -> dict[str, Any]:
        return self.metadata[self.run_ids[run]][node_id]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> PenguinRuns:
    return PenguinRuns(tmp_path_factory.mktemp("penguin-e2e"))


def test_both_dag_runs_succeed_with_every_node(runs: PenguinRuns) -> None:
    assert runs.exit_codes == [0, 0], runs.logs[-1][-3000:]
    assert len(runs.run_ids) == 2
    for states in runs.task_states:
        assert set(states) == NODES
        assert set(states.values()) == {"success"}, states


def test_the_airflow_run_id_is_the_tfx_pipeline_run_id(runs: PenguinRuns) -> None:
    assert set(runs.metadata) == set(runs.run_ids)
    for run_id in runs.run_ids:
        assert set(runs.metadata[run_id]) == NODES


def test_node_output_streams_into_the_task_log(runs: PenguinRuns) -> None:
    for node_id in NODES:
        assert f"tfx_dags: node {node_id} finished, ML Metadata execution" in runs.logs[0]
    assert "sparse_categorical_accuracy" in runs.logs[0]  # Keras progress from the Trainer


def test_the_trainer_mirrors_over_two_logical_cpus(runs: PenguinRuns) -> None:
    # dags/penguin.py asks penguin_keras for MirroredStrategy with two CPU replicas.
    assert "Using MirroredStrategy with devices ('/device:CPU:0', '/device:CPU:1')" in runs.logs[0]


def test_the_first_run_pushed_its_trained_model(runs: PenguinRuns) -> None:
    trained = runs.node(0, "Trainer")["outputs"]["model"][0]["id"]
    first_push = runs.pushed[0]
    assert first_push["run_id"] == runs.run_ids[0]
    assert first_push["model_id"] == trained
    destination = Path(first_push["destination"])
    assert destination.parent == runs.home / "serving" / DAG_ID
    assert (destination / "saved_model.pb").is_file()


def test_the_pushed_model_scores_serialized_raw_examples(
    runs: PenguinRuns, tfx_python: Path
) -> None:
    examples = runs.node(0, "CsvExampleGen")["outputs"]["examples"][0]["uri"]
    evaluation = runs.node(0, "Evaluator")["outputs"]["evaluation"][0]["uri"]
    result = subprocess.run(
        [
            str(tfx_python),
            str(SCORE_MODEL),
            "--model",
            runs.pushed[0]["destination"],
            "--examples",
            f"{examples}/Split-eval/*.gz",
            "--label",
            "species",
            "--evaluation",
            evaluation,
        ],
        capture_output=True,
        text=True,
        env=runs.env,
        check=True,
    )
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["input"] == {"name": "examples", "dtype": "string", "shape": [None]}
    assert report["examples"] > 50
    assert report["scores_shape"] == [report["examples"], 3]
    assert report["max_row_sum_error"] < 1e-4  # class probabilities
    assert report["accuracy"] >= 0.9, report
    assert report["tfma"]["validation_ok"] is True
    assert report["tfma"]["metrics"]["sparse_categorical_accuracy"] >= 0.9


def test_the_second_run_validates_against_the_first_runs_blessed_model(
    runs: PenguinRuns,
) -> None:
    first_model = runs.node(0, "Trainer")["outputs"]["model"][0]["id"]
    assert "baseline_model" not in runs.node(0, "Evaluator")["inputs"]
    # TFX 1.15 resolves the latest blessed model in the Evaluator's own input resolution
    # (the resolver node runs as a no-op), so the baseline shows up as the Evaluator's input.
    evaluator = runs.node(1, "Evaluator")
    assert evaluator["state"] == "COMPLETE"  # a new baseline input, so no cache hit
    assert [artifact["id"] for artifact in evaluator["inputs"]["baseline_model"]] == [first_model]
    blessing = Path(evaluator["outputs"]["blessing"][0]["uri"])
    assert (blessing / "BLESSED").exists()


def test_unchanged_nodes_are_cached_across_runs(runs: PenguinRuns) -> None:
    for node_id in ("StatisticsGen", "SchemaGen", "Transform", "Trainer"):
        assert runs.node(1, node_id)["state"] == "CACHED", node_id
        assert runs.node(1, node_id)["outputs"] == runs.node(0, node_id)["outputs"]


def _view_data(env: dict[str, str], *args: str, output: Path) -> dict[str, Any]:
    """The TFX view's ML Metadata reader (tfx_dags.queries.view_data), as the view runs it."""
    command = [str(settings.tfx_python()), "-m", "tfx_dags.queries.view_data", *args]
    subprocess.run([*command, "--reply", str(output)], env=env, check=True, capture_output=True)
    return dict(json.loads(output.read_text())["result"])


def test_the_tfx_view_reads_the_sqlite_store_without_writing_it(
    runs: PenguinRuns, tmp_path: Path
) -> None:
    store = runs.home / "metadata.sqlite"
    before = (store.read_bytes(), store.stat().st_mtime_ns)
    summary = _view_data(runs.env, "pipeline", "--pipeline", DAG_ID, output=tmp_path / "p.json")
    assert [run["run_id"] for run in summary["runs"]] == runs.run_ids[::-1]
    [model] = summary["models"]  # the second run's Trainer was a cache hit
    assert model["blessed"] and len(model["evaluations"]) == 2 and len(model["pushes"]) == 2
    _view_data(
        runs.env,
        "run",
        "--pipeline",
        DAG_ID,
        "--run-id",
        runs.run_ids[1],
        output=tmp_path / "r.json",
    )
    assert (store.read_bytes(), store.stat().st_mtime_ns) == before
    # Where nothing has run yet, the view lists no pipeline and creates no store.
    missing = tmp_path / "none" / "metadata.sqlite"
    env = {**runs.env, "TFX_DAGS_METADATA_SQLITE": str(missing)}
    listed = _view_data(env, "pipelines", output=tmp_path / "n.json")
    assert listed == {"pipelines": [], "tfx_lines": {}}
    assert not missing.parent.exists()
