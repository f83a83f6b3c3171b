"""The ML Metadata commands (TFX environment), each one process the Airflow side starts.

``query`` answers the CLI (runs, pushed models); ``view_data`` the TFX view, with
``artifact_summaries`` for the statistics, schemas and evaluations read from artifacts'
files; ``close_execution`` marks a killed node's execution FAILED. Each reads or writes
through ``tfx_dags.mlmd``.

May import TensorFlow, TFX, ``tfx_dags.common``, ``tfx_dags.mlmd`` and ``tfx_dags.runner``'s
data checks; never Airflow.
"""
