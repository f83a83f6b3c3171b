"""The node runner (TFX environment, ``python -m tfx_dags.runner.node``).

``node`` runs one node of a compiled pipeline, with ``anomalies`` and ``csv_check`` to fail
bad data early, ``atomic_pusher`` to push models atomically, ``beam_launch`` and
``beam_staging`` to settle a Beam node's args once its inputs are known, and ``timing`` to
say where a node's time goes inside TFX.

May import TensorFlow, TFX, Beam, ``tfx_dags.common``, ``tfx_dags.mlmd``,
``tfx_dags.tfx_process`` and ``tfx_dags.node_server``; never Airflow.
"""
