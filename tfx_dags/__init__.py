"""tfx-dags: run TFX pipelines as scheduled Apache Airflow 3 DAGs.

The package is imported in two environments: the Airflow one (DAG files, the factory, the
operator) and the TFX one (``tfx_dags.runner``, run inside each task). Nothing here imports
Airflow, TensorFlow or TFX at package level, so either side can import it.
"""

__version__ = "0.1.0"
