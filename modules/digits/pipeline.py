"""The digits TFX pipeline: 8x8 images, a Keras CNN, SavedModel and TFLite pushed together."""

from __future__ import annotations

from typing import Any

from modules.digits.features import LABEL_KEY

PREPROCESSING_FN = "modules.digits.preprocessing.preprocessing_fn"
TRAINER_MODULE = "modules.digits.model"


def create_pipeline(
    *,
    pipeline_name: str,
    pipeline_root: str,
    data_root: str,
    serving_model_dir: str,
    train_steps: int = 300,
    eval_steps: int = 10,
    min_accuracy: float = 0.9,
    beam_pipeline_args: list[str] | None = None,
    component_beam_args: dict[str, list[str]] | None = None,
    enable_cache: bool = True,
) -> Any:
    """Return the digits pipeline; see ``tfx_dags.authoring.pipelines.training_pipeline``."""
    from tfx_dags.authoring.pipelines import training_pipeline

    return training_pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        data_root=data_root,
        serving_model_dir=serving_model_dir,
        trainer_module=TRAINER_MODULE,
        label_key=LABEL_KEY,
        preprocessing_fn=PREPROCESSING_FN,
        train_steps=train_steps,
        eval_steps=eval_steps,
        min_accuracy=min_accuracy,
        beam_pipeline_args=beam_pipeline_args,
        component_beam_args=component_beam_args,
        enable_cache=enable_cache,
    )
