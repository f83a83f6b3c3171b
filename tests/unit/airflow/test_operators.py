"""The operator without processes: the node's command line, a run parameter refused before
any node starts. tests/integration/airflow/test_operators.py runs real process trees."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfx_dags.airflow.operators import TfxNodeOperator


def test_the_node_command_is_an_argument_list_that_keeps_values_verbatim() -> None:
    operator = TfxNodeOperator(task_id="Pusher", pipeline_ir="/ir.pb", node_id="Pusher")
    hostile = "manual__x; rm -rf / $(reboot)"
    command = operator.node_command(hostile)
    assert command[1:] == [
        "-m",
        "tfx_dags.runner.node",
        "--pipeline-ir",
        "/ir.pb",
        "--node-id",
        "Pusher",
        "--run-id",
        hostile,
    ]


def test_a_bad_run_parameter_fails_the_task_before_any_node_starts(tmp_path: Path) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from tfx_dags.airflow.operators import RunVariant
    from tfx_dags.airflow.params import RunParam

    variant = RunVariant(
        dag_id="penguin",
        pipeline="modules.penguin.pipeline:create_pipeline",
        pipeline_kwargs={"data_root": str(tmp_path / "data" / "penguin")},
        run_params={"data_root": RunParam(path_root=str(tmp_path / "data"))},
    )
    operator = TfxNodeOperator(
        task_id="CsvExampleGen",
        pipeline_ir=str(tmp_path / "pipeline_ir.pb"),
        node_id="CsvExampleGen",
        variant=variant,
    )
    with pytest.raises(AirflowFailException, match=r"run parameter 'data_root': .*not a safe"):
        operator.execute({"run_id": "manual__1", "params": {"data_root": "../../etc"}})


def test_the_ir_path_is_serialized_with_the_dag_and_never_rendered() -> None:
    from airflow.sdk import DAG
    from airflow.serialization.serialized_objects import DagSerialization

    # A "{{" in a path is no template: the task runs the IR the factory gave it.
    path = "/cache/{{ ds }}/k/pipeline_ir.pb"
    with DAG("p", schedule=None) as dag:
        operator = TfxNodeOperator(task_id="A", pipeline_ir=path, node_id="A")
    [task] = DagSerialization.to_dict(dag)["dag"]["tasks"]
    assert task["__var"]["pipeline_ir"] == path
    operator.render_template_fields({"ds": "2026-01-01"})
    assert operator.pipeline_ir == path
