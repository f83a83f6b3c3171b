"""Every trainer style and example pipeline as an Airflow DAG, end to end, in one fresh home.

Each DAG runs once and must bless and push a model that really learned, scored here on
serialized raw examples of its eval split the way a serving client sends them. Then
penguin_keras_raw runs again with one training step: its model must not be blessed, and the
model pushed before must stay where it was, unchanged. (penguin_keras, the native Keras
style with Transform, is covered by test_penguin_e2e.py.)
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tfx_dags.dev import local_airflow

SCORE_MODEL = Path(__file__).resolve().parents[1] / "tfx_env" / "score_model.py"
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
    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = local_airflow.environment(home)
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
        self.one_step_exit_code = self._run_one_step_penguin(home)

    def _run_one_step_penguin(self, home: Path) -> int:
        dags = home / "one-step-dags"
        dags.mkdir()
        data_root = Path(__file__).resolve().parents[2] / "data" / "penguin"
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


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> StyleRuns:
    return StyleRuns(tmp_path_factory.mktemp("trainer-styles"))


def only_run(runs: StyleRuns, dag_id: str) -> dict[str, Any]:
    [run] = runs.first_runs[dag_id].values()
    return run


@pytest.mark.parametrize("style", STYLES, ids=lambda style: style.dag_id)
def test_the_dag_runs_with_the_executor_its_module_calls_for(runs: StyleRuns, style: Style) -> None:
    assert runs.exit_codes[style.dag_id] == 0, runs.logs[style.dag_id][-3000:]
    run = only_run(runs, style.dag_id)
    assert all(node["state"] == "COMPLETE" for node in run.values()), run
    ir_path = next(
        line.split("'--pipeline-ir', '")[1].split("'")[0]
        for line in runs.logs[style.dag_id].splitlines()
        if "'--node-id', 'Trainer'" in line
    )
    trainer_spec = json.loads(Path(ir_path).with_suffix(".json").read_text())
    assert (
        trainer_spec["deploymentConfig"]["executorSpecs"]["Trainer"]["classPath"] == style.executor
    )


@pytest.mark.parametrize("style", STYLES, ids=lambda style: style.dag_id)
def test_the_pushed_model_learned_and_scores_raw_examples(
    runs: StyleRuns, style: Style, tfx_python: Path
) -> None:
    run = only_run(runs, style.dag_id)
    [pushed] = runs.pushed_first[style.dag_id]
    model = Path(pushed["destination"])
    assert model.parent == runs.home / "serving" / style.dag_id
    examples = run["CsvExampleGen"]["outputs"]["examples"][0]["uri"]
    command = [
        str(tfx_python),
        str(SCORE_MODEL),
        "--model",
        str(model),
        "--examples",
        f"{examples}/Split-eval/*.gz",
        "--label",
        style.label,
        "--signature",
        style.signature,
        "--output",
        style.output,
        "--evaluation",
        run["Evaluator"]["outputs"]["evaluation"][0]["uri"],
    ]
    if style.dag_id == "digits_tflite":
        command += ["--tflite", str(model / "tflite" / "model.tflite")]
    result = subprocess.run(command, capture_output=True, text=True, env=runs.env, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["input"]["dtype"] == "string" and report["input"]["shape"] == [None]
    assert report["examples"] >= 50
    assert report["accuracy"] >= style.min_accuracy, report
    assert report["tfma"]["validation_ok"] is True, report
    if style.dag_id == "digits_tflite":
        assert report["tflite"]["agreement"] >= 0.99, report
        assert report["tflite"]["max_abs_diff"] < 1e-3, report
        assert report["tflite"]["accuracy"] >= style.min_accuracy, report


def test_a_model_that_fails_validation_is_not_pushed(runs: StyleRuns) -> None:
    assert runs.one_step_exit_code == 0, runs.logs["one-step"][-3000:]
    metadata = runs.metadata("penguin_keras_raw")
    assert len(metadata) == 2
    first, second = sorted(metadata.values(), key=lambda run: run["Trainer"]["execution_id"])
    assert second["Trainer"]["state"] == "COMPLETE"  # retrained, not a cache hit
    assert (
        second["Evaluator"]["inputs"]["baseline_model"][0]["id"]
        == (first["Trainer"]["outputs"]["model"][0]["id"])
    )
    blessing = Path(second["Evaluator"]["outputs"]["blessing"][0]["uri"])
    assert (blessing / "NOT_BLESSED").exists() and not (blessing / "BLESSED").exists()
    assert "not blessed" in runs.logs["one-step"].lower()
    assert runs.pushed("penguin_keras_raw") == runs.pushed_first["penguin_keras_raw"]
    assert tree_digest(runs.home / "serving" / "penguin_keras_raw") == runs.serving_before
