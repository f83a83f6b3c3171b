"""Read what ML Metadata knows about a pipeline's runs, as JSON (or one path).

    python -m tfx_dags.runner.query runs --pipeline NAME
    python -m tfx_dags.runner.query pushed-models --pipeline NAME
    python -m tfx_dags.runner.query latest-pushed-model --pipeline NAME

``runs``: per TFX pipeline run (= Airflow run id), per node: its latest execution's id, state
(COMPLETE, CACHED, FAILED, ...), input/output artifacts ({"id", "uri", "properties"}) by key
and exec properties, and the states of all its executions in the run ("attempts").
``pushed-models``: every model a Pusher really pushed, oldest first.
``latest-pushed-model``: the newest one's folder, or exit 1 (``not_found``).
``--reply FILE``: the answer goes to FILE as the command's reply (``common.reply``) instead
of stdout (the Airflow side's ``tfx_dags.airflow.mlmd_query`` reads it there: a node server
child's stdout is the log).
``--pipeline-ir IR``: the pipeline's compiled IR, for a pipeline that declares a store of its
own (a TFX runner's file keeps its SQLite store): read there unless the pipeline has run with
the deployment's store, as the TFX view reads it (``connection.open_pipeline_store``). A
pipeline with no store yet has no runs and no pushes.
Imports only ml_metadata, so it answers in about a second.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from tfx_dags.common.reply import REPLY_OPTION, Outcome, Reply, write_reply
from tfx_dags.mlmd import lineage
from tfx_dags.mlmd.connection import StoreMissing, open_pipeline_store


class RunHistory:
    """A pipeline's runs and pushes, from the lineage ML Metadata holds."""

    def __init__(self, store: Any | None) -> None:
        # None: no store exists yet, so the pipeline has no history.
        self._lineage = lineage.Lineage(store) if store is not None else None

    @classmethod
    def of_pipeline(cls, name: str, pipeline_ir: Path | None = None) -> RunHistory:
        """The history of the pipeline ``name``, read where it keeps it
        (``connection.open_pipeline_store``); empty where no store exists yet."""
        try:
            return cls(open_pipeline_store(name, pipeline_ir))
        except StoreMissing:
            return cls(None)

    def runs(self, pipeline_name: str) -> dict[str, dict[str, Any]]:
        return self._history(pipeline_name)[0]

    def pushed_models(self, pipeline_name: str) -> list[dict[str, Any]]:
        """What each run's Pusher pushed (its latest execution in the run), oldest first."""
        runs, events, artifacts = self._history(pipeline_name)
        where = {
            node["execution_id"]: (run_id, node_id)
            for run_id, nodes in runs.items()
            for node_id, node in nodes.items()
        }
        pushed = [
            {
                "run_id": where[push.execution_id][0],
                "node_id": where[push.execution_id][1],
                "pushed_model_id": push.pushed_model_id,
                "model_id": push.model_id,
                "destination": push.destination,
            }
            for push in lineage.pushes(events, artifacts)
            if push.execution_id in where
        ]
        return sorted(pushed, key=lambda entry: entry["pushed_model_id"])

    def _history(
        self, pipeline_name: str
    ) -> tuple[dict[str, dict[str, Any]], list[Any], dict[int, Any]]:
        """Per run, per node: its latest execution; and every event of the pipeline's
        executions with its artifacts."""
        if self._lineage is None:
            return {}, [], {}
        executions = self._lineage.pipeline_executions(pipeline_name)
        all_events = self._lineage.events_of_executions(e.id for e in executions)
        events = defaultdict(list)
        for event in all_events:
            events[event.execution_id].append(event)
        artifacts = self._lineage.artifacts_by_id(event.artifact_id for event in all_events)
        runs: dict[str, dict[str, Any]] = defaultdict(dict)
        for execution in executions:
            contexts = self._lineage.contexts_by_type(execution.id)
            run_id = contexts.get(lineage.RUN_CONTEXT)
            node = contexts.get(lineage.NODE_CONTEXT, "").removeprefix(f"{pipeline_name}.")
            if run_id is None or not node:
                continue
            earlier = runs[run_id].get(node, {}).get("attempts", [])
            state = lineage.state_name(execution)
            runs[run_id][node] = {
                "execution_id": execution.id,
                # Every execution of the node in this run, oldest first: a killed attempt
                # stays RUNNING, a retry adds COMPLETE, a re-run of a cleared task CACHED.
                "attempts": [*earlier, state],
                "state": state,
                "inputs": _by_key(events[execution.id], artifacts, inputs=True),
                "outputs": _by_key(events[execution.id], artifacts, inputs=False),
                "properties": lineage.plain_properties(execution.custom_properties),
            }
        return dict(runs), all_events, artifacts


def _by_key(
    events: list[Any], artifacts: dict[int, Any], *, inputs: bool
) -> dict[str, list[dict[str, Any]]]:
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for key, event in lineage.keyed_events(events, inputs=inputs):
        artifact = artifacts.get(event.artifact_id)
        by_key[key].append(
            {
                "id": event.artifact_id,
                "uri": artifact.uri if artifact else "",
                "properties": lineage.plain_properties(artifact.custom_properties)
                if artifact
                else {},
            }
        )
    return dict(by_key)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("query", choices=("runs", "pushed-models", "latest-pushed-model"))
    parser.add_argument("--pipeline", required=True)
    parser.add_argument(REPLY_OPTION, help="write the reply to this file, not the answer to stdout")
    parser.add_argument("--pipeline-ir", type=Path, help="where the pipeline's own store is")
    args = parser.parse_args(argv)
    reply = answer(args)
    if args.reply is None:
        if reply.ok:
            print(
                reply.result
                if isinstance(reply.result, str)
                else json.dumps(reply.result, indent=2, sort_keys=True)
            )
        else:
            print(reply.message, file=sys.stderr)
    return write_reply(args.reply, reply)


def answer(args: argparse.Namespace) -> Reply:
    store = RunHistory.of_pipeline(args.pipeline, args.pipeline_ir)
    if args.query == "runs":
        return Reply(Outcome.OK, result=store.runs(args.pipeline))
    pushed = store.pushed_models(args.pipeline)
    if args.query == "pushed-models":
        return Reply(Outcome.OK, result=pushed)
    if not pushed:
        return Reply(Outcome.NOT_FOUND, f"pipeline {args.pipeline!r} has pushed no model")
    return Reply(Outcome.OK, result=pushed[-1]["destination"])


if __name__ == "__main__":
    sys.exit(main())
