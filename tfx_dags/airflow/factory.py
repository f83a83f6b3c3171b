"""The DAG factory: one TFX pipeline definition in, one Airflow DAG out.

Three layers: a validated ``PipelineDagConfig`` (``dag_config``); the Airflow-free graph read
from the compiled pipeline's manifest (``tfx_dags.common.graph``); and here, one
``TfxNodeOperator`` per TFX node with the graph's edges. Nothing on this path imports
TensorFlow, TFX or Beam.
"""

from __future__ import annotations

import json
import logging
from os import PathLike
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Asset, AssetAlias, Param

from tfx_dags.airflow.compile_cache import CompiledPipeline, ensure_compiled
from tfx_dags.airflow.dag_config import DagBinding, PipelineDagConfig, parse_pipeline_ref
from tfx_dags.airflow.migration import dag_settings, merge_task_overrides
from tfx_dags.airflow.operators import RunVariant, TfxNodeOperator
from tfx_dags.airflow.params import RuntimeBinding
from tfx_dags.common import settings
from tfx_dags.common.contract import BEAM_ARGS_ENV
from tfx_dags.common.errors import ConfigError
from tfx_dags.common.graph import TfxNode
from tfx_dags.common.pipeline_ref import RunnerFile

log = logging.getLogger(__name__)

# Airflow's built-in pool, always present.
DEFAULT_POOL = "default_pool"

# Trainer processes take GPU memory as they need it, so a GPU worker can share its card.
TRAINER_ENV = {"TF_FORCE_GPU_ALLOW_GROWTH": "true"}


def pipeline_dag(**config: Any) -> DAG:
    """``build_dag(PipelineDagConfig(**config))``: the one call a DAG file makes."""
    try:
        dag_config = PipelineDagConfig(**config)
    except TypeError as error:
        raise ConfigError(f"unknown or missing DAG setting: {error}") from None
    return build_dag(dag_config)


def runner_file_dag(path: str | PathLike[str], **overrides: Any) -> DAG:
    """The DAG of a file that hands its pipeline to a TFX runner, unchanged.

    ``LocalDagRunner``, ``BeamDagRunner``, ``AirflowDagRunner``, ``KubeflowDagRunner`` or
    ``KubeflowV2DagRunner`` (their ``tfx.orchestration`` and ``tfx.v1.orchestration`` names),
    called at import, under ``if __name__ == "__main__":`` or in a function that block calls
    (a TFX template's ``run()``). The file runs in the TFX environment as ``python file.py``
    would, from its folder, with stand-ins that record the pipeline instead of running it.
    The DAG id is the pipeline's name. What the file chose stays: its pipeline root, ML
    Metadata connection and Beam args, relative paths resolved from its folder (where its
    nodes run). Its RuntimeParameters become run parameters. An ``AirflowPipelineConfig``'s
    ``airflow_dag_config`` gives schedule (``schedule_interval`` or ``schedule``),
    ``start_date``, ``catchup``, ``max_active_runs``, ``tags``, ``description`` and
    ``default_args`` (owner, retries, retry_delay, execution_timeout); a Kubeflow runner's
    own settings (images, Kubeflow and Vertex configs) are ignored with a log line naming
    them. ``overrides`` are further ``PipelineDagConfig`` settings (owner, tags,
    task_overrides, metadata_store, tfx_env, ...), which win over the file's. Keep the file
    out of the DAGs folder (or in ``.airflowignore``): Airflow must not parse it itself.
    """
    source = Path(path)
    ref = parse_pipeline_ref(str(source))
    if not isinstance(ref, RunnerFile):
        raise ConfigError(
            f"runner_file_dag({str(path)!r}) needs the absolute path of a .py file that "
            "hands its pipeline to a TFX runner (LocalDagRunner(...).run(pipeline), ...)"
        )
    unknown = sorted(set(overrides) - set(PipelineDagConfig.__dataclass_fields__))
    if unknown or "pipeline" in overrides:
        raise ConfigError(
            f"runner_file_dag({str(path)!r}): unknown DAG setting {unknown or ['pipeline']}; "
            "the file names its pipeline, and the DAG settings are PipelineDagConfig's"
        )
    # The file is its own first setting: its DAG id (the pipeline's name) and its
    # AirflowPipelineConfig are known once it has run, in its compile.
    compiled = ensure_compiled(
        cache_name=ref.cache_name(), ref=ref, kwargs={}, tfx_env=overrides.get("tfx_env")
    )
    if compiled.graph.ignored_settings:
        log.info(
            "%s: %s settings ignored (its own orchestrator's, not Airflow's): %s",
            source,
            compiled.graph.runner,
            ", ".join(compiled.graph.ignored_settings),
        )
    config = {"dag_id": compiled.graph.pipeline_name, **dag_settings(source, compiled.graph)}
    for name, value in overrides.items():
        config[name] = merge_task_overrides(config, value) if name == "task_overrides" else value
    config["pipeline"] = str(source)
    return build_dag(PipelineDagConfig(**config), compiled=compiled)


def build_dag(config: PipelineDagConfig, *, compiled: CompiledPipeline | None = None) -> DAG:
    """Check the config (step 1), compile the pipeline or reuse the cached compile, bind the
    config to the compiled graph (step 2), and render the DAG."""
    checked = config.check()
    ref = checked.ref
    kwargs = ref.compile_kwargs(config.dag_id, config.pipeline_kwargs)
    if compiled is None:
        compiled = ensure_compiled(
            cache_name=ref.cache_name(config.dag_id),
            ref=ref,
            kwargs=kwargs,
            tfx_env=config.tfx_env,
        )
    binding = checked.bind(compiled.graph)
    variant = RunVariant(
        dag_id=config.dag_id,
        pipeline=str(ref),
        pipeline_kwargs=kwargs,
        run_params={name: checked.spec for name, checked in binding.argument_params.items()},
        tfx_env=config.tfx_env,
    )
    runtime = binding.runtime_binding()
    airflow_params = {
        name: Param(**checked.schema)
        for name, checked in {**binding.argument_params, **binding.runtime_params}.items()
    }
    return _airflow_dag(binding, compiled, variant, runtime, airflow_params)


def pushed_model_asset(serving_model_dir: str) -> Asset:
    """The Asset a DAG's Pusher updates on each push; downstream DAGs schedule on it."""
    return Asset(uri=f"file://{serving_model_dir}")


def _airflow_dag(
    binding: DagBinding,
    compiled: CompiledPipeline,
    variant: RunVariant,
    runtime: RuntimeBinding,
    params: dict[str, Param],
) -> DAG:
    config = binding.config
    schedule: Any = config.schedule
    if config.schedule_assets:
        schedule = [Asset(uri=uri) for uri in config.schedule_assets]
    dag = DAG(
        dag_id=config.dag_id,
        description=config.description or f"TFX pipeline {config.pipeline}",
        schedule=schedule,
        params=params,
        start_date=config.start_date,
        catchup=config.catchup,
        max_active_runs=config.max_active_runs,
        tags=list(config.tags),
        default_args={
            "owner": config.owner,
            "retries": config.retries,
            "retry_delay": config.retry_delay,
        },
        doc_md=_doc(config, compiled),
    )
    tasks = {}
    for node in compiled.graph.nodes:
        override = binding.override(node.node_id)
        tasks[node.node_id] = TfxNodeOperator(
            task_id=node.node_id,
            dag=dag,
            pipeline_ir=str(compiled.ir_path),
            node_id=node.node_id,
            node_type=node.node_type,
            node_env={
                **(TRAINER_ENV if node.is_trainer else {}),
                **_beam_env(node, [*config.beam_args, *override.beam_args]),
                **override.env,
            },
            variant=variant if variant.run_params else None,
            runtime=runtime if runtime.specs else None,
            spans=binding.spans,
            metadata_store=config.metadata_store,
            tfx_env=config.tfx_env,
            pushed_model_alias=_pushed_model_alias(config.dag_id, node),
            input_channels=node.inputs,
            **{**_placement(node), **override.operator_kwargs()},
        )
    for upstream, downstream in compiled.graph.edges:
        tasks[upstream] >> tasks[downstream]
    return dag


def _placement(node: TfxNode) -> dict[str, Any]:
    """Trainer and Tuner to the single-slot GPU pool and the gpu queue, and to
    TFX_DAGS_GPU_EXECUTOR when set (e.g. an Edge worker on a GPU host); Beam-backed nodes to
    the Beam queue; the rest to the default queue of the main executor."""
    if node.is_trainer:
        placement = {"pool": settings.gpu_pool(), "queue": settings.gpu_queue()}
        executor = settings.gpu_executor()
        return placement if executor is None else {**placement, "executor": executor}
    queue = settings.beam_queue() if node.is_beam else settings.default_queue()
    return {"pool": DEFAULT_POOL, "queue": queue}


def _beam_env(node: TfxNode, beam_args: list[str]) -> dict[str, str]:
    """A Beam-backed node's DAG-set Beam args reach it through its environment (after the
    pipeline's, at launch: tfx_dags.runner.beam_launch); no recompile when they change."""
    if not node.is_beam or not beam_args:
        return {}
    return {BEAM_ARGS_ENV: json.dumps(beam_args)}


def _pushed_model_alias(dag_id: str, node: TfxNode) -> AssetAlias | None:
    """Pushers emit their asset through an alias, so a run that pushes nothing (model not
    blessed) emits no event."""
    if node.push_destination is None:
        return None
    return AssetAlias(name=f"{dag_id}.pushed_model")


def _doc(config: PipelineDagConfig, compiled: CompiledPipeline) -> str:
    root = compiled.graph.pipeline_root or settings.pipeline_root(config.dag_id)
    lines = [
        f"TFX pipeline `{config.pipeline}`, compiled to `{compiled.directory}`.",
        f"Artifacts under `{root}`.",
    ]
    if compiled.graph.metadata is not None:
        store = (
            f"the pipeline's own, {compiled.graph.metadata}"
            if config.metadata_store == "pipeline"
            else "the deployment's (the pipeline's own is set aside)"
        )
        lines.append(f"ML Metadata: {store}.")
    return "\n\n".join(lines)
