"""Which ExampleGen spans an artifact was made from, read through its lineage.

ExampleGen records ``span`` as a custom property of its Examples; what is made from them
(Transform's output, the Trainer's model) carries none, so the spans are found by walking
back through the producers' ``examples`` inputs. The push guard compares models by the last
span they were trained on (``runner/push_guard.py``); the task log and the pushed model's
Asset event say them.
"""

from __future__ import annotations

from typing import Any

from tfx_dags.mlmd import events as event_lib
from tfx_dags.mlmd.artifacts import PUSHED_MODEL_KEY, by_id, pushes

EXAMPLES_KEY = "examples"
# Model <- Trainer <- (transformed) Examples <- Transform <- Examples: a few steps suffice.
MAX_DEPTH = 4


def derived_spans(store: Any, artifact_id: int, depth: int = MAX_DEPTH) -> set[int]:
    """The spans of the Examples ``artifact_id`` was made from (its own, for ExampleGen's
    Examples); empty where none is recorded (a pipeline without span patterns)."""
    artifact = by_id(store, [artifact_id]).get(artifact_id)
    if artifact is None:
        return set()
    span = artifact.custom_properties.get("span")
    if artifact.type == "Examples" and isinstance(span, int):
        return {span}
    if depth == 0:
        return set()
    producer = event_lib.producers(event_lib.of_artifacts(store, [artifact_id])).get(artifact_id)
    if producer is None:
        return set()
    io = event_lib.io(event_lib.of_executions(store, [producer])).get(producer)
    found: set[int] = set()
    for examples_id in io.inputs.get(EXAMPLES_KEY, ()) if io else ():
        found |= derived_spans(store, examples_id, depth - 1)
    return found


def newest_push(store: Any, pusher_executions: list[int]) -> tuple[int, int | None] | None:
    """(pushed model artifact id, model id) of the newest push among these Pusher
    executions; None when none of them pushed."""
    events = event_lib.of_executions(store, pusher_executions)
    # pushes() reads the pushed_model outputs (their "pushed" flag); the models are ids.
    outputs = [
        e.artifact_id for key, e in event_lib.keyed(events, inputs=False) if key == PUSHED_MODEL_KEY
    ]
    found = pushes(events, by_id(store, outputs))
    if not found:
        return None
    newest = max(found, key=lambda push: push.pushed_model_id)
    return newest.pushed_model_id, newest.model_id
