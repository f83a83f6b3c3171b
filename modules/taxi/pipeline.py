"""The taxi-style TFX pipeline: advanced Transform, Estimator or native-Keras trainer.

| trainer_module                | style                                           |
|-------------------------------|-------------------------------------------------|
| modules.taxi.estimator        | wide-and-deep Estimator ``trainer_fn`` (default) |
| modules.taxi.model            | native Keras ``run_fn``                          |
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modules.taxi.features import LABEL_KEY

PREPROCESSING_FN = "modules.taxi.preprocessing.preprocessing_fn"
# The curated schema (data/make_taxi_schema.py): ExampleValidator checks each run against it.
SCHEMA_PATH = str(Path(__file__).resolve().parents[2] / "data" / "schemas" / "taxi.pbtxt")


def create_pipeline(
    *,
    pipeline_name: str,
    pipeline_root: str,
    data_root: str,
    serving_model_dir: str,
    trainer_module: str = "modules.taxi.estimator",
    train_steps: int = 300,
    eval_steps: int = 20,
    min_accuracy: float = 0.9,
    beam_pipeline_args: list[str] | None = None,
    component_beam_args: dict[str, list[str]] | None = None,
    schema_path: str | None = SCHEMA_PATH,
    enable_cache: bool = True,
) -> Any:
    """Return the taxi-style pipeline; see ``tfx_dags.authoring.pipelines.training_pipeline``."""
    from tfx_dags.authoring.pipelines import training_pipeline

    return training_pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        data_root=data_root,
        serving_model_dir=serving_model_dir,
        trainer_module=trainer_module,
        label_key=LABEL_KEY,
        preprocessing_fn=PREPROCESSING_FN,
        train_steps=train_steps,
        eval_steps=eval_steps,
        min_accuracy=min_accuracy,
        keras_accuracy_metric="BinaryAccuracy",
        beam_pipeline_args=beam_pipeline_args,
        component_beam_args=component_beam_args,
        schema_path=schema_path,
        enable_cache=enable_cache,
    )
