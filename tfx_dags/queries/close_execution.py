"""Close what a killed node left open in ML Metadata, when its task fails for good.

    python -m tfx_dags.queries.close_execution --pipeline-ir IR --node-id ID \
        --run-id RUN --reason TEXT --reply FILE

The node's executions in the run that are still NEW or RUNNING become FAILED
(``lineage.close_unfinished``); its reply (``common.reply``) holds their ids. The Airflow
side runs it from the task's failure callback (``tfx_dags.airflow.operators``), through
``tfx_dags.airflow.mlmd_query`` with the node's own ML Metadata connection: a node killed on
its task's last try (by a signal, its timeout, a lost worker) is the one case where TFX's
launcher closes nothing.
Imports only ml_metadata and TFX's protos, so it answers in about a second.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tfx_dags.common.reply import REPLY_OPTION, Outcome, Reply, write_reply
from tfx_dags.mlmd import lineage
from tfx_dags.mlmd.connection import StoreMissing, node_connection_config, open_existing


def close(pipeline_ir: Path, node_id: str, run_id: str, reason: str) -> list[int]:
    from tfx.proto.orchestration import pipeline_pb2

    pipeline = pipeline_pb2.Pipeline()
    pipeline.ParseFromString(pipeline_ir.read_bytes())
    config, _ = node_connection_config(pipeline)
    try:
        store = open_existing(config)
    except StoreMissing:
        return []  # no store yet: the node registered no execution
    return lineage.close_unfinished(
        store, pipeline.pipeline_info.id, node_id, run_id, reason=reason
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline-ir", required=True, type=Path)
    parser.add_argument("--node-id", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--reason", required=True)
    parser.add_argument(REPLY_OPTION, required=True)
    args = parser.parse_args(argv)
    closed = close(args.pipeline_ir, args.node_id, args.run_id, args.reason)
    for execution_id in closed:
        print(f"ML Metadata execution {execution_id} of {args.node_id}: FAILED ({args.reason})")
    return write_reply(args.reply, Reply(Outcome.OK, result=closed))


if __name__ == "__main__":
    sys.exit(main())
