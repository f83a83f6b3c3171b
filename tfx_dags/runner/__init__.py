"""The processes the Airflow side starts in the TFX environment (``.venv-tfx115``).

``python -m tfx_dags.runner.compile`` loads a pipeline definition and writes its IR and
manifest; ``python -m tfx_dags.runner.node`` runs one node of a compiled pipeline (with
``definitions`` and ``user_code`` to import users' code as TFX's runners do, ``anomalies`` and
``csv_check`` to fail bad data early, ``atomic_pusher`` to push models atomically,
``beam_launch`` and ``beam_staging`` to settle a Beam node's args once its inputs are known);
``query`` and ``view_data`` answer questions about ML Metadata for the CLI and the TFX view.

May import TensorFlow, TFX, Beam, ``tfx_dags.common``, ``tfx_dags.mlmd`` and
``tfx_dags.node_server``; never Airflow.
"""
