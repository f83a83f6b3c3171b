"""Seconds each node's executions spent between registration and completion in ML Metadata
(the executor and publishing, without process start or imports). Run with .venv-tfx's python.

    python bench/mlmd_times.py --pipeline NAME   (ML Metadata from the tfx_dags settings)

Prints JSON {node id: seconds} for the pipeline's newest run.
"""

from __future__ import annotations

import argparse
import json

from ml_metadata import metadata_store

from tfx_dags.runner.metadata import connection_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", required=True)
    args = parser.parse_args()
    store = metadata_store.MetadataStore(connection_config())
    runs = store.get_contexts_by_type("pipeline_run")
    pipeline = store.get_context_by_type_and_name("pipeline", args.pipeline)
    in_pipeline = {e.id for e in store.get_executions_by_context(pipeline.id)}
    newest = max(
        (
            run
            for run in runs
            if {e.id for e in store.get_executions_by_context(run.id)} & in_pipeline
        ),
        key=lambda run: run.create_time_since_epoch,
    )
    times = {}
    for execution in store.get_executions_by_context(newest.id):
        node = next(
            c.name.split(".", 1)[1]
            for c in store.get_contexts_by_execution(execution.id)
            if c.type == "node"
        )
        seconds = (
            execution.last_update_time_since_epoch - execution.create_time_since_epoch
        ) / 1000
        times[node] = times.get(node, 0.0) + seconds
    print(json.dumps(times))


if __name__ == "__main__":
    main()
