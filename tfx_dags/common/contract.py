"""What a compile or node process and the Airflow side that started it agree on.

The operator and the compile cache (Airflow environment) start ``python -m
tfx_dags.runner.compile`` and ``python -m tfx_dags.runner.node`` (TFX environment); these
are the environment variables they pass, the exit codes they read back and the marked lines
they lift out of the output into the error the user sees.
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
# A node's exit code for bad input data (unreadable CSV, schema anomalies) or a store whose
# history of the pipeline belongs to another TFX line: the task fails without retrying, since
# the same input fails the same way.
BAD_DATA_EXIT = 3
# A node TFX decided not to run (a tfx.dsl.Cond that does not hold): the task is skipped.
# Exit code and marked last line together, so that a stray exit(4) is a failure.
SKIPPED_EXIT = 4
NODE_SKIPPED_MARKER = "tfx_dags node skipped: "
