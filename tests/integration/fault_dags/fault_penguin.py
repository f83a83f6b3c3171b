"""A penguin DAG for the fault tests (Airflow DAG file built by tfx_dags): quick retries and a
Trainer long enough to be killed mid-training."""

from datetime import timedelta
from pathlib import Path

from tfx_dags import RunParam, pipeline_dag, settings

DATA_ROOT = Path(__file__).resolve().parents[3] / "data" / "penguin"

fault_penguin = pipeline_dag(
    dag_id="fault_penguin",
    pipeline="modules.penguin.pipeline:create_pipeline",
    pipeline_kwargs={
        "data_root": str(DATA_ROOT),
        "serving_model_dir": str(settings.serving_dir("fault_penguin")),
        "trainer_module": "modules.penguin.keras_raw",
        "use_transform": False,
        "train_steps": 40_000,
    },
    # Each fault run sets its own step count, so that its Trainer trains instead of being a
    # cache hit of the run before.
    run_params={"train_steps": RunParam(minimum=1, maximum=100_000)},
    owner="ml-platform",
    tags=("tfx", "fault-test"),
    retries=2,
    retry_delay=timedelta(seconds=5),
)
