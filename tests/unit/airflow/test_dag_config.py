from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from tfx_dags.airflow.dag_config import PipelineDagConfig, TaskOverride
from tfx_dags.airflow.params import RunParam, RuntimeBinding, param_schema
from tfx_dags.common.errors import ConfigError, PipelineCompileError, TfxDagsError
from tfx_dags.common.graph import PipelineGraph, RuntimeParameter, TfxNode
from tfx_dags.common.pipeline_ref import DottedPipeline

GOOD = {"dag_id": "penguin_keras", "pipeline": "modules.penguin.pipeline:create_pipeline"}


def config(**overrides: Any) -> PipelineDagConfig:
    return PipelineDagConfig(**{**GOOD, **overrides})


def graph(*runtime_parameters: RuntimeParameter) -> PipelineGraph:
    """A compiled graph of GOOD's pipeline, as step 2 binds a config to it."""
    nodes = (TfxNode("CsvExampleGen", "CsvExampleGen", (), is_beam=True),)
    return PipelineGraph(GOOD["dag_id"], nodes, runtime_parameters=runtime_parameters)


def test_a_good_config_validates_and_returns_the_pipeline_reference() -> None:
    assert config().check().ref == DottedPipeline("modules.penguin.pipeline", "create_pipeline")


def test_a_runner_file_takes_no_pipeline_kwargs() -> None:
    with pytest.raises(ConfigError, match="takes no pipeline_kwargs"):
        config(pipeline="/srv/dags/taxi.py", pipeline_kwargs={"data_root": "/d"}).check()


def test_a_schedule_may_be_a_timedelta_and_the_store_is_named() -> None:
    config(schedule=timedelta(hours=6)).check()
    with pytest.raises(ConfigError, match=r"metadata_store='mine' must be one of"):
        config(metadata_store="mine").check()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"dag_id": "penguin keras"}, r"dag_id='penguin keras' is not a valid Airflow DAG id"),
        ({"dag_id": "x" * 251}, "at most 250 characters"),
        ({"pipeline": "modules.penguin.pipeline"}, "is not a pipeline reference"),
        ({"pipeline": "modules..penguin:f"}, "is not a pipeline reference"),
        ({"pipeline_kwargs": ["data"]}, "pipeline_kwargs must be a mapping, got list"),
        ({"pipeline_kwargs": {"pipeline_root": "/x"}}, r"pipeline_kwargs\['pipeline_root'\]"),
        ({"pipeline_kwargs": {"data_root": object()}}, "must hold JSON values only"),
        ({"schedule": 5}, "schedule=5 must be a cron string"),
        ({"start_date": datetime(2024, 1, 1)}, "must be a timezone-aware datetime"),
        ({"retries": -1}, "retries=-1 must be an integer >= 0"),
        ({"retries": True}, "retries=True must be an integer >= 0"),
        ({"retry_delay": 60}, "retry_delay=60 must be a timedelta"),
        ({"retry_delay": timedelta(seconds=-1)}, "must be a timedelta >= 0"),
        ({"max_active_runs": 0}, "max_active_runs=0 must be an integer >= 1"),
        ({"owner": " "}, "owner=' ' must be a non-empty string"),
        ({"tags": "tfx"}, "tags='tfx' must be a sequence of strings"),
        ({"tags": ("tfx", 3)}, "must be a sequence of strings"),
        ({"beam_args": "--runner=PortableRunner"}, "beam_args='--runner=Port.* must be a list"),
        ({"beam_args": ["PortableRunner"]}, r"beam_args=\['PortableRunner'\] must be Beam args"),
        ({"beam_args": ["--runner=PortableRunner", 8099]}, "must be Beam args"),
    ],
)
def test_each_bad_field_is_named_in_the_error(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(**overrides).check()


def test_config_errors_are_package_errors_and_value_errors() -> None:
    with pytest.raises(TfxDagsError):
        config(retries=-1).check()
    with pytest.raises(ValueError):
        config(retries=-1).check()


def test_task_overrides_become_validated_task_overrides() -> None:
    overrides = (
        config(
            task_overrides={
                "Trainer": {
                    "queue": "gpu_a100",
                    "execution_timeout": timedelta(hours=2),
                    "priority_weight": 10,
                    "env": {"CUDA_VISIBLE_DEVICES": "0"},
                }
            }
        )
        .check()
        .overrides
    )
    assert overrides["Trainer"].operator_kwargs() == {
        "queue": "gpu_a100",
        "execution_timeout": timedelta(hours=2),
        "priority_weight": 10,
    }
    assert overrides["Trainer"].env == {"CUDA_VISIBLE_DEVICES": "0"}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"gpus": 2}, r"task_overrides\['Trainer'\]: .*'gpus'.*allowed: pool, queue"),
        ({"pool": "gpu pool"}, r"task_overrides\['Trainer'\]\.pool='gpu pool' must be"),
        ({"retries": -1}, r"\.retries=-1 must be an integer >= 0"),
        ({"retry_delay": 5}, r"\.retry_delay=5 must be a timedelta >= 0"),
        ({"execution_timeout": timedelta(0)}, r"\.execution_timeout=.* must be a timedelta > 0"),
        ({"priority_weight": "high"}, r"\.priority_weight='high' must be an integer"),
        ({"env": {"CUDA VISIBLE": "0"}}, r"'CUDA VISIBLE' is not an environment variable name"),
        ({"env": {"CUDA_VISIBLE_DEVICES": 0}}, r"env\['CUDA_VISIBLE_DEVICES'\]=0 must be a string"),
        ({"beam_args": "--runner=X"}, r"\.beam_args='--runner=X' must be a list of strings"),
    ],
)
def test_bad_task_overrides_are_refused_naming_the_field(
    override: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        config(task_overrides={"Trainer": override}).check()


def test_run_params_must_name_pipeline_arguments_with_a_fitting_default() -> None:
    # Before the compile, a name may still be one of the pipeline's RuntimeParameters.
    unknown = config(run_params={"train_steps": {"minimum": 1}}).check()
    with pytest.raises(
        ConfigError, match=r"run_params\['train_steps'\] names no pipeline argument and no"
    ):
        unknown.bind(graph(RuntimeParameter("data_root", "str", "/data")))
    with pytest.raises(ConfigError, match=r"'train_steps': its default 0 is less than the minimum"):
        config(
            pipeline_kwargs={"train_steps": 0}, run_params={"train_steps": {"minimum": 1}}
        ).check()
    with pytest.raises(ConfigError, match=r"run_params\['train_steps'\]: .*'low'"):
        config(pipeline_kwargs={"train_steps": 5}, run_params={"train_steps": {"low": 1}}).check()


def test_schedule_assets_are_uris_and_exclude_a_schedule() -> None:
    config(schedule_assets=("file:///data/penguin", "s3://bucket/taxi")).check()
    with pytest.raises(ConfigError, match="must be a sequence of asset URIs"):
        config(schedule_assets=("data/penguin",)).check()
    with pytest.raises(ConfigError, match="set schedule or schedule_assets, not both"):
        config(schedule="@daily", schedule_assets=("file:///data/penguin",)).check()


def test_runtime_parameters_are_run_parameters_bounded_by_run_params() -> None:
    runtime = [
        RuntimeParameter("data_root", "str", "/srv/data/taxi"),
        RuntimeParameter("min_rows", "int", 100),
        RuntimeParameter("run_date", "str", "{{ ds }}"),
    ]
    dag = config(run_params={"data_root": RunParam(path_root="/srv/data")})
    bound = dag.check().bind(graph(*runtime))
    checked = bound.runtime_params
    specs = {name: param.spec for name, param in checked.items()}
    assert checked["data_root"].schema == param_schema(
        "data_root", "/srv/data/taxi", specs["data_root"]
    )
    assert bound.argument_params == {}
    schema = param_schema("data_root", "/srv/data/taxi", specs["data_root"])
    assert schema["default"] == "taxi" and "pattern" in schema
    assert param_schema("min_rows", 100, specs["min_rows"])["type"] == "integer"
    assert specs["min_rows"].description == "TFX RuntimeParameter (int)"
    binding = RuntimeBinding({p.name: p.default for p in runtime}, specs)
    values = binding.values({"data_root": "taxi/2026", "min_rows": 5})
    assert values == {"data_root": "/srv/data/taxi/2026", "min_rows": 5, "run_date": "{{ ds }}"}
    with pytest.raises(ConfigError, match="'min_rows': 'many' is not of type 'integer'"):
        binding.values({"min_rows": "many"})
    with pytest.raises(ConfigError, match="not a safe relative path"):
        binding.values({"data_root": "../etc"})


def test_runtime_parameters_need_a_default() -> None:
    with pytest.raises(ConfigError, match="RuntimeParameter 'min_rows' has no default"):
        config().check().bind(graph(RuntimeParameter("min_rows", "int", None)))


def test_a_pipeline_argument_feeding_its_runtime_parameter_is_that_parameters_default() -> None:
    # TFX's own taxi_pipeline_simple: RuntimeParameter('data_root', default=data_root).
    runtime = [RuntimeParameter("data_root", "str", "/srv/taxi"), RuntimeParameter("n", "int", 1)]
    dag = config(
        pipeline_kwargs={"data_root": "/srv/taxi", "n": 3, "steps": 10},
        run_params={"data_root": {"path_root": "/srv"}, "steps": {"minimum": 1}},
    )
    bound = dag.check().bind(graph(*runtime))
    specs = bound.runtime_params
    assert specs["data_root"].schema["default"] == "taxi"  # under its root
    assert specs["n"].schema["default"] == 3  # the argument, not the IR's 1
    # One Airflow Param each: a RuntimeParameter's name is never a pipeline argument's too.
    assert set(bound.argument_params) == {"steps"}
    with pytest.raises(ConfigError, match="RuntimeParameter 'n' has no default"):
        config(pipeline_kwargs={"n": None}).check().bind(graph(RuntimeParameter("n", "int", None)))


def test_the_dags_and_a_tasks_beam_args_reach_beam_nodes_only_through_their_environment() -> None:
    from tfx_dags.airflow.factory import _beam_env
    from tfx_dags.common.graph import TfxNode

    dag_args = ["--runner=PortableRunner", "--job_endpoint=jobs:8099"]
    transform = TfxNode("Transform", "Transform", (), is_beam=True)
    trainer = TfxNode("Trainer", "Trainer", (), is_trainer=True)
    assert _beam_env(transform, dag_args) == {"TFX_DAGS_BEAM_ARGS": json.dumps(dag_args)}
    assert _beam_env(trainer, dag_args) == {}
    assert _beam_env(transform, []) == {}  # nothing set: the deployment's, if any, stays
    overrides = config(
        beam_args=dag_args, task_overrides={"Transform": {"beam_args": ["--parallelism=4"]}}
    )
    assert overrides.check().overrides["Transform"].beam_args == ["--parallelism=4"]


def test_step_two_binds_the_settings_to_the_compiled_graph() -> None:
    example_gen = TfxNode("CsvExampleGen", "CsvExampleGen", (), is_beam=True)
    trainer = TfxNode("Trainer", "Trainer", ("CsvExampleGen",), is_trainer=True)
    compiled = PipelineGraph(GOOD["dag_id"], (example_gen, trainer))
    bound = config(task_overrides={"Trainer": {"queue": "gpu_a100"}}).check().bind(compiled)
    assert bound.override("Trainer").queue == "gpu_a100"
    assert bound.override("CsvExampleGen") == TaskOverride()
    with pytest.raises(ConfigError, match=r"task_overrides names \['Pusher'\], not nodes"):
        config(task_overrides={"Pusher": {"retries": 0}}).check().bind(compiled)
    with pytest.raises(ConfigError, match=r"\['Trainer'\]\.beam_args: Trainer is not a Beam"):
        config(task_overrides={"Trainer": {"beam_args": ["--x=1"]}}).check().bind(compiled)
    spaced = PipelineGraph(GOOD["dag_id"], (TfxNode("Example Gen", "CsvExampleGen", ()),))
    with pytest.raises(ConfigError, match="'Example Gen' is not a valid Airflow task id"):
        config().check().bind(spaced)


def test_step_two_names_who_chose_a_pipeline_name_other_than_the_dag_id() -> None:
    other = PipelineGraph("churn", (TfxNode("CsvExampleGen", "CsvExampleGen", ()),))
    with pytest.raises(PipelineCompileError, match="it must pass its pipeline_name argument"):
        config().check().bind(other)
    runner_file = config(pipeline="/srv/dags/taxi_pipeline_simple.py").check()
    with pytest.raises(ConfigError, match="runs the pipeline 'churn': its DAG id is that name"):
        runner_file.bind(other)
