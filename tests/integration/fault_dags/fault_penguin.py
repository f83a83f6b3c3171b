"""A penguin DAG for the fault tests (Airflow DAG file built by tfx_dags): quick retries and a
Trainer that holds mid-training while the test holds it (deployment.TrainerHolds)."""

from datetime import timedelta
from pathlib import Path

from tfx_dags import RunParam, pipeline_dag, settings

DATA_ROOT = Path(__file__).resolve().parents[3] / "data" / "penguin"
HELD_PENGUIN = Path(__file__).resolve().parents[1] / "held_training" / "held_penguin.py"

fault_penguin = pipeline_dag(
    dag_id="fault_penguin",
    pipeline=f"{HELD_PENGUIN}:create_pipeline",
    pipeline_kwargs={
        "data_root": str(DATA_ROOT),
        "serving_model_dir": str(settings.serving_dir("fault_penguin")),
        "train_steps": 100,
    },
    # Each fault run sets its own step count, so that its Trainer trains instead of being a
    # cache hit of the run before (and the test holds it by that count).
    run_params={"train_steps": RunParam(minimum=1, maximum=100_000)},
    owner="ml-platform",
    tags=("tfx", "fault-test"),
    retries=2,
    retry_delay=timedelta(seconds=5),
)
