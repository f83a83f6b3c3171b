"""Artifacts as records (``records.Artifact``), and the one definition of a push (as TFX's
``artifact_lib`` reads artifacts)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tfx_dags.mlmd import events as event_lib
from tfx_dags.mlmd.records import Artifact, Push

# TFX's Pusher (and tfx_dags' atomic one): the model in, what was pushed out.
PUSHER_MODEL_KEY = "model"
PUSHED_MODEL_KEY = "pushed_model"


def plain_properties(properties: Any) -> dict[str, Any]:
    """ML Metadata properties (artifact or execution, e.g. TFX's exec properties or the
    Pusher's ``pushed`` flag) as JSON values; protos and structs are left out."""
    plain = {}
    for name in properties:
        value = properties[name]
        which = value.WhichOneof("value")
        if which in ("int_value", "double_value", "string_value"):
            plain[name] = getattr(value, which)
    return plain


def state_name(artifact: Any) -> str:
    """LIVE, PENDING, DELETED, ... of an artifact."""
    from ml_metadata.proto import metadata_store_pb2

    return str(metadata_store_pb2.Artifact.State.Name(artifact.state))


def record(artifact: Any, type_name: str) -> Artifact:
    return Artifact(
        id=artifact.id,
        type=type_name,
        uri=artifact.uri,
        state=state_name(artifact),
        created_ms=artifact.create_time_since_epoch,
        properties=plain_properties(artifact.properties),
        custom_properties=plain_properties(artifact.custom_properties),
    )


def records(store: Any, artifacts: Iterable[Any]) -> list[Artifact]:
    """ML Metadata's artifacts as records, their types' names asked for once."""
    artifacts = list(artifacts)
    type_ids = sorted({a.type_id for a in artifacts})
    types = {t.id: t.name for t in store.get_artifact_types_by_id(type_ids)} if type_ids else {}
    return [record(a, types.get(a.type_id, "")) for a in artifacts]


def by_id(store: Any, ids: Iterable[int]) -> dict[int, Artifact]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {a.id: a for a in records(store, store.get_artifacts_by_id(wanted))}


def newest_of_type(
    store: Any, pipeline_name: str, type_name: str, *, limit: int, safe_name: bool
) -> list[Artifact]:
    """The pipeline's newest artifacts of one type (e.g. 'Model'), newest first."""
    from ml_metadata.metadata_store import metadata_store

    from tfx_dags.mlmd.contexts import PIPELINE_CONTEXT

    if not safe_name:
        raise ValueError(f"{pipeline_name!r} was not checked for a filter query")
    query = (
        f"contexts_a.name = '{pipeline_name}' AND contexts_a.type = '{PIPELINE_CONTEXT}'"
        f" AND type = '{type_name}'"
    )
    options = metadata_store.ListOptions(
        filter_query=query,
        order_by=metadata_store.OrderByField.CREATE_TIME,
        is_asc=False,
        limit=limit,
    )
    return [record(a, type_name) for a in store.get_artifacts(list_options=options)]


def execution_artifacts(store: Any, execution_id: int) -> dict[str, Any]:
    """An execution's input and output artifacts by key, as ML Metadata recorded them (the
    executor's in-memory copies may lack what was published, e.g. the Pusher's ``pushed``
    flag): ``{"inputs": {key: [artifact]}, "outputs": {...}}``, each artifact ``{"id",
    "uri", "type", "custom_properties"}`` (the node runner's result)."""
    io = event_lib.io(store.get_events_by_execution_ids([execution_id])).get(execution_id)
    found: dict[str, Any] = {"inputs": {}, "outputs": {}}
    if io is None:
        return found
    artifacts = by_id(
        store, [i for side in (io.inputs, io.outputs) for ids in side.values() for i in ids]
    )
    for side, keyed in (("inputs", io.inputs), ("outputs", io.outputs)):
        for key, ids in keyed.items():
            for artifact in (artifacts[i] for i in ids if i in artifacts):
                found[side].setdefault(key, []).append(
                    {
                        "id": artifact.id,
                        "uri": artifact.uri,
                        "type": artifact.type,
                        "custom_properties": dict(artifact.custom_properties),
                    }
                )
    return found


def pushes(events: Iterable[Any], artifacts: Mapping[int, Artifact]) -> list[Push]:
    """Which model each Pusher execution among ``events`` pushed, oldest push first: its
    ``pushed_model`` output that TFX marked ``pushed`` = 1 (a Pusher that did not push, its
    model not blessed, records 0), the model being its ``model`` input. ``artifacts``: the
    events' artifacts by id. The one answer the query command, the TFX view and
    ``tfx-dags run`` give."""
    events = list(events)
    made = event_lib.producers(events)
    models: dict[int, int] = {}
    for key, event in event_lib.keyed(events, inputs=True):
        if key == PUSHER_MODEL_KEY:
            models.setdefault(event.execution_id, event.artifact_id)
    found = []
    for key, event in event_lib.keyed(events, inputs=False):
        artifact = artifacts.get(event.artifact_id)
        if key != PUSHED_MODEL_KEY or artifact is None:
            continue
        if artifact.custom_properties.get("pushed") != 1:
            continue
        found.append(
            Push(
                execution_id=event.execution_id,
                pushed_model_id=artifact.id,
                model_id=models.get(event.execution_id),
                destination=str(artifact.custom_properties.get("pushed_destination", "")),
                made_here=made.get(artifact.id) == event.execution_id,
            )
        )
    return sorted(found, key=lambda push: (push.pushed_model_id, push.execution_id))
