"""Every trainer style and example pipeline as an Airflow DAG, end to end, in one fresh home.

Each DAG runs once and must bless and push a model that really learned, scored here on
serialized raw examples of its eval split the way a serving client sends them. Then
penguin_keras_raw runs again with one training step: its model must not be blessed, and the
model pushed before must stay where it was, unchanged. (penguin_keras, the native Keras
style with Transform, is covered by test_penguin_e2e.py.)
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.shared_runs import STYLES, Style, StyleRuns, tree_digest

SCORE_MODEL = Path(__file__).resolve().parents[1] / "tfx_env" / "score_model.py"
# The runs are StyleRuns (shared_runs.py), which test_openlineage.py reads too.
pytestmark = pytest.mark.xdist_group("sqlite_runs")


@pytest.fixture(scope="module")
def runs(style_runs: StyleRuns) -> StyleRuns:
    return style_runs


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
