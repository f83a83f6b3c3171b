"""Read what ML Metadata knows about a pipeline's runs, as JSON (or one path).

    python -m tfx_dags.runner.query runs --pipeline NAME
    python -m tfx_dags.runner.query pushed-models --pipeline NAME
    python -m tfx_dags.runner.query latest-pushed-model --pipeline NAME

``runs``: per TFX pipeline run (= Airflow run id), per node: its latest execution's id, state
(COMPLETE, CACHED, FAILED, ...), input/output artifacts ({"id", "uri"}) by key and exec
properties, and the states of all its executions in the run ("attempts").
``pushed-models``: every model a Pusher really pushed, oldest first.
``latest-pushed-model``: the newest one's folder, or exit 1.
Imports only ml_metadata, so it answers in about a second.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from typing import Any

from tfx_dags.mlmd.connection import connection_config, plain_properties

# TFX's context type names (tfx.dsl.compiler.constants), repeated to avoid importing TFX.
PIPELINE_CONTEXT = "pipeline"
RUN_CONTEXT = "pipeline_run"
NODE_CONTEXT = "node"


class Store:
    def __init__(self) -> None:
        from ml_metadata.metadata_store import metadata_store
        from ml_metadata.proto import metadata_store_pb2

        self._pb = metadata_store_pb2
        self._store = metadata_store.MetadataStore(connection_config())

    def runs(self, pipeline_name: str) -> dict[str, dict[str, Any]]:
        pipeline = self._store.get_context_by_type_and_name(PIPELINE_CONTEXT, pipeline_name)
        if pipeline is None:
            return {}
        executions = self._store.get_executions_by_context(pipeline.id)
        events = defaultdict(list)
        for event in self._store.get_events_by_execution_ids([e.id for e in executions]):
            events[event.execution_id].append(event)
        artifact_ids = {event.artifact_id for group in events.values() for event in group}
        uris = {a.id: a.uri for a in self._store.get_artifacts_by_id(sorted(artifact_ids))}
        runs: dict[str, dict[str, Any]] = defaultdict(dict)
        for execution in sorted(executions, key=lambda e: e.id):
            contexts = self._contexts_by_type(execution.id)
            run_id = contexts.get(RUN_CONTEXT)
            node = contexts.get(NODE_CONTEXT, "").removeprefix(f"{pipeline_name}.")
            if run_id is None or not node:
                continue
            earlier = runs[run_id].get(node, {}).get("attempts", [])
            runs[run_id][node] = {
                "execution_id": execution.id,
                # Every execution of the node in this run, oldest first: a killed attempt
                # stays RUNNING, a retry adds COMPLETE, a re-run of a cleared task CACHED.
                "attempts": [*earlier, self._pb.Execution.State.Name(execution.last_known_state)],
                "state": self._pb.Execution.State.Name(execution.last_known_state),
                "inputs": self._artifacts(events[execution.id], uris, inputs=True),
                "outputs": self._artifacts(events[execution.id], uris, inputs=False),
                "properties": plain_properties(execution.custom_properties),
            }
        return dict(runs)

    def pushed_models(self, pipeline_name: str) -> list[dict[str, Any]]:
        pushed = []
        for run_id, nodes in self.runs(pipeline_name).items():
            for node_id, node in nodes.items():
                for output in node["outputs"].get("pushed_model", []):
                    [artifact] = self._store.get_artifacts_by_id([output["id"]])
                    props = artifact.custom_properties
                    if props["pushed"].int_value != 1:
                        continue
                    pushed.append(
                        {
                            "run_id": run_id,
                            "node_id": node_id,
                            "pushed_model_id": artifact.id,
                            "model_id": node["inputs"]["model"][0]["id"],
                            "destination": props["pushed_destination"].string_value,
                        }
                    )
        return sorted(pushed, key=lambda entry: entry["pushed_model_id"])

    def _contexts_by_type(self, execution_id: int) -> dict[str, str]:
        contexts = self._store.get_contexts_by_execution(execution_id)
        types = {
            t.id: t.name
            for t in self._store.get_context_types_by_id(list({c.type_id for c in contexts}))
        }
        return {types[c.type_id]: c.name for c in contexts}

    def _artifacts(
        self, events: list[Any], uris: dict[int, str], *, inputs: bool
    ) -> dict[str, list[dict[str, Any]]]:
        by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for key, event in keyed_events(events, inputs=inputs):
            by_key[key].append({"id": event.artifact_id, "uri": uris.get(event.artifact_id, "")})
        return dict(by_key)


def keyed_events(events: list[Any], *, inputs: bool) -> list[tuple[str, Any]]:
    """(input or output key, event) of the input events, or of the output events."""
    from ml_metadata.proto import metadata_store_pb2

    kinds = metadata_store_pb2.Event
    wanted = {kinds.INPUT} if inputs else {kinds.OUTPUT, kinds.DECLARED_OUTPUT}
    return [(e.path.steps[0].key, e) for e in events if e.type in wanted and e.path.steps]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("query", choices=("runs", "pushed-models", "latest-pushed-model"))
    parser.add_argument("--pipeline", required=True)
    args = parser.parse_args(argv)
    store = Store()
    if args.query == "runs":
        print(json.dumps(store.runs(args.pipeline), indent=2, sort_keys=True))
    elif args.query == "pushed-models":
        print(json.dumps(store.pushed_models(args.pipeline), indent=2))
    else:
        pushed = store.pushed_models(args.pipeline)
        if not pushed:
            print(f"pipeline {args.pipeline!r} has pushed no model", file=sys.stderr)
            return 1
        print(pushed[-1]["destination"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
