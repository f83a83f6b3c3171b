"""Run one node as its task does, counting the ML Metadata stores it opens; run with
.venv-tfx115's python.

    count_store_opens.py PIPELINE_IR NODE_ID RUN_ID REPLY_FILE

Prints JSON: the node runner's exit code and how many MetadataStore objects it created; the
node's reply goes to REPLY_FILE.
"""

from __future__ import annotations

import json
import sys

from ml_metadata import metadata_store

from tfx_dags.runner import node

opened = 0
original_init = metadata_store.MetadataStore.__init__


def counting_init(self: metadata_store.MetadataStore, *args: object, **kwargs: object) -> None:
    global opened
    opened += 1
    original_init(self, *args, **kwargs)


if __name__ == "__main__":
    ir, node_id, run_id, reply_file = sys.argv[1:]
    metadata_store.MetadataStore.__init__ = counting_init  # type: ignore[method-assign]
    args = ["--pipeline-ir", ir, "--node-id", node_id, "--run-id", run_id]
    code = node.main([*args, "--reply", reply_file])
    print(json.dumps({"exit": code, "stores_opened": opened}))
