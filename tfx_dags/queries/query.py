"""Read what ML Metadata knows about a pipeline's runs, as JSON (or one path).

    python -m tfx_dags.queries.query runs --pipeline NAME
    python -m tfx_dags.queries.query pushed-models --pipeline NAME
    python -m tfx_dags.queries.query latest-pushed-model --pipeline NAME

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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfx_dags.common.reply import REPLY_OPTION, Outcome, Reply, write_reply
from tfx_dags.mlmd import artifacts, events, executions
from tfx_dags.mlmd.connection import StoreMissing, open_pipeline_store
from tfx_dags.mlmd.records import Artifact, Io, NodeRun, PipelineRun


class RunHistory:
    """A pipeline's runs and pushes, rendered from the read model of ML Metadata
    (``tfx_dags.mlmd.records``)."""

    def __init__(self, store: Any | None) -> None:
        # None: no store exists yet, so the pipeline has no history.
        self._store = store

    @classmethod
    def of_pipeline(cls, name: str, pipeline_ir: Path | None = None) -> RunHistory:
        """The history of the pipeline ``name``, read where it keeps it
        (``connection.open_pipeline_store``); empty where no store exists yet."""
        try:
            return cls(open_pipeline_store(name, pipeline_ir))
        except StoreMissing:
            return cls(None)

    def runs(self, pipeline_name: str) -> dict[str, dict[str, Any]]:
        """Per run, per node: its latest execution, and the states of all its attempts."""
        history = self._history(pipeline_name)
        return {
            run.run_id: {
                node_id: _node(node, history.io.get(node.latest.id, Io()), history.artifacts)
                for node_id, node in run.nodes.items()
            }
            for run in history.runs.values()
        }

    def pushed_models(self, pipeline_name: str) -> list[dict[str, Any]]:
        """What each run's Pusher pushed (its latest execution in the run: a cached Pusher
        lists the push it reuses under its own run), oldest first."""
        history = self._history(pipeline_name)
        where = {
            execution_id: (run.run_id, node_id)
            for run in history.runs.values()
            for execution_id, node_id in run.latest_executions().items()
        }
        pushed = [
            {
                "run_id": where[push.execution_id][0],
                "node_id": where[push.execution_id][1],
                "pushed_model_id": push.pushed_model_id,
                "model_id": push.model_id,
                "destination": push.destination,
            }
            for push in artifacts.pushes(history.events, history.artifacts)
            if push.execution_id in where
        ]
        return sorted(pushed, key=lambda entry: entry["pushed_model_id"])

    def _history(self, pipeline_name: str) -> _History:
        if self._store is None:
            return _History({}, [], {}, {})
        found = executions.of_pipeline(self._store, pipeline_name)
        every = events.of_executions(self._store, (e.id for e in found))
        return _History(
            runs=executions.runs(self._store, pipeline_name, found),
            events=every,
            io=events.io(every),
            artifacts=artifacts.by_id(self._store, (event.artifact_id for event in every)),
        )


@dataclass(frozen=True)
class _History:
    """Every run of a pipeline, and every event of its executions with their artifacts."""

    runs: dict[str, PipelineRun]
    events: list[Any]
    io: dict[int, Io]
    artifacts: dict[int, Artifact]


def _node(node: NodeRun, io: Io, found: dict[int, Artifact]) -> dict[str, Any]:
    return {
        "execution_id": node.latest.id,
        # Every execution of the node in this run, oldest first: a killed attempt stays
        # RUNNING, a retry adds COMPLETE, a re-run of a cleared task CACHED.
        "attempts": node.states,
        "state": node.latest.state,
        "inputs": _by_key(io.inputs, found),
        "outputs": _by_key(io.outputs, found),
        "properties": dict(node.latest.properties),
    }


def _by_key(
    keyed: Mapping[str, tuple[int, ...]], found: dict[int, Artifact]
) -> dict[str, list[dict[str, Any]]]:
    return {
        key: [_artifact(artifact_id, found.get(artifact_id)) for artifact_id in ids]
        for key, ids in keyed.items()
    }


def _artifact(artifact_id: int, artifact: Artifact | None) -> dict[str, Any]:
    return {
        "id": artifact_id,
        "uri": artifact.uri if artifact else "",
        "properties": dict(artifact.custom_properties) if artifact else {},
    }


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
