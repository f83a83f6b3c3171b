"""Airflow DAG: Palmer penguins species, native Keras trainer with Transform (TFX pipeline)."""

from pathlib import Path

from tfx_dags import settings
from tfx_dags.factory import pipeline_dag

DAG_ID = "penguin_keras"
DATA_ROOT = Path(__file__).resolve().parents[1] / "data" / "penguin"

dag = pipeline_dag(
    dag_id=DAG_ID,
    pipeline="modules.penguin.pipeline:create_pipeline",
    pipeline_kwargs={
        "data_root": str(DATA_ROOT),
        "serving_model_dir": str(settings.serving_dir(DAG_ID)),
    },
    owner="ml-platform",
    tags=("tfx", "penguin", "keras"),
    retries=1,
)
