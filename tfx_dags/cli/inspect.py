"""``tfx-dags list`` and ``tfx-dags show``: the pipelines of a DAG folder, their nodes'
placement, their compiled IR, and what ML Metadata knows of their runs and pushed models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tfx_dags.airflow import mlmd_query
from tfx_dags.airflow.operators import TfxNodeOperator
from tfx_dags.cli.dag_folder import CliError, ParsedFolder, dag_file
from tfx_dags.common import tfx_envs
from tfx_dags.common.errors import ManifestError
from tfx_dags.common.manifest import Manifest, ir_path


def pipeline_rows(folder: ParsedFolder) -> list[dict[str, Any]]:
    rows = []
    for dag in folder.pipelines():
        compiled = compiled_entry(dag)
        rows.append(
            {
                "dag_id": dag.dag_id,
                "nodes": len(dag.tasks),
                "schedule": schedule_text(dag.schedule),
                "owner": dag.owner,
                "tfx_env": dag_tfx_env(dag).name,
                "cache_key": compiled.name,
                "file": dag_file(dag),
            }
        )
    return rows


def schedule_text(schedule: Any) -> str:
    """A cron expression or preset as written; assets by URI; 'None' for manual only."""
    if isinstance(schedule, list | tuple):
        return "assets: " + ", ".join(str(getattr(asset, "uri", asset)) for asset in schedule)
    return str(schedule)


def dag_tfx_env(dag: Any) -> tfx_envs.TfxEnv:
    """The TFX environment the DAG's nodes run in (its ``tfx_env=``, else the default)."""
    names = {task.tfx_env for task in dag.tasks if isinstance(task, TfxNodeOperator)}
    return tfx_envs.resolve(sorted(names, key=str)[0] if names else None)


def compiled_entry(dag: Any) -> Path:
    """The compiled pipeline's folder (its name is the cache key)."""
    irs = {task.pipeline_ir for task in dag.tasks if isinstance(task, TfxNodeOperator)}
    return Path(sorted(irs)[0]).parent


def node_rows(dag: Any) -> list[dict[str, Any]]:
    return [
        {
            "task_id": task.task_id,
            "node_type": getattr(task, "node_type", "") or type(task).__name__,
            "pool": task.pool,
            "queue": task.queue,
            "executor": task.executor or "(default)",
            "upstream": sorted(task.upstream_task_ids),
        }
        for task in dag.tasks
    ]


def show(folder: ParsedFolder, dag_id: str, *, runs: int) -> dict[str, Any]:
    dag = folder.dag(dag_id)
    if dag not in list(folder.pipelines()):
        raise CliError(f"DAG {dag_id!r} runs no TFX node")
    compiled = compiled_entry(dag)
    try:
        manifest = Manifest.read(compiled)
    except ManifestError as error:
        raise CliError(str(error)) from None
    tfx_env = dag_tfx_env(dag)
    # The store the DAG's pipeline keeps its history in: the deployment's, or its own.
    where = ("--pipeline", dag_id, "--pipeline-ir", str(ir_path(compiled)))
    history = query_metadata("runs", *where, tfx_env=tfx_env)
    # Newest first: by the newest ML Metadata execution of each run.
    recent = sorted(
        history.items(),
        key=lambda item: max(node["execution_id"] for node in item[1].values()),
        reverse=True,
    )[:runs]
    pushed = query_metadata("pushed-models", *where, tfx_env=tfx_env)
    return {
        "dag_id": dag_id,
        "file": dag_file(dag),
        "pipeline": manifest.pipeline_name,
        "tfx_env": tfx_env.name,
        "tfx": tfx_envs.installed(tfx_env).get("tfx", "?"),
        "compiled": str(compiled),
        "ir": str(ir_path(compiled)),
        "cache_key": compiled.name,
        "pipeline_root": manifest.pipeline_root,
        "nodes": node_rows(dag),
        "runs": [
            {
                "run_id": run_id,
                "nodes": {node: entry["state"] for node, entry in sorted(nodes.items())},
            }
            for run_id, nodes in recent
        ],
        "pushed_model": pushed[-1] if isinstance(pushed, list) and pushed else None,
    }


def query_metadata(*args: str, tfx_env: tfx_envs.TfxEnv | None = None) -> Any:
    """Ask ``tfx_dags.queries.query`` in the TFX environment (default: the deployment's
    default one), with the tasks' connection settings."""
    try:
        return mlmd_query.ask("tfx_dags.queries.query", *args, tfx_env=tfx_env)
    except mlmd_query.MetadataQueryError as error:
        raise CliError(f"cannot read ML Metadata: {error}") from None
