"""Executions: a node's attempts in a pipeline run, and the runs of a pipeline as records
(``records.PipelineRun``), as TFX's ``execution_lib`` reads them. Also what the node runner
asks of its own node in its run: whether it already succeeded there, its newest execution,
and closing one TFX left unfinished."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from tfx_dags.mlmd import events as event_lib
from tfx_dags.mlmd.artifacts import by_id, plain_properties
from tfx_dags.mlmd.contexts import (
    NODE_CONTEXT,
    RUN_CONTEXT,
    ExecutionContexts,
    generations,
    node_context_name,
    pipeline_context,
)
from tfx_dags.mlmd.records import Artifact, Execution, NodeRun, PipelineRun

# tfx_dags' own: why an execution TFX left unfinished was closed (``close_unfinished``).
CLOSED_PROPERTY = "tfx_dags_closed"


def state_name(execution: Any) -> str:
    """COMPLETE, CACHED, RUNNING, FAILED, ... of an execution."""
    from ml_metadata.proto import metadata_store_pb2

    return str(metadata_store_pb2.Execution.State.Name(execution.last_known_state))


def of_pipeline(store: Any, name: str) -> list[Any]:
    """Every execution of the pipeline, oldest first."""
    pipeline = pipeline_context(store, name)
    if pipeline is None:
        return []
    return sorted(store.get_executions_by_context(pipeline.id), key=lambda e: e.id)


def of_run(store: Any, run: Any) -> list[Any]:
    """Every execution of a run (its context), oldest first."""
    return sorted(store.get_executions_by_context(run.id), key=lambda e: e.id)


def runs(store: Any, pipeline_name: str, executions: Iterable[Any]) -> dict[str, PipelineRun]:
    """The pipeline runs ``executions`` (of the pipeline) belong to, by run id: each node's
    attempts among them. An execution without a run or a node context is left out."""
    executions = sorted(executions, key=lambda e: e.id)
    if not executions:
        return {}
    contexts = ExecutionContexts(store)
    type_ids = sorted({e.type_id for e in executions})
    types = {t.id: t.name for t in store.get_execution_types_by_id(type_ids)}
    grouped: dict[str, dict[str, list[Execution]]] = defaultdict(lambda: defaultdict(list))
    for execution in executions:
        where = contexts.run_and_node(pipeline_name, execution.id)
        if where is not None:
            grouped[where[0]][where[1]].append(record(execution, types.get(execution.type_id, "")))
    return {
        run_id: PipelineRun(
            run_id=run_id,
            nodes={
                node_id: NodeRun(node_id, tuple(attempts)) for node_id, attempts in nodes.items()
            },
        )
        for run_id, nodes in grouped.items()
    }


def record(execution: Any, type_name: str) -> Execution:
    return Execution(
        id=execution.id,
        type=type_name,
        state=state_name(execution),
        started_ms=execution.create_time_since_epoch,
        finished_ms=execution.last_update_time_since_epoch,
        properties=plain_properties(execution.custom_properties),
    )


# -- the node runner's own node in its run -------------------------------------------------


def node_executions_in_run(store: Any, pipeline_name: str, node_id: str, run_id: str) -> list[Any]:
    """Every execution of this node in this pipeline run (its run and node contexts both)."""
    run = store.get_context_by_type_and_name(RUN_CONTEXT, run_id)
    node = store.get_context_by_type_and_name(
        NODE_CONTEXT, node_context_name(pipeline_name, node_id)
    )
    if run is None or node is None:
        return []
    in_node = {execution.id for execution in store.get_executions_by_context(node.id)}
    return [e for e in store.get_executions_by_context(run.id) if e.id in in_node]


def completed_execution(store: Any, pipeline_name: str, node_id: str, run_id: str) -> Any:
    """This node's newest COMPLETE or CACHED execution in this pipeline run, if there is one."""
    from ml_metadata.proto import metadata_store_pb2

    succeeded = (metadata_store_pb2.Execution.COMPLETE, metadata_store_pb2.Execution.CACHED)
    done = [
        execution
        for execution in node_executions_in_run(store, pipeline_name, node_id, run_id)
        if execution.last_known_state in succeeded
    ]
    return max(done, key=lambda execution: execution.id) if done else None


def newest_execution(store: Any, pipeline_name: str, node_id: str, run_id: str) -> Any:
    """This node's newest execution in this pipeline run, in any state; None if none."""
    mine = node_executions_in_run(store, pipeline_name, node_id, run_id)
    return max(mine, key=lambda execution: execution.id) if mine else None


def close_unfinished(
    store: Any, pipeline_name: str, node_id: str, run_id: str, *, reason: str
) -> list[int]:
    """Mark this node's executions in this run that are still NEW or RUNNING as FAILED, with
    ``reason`` in the custom property ``tfx_dags_closed``; their ids. For a node killed on
    its task's last try: TFX's launcher closes an execution only when it runs to its end,
    or when a retry in the same run takes it up; without one it would stay RUNNING.
    FAILED is what TFX records for a node that failed itself; a later cleared task takes
    the execution up again as TFX's launcher does after such a failure."""
    from ml_metadata.proto import metadata_store_pb2

    unfinished = (metadata_store_pb2.Execution.NEW, metadata_store_pb2.Execution.RUNNING)
    # In every generation of the run (mlmd/generations): the task knows its Airflow run id.
    tfx_runs = [str(c.name) for c in generations(store, pipeline_name, run_id)] or [run_id]
    closed = [
        execution
        for tfx_run in tfx_runs
        for execution in node_executions_in_run(store, pipeline_name, node_id, tfx_run)
        if execution.last_known_state in unfinished
    ]
    for execution in closed:
        execution.last_known_state = metadata_store_pb2.Execution.FAILED
        execution.custom_properties[CLOSED_PROPERTY].string_value = reason
    if closed:
        store.put_executions(closed)
    return [execution.id for execution in closed]


# -- what a node wrote, over every run ----------------------------------------------------


def succeeded_executions(
    store: Any, pipeline_name: str, node_id: str, *, run_id: str | None = None
) -> list[int]:
    """The ids of this node's COMPLETE or CACHED executions, in every run of the pipeline
    (or in run ``run_id``'s only), oldest first."""
    from ml_metadata.proto import metadata_store_pb2

    node = store.get_context_by_type_and_name(
        NODE_CONTEXT, node_context_name(pipeline_name, node_id)
    )
    if node is None:
        return []
    succeeded = (metadata_store_pb2.Execution.COMPLETE, metadata_store_pb2.Execution.CACHED)
    done = [
        e.id for e in store.get_executions_by_context(node.id) if e.last_known_state in succeeded
    ]
    if run_id is not None:
        run = store.get_context_by_type_and_name(RUN_CONTEXT, run_id)
        in_run = {e.id for e in store.get_executions_by_context(run.id)} if run else set()
        done = [execution_id for execution_id in done if execution_id in in_run]
    return sorted(done)


def node_outputs(
    store: Any, pipeline_name: str, node_id: str, key: str, *, run_id: str | None = None
) -> list[Artifact]:
    """Every LIVE artifact this node's succeeded executions wrote under output ``key``, in
    every run of the pipeline (or in run ``run_id``'s only): the spans an ExampleGen
    ingested, the models a Trainer made."""
    done = succeeded_executions(store, pipeline_name, node_id, run_id=run_id)
    outputs = event_lib.keyed(event_lib.of_executions(store, done), inputs=False)
    wrote = {event.artifact_id for name, event in outputs if name == key}
    return [a for a in by_id(store, wrote).values() if a.state == "LIVE"]
