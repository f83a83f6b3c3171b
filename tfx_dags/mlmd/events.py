"""Events: what executions read (INPUT) and wrote (OUTPUT, DECLARED_OUTPUT), each under its
input or output key (``examples``, ``model``, ``blessing``, ...), as TFX's ``event_lib``
records them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from tfx_dags.mlmd.records import Io


def of_executions(store: Any, execution_ids: Iterable[int]) -> list[Any]:
    ids = sorted(set(execution_ids))
    return list(store.get_events_by_execution_ids(ids)) if ids else []


def of_artifacts(store: Any, artifact_ids: Iterable[int]) -> list[Any]:
    ids = sorted(set(artifact_ids))
    return list(store.get_events_by_artifact_ids(ids)) if ids else []


def is_output(event: Any) -> bool:
    from ml_metadata.proto import metadata_store_pb2

    return event.type in (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)


def keyed(events: Iterable[Any], *, inputs: bool) -> list[tuple[str, Any]]:
    """(input or output key, event) of the input events, or of the output events."""
    from ml_metadata.proto import metadata_store_pb2

    kinds = metadata_store_pb2.Event
    wanted = {kinds.INPUT} if inputs else {kinds.OUTPUT, kinds.DECLARED_OUTPUT}
    return [(e.path.steps[0].key, e) for e in events if e.type in wanted and e.path.steps]


def io(events: Iterable[Any]) -> dict[int, Io]:
    """Each execution's inputs and outputs among ``events``, by execution id."""
    events = list(events)
    sides: dict[int, tuple[dict[str, list[int]], dict[str, list[int]]]] = defaultdict(
        lambda: ({}, {})
    )
    for index, inputs in ((0, True), (1, False)):
        for key, event in keyed(events, inputs=inputs):
            sides[event.execution_id][index].setdefault(key, []).append(event.artifact_id)
    return {
        execution_id: Io(
            inputs={key: tuple(ids) for key, ids in ins.items()},
            outputs={key: tuple(ids) for key, ids in outs.items()},
        )
        for execution_id, (ins, outs) in sides.items()
    }


def producers(events: Iterable[Any]) -> dict[int, int]:
    """Artifact id -> the execution that made it. A cached execution or a resolver outputs
    artifacts made earlier: the producer is the first execution that output it."""
    produced: dict[int, int] = {}
    for event in events:
        if is_output(event):
            earlier = produced.get(event.artifact_id, event.execution_id)
            produced[event.artifact_id] = min(earlier, event.execution_id)
    return produced
