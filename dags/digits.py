"""Airflow DAG: handwritten digits (8x8 images) with a Keras CNN; the Pusher pushes the
SavedModel together with its TFLite conversion (TFX pipeline), on TFX 1.16."""

from pathlib import Path

from tfx_dags import pipeline_dag, settings

DAG_ID = "digits_tflite"

dag = pipeline_dag(
    dag_id=DAG_ID,
    pipeline="modules.digits.pipeline:create_pipeline",
    pipeline_kwargs={
        "data_root": str(Path(__file__).resolve().parents[1] / "data" / "digits"),
        "serving_model_dir": str(settings.serving_dir(DAG_ID)),
    },
    tfx_env="tfx116",
    owner="ml-platform",
    tags=("tfx", "digits", "tflite"),
    retries=1,
)
