"""A one-node DAG for the fault tests (Airflow DAG file built by tfx_dags): no retry, and a node
that holds until the test kills it (held_training/held_node.py)."""

from pathlib import Path

from tfx_dags import pipeline_dag

HELD_NODE = Path(__file__).resolve().parents[1] / "held_training" / "held_node.py"

fault_last_try = pipeline_dag(
    dag_id="fault_last_try",
    pipeline=f"{HELD_NODE}:create_pipeline",
    owner="ml-platform",
    tags=("tfx", "fault-test"),
    retries=0,
)
