"""The Airflow side: what the DAG processor, the scheduler and the workers' task processes run
(Airflow environment, ``.venv-airflow``).

A DAG file calls ``factory``; it validates a ``dag_config``, gets the pipeline's Airflow-free
graph from ``compile_cache`` (compiled once in the TFX environment), and renders one
``operators.TfxNodeOperator`` per node; ``node_env`` is what those and every other process of
a TFX environment see of this side's environment. ``params`` turns run parameters into Airflow
Params, ``pools`` provisions the pools the DAGs use, ``migration`` reads TFX AirflowDagRunner
files' DAG settings. May import Airflow, ``tfx_dags.common``, ``tfx_dags.node_server.client`` and
``tfx_dags.ui``; never TensorFlow, TFX, Beam or ML Metadata (tests/unit/test_import_boundaries.py).
"""
