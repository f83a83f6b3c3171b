"""Airflow DAGs: Palmer penguins species, one TFX pipeline per trainer style of TF 2.x in TFX.

penguin_keras            native Keras run_fn on Transform's output (MirroredStrategy)   tfx116
penguin_keras_raw        native Keras run_fn on raw features, no Transform              tfx116
penguin_estimator        Estimator trainer_fn (DNNClassifier, feature columns)          tfx115
penguin_keras_estimator  Keras model wrapped with tf.keras.estimator.model_to_estimator tfx115

The Keras DAGs run on TFX 1.16 (TF 2.16, tf-keras); Estimators exist only up to TFX 1.15.
"""

from pathlib import Path

from tfx_dags import RunParam, pipeline_dag, settings

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DATA_ROOT = DATA_DIR / "penguin"
# What a manual trigger (UI form, CLI, REST API) may change, within bounds.
RUN_PARAMS = {
    "train_steps": RunParam(description="Trainer steps", minimum=1, maximum=100_000),
    "min_accuracy": RunParam(description="Evaluator's accuracy bound", minimum=0, maximum=1),
    "data_root": RunParam(description="CSV folder, relative to data/", path_root=str(DATA_DIR)),
}
STYLES = {
    # Two logical CPU replicas stand in for GPUs where there are none.
    "penguin_keras": {"distribution_strategy": "mirrored", "cpu_replicas": 2},
    "penguin_keras_raw": {"trainer_module": "modules.penguin.keras_raw", "use_transform": False},
    "penguin_estimator": {"trainer_module": "modules.penguin.estimator"},
    "penguin_keras_estimator": {"trainer_module": "modules.penguin.keras_estimator"},
}
TFX_ENVS = {
    "penguin_keras": "tfx116",
    "penguin_keras_raw": "tfx116",
    "penguin_estimator": "tfx115",
    "penguin_keras_estimator": "tfx115",
}

for dag_id, style in STYLES.items():
    globals()[dag_id] = pipeline_dag(
        dag_id=dag_id,
        pipeline="modules.penguin.pipeline:create_pipeline",
        pipeline_kwargs={
            "data_root": str(DATA_ROOT),
            "serving_model_dir": str(settings.serving_dir(dag_id)),
            "train_steps": 200,
            "min_accuracy": 0.9,
            **style,
        },
        run_params=RUN_PARAMS,
        tfx_env=TFX_ENVS[dag_id],
        # New data at the input starts a run (an Asset event, e.g. from the REST API).
        schedule_assets=(f"file://{DATA_ROOT}",),
        owner="ml-platform",
        tags=("tfx", "penguin", *dag_id.split("_")[1:]),
        retries=1,
    )
