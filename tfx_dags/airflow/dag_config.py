"""Typed configuration of one pipeline DAG, validated in two named steps.

``PipelineDagConfig.check`` (before the compile) checks each field on its own and returns a
``CheckedConfig``; ``CheckedConfig.bind`` (after it) checks what the settings name against
the compiled graph and returns the ``DagBinding`` the factory renders. Nothing else checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from tfx_dags.airflow.interval_spans import IntervalSpans, as_interval_spans
from tfx_dags.airflow.params import RunParam, RuntimeBinding, as_run_param, param_schema
from tfx_dags.common import tfx_envs
from tfx_dags.common.errors import ConfigError, PipelineCompileError
from tfx_dags.common.graph import PipelineGraph, RuntimeParameter, TfxNode
from tfx_dags.common.pipeline_ref import FACTORY_ARGUMENTS, PipelineRef, parse_pipeline_ref

# Airflow's own rule for dag_id and task_id (airflow.utils.helpers.KEY_REGEX).
KEY_PATTERN = re.compile(r"^[\w.-]+$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Where a node's ML Metadata comes from when the pipeline declares its own store.
METADATA_STORES = ("pipeline", "deployment")
# An asset URI the scheduler can key on: a scheme, then a location.
ASSET_URI = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$")


@dataclass(frozen=True)
class TaskOverride:
    """Settings of one node's task that replace the factory's defaults. None keeps the default.

    Args:
        pool: Airflow pool (must be in the pools file). Default: the GPU pool for Trainer and
            Tuner, ``default_pool`` for the rest.
        queue: executor queue. Default: TFX_DAGS_GPU_QUEUE / _BEAM_QUEUE / _DEFAULT_QUEUE.
        executor: Airflow executor of the task (one of ``[core] executor``, e.g.
            ``EdgeExecutor``). Default: TFX_DAGS_GPU_EXECUTOR for Trainer and Tuner (when
            set), the main executor for the rest.
        retries, retry_delay: as for the whole DAG.
        execution_timeout: the task fails (and its process group is killed) after this long.
        priority_weight: Airflow priority among queued tasks.
        env: extra environment variables of the node's process (e.g. CUDA_VISIBLE_DEVICES).
        beam_args: Beam args of this Beam-backed node, after the DAG's ``beam_args`` (e.g.
            ``tfx_dags.authoring.beam_args.portable_args(...)`` for Transform only).
    """

    pool: str | None = None
    queue: str | None = None
    executor: str | None = None
    retries: int | None = None
    retry_delay: timedelta | None = None
    execution_timeout: timedelta | None = None
    priority_weight: int | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    beam_args: Sequence[str] = ()

    def operator_kwargs(self) -> dict[str, Any]:
        fields = (
            "pool",
            "queue",
            "executor",
            "retries",
            "retry_delay",
            "execution_timeout",
            "priority_weight",
        )
        return {name: getattr(self, name) for name in fields if getattr(self, name) is not None}


@dataclass(frozen=True)
class PipelineDagConfig:
    """One TFX pipeline as one Airflow DAG.

    Args:
        dag_id: Airflow DAG id; also the TFX pipeline name, so ML Metadata groups runs by it.
        pipeline: ``package.module:function`` or ``/abs/path.py:function``; the function takes
            keyword arguments and returns a ``tfx.dsl.Pipeline``. The factory passes
            ``pipeline_name`` and ``pipeline_root`` itself.
        pipeline_kwargs: further keyword arguments for the function; JSON values only, since
            they cross into the TFX environment and into the compile cache key.
        schedule: an Airflow schedule (cron string, preset such as ``"@daily"``, a
            ``timedelta``, a timetable such as ``airflow.timetables.interval``'s
            ``CronDataIntervalTimetable``) or None for manual runs only. Default None.
        start_date: first logical date. Default 2024-01-01 UTC.
        catchup: run missed intervals since ``start_date``. Default False.
        owner: shown in the UI and required by the DAG integrity tests. Default ``"airflow"``.
        tags: UI tags. Default none.
        retries: retries of each task. Default 1.
        retry_delay: pause before a retry. Default one minute.
        max_active_runs: concurrent runs of this DAG. Default 1.
        description: DAG description. Default: names the pipeline function.
        task_overrides: per TFX node id, a ``TaskOverride`` or a mapping of its fields
            (pool, queue, executor, retries, retry_delay, execution_timeout,
            priority_weight, env, beam_args).
        run_params: per pipeline argument that a trigger may set, a ``RunParam`` (or mapping)
            with its bounds; its default is the value in ``pipeline_kwargs``. An entry may
            also name a TFX RuntimeParameter of the pipeline (each is a run parameter
            anyway, with its type and default) to bound it or make it a path under a root.
        schedule_assets: asset URIs (e.g. ``file:///data/penguin``); the DAG runs when any
            of them gets an event (new data). Exclusive with ``schedule``. Default none.
        beam_args: Beam args for every Beam-backed node, after the pipeline's own, so they
            win: a runner and its settings from ``tfx_dags.authoring.beam_args`` (e.g.
            ``portable_args(job_endpoint=...)``). None set: the pipeline's, and the
            deployment's TFX_DAGS_BEAM_ARGS. Default none.
        metadata_store: for a pipeline that declares its own ``metadata_connection_config``:
            ``"pipeline"`` keeps it (its history of runs, blessed models and cache), and
            ``"deployment"`` uses the deployment's store instead (the Airflow connection
            ``TFX_DAGS_METADATA_CONN_ID``, else SQLite), which the TFX view reads. Pipelines
            without one always use the deployment's. Default ``"pipeline"``.
        tfx_env: the TFX environment (a name the deployment declares in
            ``TFX_DAGS_TFX_ENVS``) that compiles the pipeline and runs its nodes, e.g.
            ``"tfx115"`` for Estimators, ``"tfx116"`` for Keras on TF 2.16. Default: the
            deployment's default environment (``TFX_DAGS_DEFAULT_TFX_ENV``).
        spans: an ``IntervalSpans`` (or a mapping of its fields): each run's data interval
            picks the span its ExampleGen ingests, through the pipeline's ``range_config``
            RuntimeParameter (``tfx_dags.airflow.interval_spans``); the schedule must give
            intervals of one span. Default None: every run reads what ExampleGen finds.
    """

    dag_id: str
    pipeline: str
    pipeline_kwargs: Mapping[str, Any] = field(default_factory=dict)
    schedule: str | timedelta | Any | None = None
    start_date: datetime = datetime(2024, 1, 1, tzinfo=UTC)
    catchup: bool = False
    owner: str = "airflow"
    tags: tuple[str, ...] = ()
    retries: int = 1
    retry_delay: timedelta = timedelta(minutes=1)
    max_active_runs: int = 1
    description: str | None = None
    task_overrides: Mapping[str, TaskOverride | Mapping[str, Any]] = field(default_factory=dict)
    run_params: Mapping[str, RunParam | Mapping[str, Any]] = field(default_factory=dict)
    schedule_assets: tuple[str, ...] = ()
    metadata_store: str = "pipeline"
    beam_args: Sequence[str] = ()
    tfx_env: str | None = None
    spans: IntervalSpans | Mapping[str, Any] | None = None

    def check(self) -> CheckedConfig:
        """Step 1, before the compile: check every field on its own. Raises ConfigError."""
        _validate_dag_id(self.dag_id)
        ref = parse_pipeline_ref(self.pipeline)
        _validate_pipeline_kwargs(self.pipeline_kwargs)
        if not ref.takes_kwargs and self.pipeline_kwargs:
            raise ConfigError(
                f"pipeline={self.pipeline!r} builds its pipeline itself (it hands it to a TFX "
                "runner); it takes no pipeline_kwargs"
            )
        if self.metadata_store not in METADATA_STORES:
            raise ConfigError(
                f"metadata_store={self.metadata_store!r} must be one of {list(METADATA_STORES)}"
            )
        _validate_scheduling(self)
        _validate_ownership(self)
        _validate_beam_args("beam_args", self.beam_args)
        if self.tfx_env is not None and not isinstance(self.tfx_env, str):
            raise ConfigError(f"tfx_env={self.tfx_env!r} must be the name of a TFX environment")
        tfx_envs.resolve(self.tfx_env)
        spans = as_interval_spans(self.spans)
        if spans is not None:
            spans.check_schedule(self.schedule, self.start_date)
        return CheckedConfig(
            config=self,
            ref=ref,
            overrides=_task_overrides(self.task_overrides),
            argument_params=_argument_params(self.pipeline_kwargs, self.run_params),
            spans=spans,
        )


@dataclass(frozen=True)
class CheckedConfig:
    """A ``PipelineDagConfig`` whose fields passed step 1 (``PipelineDagConfig.check``): the
    parsed pipeline reference, validated task overrides by node id, and the run parameters
    of pipeline arguments, each checked against its default. ``bind`` is step 2."""

    config: PipelineDagConfig
    ref: PipelineRef
    overrides: Mapping[str, TaskOverride]
    argument_params: Mapping[str, CheckedParam]
    spans: IntervalSpans | None = None

    def bind(self, graph: PipelineGraph) -> DagBinding:
        """Step 2, after the compile: what the settings name must exist in the compiled
        graph (its pipeline name, the overridden nodes, RuntimeParameters named by
        run_params), and every node must make an Airflow task. Raises ConfigError (or
        PipelineCompileError where the pipeline function, not the DAG file, is at fault)."""
        config = self.config
        _check_pipeline_name(self, graph)
        node_ids = [node.node_id for node in graph.nodes]
        unknown = sorted(set(self.overrides) - set(node_ids))
        if unknown:
            raise ConfigError(
                f"task_overrides names {unknown}, not nodes of this pipeline; its nodes are "
                f"{node_ids}"
            )
        for node in graph.nodes:
            _check_node(node, self.overrides.get(node.node_id, TaskOverride()))
        spans = None if self.spans is None else self.spans.bind(graph)
        runtime = {parameter.name for parameter in graph.runtime_parameters}
        for name in config.run_params:
            if name not in config.pipeline_kwargs and name not in runtime:
                raise ConfigError(
                    f"run_params[{name!r}] names no pipeline argument and no "
                    "RuntimeParameter of the pipeline; add "
                    f"{name!r} with its default value to pipeline_kwargs"
                )
        # An argument that feeds the RuntimeParameter of its name (TFX's own examples do:
        # RuntimeParameter('data_root', default=data_root)) is that parameter: TFX binds it
        # in each node, with no compile of its own.
        argument_params = {
            name: checked for name, checked in self.argument_params.items() if name not in runtime
        }
        return DagBinding(
            checked=self,
            graph=graph,
            argument_params=argument_params,
            runtime_params=_runtime_params(config, graph.runtime_parameters),
            spans=spans,
        )


@dataclass(frozen=True)
class DagBinding:
    """A checked config bound to its compiled graph (``CheckedConfig.bind``): everything the
    factory renders, with nothing left to check.

    ``argument_params``: run parameters of pipeline arguments (a run with other values is
    compiled for them); ``runtime_params``: how a run may set each of the pipeline's TFX
    RuntimeParameters (bound in each node, no compile)."""

    checked: CheckedConfig
    graph: PipelineGraph
    argument_params: Mapping[str, CheckedParam]
    runtime_params: Mapping[str, CheckedParam]
    # ``spans=`` with its ExampleGen named (``IntervalSpans.bind``).
    spans: IntervalSpans | None = None

    @property
    def config(self) -> PipelineDagConfig:
        return self.checked.config

    def override(self, node_id: str) -> TaskOverride:
        return self.checked.overrides.get(node_id, TaskOverride())

    def runtime_binding(self) -> RuntimeBinding:
        """What each task needs to bind the pipeline's TFX RuntimeParameters in a run: their
        defaults (a pipeline argument of a parameter's name is its default) and the specs of
        the run parameters that may set them. TFX binds them in each node (TFX's Airflow
        runner took them from dag_run.conf), so they need no compile of their own."""
        pipeline_kwargs = self.config.pipeline_kwargs
        return RuntimeBinding(
            defaults={
                parameter.name: pipeline_kwargs.get(parameter.name, parameter.default)
                for parameter in self.graph.runtime_parameters
            },
            specs={name: checked.spec for name, checked in self.runtime_params.items()},
        )


def _check_pipeline_name(checked: CheckedConfig, graph: PipelineGraph) -> None:
    config = checked.config
    if graph.pipeline_name == config.dag_id:
        return
    if checked.ref.names_itself:
        raise ConfigError(
            f"{config.pipeline} runs the pipeline {graph.pipeline_name!r}: its "
            f"DAG id is that name, not {config.dag_id!r}"
        )
    raise PipelineCompileError(
        f"{config.pipeline} named its pipeline {graph.pipeline_name!r}; it must "
        f"pass its pipeline_name argument ({config.dag_id!r}) to tfx.dsl.Pipeline"
    )


def _check_node(node: TfxNode, override: TaskOverride) -> None:
    if not KEY_PATTERN.match(node.node_id):
        raise ConfigError(
            f"TFX node id {node.node_id!r} is not a valid Airflow task id; give the "
            "component an id of letters, digits, '_', '.' and '-' with .with_id()"
        )
    if override.beam_args and not node.is_beam:
        raise ConfigError(
            f"task_overrides[{node.node_id!r}].beam_args: {node.node_id} is not a "
            "Beam-backed component; Beam args reach CsvExampleGen, StatisticsGen, "
            "Transform, Evaluator and other Beam components only"
        )


def _task_overrides(task_overrides: object) -> dict[str, TaskOverride]:
    """``task_overrides`` as validated ``TaskOverride``s, by node id."""
    if not isinstance(task_overrides, Mapping):
        raise ConfigError(f"task_overrides={task_overrides!r} must be a mapping")
    return {node_id: task_override(node_id, value) for node_id, value in task_overrides.items()}


def _argument_params(
    pipeline_kwargs: Mapping[str, Any], run_params: object
) -> dict[str, CheckedParam]:
    """``run_params`` of pipeline arguments, checked against their defaults. Other names may
    be the pipeline's TFX RuntimeParameters, known after the compile: their bounds are
    checked in shape now, their names by ``CheckedConfig.bind``."""
    if not isinstance(run_params, Mapping):
        raise ConfigError(f"run_params={run_params!r} must be a mapping")
    params = {}
    for name, spec in run_params.items():
        if name in pipeline_kwargs:
            params[name] = CheckedParam.of(name, pipeline_kwargs[name], spec)
        else:
            as_run_param(name, spec)
    return params


def _runtime_params(
    config: PipelineDagConfig, runtime_parameters: Sequence[RuntimeParameter]
) -> dict[str, CheckedParam]:
    """How a run may set each of the pipeline's TFX RuntimeParameters: its ``run_params``
    entry (bounds, choices, a path root), else just its type and default."""
    specs = {}
    for parameter in runtime_parameters:
        # A pipeline argument of the parameter's name is its default.
        default = config.pipeline_kwargs.get(parameter.name, parameter.default)
        if default is None:
            raise ConfigError(
                f"RuntimeParameter {parameter.name!r} has no default; give it one (a "
                "scheduled run has no trigger values to take it from)"
            )
        run_param = as_run_param(parameter.name, config.run_params.get(parameter.name, RunParam()))
        if not run_param.description:
            description = f"TFX RuntimeParameter ({parameter.type})"
            run_param = replace(run_param, description=description)
        specs[parameter.name] = CheckedParam.of(parameter.name, default, run_param)
    return specs


@dataclass(frozen=True)
class CheckedParam:
    """One run parameter checked against its default: how a run may set it (``spec``) and
    the JSON schema of the Airflow Param the DAG shows (``schema``, default included)."""

    spec: RunParam
    schema: dict[str, Any]

    @classmethod
    def of(cls, name: str, default: object, spec: RunParam | Mapping[str, Any]) -> CheckedParam:
        run_param = as_run_param(name, spec)
        return cls(run_param, param_schema(name, default, run_param))


def _validate_dag_id(dag_id: object) -> None:
    if not isinstance(dag_id, str) or not KEY_PATTERN.match(dag_id) or len(dag_id) > 250:
        raise ConfigError(
            f"dag_id={dag_id!r} is not a valid Airflow DAG id; use letters, digits, '_', '.' "
            "and '-' (at most 250 characters)"
        )


def _validate_pipeline_kwargs(kwargs: object) -> None:
    if not isinstance(kwargs, Mapping):
        raise ConfigError(f"pipeline_kwargs must be a mapping, got {type(kwargs).__name__}")
    for key in kwargs:
        if key in FACTORY_ARGUMENTS:
            raise ConfigError(
                f"pipeline_kwargs[{key!r}] is set by the factory (from dag_id and "
                "TFX_DAGS_HOME); remove it from the DAG file"
            )
    try:
        json.dumps(kwargs, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise ConfigError(
            f"pipeline_kwargs must hold JSON values only (str, number, bool, None, list, dict): "
            f"{error}"
        ) from None


def _validate_scheduling(config: PipelineDagConfig) -> None:
    if config.schedule is not None and not (
        isinstance(config.schedule, str | timedelta) or _is_timetable(config.schedule)
    ):
        raise ConfigError(
            f"schedule={config.schedule!r} must be a cron string, preset, timedelta, "
            "timetable or None"
        )
    if isinstance(config.schedule_assets, str) or not all(
        isinstance(uri, str) and ASSET_URI.match(uri) for uri in config.schedule_assets
    ):
        raise ConfigError(
            f"schedule_assets={config.schedule_assets!r} must be a sequence of asset URIs "
            "such as 'file:///data/penguin'"
        )
    if config.schedule_assets and config.schedule is not None:
        raise ConfigError("set schedule or schedule_assets, not both")
    if not isinstance(config.start_date, datetime) or config.start_date.tzinfo is None:
        raise ConfigError(f"start_date={config.start_date!r} must be a timezone-aware datetime")
    if (
        isinstance(config.retries, bool)
        or not isinstance(config.retries, int)
        or (config.retries < 0)
    ):
        raise ConfigError(f"retries={config.retries!r} must be an integer >= 0")
    if not isinstance(config.retry_delay, timedelta) or config.retry_delay < timedelta(0):
        raise ConfigError(f"retry_delay={config.retry_delay!r} must be a timedelta >= 0")
    if (
        isinstance(config.max_active_runs, bool)
        or not isinstance(config.max_active_runs, int)
        or config.max_active_runs < 1
    ):
        raise ConfigError(f"max_active_runs={config.max_active_runs!r} must be an integer >= 1")


def _is_timetable(schedule: object) -> bool:
    from airflow.sdk.bases.timetable import BaseTimetable
    from airflow.timetables.base import Timetable

    return isinstance(schedule, BaseTimetable | Timetable)


def _validate_ownership(config: PipelineDagConfig) -> None:
    if not isinstance(config.owner, str) or not config.owner.strip():
        raise ConfigError(f"owner={config.owner!r} must be a non-empty string")
    if isinstance(config.tags, str) or not all(isinstance(tag, str) for tag in config.tags):
        raise ConfigError(f"tags={config.tags!r} must be a sequence of strings")


def task_override(node_id: object, value: object) -> TaskOverride:
    """One ``task_overrides`` entry (a TaskOverride or a mapping of its fields), validated."""
    if not isinstance(node_id, str):
        raise ConfigError(f"task_overrides key {node_id!r} must be a TFX node id")
    if isinstance(value, Mapping):
        try:
            value = TaskOverride(**value)
        except TypeError as error:
            raise ConfigError(
                f"task_overrides[{node_id!r}]: {error}; allowed: pool, queue, executor, "
                "retries, retry_delay, execution_timeout, priority_weight, env, beam_args"
            ) from None
    if not isinstance(value, TaskOverride):
        raise ConfigError(f"task_overrides[{node_id!r}] must be a mapping, got {value!r}")
    where = f"task_overrides[{node_id!r}]"
    for name in ("pool", "queue", "executor"):
        text = getattr(value, name)
        if text is not None and (not isinstance(text, str) or not KEY_PATTERN.match(text)):
            raise ConfigError(f"{where}.{name}={text!r} must be letters, digits, '_', '.', '-'")
    if value.retries is not None and (
        isinstance(value.retries, bool) or not isinstance(value.retries, int) or value.retries < 0
    ):
        raise ConfigError(f"{where}.retries={value.retries!r} must be an integer >= 0")
    if value.retry_delay is not None and (
        not isinstance(value.retry_delay, timedelta) or value.retry_delay < timedelta(0)
    ):
        raise ConfigError(f"{where}.retry_delay={value.retry_delay!r} must be a timedelta >= 0")
    timeout = value.execution_timeout
    if timeout is not None and (not isinstance(timeout, timedelta) or timeout <= timedelta(0)):
        raise ConfigError(f"{where}.execution_timeout={timeout!r} must be a timedelta > 0")
    weight = value.priority_weight
    if weight is not None and (isinstance(weight, bool) or not isinstance(weight, int)):
        raise ConfigError(f"{where}.priority_weight={weight!r} must be an integer")
    _validate_env(where, value.env)
    _validate_beam_args(f"{where}.beam_args", value.beam_args)
    return value


def _validate_beam_args(where: str, args: object) -> None:
    if isinstance(args, str) or not isinstance(args, Sequence):
        raise ConfigError(f"{where}={args!r} must be a list of strings such as '--runner=...'")
    if not all(isinstance(arg, str) for arg in args) or (args and not args[0].startswith("--")):
        raise ConfigError(f"{where}={args!r} must be Beam args, strings like '--name=value'")


def _validate_env(where: str, env: object) -> None:
    if not isinstance(env, Mapping):
        raise ConfigError(f"{where}.env must be a mapping of variable names to strings")
    for name, text in env.items():
        if not isinstance(name, str) or not ENV_NAME.match(name):
            raise ConfigError(f"{where}.env: {name!r} is not an environment variable name")
        if not isinstance(text, str) or "\0" in text:
            raise ConfigError(f"{where}.env[{name!r}]={text!r} must be a string")
