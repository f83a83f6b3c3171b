"""Which TFX run a task of an Airflow run runs in: the run's generations.

TFX keys a run's executions by its run id (the ``pipeline_run`` context), and the node
runner reuses a node that already succeeded in its run, so that a retried or cleared task
never changes what its run made. But Airflow's reprocess (``airflow backfill create
--reprocess-behavior completed``, or clearing a whole run) keeps the run id: the run would
recompute nothing. So each clear of a run that reaches its first nodes starts a new
generation of it, a TFX run named ``<run id>@<n>-<pipeline digest>``
(``contexts.generation_name``): a first node (one with no upstream node) that already
succeeded in the newest generation opens it when Airflow's ``clear_number`` of the run has
grown since that generation started, the run's other first nodes of that clear join it,
and every other node runs in the newest generation. Clear every first node with the run (a
whole-run clear, a reprocess): a first node left out has no output in the new generation.
There TFX's own
cache decides what is reused: a node whose inputs and properties are unchanged is a cache
hit, the day whose file changed and the windows that hold it are recomputed. A retried
task (the same ``clear_number``) and a cleared task that is not a first node stay in the
newest generation, and reuse what already succeeded there.
"""

from __future__ import annotations

from typing import Any

from tfx_dags.mlmd.contexts import RUN_CONTEXT, generation_name, generations
from tfx_dags.mlmd.executions import completed_execution

# Per pipeline (a run context may be shared by several, see contexts.generations): the
# Airflow clear_number of the run when the generation started, and, on the newest
# generation, the clear that opened the next one (before its context exists).
START_PROPERTY = "tfx_dags_clear_number"
NEXT_PROPERTY = "tfx_dags_next_generation_clear"


def current(
    store: Any,
    pipeline_name: str,
    run_id: str,
    clear_number: int,
    *,
    node_id: str,
    first_node: bool,
) -> str:
    """The TFX run id node ``node_id`` of Airflow run ``run_id`` runs in now."""
    found = generations(store, pipeline_name, run_id)
    if not found:
        return run_id
    newest = found[-1]
    if not first_node:
        return str(newest.name)
    opened = _number(newest, NEXT_PROPERTY, pipeline_name)
    if opened is not None and opened >= clear_number:
        # Another first node of this clear opened the next generation; its context is made
        # when that node's launch registers it.
        return generation_name(run_id, len(found) + 1, pipeline_name)
    started = _number(newest, START_PROPERTY, pipeline_name)
    if started is None:
        previous = _number(found[-2], NEXT_PROPERTY, pipeline_name) if len(found) > 1 else None
        started = previous or 0
    if clear_number <= started:
        return str(newest.name)  # a retry, or a clear that did not reach the first nodes
    if completed_execution(store, pipeline_name, node_id, str(newest.name)) is None:
        # Cleared after it failed (its data late, say): it runs again where it failed, with
        # the rest of its generation; only a first node that succeeded starts a new one.
        return str(newest.name)
    newest.custom_properties[_key(NEXT_PROPERTY, pipeline_name)].int_value = clear_number
    store.put_contexts([newest])
    return generation_name(run_id, len(found) + 1, pipeline_name)


def record_start(store: Any, pipeline_name: str, tfx_run_id: str, clear_number: int) -> None:
    """Record on the generation's context the clear number it started with (once)."""
    context = store.get_context_by_type_and_name(RUN_CONTEXT, tfx_run_id)
    key = _key(START_PROPERTY, pipeline_name)
    if context is None or key in context.custom_properties:
        return
    context.custom_properties[key].int_value = clear_number
    store.put_contexts([context])


def _key(name: str, pipeline_name: str) -> str:
    return f"{name}.{pipeline_name}"


def _number(context: Any, name: str, pipeline_name: str) -> int | None:
    key = _key(name, pipeline_name)
    return (
        int(context.custom_properties[key].int_value) if key in context.custom_properties else None
    )
