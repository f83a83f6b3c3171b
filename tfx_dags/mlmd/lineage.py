"""What ML Metadata records of TFX pipelines, read the way TFX writes it.

TFX puts every execution of a node into three contexts: its pipeline (``pipeline``, named
after the pipeline), its run (``pipeline_run``, named after the run id: the Airflow run id
here) and its node (``node``, named ``<pipeline>.<node id>``). Events tie executions to the
artifacts they read (INPUT) and wrote (OUTPUT, DECLARED_OUTPUT), under the input or output
key (``examples``, ``model``, ``blessing``, ...). The node runner, the query command and the
TFX view ask their questions through here; ml_metadata itself is imported only by this layer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# TFX's context type names (tfx.dsl.compiler.constants), repeated to avoid importing TFX:
# the query command and the view answer in about a second with ml_metadata alone.
PIPELINE_CONTEXT = "pipeline"
RUN_CONTEXT = "pipeline_run"
NODE_CONTEXT = "node"
# tfx_dags' own: the TFX line (``1.16``) whose runs a pipeline context holds (mlmd/tfx_lines).
LINE_PROPERTY = "tfx_dags_tfx_line"
# tfx_dags' own: why an execution TFX left unfinished was closed (``close_unfinished``).
CLOSED_PROPERTY = "tfx_dags_closed"
# TFX's Pusher (and tfx_dags' atomic one): the model in, what was pushed out.
PUSHER_MODEL_KEY = "model"
PUSHED_MODEL_KEY = "pushed_model"


def node_context_name(pipeline_name: str, node_id: str) -> str:
    return f"{pipeline_name}.{node_id}"


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


def state_name(execution: Any) -> str:
    """COMPLETE, CACHED, RUNNING, FAILED, ... of an execution."""
    from ml_metadata.proto import metadata_store_pb2

    return str(metadata_store_pb2.Execution.State.Name(execution.last_known_state))


def artifact_state_name(artifact: Any) -> str:
    """LIVE, PENDING, DELETED, ... of an artifact."""
    from ml_metadata.proto import metadata_store_pb2

    return str(metadata_store_pb2.Artifact.State.Name(artifact.state))


def is_output(event: Any) -> bool:
    from ml_metadata.proto import metadata_store_pb2

    return event.type in (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)


def keyed_events(events: Iterable[Any], *, inputs: bool) -> list[tuple[str, Any]]:
    """(input or output key, event) of the input events, or of the output events."""
    from ml_metadata.proto import metadata_store_pb2

    kinds = metadata_store_pb2.Event
    wanted = {kinds.INPUT} if inputs else {kinds.OUTPUT, kinds.DECLARED_OUTPUT}
    return [(e.path.steps[0].key, e) for e in events if e.type in wanted and e.path.steps]


@dataclass(frozen=True)
class Push:
    """A model a Pusher execution really pushed, and where to."""

    execution_id: int
    pushed_model_id: int
    model_id: int | None
    destination: str


def pushes(events: Iterable[Any], artifacts: Mapping[int, Any]) -> list[Push]:
    """Which model each Pusher execution among ``events`` pushed, oldest push first: its
    ``pushed_model`` output that TFX marked ``pushed`` = 1 (a Pusher that did not push, its
    model not blessed, records 0), the model being its ``model`` input. ``artifacts``: the
    events' artifacts by id. The one answer the query command, the TFX view and
    ``tfx-dags run`` give."""
    events = list(events)
    models: dict[int, int] = {}
    for key, event in keyed_events(events, inputs=True):
        if key == PUSHER_MODEL_KEY:
            models.setdefault(event.execution_id, event.artifact_id)
    found = []
    for key, event in keyed_events(events, inputs=False):
        artifact = artifacts.get(event.artifact_id)
        if key != PUSHED_MODEL_KEY or artifact is None:
            continue
        properties = plain_properties(artifact.custom_properties)
        if properties.get("pushed") != 1:
            continue
        found.append(
            Push(
                execution_id=event.execution_id,
                pushed_model_id=artifact.id,
                model_id=models.get(event.execution_id),
                destination=str(properties.get("pushed_destination", "")),
            )
        )
    return sorted(found, key=lambda push: (push.pushed_model_id, push.execution_id))


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
    closed = [
        execution
        for execution in node_executions_in_run(store, pipeline_name, node_id, run_id)
        if execution.last_known_state in unfinished
    ]
    for execution in closed:
        execution.last_known_state = metadata_store_pb2.Execution.FAILED
        execution.custom_properties[CLOSED_PROPERTY].string_value = reason
    if closed:
        store.put_executions(closed)
    return [execution.id for execution in closed]


def execution_artifacts(store: Any, execution_id: int) -> dict[str, Any]:
    """An execution's input and output artifacts by key, as ML Metadata recorded them (the
    executor's in-memory copies may lack what was published, e.g. the Pusher's ``pushed``
    flag): ``{"inputs": {key: [artifact]}, "outputs": {...}}``, each artifact ``{"id",
    "uri", "type", "custom_properties"}``."""
    events = list(store.get_events_by_execution_ids([execution_id]))
    artifacts = {
        a.id: a for a in store.get_artifacts_by_id(sorted({e.artifact_id for e in events}))
    }
    types = (
        {
            t.id: t.name
            for t in store.get_artifact_types_by_id(sorted({a.type_id for a in artifacts.values()}))
        }
        if artifacts
        else {}
    )
    found: dict[str, Any] = {"inputs": {}, "outputs": {}}
    for side, inputs in (("inputs", True), ("outputs", False)):
        for key, event in keyed_events(events, inputs=inputs):
            artifact = artifacts.get(event.artifact_id)
            if artifact is None:
                continue
            found[side].setdefault(key, []).append(
                {
                    "id": artifact.id,
                    "uri": artifact.uri,
                    "type": types.get(artifact.type_id, ""),
                    "custom_properties": plain_properties(artifact.custom_properties),
                }
            )
    return found


class Lineage:
    """Read-only questions about the pipelines, runs, executions and artifacts of one store.
    Type names are looked up once per store."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._type_names: dict[tuple[str, int], str] = {}

    # -- pipelines and runs ---------------------------------------------------------------

    def pipelines(self) -> list[str]:
        return sorted(c.name for c in self.store.get_contexts_by_type(PIPELINE_CONTEXT))

    def tfx_lines(self) -> dict[str, str]:
        """The TFX line each pipeline's runs were made by, where it is recorded."""
        return {
            context.name: context.custom_properties[LINE_PROPERTY].string_value
            for context in self.store.get_contexts_by_type(PIPELINE_CONTEXT)
            if LINE_PROPERTY in context.custom_properties
        }

    def pipeline_context(self, name: str) -> Any:
        return self.store.get_context_by_type_and_name(PIPELINE_CONTEXT, name)

    def run_contexts(self, name: str, *, safe_name: bool) -> list[Any]:
        """The pipeline's runs (``pipeline_run`` contexts, children of its pipeline context),
        newest first. ``safe_name``: the caller checked that ``name`` may go into a filter
        query (letters, digits, ``_.-``)."""
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
        return list(self.store.get_contexts(list_options=options))

    def run_context(self, name: str, run_id: str) -> Any:
        """The run's context if it is a run of that pipeline, else None."""
        context = self.store.get_context_by_type_and_name(RUN_CONTEXT, run_id)
        if context is None:
            return None
        parents = self.store.get_parent_contexts_by_context(context.id)
        return context if name in [parent.name for parent in parents] else None

    def run_executions(self, context: Any) -> dict[str, list[Any]]:
        """A run's executions by node id (each node's attempts, oldest first)."""
        grouped: dict[str, list[Any]] = defaultdict(list)
        executions = self.store.get_executions_by_context(context.id)
        for execution in sorted(executions, key=lambda e: e.id):
            node = self.node_of(execution.id)
            if node:
                grouped[node].append(execution)
        return dict(grouped)

    def pipeline_executions(self, name: str) -> list[Any]:
        """Every execution of the pipeline, oldest first."""
        pipeline = self.pipeline_context(name)
        if pipeline is None:
            return []
        return sorted(self.store.get_executions_by_context(pipeline.id), key=lambda e: e.id)

    # -- the contexts of an execution --------------------------------------------------------

    def contexts_by_type(self, execution_id: int) -> dict[str, str]:
        """Context type name -> context name, of one execution."""
        return {
            self.type_name("context", context.type_id): str(context.name)
            for context in self.store.get_contexts_by_execution(execution_id)
        }

    def node_of(self, execution_id: int) -> str:
        """The node id of an execution ('' for none): node contexts are '<pipeline>.<node>'."""
        return self.contexts_by_type(execution_id).get(NODE_CONTEXT, "").partition(".")[2]

    def run_of(self, execution_id: int) -> str | None:
        return self.contexts_by_type(execution_id).get(RUN_CONTEXT)

    # -- events and artifacts ----------------------------------------------------------------

    def type_name(self, kind: str, type_id: int) -> str:
        """The name of a context, execution or artifact type (e.g. 'Model')."""
        key = (kind, type_id)
        if key not in self._type_names:
            getter = {
                "context": self.store.get_context_types_by_id,
                "execution": self.store.get_execution_types_by_id,
                "artifact": self.store.get_artifact_types_by_id,
            }[kind]
            [found] = getter([type_id])
            self._type_names[key] = found.name
        return self._type_names[key]

    def events_of_executions(self, execution_ids: Iterable[int]) -> list[Any]:
        ids = sorted(set(execution_ids))
        return list(self.store.get_events_by_execution_ids(ids)) if ids else []

    def events_of_artifacts(self, artifact_ids: Iterable[int]) -> list[Any]:
        ids = sorted(set(artifact_ids))
        return list(self.store.get_events_by_artifact_ids(ids)) if ids else []

    def artifacts_by_id(self, ids: Iterable[int]) -> dict[int, Any]:
        wanted = sorted(set(ids))
        return {a.id: a for a in self.store.get_artifacts_by_id(wanted)} if wanted else {}

    def artifact_in_pipeline(self, name: str, artifact_id: int) -> bool:
        pipeline = self.pipeline_context(name)
        if pipeline is None:
            return False
        return any(
            context.id == pipeline.id
            for context in self.store.get_contexts_by_artifact(artifact_id)
        )

    def newest_artifacts(
        self, name: str, type_name: str, *, limit: int, safe_name: bool
    ) -> list[Any]:
        """The pipeline's newest artifacts of one type (e.g. 'Model'), newest first."""
        from ml_metadata.metadata_store import metadata_store

        if not safe_name:
            raise ValueError(f"{name!r} was not checked for a filter query")
        query = (
            f"contexts_a.name = '{name}' AND contexts_a.type = '{PIPELINE_CONTEXT}'"
            f" AND type = '{type_name}'"
        )
        options = metadata_store.ListOptions(
            filter_query=query,
            order_by=metadata_store.OrderByField.CREATE_TIME,
            is_asc=False,
            limit=limit,
        )
        return list(self.store.get_artifacts(list_options=options))
