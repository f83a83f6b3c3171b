"""What a compile or node process and the Airflow side that started it agree on.

The operator and the compile cache (Airflow environment) start ``python -m
tfx_dags.compiler.compile`` and ``python -m tfx_dags.runner.node`` (TFX environment); these
are the environment variables they pass, and the markers of the lines a failed or skipped
command prints for people reading the task log. What the Airflow side reads back is the
command's reply (``tfx_dags.common.reply``), never these lines.
"""

from __future__ import annotations

# The ML Metadata store of the deployment, as a URI (mysql://user:password@host:port/db),
# set by the operator from the Airflow connection. It holds a password: never printed.
URI_ENV = "TFX_DAGS_METADATA_URI"
# Set to "deployment" by the operator when a DAG puts a pipeline's own store aside.
STORE_ENV = "TFX_DAGS_METADATA_STORE"
# Beam args (a JSON list) a Beam-backed node adds after its pipeline's: the deployment's, or
# what the DAG's beam_args and the node's task override set.
BEAM_ARGS_ENV = "TFX_DAGS_BEAM_ARGS"

COMPILE_ERROR_MARKER = "tfx_dags compile error: "
NODE_ERROR_MARKER = "tfx_dags node error: "
NODE_SKIPPED_MARKER = "tfx_dags node skipped: "
