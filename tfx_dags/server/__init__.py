"""The node server (TFX environment, ``python -m tfx_dags.server.node_server``): one warm
process per TFX environment that forks every node, compile and query.

``node_server`` is the daemon; ``beam_workers`` is Beam's SDK worker command, which asks the
server to fork the worker too. Its client and wire protocol, which the Airflow side imports,
are in ``tfx_dags.node_server``.

May import TensorFlow, TFX, Beam, ``tfx_dags.common``, ``tfx_dags.node_server`` and the
node runner's logging setup (``tfx_dags.runner.node``, before it preimports); never Airflow.
"""
