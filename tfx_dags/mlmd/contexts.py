"""TFX's contexts in ML Metadata: pipelines, their runs and nodes (as TFX's ``context_lib``).

TFX puts every execution of a node into three contexts: its pipeline (``pipeline``, named
after the pipeline), its run (``pipeline_run``, named after the run id: the Airflow run id
here, a child of the pipeline's context) and its node (``node``, named
``<pipeline>.<node id>``). The pipeline context also holds the artifacts of its executions.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

# TFX's context type names (tfx.dsl.compiler.constants), repeated to avoid importing TFX:
# the query command and the view answer in about a second with ml_metadata alone.
PIPELINE_CONTEXT = "pipeline"
RUN_CONTEXT = "pipeline_run"
NODE_CONTEXT = "node"
# tfx_dags' own: the TFX line (``1.16``) whose runs a pipeline context holds (mlmd/tfx_lines).
LINE_PROPERTY = "tfx_dags_tfx_line"
# A generation of an Airflow run (mlmd/generations): ``<run id>@<n>-<pipeline digest>``;
# ``@`` is outside Airflow's run-id pattern. TFX names run contexts by run id alone, and adds
# a pipeline as a parent only to a context it creates, so two DAGs' runs of one date share
# the first generation's context; the later ones are each pipeline's own.
GENERATION_SEPARATOR = "@"
_GENERATION = re.compile(
    rf"^(?P<run_id>.+){GENERATION_SEPARATOR}(?P<number>\d+)-(?P<pipeline>[0-9a-f]{{8}})$"
)


def node_context_name(pipeline_name: str, node_id: str) -> str:
    return f"{pipeline_name}.{node_id}"


def pipelines(store: Any) -> list[str]:
    """The pipelines with an execution in the store (their contexts), by name."""
    return sorted(c.name for c in store.get_contexts_by_type(PIPELINE_CONTEXT))


def tfx_lines(store: Any) -> dict[str, str]:
    """The TFX line each pipeline's runs were made by, where it is recorded."""
    return {
        context.name: context.custom_properties[LINE_PROPERTY].string_value
        for context in store.get_contexts_by_type(PIPELINE_CONTEXT)
        if LINE_PROPERTY in context.custom_properties
    }


def generation_name(run_id: str, number: int, pipeline_name: str) -> str:
    """The first generation is the Airflow run id itself (runs made before generations)."""
    if number == 1:
        return run_id
    digest = hashlib.sha256(pipeline_name.encode()).hexdigest()[:8]
    return f"{run_id}{GENERATION_SEPARATOR}{number}-{digest}"


def airflow_run_id(tfx_run_id: str) -> str:
    """The Airflow run of a TFX run id (a generation's, or the run id itself)."""
    match = _GENERATION.match(tfx_run_id)
    return match["run_id"] if match else tfx_run_id


def generations(store: Any, pipeline_name: str, run_id: str) -> list[Any]:
    """The pipeline's generations of run ``run_id`` (``pipeline_run`` contexts), oldest
    first."""
    found: list[Any] = []
    number = 1
    while True:
        name = generation_name(run_id, number, pipeline_name)
        context = store.get_context_by_type_and_name(RUN_CONTEXT, name)
        if context is None:
            return found
        found.append(context)
        number += 1


def pipeline_context(store: Any, name: str) -> Any:
    return store.get_context_by_type_and_name(PIPELINE_CONTEXT, name)


def has_pipeline(store: Any, name: str) -> bool:
    return pipeline_context(store, name) is not None


def run_contexts(store: Any, name: str, *, safe_name: bool) -> list[Any]:
    """The pipeline's runs (``pipeline_run`` contexts, children of its pipeline context),
    newest first. ``safe_name``: the caller checked that ``name`` may go into a filter query
    (letters, digits, ``_.-``)."""
    from ml_metadata.metadata_store import metadata_store

    if not safe_name:
        raise ValueError(f"{name!r} was not checked for a filter query")
    query = (
        f"parent_contexts_a.name = '{name}' AND parent_contexts_a.type = '{PIPELINE_CONTEXT}'"
        f" AND type = '{RUN_CONTEXT}'"
    )
    options = metadata_store.ListOptions(
        filter_query=query, order_by=metadata_store.OrderByField.CREATE_TIME, is_asc=False
    )
    return list(store.get_contexts(list_options=options))


def run_context(store: Any, name: str, run_id: str) -> Any:
    """The run's context if it is a run of that pipeline, else None. An Airflow run id
    names its newest generation (``mlmd/generations``), what its tasks made last."""
    found = generations(store, name, run_id)
    context = found[-1] if found else store.get_context_by_type_and_name(RUN_CONTEXT, run_id)
    if context is None:
        return None
    parents = store.get_parent_contexts_by_context(context.id)
    return context if name in [parent.name for parent in parents] else None


class ExecutionContexts:
    """The run and node of executions (their ``pipeline_run`` and ``node`` contexts), the two
    context types looked up once."""

    def __init__(self, store: Any) -> None:
        self._store = store
        wanted = (RUN_CONTEXT, NODE_CONTEXT)
        self._types = {t.id: t.name for t in store.get_context_types() if t.name in wanted}

    def of(self, execution_id: int) -> dict[str, str]:
        """``{"pipeline_run": run id, "node": "<pipeline>.<node id>"}``, of those it has."""
        return {
            self._types[context.type_id]: str(context.name)
            for context in self._store.get_contexts_by_execution(execution_id)
            if context.type_id in self._types
        }

    def run_of(self, execution_id: int) -> str | None:
        return self.of(execution_id).get(RUN_CONTEXT)

    def run_and_node(self, pipeline_name: str, execution_id: int) -> tuple[str, str] | None:
        """(run id, node id) of an execution of the pipeline; None without either."""
        contexts = self.of(execution_id)
        run_id = contexts.get(RUN_CONTEXT)
        node = contexts.get(NODE_CONTEXT, "").removeprefix(f"{pipeline_name}.")
        return (run_id, node) if run_id is not None and node else None


def artifact_in_pipeline(store: Any, name: str, artifact_id: int) -> bool:
    pipeline = pipeline_context(store, name)
    if pipeline is None:
        return False
    return any(context.id == pipeline.id for context in store.get_contexts_by_artifact(artifact_id))
