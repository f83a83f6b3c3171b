"""A node that fails in the TFX environment fails its Airflow task with the node's error."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowException

from tfx_dags.airflow.compile_cache import ensure_compiled
from tfx_dags.airflow.operators import TfxNodeOperator
from tfx_dags.common.pipeline_ref import parse_pipeline_ref

# No DAG run: part of `make test-fast`.
pytestmark = pytest.mark.quick


def test_a_missing_pipeline_ir_fails_the_task_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "pipeline_ir.pb"
    operator = TfxNodeOperator(task_id="Trainer", pipeline_ir=str(missing), node_id="Trainer")
    with pytest.raises(AirflowException) as failure:
        operator.execute({"run_id": "manual__1"})
    message = str(failure.value)
    assert message.startswith("TFX node Trainer failed with exit code 1: Trainer: ")
    assert f"FileNotFoundError: [Errno 2] No such file or directory: '{missing}'" in message


def test_an_unknown_node_fails_the_task_listing_the_pipelines_nodes() -> None:
    compiled = ensure_compiled(
        cache_name="penguin_keras",
        ref=parse_pipeline_ref("modules.penguin.pipeline:create_pipeline"),
        kwargs={
            "pipeline_name": "penguin_keras",
            "pipeline_root": "/tmp/unused-root",
            "data_root": "/tmp/unused-data",
            "serving_model_dir": "/tmp/unused-serving",
        },
    )
    operator = TfxNodeOperator(
        task_id="Pusher2", pipeline_ir=str(compiled.ir_path), node_id="Pusher2"
    )
    with pytest.raises(AirflowException, match=r"node 'Pusher2' is not in .*'Pusher', 'SchemaGen'"):
        operator.execute({"run_id": "manual__1"})
