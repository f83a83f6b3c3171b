"""Users' pipeline files at their edges: what carries over from an AirflowDagRunner file, what
is refused with a reason, and a component TFX skips.

Each DAG file of a folder declares one user pipeline; a DagBag over the folder compiles them
in the TFX environment as the DAG processor would, and each broken one is an import error of
its own file only.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dev import local_airflow

HEADER = """
import datetime
import os

from tfx.components import CsvExampleGen
from tfx.orchestration import pipeline
from tfx.orchestration.airflow.airflow_dag_runner import AirflowDagRunner
from tfx.orchestration.airflow.airflow_dag_runner import AirflowPipelineConfig

_root = os.path.dirname(os.path.abspath(__file__))


def _create_pipeline(name):
    return pipeline.Pipeline(
        pipeline_name=name,
        pipeline_root=os.path.join(_root, "root", name),
        components=[CsvExampleGen(input_base=os.path.join(_root, "data"))],
    )
"""

DAILY = (
    HEADER
    + """
_airflow_config = {
    "schedule_interval": datetime.timedelta(hours=6),
    "start_date": datetime.datetime(2025, 6, 1),
    "catchup": False,
    "max_active_runs": 3,
    "tags": ["legacy"],
    "default_args": {
        "owner": "data-team",
        "retries": 3,
        "retry_delay": datetime.timedelta(minutes=5),
        "execution_timeout": datetime.timedelta(hours=2),
    },
}
DAG = AirflowDagRunner(AirflowPipelineConfig(_airflow_config)).run(_create_pipeline("daily"))
"""
)

UNSUPPORTED = (
    HEADER
    + """
DAG = AirflowDagRunner(AirflowPipelineConfig({"concurrency": 4, "schedule_interval": None})).run(
    _create_pipeline("unsupported")
)
"""
)

RAISES = (
    HEADER
    + """
_data = os.environ["NO_SUCH_VARIABLE_FOR_TFX_DAGS"]
DAG = AirflowDagRunner(AirflowPipelineConfig({})).run(_create_pipeline("raises"))
"""
)

MISSING_MODULE = """
from tfx.components import CsvExampleGen, SchemaGen, StatisticsGen, Transform
from tfx.orchestration import pipeline


def create_pipeline(pipeline_name, pipeline_root, data_root):
    example_gen = CsvExampleGen(input_base=data_root)
    statistics_gen = StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = SchemaGen(statistics=statistics_gen.outputs["statistics"])
    transform = Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        module_file="/nowhere/preprocessing.py",
    )
    return pipeline.Pipeline(
        pipeline_name=pipeline_name, pipeline_root=pipeline_root,
        components=[example_gen, statistics_gen, schema_gen, transform],
    )
"""

EVALUATOR_MODULE = """
import os

import tensorflow_model_analysis as tfma
from tfx.components import CsvExampleGen, Evaluator, Trainer
from tfx.orchestration import pipeline
from tfx.proto import trainer_pb2

MODULE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "user_module", "model.py")


def create_pipeline(pipeline_name, pipeline_root, data_root):
    example_gen = CsvExampleGen(input_base=data_root)
    trainer = Trainer(
        module_file=MODULE, examples=example_gen.outputs["examples"],
        train_args=trainer_pb2.TrainArgs(num_steps=1), eval_args=trainer_pb2.EvalArgs(num_steps=1),
    )
    evaluator = Evaluator(
        examples=example_gen.outputs["examples"], model=trainer.outputs["model"],
        eval_config=tfma.EvalConfig(model_specs=[tfma.ModelSpec(label_key="b")]),
        module_file=MODULE,
    )
    return pipeline.Pipeline(
        pipeline_name=pipeline_name, pipeline_root=pipeline_root,
        components=[example_gen, trainer, evaluator],
    )
"""

USER_MODULE = """
def run_fn(fn_args):
    raise NotImplementedError


def custom_eval_shared_model(eval_saved_model_path, model_name, eval_config, **kwargs):
    raise NotImplementedError
"""

COND = """
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.dsl.experimental.conditionals import conditional
from tfx.orchestration import pipeline
from tfx.types import standard_artifacts


@component
def Judge(flag: Parameter[int], verdict: OutputArtifact[standard_artifacts.String]):
    verdict.value = "judged"
    verdict.set_int_custom_property("flag", flag)


@component
def Act(verdict: InputArtifact[standard_artifacts.String]) -> None:
    print("acting on", verdict.uri)


def create_pipeline(pipeline_name, pipeline_root):
    judge = Judge(flag=0)
    with conditional.Cond(judge.outputs["verdict"].future()[0].custom_property("flag") == 1):
        act = Act(verdict=judge.outputs["verdict"])
    return pipeline.Pipeline(
        pipeline_name=pipeline_name, pipeline_root=pipeline_root, components=[judge, act]
    )
"""


def dag_file(factory: str, **kwargs: object) -> str:
    call = ", ".join(f"{name}={value!r}" for name, value in kwargs.items())
    return (
        f'"""Airflow DAG: a user pipeline."""\n'
        f"from tfx_dags.airflow.factory import runner_file_dag, pipeline_dag\n\n"
        f"dag = {factory}({call}, owner='data-team')\n"
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("user-pipelines")
    pipelines, dags = root / "pipelines", root / "dags"
    (pipelines / "data").mkdir(parents=True)
    (pipelines / "data" / "data.csv").write_text("a,b\n1,2\n3,4\n")
    dags.mkdir()
    files = {
        "daily_pipeline.py": DAILY,
        "unsupported_pipeline.py": UNSUPPORTED,
        "raising_pipeline.py": RAISES,
        "missing_module_pipeline.py": MISSING_MODULE,
        "cond_pipeline.py": COND,
        "json.py": MISSING_MODULE,  # the stdlib's name
        "evaluator_module_pipeline.py": EVALUATOR_MODULE,
        "user_module/model.py": USER_MODULE,
    }
    (pipelines / "user_module").mkdir()
    for name, text in files.items():
        (pipelines / name).write_text(text)
    for name in ("daily", "unsupported", "raising"):
        path = str(pipelines / f"{name}_pipeline.py")
        (dags / f"{name}.py").write_text(dag_file("runner_file_dag", path=path))
    data = {"data_root": str(pipelines / "data")}
    for dag_id, name, kwargs in (
        ("missing_module", "missing_module_pipeline.py", data),
        ("cond", "cond_pipeline.py", {}),
        ("shadowing", "json.py", data),
        ("evaluator_module", "evaluator_module_pipeline.py", data),
    ):
        reference = f"{pipelines / name}:create_pipeline"
        text = dag_file("pipeline_dag", dag_id=dag_id, pipeline=reference, pipeline_kwargs=kwargs)
        (dags / f"{dag_id}.py").write_text(text)
    return root


@pytest.fixture(scope="module")
def dag_bag(folder: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(folder / "dags"))


def import_error(dag_bag: Any, name: str) -> str:
    [error] = [text for path, text in dag_bag.import_errors.items() if path.endswith(name)]
    return str(error)


def test_an_airflow_runner_files_dag_settings_carry_over(dag_bag: Any) -> None:
    dag = dag_bag.dags["daily"]
    assert dag.schedule == timedelta(hours=6)
    assert dag.start_date == datetime(2025, 6, 1, tzinfo=UTC)
    assert (dag.catchup, dag.max_active_runs) == (False, 3)
    assert "legacy" in dag.tags and dag.owner == "data-team"
    task = dag.get_task("CsvExampleGen")
    assert (task.retries, task.retry_delay) == (3, timedelta(minutes=5))
    assert task.execution_timeout == timedelta(hours=2)


@pytest.mark.parametrize(
    ("dag_file_name", "reasons"),
    [
        ("unsupported.py", ["unsupported_pipeline.py", "sets ['concurrency']", "supported:"]),
        ("raising.py", ["KeyError: 'NO_SUCH_VARIABLE_FOR_TFX_DAGS'", "raising_pipeline.py:"]),
        ("missing_module.py", ["module_file /nowhere/preprocessing.py does not exist"]),
        ("shadowing.py", ["would be the module 'json'", "rename the file"]),
    ],
)
def test_a_broken_user_pipeline_is_an_import_error_with_its_reason(
    dag_bag: Any, dag_file_name: str, reasons: list[str]
) -> None:
    error = import_error(dag_bag, dag_file_name)
    for reason in reasons:
        assert reason in error, error
    assert {"daily", "cond"} <= set(dag_bag.dags)  # the others still load


def test_the_evaluators_module_file_is_packaged_like_the_trainers(
    dag_bag: Any, folder: Path
) -> None:
    dag = dag_bag.dags["evaluator_module"]
    ir_json = Path(dag.get_task("Evaluator").pipeline_ir).with_suffix(".json")
    nodes = {
        node["pipelineNode"]["nodeInfo"]["id"]: node["pipelineNode"]
        for node in json.loads(ir_json.read_text())["nodes"]
    }
    for node in ("Trainer", "Evaluator"):
        parameters = nodes[node]["parameters"]["parameters"]
        module, _, wheel = parameters["module_path"]["fieldValue"]["stringValue"].partition("@")
        assert module == "model"
        assert Path(wheel).is_file() and Path(wheel).parent.name == "_wheels"
        assert "module_file" not in parameters or not parameters["module_file"]


def test_a_component_tfx_skips_is_a_skipped_task(folder: Path) -> None:
    home = folder / "home"
    env = local_airflow.environment(home, dags_folder=folder / "dags")
    local_airflow.init_db(env, log=home / "logs" / "db-migrate.log")
    log = home / "logs" / "cond.log"
    assert local_airflow.run_dag(env, "cond", log=log) == 0, log.read_text()[-3000:]
    [states] = local_airflow.task_states(env, "cond").values()
    assert states == {"Judge": "success", "Act": "skipped"}
    assert "Act skipped by TFX: its inputs resolved to nothing" in log.read_text()
