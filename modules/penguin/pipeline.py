"""The penguin TFX pipeline, in each trainer style of TFX with TensorFlow 2.

| trainer_module                     | style                                   | Transform |
|------------------------------------|-----------------------------------------|-----------|
| modules.penguin.model (default)    | native Keras ``run_fn``                 | yes       |
| modules.penguin.keras_raw          | native Keras ``run_fn``                 | no        |
| modules.penguin.estimator          | Estimator ``trainer_fn``                | yes       |
| modules.penguin.keras_estimator    | Keras via ``model_to_estimator``        | yes       |
"""

from __future__ import annotations

from typing import Any

from modules.penguin.features import LABEL_KEY

PREPROCESSING_FN = "modules.penguin.preprocessing.preprocessing_fn"


def create_pipeline(
    *,
    pipeline_name: str,
    pipeline_root: str,
    data_root: str,
    serving_model_dir: str,
    trainer_module: str = "modules.penguin.model",
    use_transform: bool = True,
    train_steps: int = 200,
    eval_steps: int = 10,
    min_accuracy: float = 0.9,
    distribution_strategy: str = "none",
    cpu_replicas: int = 1,
    beam_pipeline_args: list[str] | None = None,
    component_beam_args: dict[str, list[str]] | None = None,
    enable_cache: bool = True,
) -> Any:
    """Return the penguin pipeline; see ``tfx_dags.authoring.pipelines.training_pipeline``.

    Args:
        trainer_module: one of the modules in the table above.
        use_transform: run Transform and train on its output. Default True.
        distribution_strategy: ``"mirrored"``, ``"one_device"`` or ``"none"`` (default).
        cpu_replicas: logical CPU devices to mirror over on a machine without GPU. Default 1.
    """
    from tfx_dags.authoring.pipelines import training_pipeline

    return training_pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        data_root=data_root,
        serving_model_dir=serving_model_dir,
        trainer_module=trainer_module,
        label_key=LABEL_KEY,
        preprocessing_fn=PREPROCESSING_FN if use_transform else None,
        train_steps=train_steps,
        eval_steps=eval_steps,
        min_accuracy=min_accuracy,
        # Accuracy per species beside the overall one (the Evaluator's slices).
        slice_by=[LABEL_KEY],
        trainer_config={
            "distribution_strategy": distribution_strategy,
            "cpu_replicas": cpu_replicas,
        },
        beam_pipeline_args=beam_pipeline_args,
        component_beam_args=component_beam_args,
        enable_cache=enable_cache,
    )
