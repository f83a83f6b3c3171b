"""Which TFX run a task of an Airflow run runs in: the run's generations.

TFX keys a run's executions by its run id (the ``pipeline_run`` context), and the node
runner reuses a node that already succeeded in its run, so that a retried or cleared task
never changes what its run made. But Airflow's reprocess (``airflow backfill create
--reprocess-behavior completed``, or clearing a whole run) keeps the run id: the run would
recompute nothing. So each clear of a run that reaches its first nodes starts a new
generation of it, a TFX run named ``<run id>@<n>`` (``@`` is outside Airflow's run-id
pattern): its first nodes (those with no upstream node) open it when Airflow's
``clear_number`` of the run has grown since the newest generation started, and every other
node runs in the newest generation. There TFX's own cache decides what is reused: a node
whose inputs and properties are unchanged is a cache hit, the day whose file changed and the
windows that hold it are recomputed. A retried task (the same ``clear_number``) and a
cleared task that is not a first node stay in the newest generation, and reuse what already
succeeded there.
"""

from __future__ import annotations

from typing import Any

from tfx_dags.mlmd.contexts import RUN_CONTEXT, generation_name, generations

# The Airflow clear_number of the run when the generation started.
CLEAR_PROPERTY = "tfx_dags_clear_number"


def current(store: Any, run_id: str, clear_number: int, *, first_node: bool) -> str:
    """The TFX run id a node of Airflow run ``run_id`` runs in now."""
    found = generations(store, run_id)
    if not found:
        return run_id
    newest = found[-1]
    if CLEAR_PROPERTY in newest.custom_properties:
        started = newest.custom_properties[CLEAR_PROPERTY].int_value
    else:
        # A generation another first node of this clear is opening (it records the clear
        # number once its node ran), or the first generation of a run made before them.
        started = clear_number if len(found) > 1 else 0
    if first_node and clear_number > started:
        return generation_name(run_id, len(found) + 1)
    return str(newest.name)


def record_start(store: Any, tfx_run_id: str, clear_number: int) -> None:
    """Record on the generation's context the clear number it started with (once)."""
    context = store.get_context_by_type_and_name(RUN_CONTEXT, tfx_run_id)
    if context is None or CLEAR_PROPERTY in context.custom_properties:
        return
    context.custom_properties[CLEAR_PROPERTY].int_value = clear_number
    store.put_contexts([context])
