"""Airflow DAGs: taxi-style trips, will the rider tip more than 20 %? Advanced Transform
(vocabulary, bucketize, z-score, fill missing) with a wide-and-deep Estimator or native Keras.

Data: data/taxi/taxi.csv, made by data/generate_taxi.py (seeded, 5000 rows by default).
"""

from pathlib import Path

from tfx_dags import pipeline_dag, settings

DATA_ROOT = Path(__file__).resolve().parents[1] / "data" / "taxi"
# TFX line of each: Estimators exist only up to TFX 1.15; Keras runs on TFX 1.16.
TRAINERS = {
    "taxi_estimator": ("modules.taxi.estimator", "tfx115"),
    "taxi_keras": ("modules.taxi.model", "tfx116"),
}

for dag_id, (trainer_module, tfx_env) in TRAINERS.items():
    globals()[dag_id] = pipeline_dag(
        dag_id=dag_id,
        pipeline="modules.taxi.pipeline:create_pipeline",
        pipeline_kwargs={
            "data_root": str(DATA_ROOT),
            "serving_model_dir": str(settings.serving_dir(dag_id)),
            "trainer_module": trainer_module,
        },
        tfx_env=tfx_env,
        owner="ml-platform",
        tags=("tfx", "taxi", dag_id.split("_")[1]),
        retries=1,
    )
